"""Unit tests for qorch.engine.worker's pieces: execution slots, the one claim, usage.

A worker's whole life (spawn, claim, execute, death and restart) is tested through
qorch.engine.localjob in test_localjob.py and test_resume.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qorch.engine import worker, workerproc

pytestmark = pytest.mark.detached_workers  # kills, restarts and concurrent qorch processes


def test_slot_count_reads_qorch_local_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QORCH_LOCAL_WORKERS", "3")
    assert worker.slot_count() == 3
    monkeypatch.setenv("QORCH_LOCAL_WORKERS", "0")
    assert worker.slot_count() == 1  # at least one
    monkeypatch.setenv("QORCH_LOCAL_WORKERS", "many")
    assert worker.slot_count() == (os.cpu_count() or 1)
    monkeypatch.delenv("QORCH_LOCAL_WORKERS")
    assert worker.slot_count() == (os.cpu_count() or 1)


def test_the_first_claim_wins_and_names_this_process(tmp_path: Path) -> None:
    assert worker.claim(tmp_path, attempt=2)
    assert not worker.claim(tmp_path, attempt=3)
    record = json.loads((tmp_path / "claim").read_text())
    assert record["pid"] == os.getpid() and record["attempt"] == 2
    assert workerproc.parse((tmp_path / "claim").read_text()) == workerproc.identify(os.getpid())


def test_slots_bound_concurrent_jobs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QORCH_LOCAL_WORKERS", "2")
    cancel = tmp_path / "job" / "cancel"
    first = worker.acquire_slot(tmp_path, cancel)
    second = worker.acquire_slot(tmp_path, cancel)
    assert first is not None and second is not None
    assert sorted(p.name for p in (tmp_path / ".slots").iterdir()) == ["0", "1"]
    got: list[object] = []
    waiter = threading.Thread(target=lambda: got.append(worker.acquire_slot(tmp_path, cancel)))
    waiter.start()
    time.sleep(0.3)
    assert got == [] and waiter.is_alive()  # both slots held: the third job waits
    first.close()  # a job finished: its slot is free
    waiter.join(timeout=10)
    assert len(got) == 1 and got[0] is not None
    second.close()
    got[0].close()  # type: ignore[attr-defined]


def test_a_job_cancelled_while_waiting_for_a_slot_gives_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QORCH_LOCAL_WORKERS", "1")
    cancel = tmp_path / "cancel"
    held = worker.acquire_slot(tmp_path, cancel)
    assert held is not None
    cancel.touch()
    assert worker.acquire_slot(tmp_path, cancel) is None
    held.close()


def test_usage_errors_exit_2() -> None:
    assert worker.main([]) == 2
    assert worker.main(["a", "b", "c"]) == 2
    assert worker.main(["/job", "first"]) == 2


def test_a_job_claimed_by_another_worker_is_left_alone(tmp_path: Path) -> None:
    """A second worker for the same job (``python -m qorch.engine.worker``) exits 0 at once."""
    job = tmp_path / "jobs" / "qorch-x-0000"
    job.mkdir(parents=True)
    (job / "claim").write_text(json.dumps({"pid": os.getpid(), "attempt": 1}))
    result = subprocess.run(
        [sys.executable, "-m", "qorch.engine.worker", str(job)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "claimed by another worker; nothing to do" in result.stdout
    assert not (job / "state").exists() and not (job / "result.json").exists()


def test_a_sigterm_that_native_code_turns_into_an_error_is_a_cancellation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under load, ``qorch cancel``'s SIGTERM once landed while qiskit's Rust module was
    initialising; PyO3 re-raised the SystemExit as a RuntimeError, the worker wrote
    error.json, and a cancelled run ended 'failed'."""
    from qorch.engine import jobrequest

    cancels = [True, False]

    def execute_interrupted_by_cancel(directory: Path) -> None:
        if cancels.pop(0):
            (directory / "cancel").touch()
        raise RuntimeError("An error occurred while initializing class QubitSparsePauli")

    monkeypatch.setattr(jobrequest, "load_request", lambda d: execute_interrupted_by_cancel(d))
    job = tmp_path / "job"
    job.mkdir()
    worker._execute(job)
    assert not (job / "error.json").exists() and not (job / "result.json").exists()
    (job / "cancel").unlink()
    worker._execute(job)  # the same error without a cancellation is the job's failure
    assert "QubitSparsePauli" in json.loads((job / "error.json").read_text())["message"]


def test_a_state_file_a_full_disk_refuses_is_not_the_jobs_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker notes 'queued'/'running' in the job's ``state`` file. On a full disk that
    write failed inside the execution's error handling, so the job got an error.json
    ('StateError: cannot write …/state: disk full') and failed for good, as if its circuit
    were at fault: a rerun after freeing space left it failed. The note is best effort."""
    from qorch.contract.errors import StateError
    from qorch.contract.provider import JobState
    from qorch.engine import localjob
    from tests.test_localjob import make_request

    written = worker.write_text_atomic

    def full_disk(path: Path, text: str, **kwargs: bool) -> None:
        if path.name == "state":
            raise StateError(f"cannot write {path}: disk full: free space under {path.parent}")
        written(path, text, **kwargs)

    monkeypatch.setattr(worker, "write_text_atomic", full_disk)
    monkeypatch.setenv("QORCH_LOCAL_JOBS", "inline")
    handle = localjob.submit(make_request(tmp_path, delay=0.0), "local")
    directory = Path(handle["dir"])
    assert not (directory / "error.json").exists(), (directory / "error.json").read_text()
    assert localjob.status(handle).state is JobState.DONE


def test_a_full_disk_met_while_executing_stops_the_worker_instead_of_failing_the_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A simulator that cannot write its scratch files on a full disk raised inside the
    execution and the job got an error.json: failed for good, never retried. The worker
    now stops on it (its last words name the full disk), as it does when the result cannot
    be written, and the next run restarts the job."""
    import errno

    from qorch.contract.errors import StateError
    from qorch.engine import jobrequest, localjob
    from tests.test_localjob import make_request

    def no_space(directory: Path) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jobrequest, "load_request", no_space)
    monkeypatch.setenv("QORCH_LOCAL_JOBS", "inline")
    with pytest.raises(StateError, match="disk full"):  # inline: the run stops on it
        localjob.submit(make_request(tmp_path, delay=0.0), "local")
    [directory] = (tmp_path / "jobs").glob("qorch-*")
    assert not (directory / "error.json").exists()
