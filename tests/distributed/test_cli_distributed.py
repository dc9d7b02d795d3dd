"""Distributed plans through the real CLI: the compile contract, the EPR bill, the
simulation against the monolithic circuit, cut reconstruction, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PLANS = sorted((REPO / "plans").glob("distributed-*.yaml"))
SIMULATED = [p for p in PLANS if yaml.safe_load(p.read_text())["execute"]["mode"] == "simulate"]


def variant(tmp_path: Path, plan: Path, **execute: Any) -> Path:
    """A copy of ``plan`` with some ``execute`` fields changed."""
    data = yaml.safe_load(plan.read_text())
    data["execute"].update(execute)
    path = tmp_path / plan.name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_json(cli, *args: str) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    poll = ("--poll", "0.2") if args[0] == "run" else ()  # not the default 2 s
    result = cli(*args, "--json", *poll)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_compile_json_has_the_partition_contract_and_a_diagram(cli, tmp_path: Path) -> None:
    data = run_json(cli, "compile", "plans/distributed-qft.yaml", "-o", str(tmp_path / "b"))
    part = data["partition"]
    for key in ("epr_pairs", "epr_pairs_per_link", "qubits_per_node", "makespan_s",
                "estimated_fidelity"):  # fmt: skip
        assert part[key] is not None, key
    assert sum(part["qubits_per_node"].values()) == 16
    assert part["epr_pairs"] == sum(part["epr_pairs_per_link"].values()) > 0
    assert 0 < part["estimated_fidelity"] < 1 and part["makespan_s"] > 0
    png = tmp_path / "b" / "partition.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cut = run_json(cli, "compile", "plans/distributed-cut.yaml", "-o", str(tmp_path / "c"))
    assert cut["partition"]["sampling_overhead"] == pytest.approx(9.0)
    assert cut["partition"]["qubits_per_node"] == {"ibm": 4, "braket": 4}


@pytest.mark.parametrize("plan", [p for p in PLANS if p in SIMULATED], ids=lambda p: p.name)
def test_emitted_program_consumes_exactly_the_reported_pairs(cli, tmp_path, plan) -> None:
    """Count the EPR operations in the payload that will run, not in our own bookkeeping."""
    from qorch.contract.payload import from_qpy

    out = tmp_path / "bundle"
    data = run_json(cli, "compile", str(plan), "-o", str(out))
    job = next(j for j in data["jobs"] if j["role"] == "distributed")
    circuit = from_qpy((out / job["payload"]).read_bytes())

    def epr_ops(qc) -> int:  # type: ignore[no-untyped-def]
        total = 0
        for inst in qc.data:
            label = inst.operation.label or ""
            total += inst.operation.name == "cx" and label.startswith("epr:")
            total += sum(epr_ops(block) for block in getattr(inst.operation, "blocks", ()))
        return total

    assert epr_ops(circuit) == data["partition"]["epr_pairs"]


def test_compiling_a_distributed_plan_twice_is_byte_identical(compile_in_two_processes) -> None:
    compile_in_two_processes("plans/distributed-ions.yaml")


# Every simulated example prepares one right answer (the Fourier state of ``value``, then
# the inverse QFT), so with ideal links each shot must give it: equality, not closeness.
PERFECT_SHOTS = 400


def answer_bits(plan: Path) -> str:
    """The plan's one right answer as a Qiskit bitstring (qubit 0 rightmost)."""
    circuit = yaml.safe_load(plan.read_text())["circuit"]
    assert circuit["generator"] == "qft" and "value" in circuit, "needs a one-answer circuit"
    return format(circuit["value"], f"0{circuit['qubits']}b")


