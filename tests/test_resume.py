"""Crashes, kills and overlapping invocations: runs resume and no job is submitted twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from qorch import registry, runner
from qorch.planfile import load_plan
from qorch.session import prepare_run

SLOW_PLAN = """
version: 1
kind: circuits
name: slow
shots: 200
circuits:
  - {name: ghz3, generator: ghz, qubits: 3}
  - {name: ghz4, generator: ghz, qubits: 4}
  - {name: qft3, generator: qft, qubits: 3, value: 5}
targets:
  - target: local:aer
    options: {queue_delay_s: DELAY}
"""


def job_statuses(state_dir: Path) -> list[str]:
    """Job statuses straight from the state database (read-only)."""
    if not (state_dir / "state.db").exists():
        return []
    with sqlite3.connect(f"file:{state_dir / 'state.db'}?mode=ro", uri=True) as conn:
        try:
            return [row[0] for row in conn.execute("SELECT status FROM jobs ORDER BY idx")]
        except sqlite3.OperationalError:
            return []


def assert_each_job_ran_once(state_dir: Path, expected_jobs: int) -> None:
    """One job directory per job, each claimed by exactly one worker, each with a result."""
    job_dirs = sorted(
        path for path in (state_dir / "jobs").iterdir() if path.name.startswith("qorch-")
    )
    assert len(job_dirs) == expected_jobs, [p.name for p in job_dirs]
    for directory in job_dirs:
        assert (directory / "claim").read_text().strip().isdigit()
        assert (directory / "result.json").exists()
        assert not (directory / "error.json").exists()


def test_sigkill_mid_run_then_rerun_completes_without_resubmitting(
    qorch, make_plan: Callable[..., Path], state_dir: Path
) -> None:
    plan = make_plan(SLOW_PLAN.replace("DELAY", "4"))
    env = {**os.environ, "QORCH_STATE_DIR": str(state_dir), "QORCH_LOCAL_WORKERS": "3"}
    first = subprocess.Popen(
        [sys.executable, "-m", "qorch", "run", str(plan), "--json", "--poll", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    in_flight_states = {"submitted", "queued", "running"}
    while not (
        len(job_statuses(state_dir)) == 3 and set(job_statuses(state_dir)) <= in_flight_states
    ):
        assert time.monotonic() < deadline, job_statuses(state_dir)
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    in_flight = [
        path for path in (state_dir / "jobs").glob("qorch-*") if not (path / "result.json").exists()
    ]
    assert in_flight, "the kill must land while jobs are still running"

    second = qorch("run", str(plan), "--json")
    assert second.returncode == 0, second.stderr
    assert "resuming" in second.stderr
    data = json.loads(second.stdout)
    assert data["status"] == "completed"
    assert [job["status"] for job in data["jobs"]] == ["done"] * 3
    assert data["jobs"][2]["counts"] == {"101": 200}
    runs = json.loads(qorch("status", "--json").stdout)
    assert len(runs) == 1
    assert_each_job_ran_once(state_dir, 3)


def test_simultaneous_submits_create_one_run(
    make_plan: Callable[..., Path], state_dir: Path, qorch
) -> None:
    plan = make_plan(SLOW_PLAN.replace("DELAY", "0"))
    env = {**os.environ, "QORCH_STATE_DIR": str(state_dir)}
    command = [sys.executable, "-m", "qorch", "submit", str(plan)]
    procs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    run_ids = {out.strip() for out, _ in outputs}
    assert len(run_ids) == 1, outputs
    runs = json.loads(qorch("status", "--json").stdout)
    assert [run["run_id"] for run in runs] == list(run_ids)
    done = qorch("results", run_ids.pop(), "--json")
    deadline = time.monotonic() + 120
    while done.returncode == 3 and time.monotonic() < deadline:
        time.sleep(0.3)
        done = qorch("results", "latest", "--json")
    assert done.returncode == 0, done.stderr
    assert_each_job_ran_once(state_dir, 3)


def test_crash_between_provider_call_and_handle_is_recovered(
    make_plan: Callable[..., Path], state_dir: Path, monkeypatch
) -> None:
    """A job whose provider call succeeded but whose handle was never recorded."""
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    plan = make_plan(SLOW_PLAN.replace("DELAY", "0"))
    ctx, created = prepare_run(plan, idem_key=None, new=False, notify=lambda _: None)
    assert created
    job = ctx.store.jobs(ctx.run.run_id)[0]
    assert ctx.store.mark_submitting(job.run_id, job.idx)
    registry.load("local").submit(runner._request(ctx, job))  # the call that "crashed" after
    ctx.store.close()

    ctx, created = prepare_run(plan, idem_key=None, new=False, notify=lambda _: None)
    assert not created
    runner.submit_pending(ctx)
    assert runner.wait(ctx, timeout_s=120, poll_s=0.2)
    assert [j.status for j in ctx.store.jobs(ctx.run.run_id)] == ["done"] * 3
    assert_each_job_ran_once(state_dir, 3)


def test_same_key_resumes_new_starts_fresh(
    make_plan: Callable[..., Path], state_dir: Path, qorch
) -> None:
    plan = make_plan(SLOW_PLAN.replace("DELAY", "0"))
    first = qorch("submit", str(plan), "--idempotency-key", "2026-11-20")
    again = qorch("submit", str(plan), "--idempotency-key", "2026-11-20")
    fresh = qorch("submit", str(plan), "--idempotency-key", "2026-11-20", "--new")
    other = qorch("submit", str(plan), "--idempotency-key", "2026-11-21")
    ids = [result.stdout.strip() for result in (first, again, fresh, other)]
    assert ids[0] == ids[1]
    assert len(set(ids)) == 3
    after = qorch("submit", str(plan), "--idempotency-key", "2026-11-20")
    assert after.stdout.strip() == ids[2], "a plain submit returns the latest run of the key"


def test_changed_plan_under_same_key_is_refused(make_plan: Callable[..., Path], qorch) -> None:
    plan = make_plan(SLOW_PLAN.replace("DELAY", "0"))
    assert qorch("submit", str(plan), "-k", "nightly").returncode == 0
    plan.write_text(plan.read_text().replace("shots: 200", "shots: 300"))
    result = qorch("submit", str(plan), "-k", "nightly")
    assert result.returncode == 1
    assert "different version of the plan" in result.stderr and "--new" in result.stderr


def test_loaded_plan_hash_ignores_formatting(make_plan: Callable[..., Path]) -> None:
    a = make_plan(SLOW_PLAN.replace("DELAY", "0"), name="a.yaml")
    b = make_plan("# a comment\n" + SLOW_PLAN.replace("DELAY", "0"), name="b.yaml")
    assert load_plan(a).canonical_hash() == load_plan(b).canonical_hash()
