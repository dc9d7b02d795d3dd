"""``qorch show RUN [JOB]``: one job's target, ids, transpiled figures, timings, cost, errors.

One small run (local simulators, one target with a simulated queue) is made once
for the module; the tests only read it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import InProcessCli, cli_in

PLAN = """
version: 1
kind: circuits
name: show
shots: 200
seed: 3
circuits:
  - {name: bell, generator: ghz, qubits: 2}
targets:
  - local:statevector
  - target: local:aer
    options: {queue_delay_s: 0.4}
"""


@dataclass(frozen=True)
class ShownRun:
    cli: InProcessCli
    run_id: str
    state_dir: Path


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory) -> ShownRun:
    base = tmp_path_factory.mktemp("show")
    (base / "plan.yaml").write_text(PLAN)
    cli = cli_in(base / "state")
    done = cli("run", str(base / "plan.yaml"), "--json", "--poll", "0.1")
    assert done.returncode == 0, done.stderr
    return ShownRun(cli, json.loads(done.stdout)["run_id"], base / "state")


def test_show_without_job_lists_the_jobs_and_says_how_to_pick_one(shown: ShownRun) -> None:
    got = shown.cli("show", shown.run_id)
    assert got.returncode == 0, got.stderr
    lines = got.stdout.splitlines()
    assert lines[1].split() == ["#", "circuit", "target", "status", "job", "id", "depth", "2q",
                                "gates"]  # fmt: skip
    assert [line.split()[:3] for line in lines[2:]] == [
        ["0", "bell", "local:statevector"], ["1", "bell", "local:aer"]]  # fmt: skip
    assert f"qorch show {shown.run_id} JOB" in got.stderr
    data = json.loads(shown.cli("show", shown.run_id, "--json").stdout)
    assert [job["index"] for job in data["jobs"]] == [0, 1]
    assert data["jobs"][0]["two_qubit_gates"] == 1


def test_show_job_json_has_the_compiled_figures_timings_and_paths(shown: ShownRun) -> None:
    got = shown.cli("show", shown.run_id, "1", "--json")
    assert got.returncode == 0, got.stderr
    job = json.loads(got.stdout)
    manifest = next((shown.state_dir / "bundles").glob("*/manifest.json"))
    spec = json.loads(manifest.read_text())["jobs"][1]
    assert (job["target"], job["status"], job["shots"]) == ("local:aer", "done", 200)
    assert (job["depth"], job["two_qubit_gates"]) == (spec["depth"], spec["two_qubit_gates"])
    assert job["job_id"] == f"qorch-{shown.run_id}-0001"
    assert Path(job["payload"]).is_file() and job["payload_exists"]
    assert job["payload"].endswith(spec["payload"])
    assert job["cost_usd"] == 0.0 and job["error"] is None
    times = job["timings"]
    assert times["queued_s"] >= 0.3  # the target's simulated queue of 0.4 s, before it ran
    assert 0 < times["ran_s"] < times["total_s"] + 1
    stamps = [datetime.fromisoformat(times[k].replace("Z", "+00:00"))
              for k in ("submitted", "started", "ended")]  # fmt: skip
    assert stamps == sorted(stamps)  # seconds and milliseconds: compare times, not strings
    # the same job by its provider job id
    again = json.loads(shown.cli("show", shown.run_id, job["job_id"], "--json").stdout)
    assert again["index"] == 1


def test_show_job_table_names_every_field(shown: ShownRun) -> None:
    got = shown.cli("show", "latest", "0")
    assert got.returncode == 0, got.stderr
    fields = {line.split("  ")[0] for line in got.stdout.splitlines()[2:]}
    for name in ("target", "job id", "depth (transpiled)", "2q gates (transpiled)", "queued",
                 "ran", "shots", "cost", "error", "payload"):  # fmt: skip
        assert name in fields, got.stdout


def test_unknown_job_or_run_is_one_line_and_exit_1(shown: ShownRun) -> None:
    got = shown.cli("show", shown.run_id, "7")
    assert got.returncode == 1
    assert got.stderr.strip().splitlines() == [
        f"qorch: error: run {shown.run_id} has no job '7' (jobs: 0–1; give the # or the job id "
        f"that 'qorch status {shown.run_id}' shows)"
    ]
    missing = shown.cli("show", "nope", "--json")
    assert missing.returncode == 1
    assert "no run 'nope'" in json.loads(missing.stdout)["error"]["message"]
    assert shown.cli("show", "").returncode == 2  # an empty id (an unset $RUN_ID)


@pytest.mark.detached_workers  # a job still queued or running
def test_a_cancelled_job_shows_why_and_no_timings_yet(cli: InProcessCli, make_plan) -> None:
    plan = make_plan(PLAN.replace("0.4", "60").replace("  - local:statevector\n", ""))
    submitted = cli("submit", str(plan))
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip()
    assert cli("cancel", run_id).returncode == 0
    got = cli("show", run_id, "0", "--json")
    assert got.returncode == 0, got.stderr
    job = json.loads(got.stdout)
    assert job["status"] == "cancelled" and job["error"] and "cancel" in job["error"]
    assert job["timings"]["ran_s"] is None and job["timings"]["started"] is None
    table = cli("show", run_id, "0").stdout
    assert f"error                  {job['error']}" in table
