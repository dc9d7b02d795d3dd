"""Local jobs that behave like cloud jobs: detached, re-attachable, at most once, retried.

The core (:mod:`qorch.engine.execution`) calls :func:`submit` for a job on
any provider's local device; the job then runs in a detached worker process
(``python -m qorch.engine.worker DIR ATTEMPT``, which calls the provider's
``execute``) in its own session, which outlives the submitting process, so killing
``qorch run`` does not kill its jobs, and a later ``qorch`` re-attaches from
the handle, as it would to an IBM or Braket job. Each job is a private
directory (0700, files 0600) named by the job's idempotency token::

    request.json   what to run (written last: its presence means "created")
    payload.*      the translated circuit
    spawn          the worker started for the current attempt: pid, start time, boot
                   (``warm``: started before the compile, see :mod:`qorch.engine.warmpool`)
    claim          the worker executing the job: pid, start time, boot; created
                   whole and exclusively (hard link), so never empty and never two
    claim.N        the claim of attempt N, whose worker died
    attempts.json  the attempts whose worker died, and why
    state          "queued" or "running"
    result.json    counts and the execution's timings, created once
    error.json     why the job failed (the circuit, not the worker): never retried
    cancel         cancellation requested
    worker.log     the workers' output and qorch's notes (deaths, restarts)

A worker is alive only if a process with its pid, start time and boot runs
with a command line naming the job, so a reused pid is never mistaken for it
and only a verified worker is ever signalled. A worker that died without a
result (killed by the OOM killer, a reboot) is recorded in ``attempts.json``
and :func:`restart` starts a fresh one, :data:`MAX_ATTEMPTS` in all (a worker a
full disk stopped is not counted: the run says to free space and run again); the
runner calls it when a run is resumed. Workers take one of
``QORCH_LOCAL_WORKERS`` (default: CPU count) slots, held by ``flock``.

Inside :func:`batched_workers` (the runner submits a run's jobs in it), the
workers of the jobs submitted or restarted are started at the end, one per
provider, each running its jobs in turn: a run of many local jobs pays for
one interpreter and one SDK import per provider, not one per job. A job
whose submitter died before that is started by the next :func:`restart`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qorch.contract import settings
from qorch.contract.provider import (
    Handle,
    JobRequest,
    JobState,
    JobStatus,
    Result,
    is_expectations,
)
from qorch.engine import warmpool, workerproc
from qorch.engine.jobrequest import request_record
from qorch.engine.workerproc import Ident
from qorch.store.fsutil import read_json, write_bytes_atomic, write_json_atomic

JOBS_DIR = "jobs"  # where a state directory keeps its local jobs
MAX_ATTEMPTS = 3  # workers started for one job, in all
DISK_FULL_WORDS = ("[Errno 28]", "No space left on device", "[Errno 122]", "Disk quota exceeded")
SPAWN_GRACE_S = 30.0  # a job with no recorded worker: time for its submitter to start one
CLAIM_GRACE_S = 30.0  # an unreadable claim and no worker running: dead after this long
CANCEL_WAIT_S = 5.0
RESTART_PENDING = "worker died"  # how the message of a job waiting for a restart begins
_children: dict[int, subprocess.Popen[bytes]] = {}
_batch: dict[str, list[tuple[Path, int]]] | None = None  # provider: jobs awaiting a worker


def job_dir(request: JobRequest) -> Path:
    """The directory of the job with this request's token."""
    return request.workdir / request.token


def submit(request: JobRequest, provider: str) -> Handle:
    """Create the job directory (once per token) and start its worker.

    Submitting a token whose job exists re-attaches to it (and starts its
    worker if none was ever started): never a second job.
    """
    directory = job_dir(request)
    _private_dir(request.workdir)
    _private_dir(directory)
    with _job_lock(directory):
        if not (directory / "request.json").exists():
            payload = directory / f"payload.{request.payload.extension}"
            write_bytes_atomic(payload, request.payload.data, private=True)
            record = request_record(request, provider)
            write_json_atomic(directory / "request.json", record, private=True)
            _log(directory, f"job created by qorch pid {os.getpid()}")
            _spawn(directory, 1)
        else:
            _log(directory, "submitted again: the job exists; re-attached to it")
            _start_if_never_started(directory)
    return _handle(directory, request, provider)


