"""Local job workers under faults: claims, liveness, signals and file modes (issue 9, items 4, 14).

Each test submits a real local job (a detached ``python -m qorch.engine.worker``)
in the test's own directory and kills or damages it. Workers left behind are
asked to stop (their ``cancel`` file) when the test ends.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qorch.contract.provider import JobRequest, JobState, TargetOptions
from qorch.engine import localjob, registry
from qorch.testing import bell_circuit

pytestmark = pytest.mark.detached_workers  # kills, restarts and concurrent qorch processes

WORKER_MODULE = "qorch.engine.worker"


@pytest.fixture(autouse=True)
def stop_workers(tmp_path: Path) -> Iterator[None]:
    """Ask every worker started under the test's directory to stop when the test ends."""
    yield
    for directory in tmp_path.glob("**/qorch-*"):
        if directory.is_dir() and (directory / "request.json").exists():
            (directory / "cancel").touch()


def make_request(tmp_path: Path, delay: float = 30.0) -> JobRequest:
    """A local:statevector Bell job that waits ``delay`` seconds before it runs."""
    provider = registry.load("local")
    options = TargetOptions(extra={"queue_delay_s": delay})
    payload = provider.translate(bell_circuit(), "statevector", options, seed=3)
    return JobRequest(
        device="statevector",
        payload=payload,
        shots=100,
        seed=7,
        token=f"qorch-test-{time.time_ns()}",
        options=options,
        workdir=tmp_path / "jobs",
    )


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def claim_pid(directory: Path, name: str = "claim") -> int | None:
    """The pid in a claim file, in either format (a bare pid, or JSON with ``pid``)."""
    try:
        text = (directory / name).read_text().strip()
    except FileNotFoundError:
        return None
    if not text:
        return None
    if text.isdigit():
        return int(text)
    return int(json.loads(text)["pid"])


def running(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] != "Z"


def live_worker(directory: Path, timeout_s: float = 20.0) -> int:
    """The pid of the worker that claimed the job in ``directory`` once it runs."""

    def found() -> int | None:
        pid = claim_pid(directory)
        return pid if pid is not None and running(pid) else None

    return int(wait_for(found, timeout_s, f"a worker to claim {directory.name}"))


def kill_worker(pid: int) -> None:
    """SIGKILL a worker (as the OOM killer would) and wait until it is gone."""
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not running(pid), 10, f"worker {pid} to die")


def proc_start(pid: int) -> int:
    """A process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


@linux_only
def test_claim_is_written_whole_and_names_the_worker(tmp_path: Path) -> None:
    handle = localjob.submit(make_request(tmp_path), "local")
    directory = Path(handle["dir"])
    pid = live_worker(directory)
    record = json.loads((directory / "claim").read_text())
    assert record["pid"] == pid
    assert record["start"] == proc_start(pid), "the claim records the worker's start time"
    assert not list(directory.glob(".claim.*")), "no temporary claim file is left behind"


@linux_only
def test_cancel_with_an_empty_claim_signals_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 4: a claim file left empty must never turn into ``killpg(0, SIGTERM)``."""
    handle = localjob.submit(make_request(tmp_path), "local")
    directory = Path(handle["dir"])
    kill_worker(live_worker(directory))
    (directory / "claim").write_text("")  # died between creating the claim and writing it
    sent: list[tuple[str, int, int]] = []
    monkeypatch.setattr(os, "killpg", lambda pid, sig: sent.append(("killpg", pid, sig)))
    real_kill = os.kill

    def kill(pid: int, sig: int) -> None:
        if sig != 0:
            sent.append(("kill", pid, sig))
            return
        real_kill(pid, sig)

    monkeypatch.setattr(os, "kill", kill)
    localjob.cancel(handle)
    assert sent == []


@linux_only
def test_an_impostor_with_the_workers_pid_is_never_signalled(tmp_path: Path) -> None:
    """Item 4: pid reuse. A process naming the job on its command line but started at
    another time than the claim says is not the worker: cancel leaves it alone."""
    handle = localjob.submit(make_request(tmp_path), "local")
    directory = Path(handle["dir"])
    pid = live_worker(directory)
    start = proc_start(pid)
    kill_worker(pid)
    impostor = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(60)",
            WORKER_MODULE,
            str(directory),
        ],
        start_new_session=True,
    )
    try:
        cmdline = Path(f"/proc/{impostor.pid}/cmdline")
        wait_for(
            lambda: WORKER_MODULE.encode() in cmdline.read_bytes(), 10, "the impostor to start"
        )
        claim = json.loads((directory / "claim").read_text())
        claim.update(pid=impostor.pid, start=start)  # the worker's start time, another pid
        (directory / "claim").write_text(json.dumps(claim))
        localjob.cancel(handle)
        assert impostor.poll() is None, "cancel signalled a process that is not the worker"
        assert localjob.status(handle).state is JobState.CANCELLED
    finally:
        impostor.kill()
        impostor.wait()


