"""The typed, versioned bundle manifest (issue 10, item 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qorch.contract.errors import StateError
from qorch.contract.provider import Cost, Payload, TargetOptions
from qorch.engine.bundle import read_bundle, write_bundle
from qorch.engine.compile import CompiledBundle, merge_bundles
from qorch.engine.manifest import (
    BUNDLE_FORMAT,
    Manifest,
    PlanInfo,
    build_manifest,
    job_record,
    parse_manifest,
)

PLAN = PlanInfo(file="p.yaml", name="p", kind="circuits", hash="ab" * 32, seed=7)


def record(index: int, **kind_fields: object):  # type: ignore[no-untyped-def]
    payload = Payload(format="qpy", data=f"payload {index}".encode(), num_qubits=2,
                      num_clbits=2, depth=3, two_qubit_gates=1, gate_counts={"cx": 1},
                      measured_clbits=(0, 1))  # fmt: skip
    return job_record(index=index, circuit="bell", target="local:aer", target_index=0,
                      options=TargetOptions(), shots=100, seed=index, payload=payload,
                      payload_file=f"payloads/{index:03d}.qpy", cost=Cost(0.5, "flat"),
                      **kind_fields)  # fmt: skip


def bundle_of(manifest: Manifest) -> CompiledBundle:
    payloads = {job.payload: f"payload {job.index}".encode() for job in manifest.jobs}
    return CompiledBundle(manifest=manifest, payloads=payloads)


def test_the_manifest_on_disk_keeps_the_format_1_layout() -> None:
    """Kind blocks and kind job fields sit at the top level, as every qorch wrote them."""
    jobs = [record(0, role="distributed"), record(1, parameter_values=[[0.1], [0.2]])]
    manifest = build_manifest(PLAN, jobs, {"qorch": "0.1.0"}, {"partition": {"epr_pairs": 3}})
    data = json.loads(manifest.to_bytes())
    assert data["format"] == BUNDLE_FORMAT == "qorch-bundle/1"
    assert set(data) == {"format", "plan", "versions", "totals", "jobs", "partition"}
    assert data["totals"] == {"jobs": 2, "shots": 300, "cost_usd": 1.0}  # 100 + 2 × 100
    assert data["jobs"][0]["role"] == "distributed" and "parameter_values" not in data["jobs"][0]
    assert data["jobs"][1]["parameter_values"] == [[0.1], [0.2]]
    again = parse_manifest(data, "manifest.json")
    assert again == manifest and again.to_bytes() == manifest.to_bytes()
    assert again.jobs[0].extra("role") == "distributed" and again.extension["partition"]


def test_a_bundle_round_trips_byte_for_byte(tmp_path: Path) -> None:
    manifest = build_manifest(PLAN, [record(0), record(1)], {}, files=[])
    assert write_bundle(bundle_of(manifest), tmp_path / "b")
    read = read_bundle(tmp_path / "b")
    assert read.manifest == manifest
    assert not write_bundle(read, tmp_path / "b"), "an identical bundle is not rewritten"


def test_a_bundle_of_another_format_is_refused_in_one_line(tmp_path: Path) -> None:
    manifest = build_manifest(PLAN, [record(0)], {})
    write_bundle(bundle_of(manifest), tmp_path / "b")
    path = tmp_path / "b" / "manifest.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "format": "qorch-bundle/2"}))
    with pytest.raises(StateError) as caught:
        read_bundle(tmp_path / "b")
    text = str(caught.value)
    assert "\n" not in text and "unsupported bundle format 'qorch-bundle/2'" in text
    assert "this qorch reads qorch-bundle/1" in text


def test_a_malformed_manifest_names_the_field(tmp_path: Path) -> None:
    write_bundle(bundle_of(build_manifest(PLAN, [record(0)], {})), tmp_path / "b")
    path = tmp_path / "b" / "manifest.json"
    data = json.loads(path.read_text())
    del data["jobs"][0]["shots"]
    path.write_text(json.dumps(data))
    with pytest.raises(StateError, match=r"malformed qorch-bundle/1 manifest: jobs\.0\.shots"):
        read_bundle(tmp_path / "b")


def test_an_older_bundle_of_added_jobs_is_read_with_the_runs_plan(tmp_path: Path) -> None:
    """qorch 0.1 wrote the jobs it added to a run (qcnn evaluation) with an empty plan and
    no totals or versions; they are read, the run's plan filling the gap."""
    jobs = [record(3, first_row=0, parameter_values=[[0.5]])]
    old = {"format": BUNDLE_FORMAT, "plan": {}, "jobs": [job.to_json() for job in jobs]}
    (tmp_path / "late" / "payloads").mkdir(parents=True)
    (tmp_path / "late" / "manifest.json").write_text(json.dumps(old))
    (tmp_path / "late" / "payloads" / "003.qpy").write_bytes(b"payload 3")
    late = read_bundle(tmp_path / "late", PLAN)
    assert late.manifest.plan == PLAN and late.manifest.totals.jobs == 1
    assert late.jobs[0].extra("first_row") == 0
    first = bundle_of(build_manifest(PLAN, [record(0)], {}))
    merged = merge_bundles(first, late)
    assert [job.index for job in merged.jobs] == [0, 3]
    with pytest.raises(StateError, match="malformed"):
        read_bundle(tmp_path / "late")  # without the run's plan there is none to use


def test_extension_blocks_may_not_hide_common_fields() -> None:
    with pytest.raises(ValueError, match="clash"):
        build_manifest(PLAN, [], {}, {"totals": {}})