def recover(request: JobRequest, provider: str) -> Handle | None:
    """Re-attach to a job a crashed submit created; start its worker if none ever ran."""
    directory = job_dir(request)
    if not (directory / "request.json").exists():
        return None
    with _job_lock(directory):
        _start_if_never_started(directory)
    return _handle(directory, request, provider)


def status(handle: Handle) -> JobStatus:
    """The job's state, from its directory and the verified liveness of its worker.

    A worker found dead is recorded (its claim moved aside, the reason in
    ``attempts.json`` and ``worker.log``); the job is then queued for a
    restart, or failed once :data:`MAX_ATTEMPTS` workers died.
    """
    directory = Path(handle["dir"])
    view = _inspect(directory)
    if view.state == "dead":
        # a read-only directory: report the death, record nothing
        with contextlib.suppress(OSError), _job_lock(directory):
            view = _inspect(directory)
            if view.state == "dead":
                _record_death(directory, view)
                view = _inspect(directory)
    return _status_of(directory, view)


def restart(handle: Handle) -> str | None:
    """Start a fresh worker for a job whose worker died, or the first worker of a job whose
    submitter stopped before starting it; returns what was done, or None.

    Does nothing for a job that finished, failed for a reason of its own
    (``error.json``), was cancelled, still has a live worker, or whose
    :data:`MAX_ATTEMPTS` workers all died.
    """
    directory = Path(handle["dir"])
    if not (directory / "request.json").exists():
        return None
    with _job_lock(directory):
        if _start_if_never_started(directory):
            return "worker started (the qorch that submitted the job stopped before starting it)"
        view = _inspect(directory)
        if view.state == "dead":
            _record_death(directory, view)
            view = _inspect(directory)
        if view.state != "waiting":
            return None
        _tidy(directory, view.deaths)
        attempt = len(view.deaths) + 1
        _log(directory, f"restarting the job: {_of(attempt, view.deaths)}")
        _spawn(directory, attempt)
    return f"restarted ({_of(attempt, view.deaths)}) after: {view.deaths[-1]['reason']}"


def result(handle: Handle) -> Result:
    """Counts of a finished job (a list of Counts for a job with parameter sets; its
    expectation values for a job with observables)."""
    counts = read_json(Path(handle["dir"]) / "result.json")["counts"]
    if is_expectations(counts):
        return dict(counts)
    if isinstance(counts, list):
        return [{str(k): int(v) for k, v in item.items()} for item in counts]
    return {str(k): int(v) for k, v in counts.items()}


def timings(handle: Handle) -> dict[str, Any] | None:
    """When a finished job's execution started and ended (UTC) and ``ran_s``, from its
    ``result.json``; None if it has none (not finished, or written by an older worker)."""
    try:
        record = read_json(Path(handle["dir"]) / "result.json")
        found = {key: record[key] for key in ("started", "ended", "ran_s")}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found


def cancel(handle: Handle) -> bool:
    """Request cancellation and stop the job's verified worker. False if already finished."""
    directory = Path(handle["dir"])
    if _final(directory):
        return False
    if not directory.is_dir():
        return True  # nothing can run it (status says the directory is missing)
    _touch_private(directory / "cancel")
    _log(directory, f"cancel requested by qorch pid {os.getpid()}")
    token = directory.name
    workers = [ident for ident in _live_workers(directory) if not ident.remote]
    for ident in workers:
        workerproc.signal_worker(ident, token, signal.SIGTERM)
    deadline = time.monotonic() + CANCEL_WAIT_S
    while workers and time.monotonic() < deadline:
        time.sleep(0.05)
        workers = [ident for ident in workers if _alive(ident, token)]
    for ident in workers:  # busy in native code past the deadline
        workerproc.signal_worker(ident, token, signal.SIGKILL)
    return True