@pytest.mark.parametrize("plan", SIMULATED, ids=lambda p: p.name)
def test_perfect_links_reproduce_the_monolithic_distribution(cli, tmp_path, plan) -> None:
    """Ideal Bell pairs: the distributed program's counts equal the monolithic circuit's,
    every shot on the right answer (at 20 000 shots this was a TVD ≤ 0.02 check)."""
    path = variant(tmp_path, plan, perfect_links=True, shots=PERFECT_SHOTS)
    simulation = run_json(cli, "run", str(path))["distributed"]["simulation"]
    assert simulation["counts"] == {answer_bits(plan): PERFECT_SHOTS}
    assert simulation["tvd_to_monolithic"] == 0.0
    assert simulation["measured_fidelity"] == pytest.approx(1.0)


def assert_metrics_recomputed(data: dict) -> None:
    """The run's TVD and fidelity to the monolithic circuit equal an independent computation
    on the counts in the same JSON (qiskit's Hellinger fidelity is (Σ√(p·q))²)."""
    from qiskit.quantum_info import hellinger_fidelity

    simulation = data["distributed"]["simulation"]
    (monolithic,) = [job["counts"] for job in data["jobs"] if job["circuit"] == "monolithic"]
    ours, theirs = simulation["counts"], monolithic
    assert sum(ours.values()) == sum(theirs.values()) == data["jobs"][0]["shots"]
    p = {k: v / sum(ours.values()) for k, v in ours.items()}
    q = {k: v / sum(theirs.values()) for k, v in theirs.items()}
    tvd = 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))
    fidelity = hellinger_fidelity(ours, theirs)
    values = {m["name"]: m["value"] for m in data["metric_values"]}
    assert values["tvd_to_monolithic"] == pytest.approx(tvd, abs=1e-12)
    assert values["measured_fidelity"] == pytest.approx(fidelity, abs=1e-12)
    assert 0.0 < fidelity < 1.0 and tvd > 0.0  # noisy links: not trivially 1 and 0
    assert values["estimated_fidelity"] == simulation["estimated_fidelity"]


def test_noisy_links_lower_the_fidelity_as_estimated(cli, tmp_path: Path) -> None:
    """The ions plan (one right answer) with ever worse links: measured and estimated fall.

    1000 shots: the measured fidelities (about 0.47, 0.28, 0.13) are 10+ standard errors
    apart and 4+ from the bounds below."""
    base = yaml.safe_load((REPO / "plans" / "distributed-ions.yaml").read_text())
    measured, estimated = [], []
    for fidelity in (0.97, 0.9, 0.8):
        plan = dict(base, execute={"mode": "simulate", "shots": 1000})
        plan["links"] = [dict(link, source_fidelity=fidelity) for link in base["links"]]
        path = tmp_path / f"ions-{fidelity}.yaml"
        path.write_text(yaml.safe_dump(plan, sort_keys=False))
        data = run_json(cli, "run", str(path))
        simulation = data["distributed"]["simulation"]
        measured.append(simulation["measured_fidelity"])
        estimated.append(simulation["estimated_fidelity"])
        assert_metrics_recomputed(data)
    assert measured[0] > measured[1] > measured[2]
    assert estimated[0] > estimated[1] > estimated[2]
    # The estimate is the probability that no error happens at all; some errors do not
    # change the answer, so the measured success probability is higher, never lower.
    for m, e in zip(measured, estimated, strict=True):
        assert e - 0.03 <= m <= e + 0.35, (measured, estimated)


def test_cut_ghz8_on_ibm_and_braket_agrees_with_exact_values(cli) -> None:
    data = run_json(cli, "run", "plans/distributed-cut.yaml")
    targets = {job["target"] for job in data["jobs"]}
    assert targets == {"ibm:fake_santiago", "braket:local"}
    observables = data["distributed"]["observables"]
    assert [o["observable"] for o in observables] == ["ZIIIIIIZ", "ZZZZZZZZ"]
    for o in observables:
        assert o["exact"] == pytest.approx(1.0)
        assert 0 < o["std_error"] < 0.05
        assert abs(o["value"] - o["exact"]) <= 3 * o["std_error"], o


