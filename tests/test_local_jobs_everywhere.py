"""Issue 9's promises hold for every provider's local devices (issue 10, item 3).

``local:statevector``, ``ibm:fake_manila`` and ``braket:local`` jobs all run in
qorch's own detached workers, through one path: a submission that crashed
before its handle was recorded is found again, not submitted twice; a worker
killed mid-job is restarted by the next run; a job left ``submitting`` is
cancelled where it runs; a moved project keeps its jobs and results.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qorch.engine import execution, registry, runner
from qorch.engine.session import prepare_run
from qorch.store.state import StateStore

TARGETS = ["local:statevector", "ibm:fake_manila", "braket:local"]

PLAN = """
version: 1
kind: circuits
name: everywhere
shots: 100
seed: 3
circuits:
  - {name: ghz2, generator: ghz, qubits: 2}
  - {name: ghz3, generator: ghz, qubits: 3}
targets:
  - target: TARGET
    options: {queue_delay_s: DELAY}
"""

pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc"),
    pytest.mark.slow,
    pytest.mark.detached_workers,  # what these tests are about
]


@pytest.fixture(autouse=True)
def stop_workers(tmp_path: Path) -> Iterator[None]:
    """Ask every worker started under the test's directory to stop when the test ends."""
    yield
    for directory in tmp_path.glob("**/jobs/qorch-*"):
        if directory.is_dir():
            (directory / "cancel").touch()


def quiet(message: str) -> None:
    """Notifications are not checked here."""


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def running(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] != "Z"