def request_cancel(request: JobRequest) -> None:
    """Mark the job of ``request`` cancelled if its directory exists, before anything else
    (a worker started later exits without running it). Creates nothing otherwise."""
    directory = job_dir(request)
    if directory.is_dir():
        _touch_private(directory / "cancel")
        _log(directory, f"cancel requested by qorch pid {os.getpid()} (before re-attaching)")


# handles ------------------------------------------------------------------


def _handle(directory: Path, request: JobRequest, provider: str) -> Handle:
    """A local job's handle, the same for every provider (see :mod:`qorch.engine.execution`)."""
    return {
        "job_id": directory.name,
        "local": True,
        "dir": str(directory.resolve()),
        "provider": provider,
        "device": request.device,
        "parameter_sets": request.parameter_sets,
    }


# the worker's request -------------------------------------------------------


# what the job directory says ------------------------------------------------


@dataclass
class _View:
    """What a job directory says about its job right now.

    ``state``: done, error, alive, starting, cancelled, dead (the current
    attempt's worker died, not recorded yet), waiting (a death recorded, a
    restart due), exhausted, missing.
    """

    state: str
    message: str = ""
    deaths: list[dict[str, Any]] = field(default_factory=list)
    worker: Ident | None = None
    reason: str = ""

    @property
    def attempt(self) -> int:
        return len(self.deaths) + 1


def _inspect(directory: Path) -> _View:
    if not (directory / "request.json").exists():
        what = "is missing" if not directory.exists() else "has no request.json"
        return _View("missing", f"job directory {directory} {what}")
    final = _final_view(directory)
    if final is not None:
        return final
    token = directory.name
    deaths = _deaths(directory)
    exists, claimed, record = workerproc.read_ident(directory / "claim")
    if exists and _claim_attempt(record, len(deaths) + 1) <= len(deaths):
        exists = False  # the claim of a recorded death, not moved aside yet: see _tidy
    if exists and claimed is not None:
        if _alive(claimed, token) or (record.get("inline") and workerproc.is_live_process(claimed)):
            return _View("alive", _read_state(directory), deaths, claimed)
        return _after_death(directory, deaths, claimed, _death_reason(directory, claimed))
    if exists:  # empty or damaged claim: a worker killed while claiming, or a full disk
        if workerproc.find_workers(token):
            return _View("alive", _read_state(directory), deaths)
        if (directory / "cancel").exists():
            return _View("cancelled", "cancelled", deaths)
        if _age_s(directory / "claim") < CLAIM_GRACE_S:
            return _View("starting", "worker starting", deaths)
        reason = f"the worker of attempt {len(deaths) + 1} left its claim file empty or unreadable"
        return _after_death(directory, deaths, None, f"{reason}, and no worker runs")
    return _inspect_unclaimed(directory, deaths)


def _inspect_unclaimed(directory: Path, deaths: list[dict[str, Any]]) -> _View:
    token = directory.name
    attempt = len(deaths) + 1
    spawn_exists, spawned, record = workerproc.read_ident(directory / "spawn")
    if spawned is not None and int(record.get("attempt", 1)) >= attempt:
        if _alive(spawned, token) or workerproc.find_workers(token):
            return _View("starting", "worker starting", deaths, spawned)
        how = _death_reason(directory, spawned)
        return _after_death(directory, deaths, spawned, f"{how}, before claiming the job")
    if workerproc.find_workers(token):
        return _View("starting", "worker starting", deaths)
    if (directory / "cancel").exists():
        return _View("cancelled", "cancelled before it started", deaths)
    if deaths:
        return _View("waiting" if _spent(deaths) < MAX_ATTEMPTS else "exhausted", "", deaths)
    since = directory / ("spawn" if spawn_exists else "request.json")
    if _age_s(since) < SPAWN_GRACE_S:
        return _View("starting", "waiting for a worker", deaths)
    return _after_death(directory, deaths, None, "no worker was ever started for the job")


def _after_death(
    directory: Path, deaths: list[dict[str, Any]], worker: Ident | None, reason: str
) -> _View:
    """The view once the current worker is known dead (re-reading what it may have left)."""
    final = _final_view(directory)
    if final is not None:
        return final
    if (directory / "cancel").exists():
        return _View("cancelled", "cancelled", deaths, worker)
    return _View("dead", "", deaths, worker, reason)