@linux_only
def test_empty_claim_without_a_worker_is_a_dead_worker(tmp_path: Path) -> None:
    """Item 4: a job whose worker died leaving an empty claim is not 'queued' for ever."""
    handle = localjob.submit(make_request(tmp_path), "local")
    directory = Path(handle["dir"])
    kill_worker(live_worker(directory))
    claim = directory / "claim"
    claim.write_text("")
    old = time.time() - 3600
    os.utime(claim, (old, old))  # long past any start-up grace
    status = localjob.status(handle)
    assert "died" in status.message, status
    assert "1 of 3" in status.message, status


@linux_only
def test_job_files_are_private(tmp_path: Path) -> None:
    """Item 14: job directories hold requests and handles: 0700 directories, 0600 files."""
    handle = localjob.submit(make_request(tmp_path, delay=0), "local")
    directory = Path(handle["dir"])
    wait_for(lambda: localjob.status(handle).state.final, 60, "the job to finish")
    assert localjob.status(handle).state is JobState.DONE
    for path in [tmp_path / "jobs", directory, *directory.parent.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir():
            assert mode == 0o700, (path, oct(mode))
        else:
            assert mode == 0o600, (path, oct(mode))


@linux_only
def test_a_death_recorded_but_not_moved_aside_is_not_counted_twice(tmp_path: Path) -> None:
    """A crash between recording a death and moving its claim aside: the claim is
    recognised as that attempt's, moved aside before the restart, counted once."""
    handle = localjob.submit(make_request(tmp_path, delay=0.5), "local")
    directory = Path(handle["dir"])
    kill_worker(live_worker(directory))
    death = {"attempt": 1, "reason": "worker pid 1 was killed", "claim": "claim.1"}
    (directory / "attempts.json").write_text(json.dumps({"deaths": [death]}))
    assert localjob.status(handle).message.startswith(localjob.RESTART_PENDING)
    assert localjob.restart(handle) is not None
    wait_for(lambda: localjob.status(handle).state.final, 60, "the job to finish")
    assert localjob.status(handle).state is JobState.DONE
    assert json.loads((directory / "attempts.json").read_text())["deaths"] == [death]
    assert (directory / "claim.1").exists() and claim_pid(directory) is not None


@linux_only
def test_a_worker_on_another_host_is_never_judged_from_here(tmp_path: Path) -> None:
    """A state directory on a shared file system: a claim made on another host names a
    process this host cannot see. It is neither declared dead (no second execution) nor
    signalled."""
    handle = localjob.submit(make_request(tmp_path), "local")
    directory = Path(handle["dir"])
    kill_worker(live_worker(directory))
    claim = json.loads((directory / "claim").read_text())
    claim["host"] = "another-host.example"
    (directory / "claim").write_text(json.dumps(claim))
    status = localjob.status(handle)
    assert status.state in (JobState.QUEUED, JobState.RUNNING), status
    assert "another-host.example" in status.message
    assert localjob.restart(handle) is None
    assert not (directory / "attempts.json").exists()
    localjob.cancel(handle)
    assert (directory / "cancel").exists()


def test_jobs_submitted_in_a_batch_share_one_worker_that_runs_each_in_turn(
    tmp_path: Path,
) -> None:
    """Three jobs of one provider submitted in a batch: one worker process runs all three
    (one interpreter and SDK import, not three), each job's log and result its own."""
    requests = [make_request(tmp_path, delay=0.0) for _ in range(3)]
    with localjob.batched_workers():
        handles = [localjob.submit(request, "local") for request in requests]
        assert not any((Path(h["dir"]) / "spawn").exists() for h in handles)  # not yet
    pids = {json.loads((Path(h["dir"]) / "spawn").read_text())["pid"] for h in handles}
    assert len(pids) == 1
    for handle in handles:
        wait_for(lambda h=handle: localjob.status(h).state == JobState.DONE, 60, "the job")
        assert sum(localjob.result(handle).values()) == 100
        log = (Path(handle["dir"]) / "worker.log").read_text()
        assert log.count("result written") == 1
        assert f"worker pid {next(iter(pids))} takes the job" in log


def test_a_job_whose_submitter_died_before_starting_its_worker_is_started_by_restart(
    tmp_path: Path,
) -> None:
    """A batch cut short (the submitting qorch killed before its end) leaves jobs with no
    worker; the next run's restart starts them at once, without counting a death."""
    request = make_request(tmp_path, delay=0.0)
    directory = localjob.job_dir(request)
    with localjob.batched_workers():
        handle = localjob.submit(request, "local")
        localjob._batch.clear()  # type: ignore[union-attr]  # the kill: no worker started
    assert not (directory / "spawn").exists()
    assert localjob.status(handle).state == JobState.QUEUED
    done = localjob.restart(handle)
    assert done is not None and "stopped before starting it" in done
    wait_for(lambda: localjob.status(handle).state == JobState.DONE, 60, "the job")
    assert not (directory / "attempts.json").exists()
    assert localjob.restart(handle) is None  # finished: nothing more to start


def test_a_worker_that_ended_on_an_error_is_not_said_to_be_killed(tmp_path: Path) -> None:
    """A worker whose result and error.json a full disk refused ends with a traceback in
    its log; its death read 'killed: out of memory, a signal or a reboot?' before the
    traceback's last line. It now says it stopped on an error, and which."""
    from qorch.engine.workerproc import Ident

    directory = tmp_path / "qorch-job"
    directory.mkdir()
    log = directory / "worker.log"
    words = "Traceback (most recent call last):\nOSError: [Errno 28] No space left on device\n"
    log.write_text("qorch.engine.worker: 2026-12-07T08:07:21Z executing\n" + words)
    said = localjob._death_reason(directory, Ident(pid=2**22 + 1))
    assert "stopped on an error" in said and "killed" not in said, said
    assert said.endswith("its last words: OSError: [Errno 28] No space left on device"), said
    log.write_text("qorch.engine.worker: 2026-12-07T08:07:21Z executing\n")  # SIGKILL: no words
    assert "killed: out of memory" in localjob._death_reason(directory, Ident(pid=2**22 + 1))


@linux_only
def test_a_worker_stopped_by_a_full_disk_is_restarted_by_the_next_run_not_at_once(
    tmp_path: Path,
) -> None:
    """A worker a full disk stopped (its result refused) was restarted at once into the
    same full disk: a few seconds could spend all three attempts, and the job then failed
    for good. Now the job fails for this run with what to do, and the next run's restart
    (what 'qorch run' does for it) starts it again."""
    handle = localjob.submit(make_request(tmp_path, delay=2.0), "local")
    directory = Path(handle["dir"])
    kill_worker(live_worker(directory))
    words = "Traceback (most recent call last):\nOSError: [Errno 28] No space left on device\n"
    with open(directory / "worker.log", "a") as log:  # the traceback it would have left
        log.write(words)
    status = localjob.status(handle)
    assert status.state is JobState.FAILED, status
    assert "full disk on attempt 1 (not counted" in status.message, status.message
    assert "run the same command again" in status.message, status.message
    assert localjob.restart(handle) is not None  # the next 'qorch run'
    wait_for(lambda: localjob.status(handle).state.final, 60, "the job to finish")
    assert localjob.status(handle).state is JobState.DONE


@linux_only
def test_stops_on_a_full_disk_do_not_spend_the_jobs_attempts(tmp_path: Path) -> None:
    """Each stop on a full disk is restarted by the next run (the run says: free space and
    run the same command again). They spent the job's three attempts: a third one failed
    it for good ('worker died 3 times'), and only --new, which submits every job of the
    run again, paid ones too, got it run. Stops on a full disk no longer count."""
    handle = localjob.submit(make_request(tmp_path, delay=0.5), "local")
    directory = Path(handle["dir"])
    kill_worker(live_worker(directory))
    words = "Traceback (most recent call last):\nOSError: [Errno 28] No space left on device\n"
    for attempt in (1, 2, 3):
        with open(directory / "worker.log", "a") as log:  # the traceback it would have left
            log.write(words)
        status = localjob.status(handle)
        assert status.state is JobState.FAILED, status
        assert "full disk" in status.message and "died 3 times" not in status.message, status
        restarted = localjob.restart(handle)  # the next 'qorch run'
        assert restarted is not None and f"attempt {attempt + 1} of {3 + attempt}" in restarted
        if attempt < 3:
            kill_worker(live_worker(directory))
    wait_for(lambda: localjob.status(handle).state.final, 60, "the job to finish")
    assert localjob.status(handle).state is JobState.DONE