def claimed_by(directory: Path) -> int | None:
    """The pid of the live worker that claimed the job, if any."""
    try:
        pid = int(json.loads((directory / "claim").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None
    return pid if running(pid) else None


def crashed_after_the_provider_call(plan: Path, target: str) -> str:
    """Open the plan's run and submit its first job without recording the handle (the
    process died right after the call); returns the run id."""
    ctx, created = prepare_run(plan, idem_key=None, new=False, notify=quiet)
    assert created
    job = ctx.store.jobs(ctx.run.run_id)[0]
    assert ctx.store.mark_submitting(job.run_id, job.idx)
    provider = registry.load(target.split(":")[0])
    execution.submit(provider, runner._request(ctx, job))
    ctx.store.close()
    return ctx.run.run_id


@pytest.mark.parametrize("target", TARGETS)
def test_crash_killed_worker_and_move_leave_one_execution_per_job(
    target: str, make_plan: Callable[..., Path], state_dir: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    plan = make_plan(PLAN.replace("TARGET", target).replace("DELAY", "2"))
    run_id = crashed_after_the_provider_call(plan, target)

    ctx, created = prepare_run(plan, idem_key=None, new=False, notify=quiet)  # the next run
    assert not created
    assert runner.submit_pending(ctx) == 2  # job 0 found again by its token, job 1 submitted
    jobs = ctx.store.jobs(run_id)
    for job in jobs:
        assert job.handle is not None and job.handle["job_id"] == job.token
        assert job.handle["local"] is True and job.handle["dir"] == f"jobs/{job.token}"
    directory = state_dir / "jobs" / jobs[1].token
    pid = wait_for(lambda: claimed_by(directory), 60, "job 1's worker")
    os.kill(pid, signal.SIGKILL)  # as the OOM killer would
    wait_for(lambda: not running(pid), 10, "the worker to die")
    assert runner.wait(ctx, timeout_s=240, poll_s=0.2)  # restarts the dead worker
    jobs = ctx.store.jobs(run_id)
    assert [job.status for job in jobs] == ["done", "done"], [job.message for job in jobs]
    deaths = json.loads((directory / "attempts.json").read_text())["deaths"]
    assert len(deaths) == 1 and "killed" in deaths[0]["reason"], deaths
    tokens = sorted(path.name for path in (state_dir / "jobs").glob("qorch-*"))
    assert tokens == sorted(job.token for job in jobs)
    for token in tokens:
        log = (state_dir / "jobs" / token / "worker.log").read_text()
        assert log.count("job created") == 1 and log.count("result written") == 1, log
    lost = Path(str(jobs[0].result_file))
    ctx.store.close()

    moved = state_dir.rename(tmp_path / "moved")
    (moved / lost.relative_to(state_dir)).unlink()  # fetched again through its handle
    store = StateStore(moved)
    moved_ctx = runner.attach(store, run_id)
    counts = [runner.job_counts(moved_ctx, job) for job in store.jobs(run_id)]
    assert [sum(found.values()) for found in counts] == [100, 100]
    store.close()


@pytest.mark.parametrize("target", TARGETS)
def test_a_job_left_submitting_is_cancelled_where_it_runs(
    target: str, make_plan: Callable[..., Path], state_dir: Path, monkeypatch: Any
) -> None:
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    plan = make_plan(PLAN.replace("TARGET", target).replace("DELAY", "60"))
    run_id = crashed_after_the_provider_call(plan, target)
    store = StateStore(state_dir)
    assert runner.cancel(runner.attach(store, run_id)) == []
    jobs = store.jobs(run_id)
    assert [job.status for job in jobs] == ["cancelled", "cancelled"]
    assert jobs[0].handle is not None and jobs[0].handle["job_id"] == jobs[0].token
    assert jobs[1].handle is None  # never sent: cancelled in the store alone
    directory = state_dir / "jobs" / jobs[0].token
    assert (directory / "cancel").exists()
    wait_for(lambda: claimed_by(directory) is None, 30, "the worker to stop")
    assert not (directory / "result.json").exists()
    assert sorted(path.name for path in (state_dir / "jobs").glob("qorch-*")) == [jobs[0].token]
    store.close()


OLD_HANDLES = {  # what older qorch versions stored for a local job, by provider
    "local:statevector": {"job_id": "TOKEN", "dir": "OLD/jobs/TOKEN"},
    "ibm:fake_manila": {
        "job_id": "TOKEN",
        "dir": "OLD/jobs/TOKEN",
        "kind": "local",
        "backend": "fake_manila",
        "parameter_sets": 0,
    },
    "braket:local": {"job_id": "TOKEN", "dir": "OLD/jobs/TOKEN", "kind": "local"},
}


@pytest.mark.parametrize("target", TARGETS)
def test_handles_stored_by_older_qorch_are_collected_after_a_move(
    target: str, make_plan: Callable[..., Path], state_dir: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    """Each provider's own old handle form, with the absolute job directory of a project
    since moved, written by hand into the store beside a finished job directory."""
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    plan = make_plan(PLAN.replace("TARGET", target).replace("DELAY", "0"))
    ctx, _ = prepare_run(plan, idem_key=None, new=False, notify=quiet)
    run_id = ctx.run.run_id
    for job in ctx.store.jobs(run_id):
        directory = state_dir / "jobs" / job.token
        directory.mkdir(parents=True)
        (directory / "request.json").write_text("{}")
        (directory / "result.json").write_text(json.dumps({"counts": {"1" * (job.idx + 2): 7}}))
        old = json.dumps(OLD_HANDLES[target]).replace("TOKEN", job.token)
        old = old.replace("OLD", str(tmp_path / "before-the-move" / ".qorch"))
        with sqlite3.connect(state_dir / "state.db") as conn:
            conn.execute(
                "UPDATE jobs SET status = 'queued', handle = ? WHERE idx = ?", (old, job.idx)
            )
    ctx.store.close()

    store = StateStore(state_dir)
    ctx = runner.attach(store, run_id)
    jobs = runner.refresh(ctx)
    assert [job.status for job in jobs] == ["done", "done"], [job.message for job in jobs]
    assert [runner.job_counts(ctx, job) for job in jobs] == [{"11": 7}, {"111": 7}]
    assert runner.cancel(ctx) == []  # finished: nothing to cancel, nothing asked of a provider
    store.close()