def _final_view(directory: Path) -> _View | None:
    if (directory / "result.json").exists():
        return _View("done")
    if (directory / "error.json").exists():
        try:
            message = str(read_json(directory / "error.json")["message"])
        except (OSError, ValueError, KeyError, TypeError):
            message = f"the job failed; see {directory / 'error.json'}"
        return _View("error", message)
    return None


def _status_of(directory: Path, view: _View) -> JobStatus:
    of = _of(view.attempt, view.deaths)
    if view.state == "done":
        return JobStatus(JobState.DONE)
    if view.state in ("error", "missing"):
        return JobStatus(JobState.FAILED, view.message)
    if view.state == "cancelled":
        return JobStatus(JobState.CANCELLED, view.message)
    if view.state in ("alive", "starting"):
        state = JobState.RUNNING if view.message == "running" else JobState.QUEUED
        message = view.message if view.attempt == 1 else f"{view.message} ({of})"
        if view.worker is not None and view.worker.remote:
            message += f"; its worker runs on {view.worker.host} and is checked from there"
        return JobStatus(state, message)
    if view.state == "exhausted":
        reasons = "; ".join(f"{d['attempt']}: {d['reason']}" for d in view.deaths)
        log = directory / "worker.log"
        return JobStatus(
            JobState.FAILED, f"worker died {len(view.deaths)} times ({reasons}); see {log}"
        )
    if view.state == "waiting":
        last = view.deaths[-1]
        if _disk_full(last):
            # restarting now would run the job again into the same full disk, each time
            # spending an attempt: the run stops here, and the next one restarts it
            return JobStatus(
                JobState.FAILED,
                f"worker stopped on a full disk on attempt {last['attempt']} (not counted "
                f"against its {MAX_ATTEMPTS} attempts) "
                f"({last['reason']}); free space under {directory.parent} and run the same "
                "command again: it restarts the job",
            )
        return JobStatus(
            JobState.QUEUED,
            f"{RESTART_PENDING} on {_of(last['attempt'], view.deaths[:-1])} ({last['reason']}); "
            "the next 'qorch run' or 'qorch submit' of this run restarts it",
        )
    # dead, but the death could not be recorded (read-only directory)
    return JobStatus(JobState.QUEUED, f"{RESTART_PENDING} on {of} ({view.reason})")


def _record_death(directory: Path, view: _View) -> None:
    """Record why the current worker died, then move its claim aside (under the job lock).

    In this order, a crash in between leaves a claim whose attempt is
    recorded; :func:`_inspect` ignores it and :func:`_tidy` moves it later.
    """
    attempt = view.attempt
    aside = _aside_name(directory, attempt) if (directory / "claim").exists() else None
    entry = {
        "attempt": attempt,
        "reason": view.reason,
        "at": _utc_now(),
        "worker": None if view.worker is None else view.worker.to_record(),
        "claim": None if aside is None else aside.name,  # None: it died before claiming
    }
    deaths = [*view.deaths, entry]
    attempts = {"max_attempts": MAX_ATTEMPTS, "deaths": deaths}
    write_json_atomic(directory / "attempts.json", attempts, private=True)
    if aside is not None:
        with contextlib.suppress(FileNotFoundError):
            (directory / "claim").rename(aside)
    then = "the job will be restarted" if _spent(deaths) < MAX_ATTEMPTS else "giving up"
    _log(directory, f"{_of(attempt, view.deaths)} died: {view.reason}; {then}")


def _tidy(directory: Path, deaths: list[dict[str, Any]]) -> None:
    """Move aside a claim whose worker's death is recorded (under the job lock), so the
    next worker can claim the job."""
    claim = directory / "claim"
    exists, _, record = workerproc.read_ident(claim)
    attempt = _claim_attempt(record, len(deaths) + 1)
    if not exists or attempt > len(deaths):
        return
    recorded = deaths[attempt - 1].get("claim") if attempt >= 1 else None
    aside = directory / recorded if recorded else _aside_name(directory, attempt)
    if aside.exists():
        aside = _aside_name(directory, attempt)
    claim.rename(aside)