PLAN_HEAD = """\
version: 1
kind: distributed
circuit: {generator: ghz, qubits: 6}
"""
NODES = """\
nodes:
  - {name: a, target: local:aer, capacity: 5, comm_qubits: 1}
  - {name: b, target: local:aer, capacity: 5, comm_qubits: 1}
"""


@pytest.mark.parametrize(
    ("body", "command", "expected"),
    [
        (NODES + "links:\n  - {between: [a, c], preset: telecom-fibre, length_km: 5}\n",
         "validate", ":8: links[0].between: "),
        (NODES + "links:\n  - {between: [a, b], length_km: -3}\n",
         "validate", ":8: links[0].length_km: "),
        (NODES + "links:\n  - {between: [a, b], length_km: 3, detection_efficiency: 1.2}\n",
         "validate", ":8: links[0].detection_efficiency: "),
        ("nodes:\n  - {name: a, target: local:aer, capacity: 3, comm_qubits: 1}\n"
         "  - {name: b, target: local:aer, capacity: 3, comm_qubits: 1}\n"
         "links:\n  - {between: [a, b], length_km: 1}\n", "validate", ": nodes: network too small"),
        (NODES + "  - {name: c, target: local:aer, capacity: 5, comm_qubits: 1}\n"
         "links:\n  - {between: [a, b], length_km: 1}\n", "validate", ": links: "),
        (NODES + "links:\n  - {between: [a, b], classical: true, length_km: 1}\n"
         "execute: {mode: cut, observables: [ZZZZZZ]}\nbudget: {max_sampling_overhead: 5}\n",
         "compile", ": budget.max_sampling_overhead: cut overhead 9"),
        (NODES + "links:\n  - {between: [a, b], preset: telecom-fibre, length_km: 100}\n",
         "compile", "decohere below F = 0.5 before use"),
    ],
    ids=["unknown-node", "negative-length", "efficiency-above-1", "too-small", "unreachable",
         "cut-budget", "pairs-decohere"],
)  # fmt: skip
def test_bad_input_gives_one_located_line(cli, make_plan, body, command, expected) -> None:
    path = make_plan(PLAN_HEAD + body)
    result = cli(command, str(path))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert expected in lines[0], lines[0]


def test_estimate_mode_reports_without_jobs_and_reruns_the_same_run(cli, tmp_path) -> None:
    plan = variant(tmp_path, REPO / "plans" / "distributed-qft.yaml", mode="estimate")
    first = run_json(cli, "run", str(plan))
    assert first["jobs"] == [] and first["status"] == "completed"
    part = first["distributed"]["partition"]
    assert part["epr_pairs"] == 8 and part["qubits_per_node"] == {"alice": 8, "bob": 8}
    again = run_json(cli, "run", str(plan))
    assert again["run_id"] == first["run_id"]


def test_four_qpus_run_gates_on_a_third_qpu(cli, tmp_path: Path) -> None:
    """QFT-16 on a full mesh of four QPUs with four data qubits each: 16 pairs, not 24."""
    data = yaml.safe_load((REPO / "plans" / "distributed-qft.yaml").read_text())
    names = ["a", "b", "c", "d"]
    data["nodes"] = [
        {"name": n, "target": "local:aer", "capacity": 10, "comm_qubits": 6,
         "timing": {"t1_s": 10.0, "t2_s": 1.0}}
        for n in names
    ]  # fmt: skip
    data["links"] = [
        {"between": [x, y], "preset": "telecom-fibre", "length_km": 10}
        for i, x in enumerate(names)
        for y in names[i + 1 :]
    ]
    data["execute"] = {"mode": "estimate"}
    plan = tmp_path / "mesh4.yaml"
    plan.write_text(yaml.safe_dump(data, sort_keys=False))
    part = run_json(cli, "compile", str(plan), "-o", str(tmp_path / "b"))["partition"]
    assert part["qubits_per_node"] == dict.fromkeys(names, 4)
    assert part["epr_pairs"] == 16 and part["third_node_gates"] > 0
    assert 2 <= max(part["comm_qubits_used"].values()) <= 6
