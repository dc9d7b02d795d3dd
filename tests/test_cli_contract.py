"""The CLI contract CI users rely on: JSON shapes, exit codes, stdout/stderr discipline.

In this process (``cli``), except where a real process is the point: the version
through ``python -m qorch``, bytes compiled by another interpreter, and the imports
that ``--help`` and ``validate`` avoid."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from qorch import __version__

PLAN = """
version: 1
kind: circuits
name: contract
shots: 500
seed: 5
circuits:
  - {name: bell, generator: ghz, qubits: 2}
  - {name: qft3, generator: qft, qubits: 3, value: 6}
targets:
  - local:aer
  - target: local:aer
    shots: 300
    options: {queue_delay_s: DELAY}
"""


def test_run_json_contract(cli, make_plan: Callable[..., Path]) -> None:
    plan = make_plan(PLAN.replace("DELAY", "0"))
    result = cli("run", str(plan), "--json", "--poll", "0.2")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # stdout is exactly one JSON document
    assert {"run_id", "plan", "status", "jobs", "created"} <= data.keys()
    assert data["plan"] == str(plan) and data["status"] == "completed"
    assert [(job["circuit"], job["target"], job["shots"]) for job in data["jobs"]] == [
        ("bell", "local:aer", 500),
        ("qft3", "local:aer", 500),
        ("bell", "local:aer", 300),
        ("qft3", "local:aer", 300),
    ]
    for job in data["jobs"]:
        assert {"target", "circuit", "status", "shots", "counts"} <= job.keys()
        assert job["status"] == "done"
        assert sum(job["counts"].values()) == job["shots"]
    assert set(data["jobs"][0]["counts"]) == {"00", "11"}
    assert data["jobs"][1]["counts"] == {"110": 500}  # value 6, Qiskit bit order

    again = cli("results", data["run_id"], "--json")
    assert again.returncode == 0
    assert json.loads(again.stdout)["jobs"] == data["jobs"]

    listing = json.loads(cli("status", "--json").stdout)
    assert [(run["run_id"], run["status"]) for run in listing] == [(data["run_id"], "completed")]
    assert listing[0]["created"] == data["created"]


@pytest.mark.detached_workers  # a job still queued or running
def test_timeout_exits_3_then_results_collects(cli, make_plan: Callable[..., Path]) -> None:
    plan = make_plan(PLAN.replace("DELAY", "1.5"))  # the worker's start-up, then 1.5 s
    first = cli("run", str(plan), "--json", "--timeout", "0.5")
    assert first.returncode == 3, first.stderr
    data = json.loads(first.stdout)
    assert data["status"] in ("running", "submitting")
    assert "not finished" in first.stderr
    pending = cli("status", data["run_id"], "--json")
    assert pending.returncode in (0, 3)
    final = cli("run", str(plan), "--json", "--poll", "0.2")
    assert final.returncode == 0, final.stderr
    assert json.loads(final.stdout)["run_id"] == data["run_id"]
    assert cli("status", data["run_id"]).returncode == 0


@pytest.mark.detached_workers  # a job still queued or running
def test_cancel_then_exit_4(cli, make_plan: Callable[..., Path]) -> None:
    plan = make_plan(PLAN.replace("DELAY", "60"))
    submitted = cli("submit", str(plan))
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip()
    cancelled = cli("cancel", run_id, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    statuses = [job["status"] for job in json.loads(cancelled.stdout)["jobs"]]
    assert statuses[2:] == ["cancelled", "cancelled"]
    final = cli("results", run_id, "--json")
    deadline_tries = 50
    while final.returncode == 3 and deadline_tries:
        deadline_tries -= 1
        final = cli("results", run_id, "--json")
    assert final.returncode == 4, final.stderr
    assert json.loads(final.stdout)["status"] == "cancelled"
    again = cli("run", str(plan))  # the same command again: the cancelled run, not resumed
    assert again.returncode == 4, again.stderr
    assert f"run {run_id} for this plan was cancelled; showing what it holds" in again.stderr
    assert "resuming" not in again.stderr, again.stderr
    finished = [line for line in again.stderr.splitlines() if "finished" in line]
    assert finished and all("cancelled" in line and "failed" not in line for line in finished)


def test_compile_twice_is_byte_identical(
    compile_in_two_processes, make_plan: Callable[..., Path]
) -> None:
    plan = make_plan(PLAN.replace("DELAY", "0"))
    [(one, files)] = compile_in_two_processes(str(plan))
    assert len(files) == 5
    manifest = json.loads((one / "manifest.json").read_text())
    assert manifest["versions"]["qorch"] == __version__
    job = manifest["jobs"][0]
    assert {"target", "payload", "shots", "depth", "two_qubit_gates", "cost_usd"} <= job.keys()


def test_compile_json_and_bundle_submit(
    cli, make_plan: Callable[..., Path], tmp_path: Path
) -> None:
    plan = make_plan(PLAN.replace("DELAY", "0"))
    out = cli("compile", str(plan), "--json", "-o", str(tmp_path / "b"))
    data = json.loads(out.stdout)
    assert data["totals"] == {"jobs": 4, "shots": 1600, "cost_usd": 0.0}
    submitted = cli("submit", str(tmp_path / "b"))
    assert submitted.returncode == 0, submitted.stderr
    assert cli("submit", str(plan)).stdout == submitted.stdout, "same plan hash, same run"


@pytest.mark.parametrize("kind", ["circuits", "qcnn"])
def test_init_writes_a_plan_that_validates(cli, tmp_path: Path, kind: str) -> None:
    target = tmp_path / "starter.yaml"
    assert cli("init", kind, str(target)).returncode == 0
    assert yaml.safe_load(target.read_text())["kind"] == kind
    assert cli("validate", str(target)).returncode == 0
    refused = cli("init", kind, str(target))
    assert refused.returncode == 1 and "--force" in refused.stderr
    assert cli("init", "nonsense", str(tmp_path / "x.yaml")).returncode == 2


def test_schema_is_json_schema_of_the_plan(cli) -> None:
    result = cli("schema")
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert "circuits" in json.dumps(schema) and "targets" in json.dumps(schema)


def test_validate_json(cli, make_plan: Callable[..., Path]) -> None:
    good = make_plan(PLAN.replace("DELAY", "0"), name="good.yaml")
    bad = make_plan(PLAN.replace("shots: 500", "shots: 0"), name="bad.yaml")
    result = cli("validate", str(good), str(bad), "--json")
    assert result.returncode == 1
    reports = json.loads(result.stdout)
    assert [r["valid"] for r in reports] == [True, False]
    assert reports[1]["errors"] == [f"{bad}:4: shots: input should be greater than 0"]


def test_version(qorch) -> None:
    """The real entry point (``python -m qorch``): a smoke test beside the in-process ones."""
    result = qorch("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"qorch {__version__}"


def test_help_and_validate_do_not_import_vendor_sdks(make_plan: Callable[..., Path]) -> None:
    plan = make_plan(PLAN.replace("DELAY", "0"))
    for args in (["--help"], ["validate", str(plan)]):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "qorch", *args],
            capture_output=True,
            text=True,
            check=True,
        )
        modules = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
        assert not modules & {"qiskit_aer", "qiskit_ibm_runtime", "braket", "boto3"}, args
        assert not modules & {"qiskit", "numpy", "scipy"}, args  # generators: from their specs


@pytest.mark.detached_workers  # jobs finishing in their workers while the store has not looked
def test_cancel_says_nothing_of_jobs_that_finished_meanwhile(
    cli, make_plan: Callable[..., Path], state_dir: Path
) -> None:
    """Cancelling a run whose quick jobs finished since the store last looked printed
    'could not cancel: … has already finished; there is nothing to cancel' for each."""
    import time

    plan = make_plan(PLAN.replace("DELAY", "60"))
    submitted = cli("submit", str(plan))
    assert submitted.returncode == 0, submitted.stderr
    deadline = time.monotonic() + 120
    while len(list(state_dir.glob("jobs/*/result.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)  # the two undelayed jobs finish in their worker
    assert len(list(state_dir.glob("jobs/*/result.json"))) == 2
    cancelled = cli("cancel", submitted.stdout.strip(), "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert "could not cancel" not in cancelled.stderr, cancelled.stderr
    statuses = sorted(job["status"] for job in json.loads(cancelled.stdout)["jobs"])
    assert statuses == ["cancelled", "cancelled", "done", "done"], statuses