def _aside_name(directory: Path, attempt: int) -> Path:
    """A free name for the claim of a dead attempt: ``claim.N`` (``claim.N.k`` if taken)."""
    aside = directory / f"claim.{attempt}"
    suffix = 1
    while aside.exists():
        aside = directory / f"claim.{attempt}.{suffix}"
        suffix += 1
    return aside


def _disk_full(death: dict[str, Any]) -> bool:
    """True if a recorded death was a stop on a full disk (its worker's last words)."""
    return any(mark in str(death.get("reason", "")) for mark in DISK_FULL_WORDS)


def _spent(deaths: list[dict[str, Any]]) -> int:
    """The attempts ``deaths`` spent: a stop on a full disk spends none (it is restarted
    by the next run, once the user freed space; three of them failed the job for good)."""
    return sum(1 for death in deaths if not _disk_full(death))


def _of(attempt: int, deaths: list[dict[str, Any]]) -> str:
    """'attempt N of M' after ``deaths``: M grows by one per stop on a full disk."""
    return f"attempt {attempt} of {MAX_ATTEMPTS + len(deaths) - _spent(deaths)}"


def _claim_attempt(record: dict[str, Any], default: int) -> int:
    """The attempt a claim was made for (claims of older workers: ``default``)."""
    try:
        return int(record.get("attempt", default))
    except (TypeError, ValueError):
        return default


def _death_reason(directory: Path, worker: Ident) -> str:
    child = _children.get(worker.pid)
    if child is not None and child.returncode is not None:
        how = workerproc.describe_exit(child.returncode)
    elif worker.boot is not None and worker.boot != workerproc.boot_id():
        how = "was lost: the machine restarted"
    else:
        how = "vanished without a result (killed: out of memory, a signal or a reboot?)"
    last = _last_log_line(directory)
    if last and how.startswith("vanished"):  # it ended on an error it could not record
        how = "stopped on an error it could not record (no result, no error.json)"
    tail = f"; its last words: {last}" if last else ""
    return f"worker {worker} {how}{tail}"


def _deaths(directory: Path) -> list[dict[str, Any]]:
    try:
        return list(read_json(directory / "attempts.json")["deaths"])
    except (OSError, ValueError, KeyError, TypeError):
        return []


def _read_state(directory: Path) -> str:
    try:
        return (directory / "state").read_text().strip() or "queued"
    except OSError:
        return "queued"


def _final(directory: Path) -> bool:
    return (directory / "result.json").exists() or (directory / "error.json").exists()


# workers -----------------------------------------------------------------


def _alive(worker: Ident, token: str) -> bool:
    """True if ``worker`` is a live worker of job ``token`` (verified, never guessed).

    A worker on another host cannot be checked from here: presumed alive.
    """
    if worker.remote:
        return True
    child = _children.get(worker.pid)
    if child is not None and child.poll() is not None:
        return False
    return workerproc.is_worker(worker, token)


def _live_workers(directory: Path) -> list[Ident]:
    """The job's verified live workers: the claim's, else the spawned one or any found."""
    token = directory.name
    _, claimed, _ = workerproc.read_ident(directory / "claim")
    if claimed is not None:  # a readable claim names the one worker that may run the job
        return [claimed] if _alive(claimed, token) else []
    found = []
    _, spawned, _ = workerproc.read_ident(directory / "spawn")
    if spawned is not None and _alive(spawned, token):
        found.append(spawned)
    pids = {ident.pid for ident in found}
    found += [ident for ident in workerproc.find_workers(token) if ident.pid not in pids]
    return found


def _start_if_never_started(directory: Path) -> bool:
    """Start attempt 1's worker if none was ever started (call under the job lock); True
    if it was started (or queued to start, in a batch)."""
    if _final(directory) or (directory / "cancel").exists():
        return False
    if any((directory / name).exists() for name in ("spawn", "claim", "attempts.json")):
        return False
    if _queued(directory) or workerproc.find_workers(directory.name):
        return False
    _spawn(directory, 1)
    return True


@contextlib.contextmanager
def batched_workers() -> Iterator[None]:
    """Start the workers of the jobs submitted or restarted inside at the end: one per
    provider, running its jobs in turn (nested: the outermost starts them)."""
    global _batch
    if _batch is not None:
        yield
        return
    _batch = {}
    try:
        yield
    finally:
        batch, _batch = _batch, None
        for warm, jobs in warmpool.take(batch):  # started before the compile: SDKs loaded
            if not _hand_over(warm, jobs):
                _start_worker(jobs)
        for jobs in batch.values():
            _start_worker(jobs)


def _queued(directory: Path) -> bool:
    """True if the job waits in the current batch for its worker."""
    return _batch is not None and any(
        queued == directory for jobs in _batch.values() for queued, _ in jobs
    )


def _spawn(directory: Path, attempt: int) -> None:
    """Start the job's worker now, or at the end of the current batch."""
    if _batch is None:
        _start_worker([(directory, attempt)])
        return
    provider = str(read_json(directory / "request.json")["provider"])
    _batch.setdefault(provider, []).append((directory, attempt))


def _start_worker(jobs: list[tuple[Path, int]]) -> None:
    """Start one detached worker (its own session) for ``jobs`` and record who it is in
    each job's ``spawn`` (``QORCH_LOCAL_JOBS=inline``: run them here, now)."""
    if settings.local_jobs_inline():
        from qorch.engine import worker

        worker.run_inline(jobs)
        return
    for pid, child in list(_children.items()):  # reap workers that have ended
        if child.poll() is not None:
            del _children[pid]
    args = [str(arg) for directory, attempt in jobs for arg in (directory.resolve(), attempt)]
    log = os.open(jobs[0][0] / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", workerproc.WORKER_MODULE, *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        os.close(log)
    _children[child.pid] = child
    _record_spawn(child.pid, jobs)


def _record_spawn(pid: int, jobs: list[tuple[Path, int]], warm: bool = False) -> None:
    """Name the worker ``pid`` in each job's ``spawn`` (who runs the current attempt;
    ``warm``: started before the compile, see :mod:`qorch.engine.warmpool`)."""
    ident = workerproc.identify(pid).to_record()
    for directory, attempt in jobs:
        record = {**ident, "attempt": attempt, "spawned_by": os.getpid(), "at": _utc_now()}
        if len(jobs) > 1:
            record["jobs"] = len(jobs)
        if warm:
            record["warm"] = True
        write_json_atomic(directory / "spawn", record, private=True)


def _hand_over(warm: warmpool.WarmWorker, jobs: list[tuple[Path, int]]) -> bool:
    """Give ``jobs`` to a warm worker, recorded in each job's ``spawn`` first (as for a
    worker started for them); False if it did not take them. (With
    ``QORCH_LOCAL_JOBS=inline`` no warm worker is ever started.)"""
    _children[warm.process.pid] = warm.process
    _record_spawn(warm.process.pid, jobs, warm=True)
    return warm.run(jobs)


# files -------------------------------------------------------------------


@contextlib.contextmanager
def _job_lock(directory: Path) -> Iterator[None]:
    """Hold the job directory's lock: one process at a time starts or buries its worker."""
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _private_dir(path: Path) -> None:
    """Create ``path`` (0700); make it private if it exists with wider permissions."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o700)


def _touch_private(path: Path) -> None:
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


def _log(directory: Path, text: str) -> None:
    """Append a line of qorch's own to the job's ``worker.log``."""
    line = f"qorch: {_utc_now()} {text}\n".encode()
    with contextlib.suppress(OSError):
        fd = os.open(directory / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def _last_log_line(directory: Path) -> str:
    """The last line a worker wrote that is not qorch's own (a traceback's last line)."""
    try:
        with open(directory / "worker.log", "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 4096))
            lines = handle.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if line.strip() and not line.startswith(("qorch: ", "qorch.engine.worker: ")):
            last = line.strip()
            return last[:200] if "Error" in last or "Exception" in last else ""
    return ""


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return float("inf")


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
