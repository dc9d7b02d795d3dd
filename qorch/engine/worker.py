"""The detached local job worker: ``python -m qorch.engine.worker JOB_DIR [ATTEMPT] ...``.

For each job it names, in turn, it claims the job (at most one worker ever
runs a job: the claim, naming this process by pid, start time and boot, is
created whole and exclusively), waits for a free execution slot, asks the
job's provider to execute it in-process, and creates ``result.json`` or
``error.json`` once. One worker takes every local job of one provider that
one ``qorch`` call submits, so the interpreter and the vendor SDK are loaded
once per run, not once per job. Every step is noted in the job's
``worker.log`` (its stdout and stderr while it works on that job). See
:mod:`qorch.engine.localjob`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import IO, Any

from qorch.contract import settings
from qorch.contract.errors import StateError
from qorch.engine import serve, workerproc
from qorch.store.fsutil import write_text_atomic


def slot_count() -> int:
    """How many local jobs may execute at once (``QORCH_LOCAL_WORKERS``, default CPUs)."""
    return settings.local_workers()


def claim(directory: Path, attempt: int = 1, inline: bool = False) -> bool:
    """Claim the job for this process; False if another worker has it.

    The claim (pid, start time, boot id, attempt; ``inline`` when the ``qorch``
    process itself runs the job) is written and synced to a temporary file and
    hard-linked into place, so it is never seen empty.
    """
    record = {**workerproc.identify(os.getpid()).to_record(), "attempt": attempt}
    if inline:
        record["inline"] = True
    return workerproc.publish_once(directory / "claim", json.dumps(record).encode())


def acquire_slot(root: Path, cancel_flag: Path) -> IO[str] | None:
    """Hold one of the execution slots under ``root/.slots`` (None if cancelled meanwhile)."""
    slots = root / ".slots"
    slots.mkdir(mode=0o700, parents=True, exist_ok=True)
    while True:
        for index in range(slot_count()):
            fd = os.open(slots / str(index), os.O_WRONLY | os.O_CREAT, 0o600)
            handle = os.fdopen(fd, "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            return handle
        if cancel_flag.exists():
            return None
        time.sleep(0.05)


def run(directory: Path, attempt: int = 1, inline: bool = False) -> int:
    """Execute the job in ``directory``; returns the process exit status.

    ``inline``: this is the ``qorch`` process itself (``QORCH_LOCAL_JOBS=inline``),
    so SIGTERM keeps its handler: ``qorch cancel`` signals only detached workers.
    """
    who = "qorch pid {} runs the job inline" if inline else "worker pid {} takes the job"
    note(f"{who.format(os.getpid())} (attempt {attempt})")
    if not claim(directory, attempt, inline):
        note("the job is claimed by another worker; nothing to do")
        return 0
    if not inline:
        signal.signal(signal.SIGTERM, _on_sigterm)
    _note_state(directory, "queued")
    slot = acquire_slot(directory.parent, directory / "cancel")
    try:
        if slot is None or (directory / "cancel").exists():
            note("cancelled before it ran")
            return 0
        _execute(directory)
    finally:
        if slot is not None:
            slot.close()
    return 0


def _execute(directory: Path) -> None:
    started = time.time()
    try:
        from qorch.engine import jobrequest, registry

        request, provider_name = jobrequest.load_request(directory)
        delay = float(request.options.extra.get("queue_delay_s", 0) or 0)
        _sleep_unless_cancelled(delay, directory / "cancel")
        _note_state(directory, "running")
        note("executing")
        began = time.time()  # after the (simulated) queue: ``ran_s`` is execution alone
        counts = registry.load(provider_name).execute(request)
    except Exception as error:  # report any failure to the submitter, never lose it
        if _terminated or (directory / "cancel").exists():
            # SIGTERM's SystemExit, re-raised by native code as another error (PyO3 turns
            # it into a RuntimeError while qiskit's Rust module initialises): cancelled
            note(f"cancelled while running ({type(error).__name__}: {error})")
            return
        if _disk_full(error):
            raise  # the machine's failure, not the job's: the worker stops on a full disk
        note(f"failed: {type(error).__name__}: {error}")
        record = {"message": f"{type(error).__name__}: {error}",
                  "traceback": traceback.format_exc()}  # fmt: skip
        _publish(directory / "error.json", record)
        return
    ended = time.time()
    timings = {"started": _utc(began), "ended": _utc(ended), "ran_s": round(ended - began, 6)}
    _publish(directory / "result.json",
             {"counts": counts, "seconds": round(ended - started, 6), **timings})  # fmt: skip


def _disk_full(error: BaseException) -> bool:
    """True for a full disk or quota: the machine's failure, never the job's."""
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def _note_state(directory: Path, state: str) -> None:
    """Write the job's ``state`` ("queued", "running") for ``qorch status``: best effort.
    A full disk refusing it is no failure of the job (an error.json would fail it for
    good); the result, which needs the space, reports the disk when it is written."""
    try:
        write_text_atomic(directory / "state", state, private=True)
    except StateError as error:
        note(f"could not note the state '{state}': {error}")


def _utc(epoch_s: float) -> str:
    """``epoch_s`` as ISO 8601 UTC with milliseconds (``qorch show`` reports job timings)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s))
    return f"{stamp}.{int(epoch_s % 1 * 1000):03d}Z"


def _publish(path: Path, record: dict[str, Any]) -> None:
    """Create ``path`` once; a second outcome (never expected) is logged and discarded."""
    data = (json.dumps(record, indent=2, sort_keys=True) + "\n").encode()
    if workerproc.publish_once(path, data):
        note(f"{'result' if path.name == 'result.json' else 'error'} written")
    else:
        note(f"{path.name} exists already: this outcome is discarded")


def note(text: str) -> None:
    """A line in ``worker.log`` (this process's stdout)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with contextlib.suppress(OSError, ValueError):
        print(f"qorch.engine.worker: {stamp} {text}", flush=True)


def _sleep_unless_cancelled(seconds: float, cancel_flag: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cancel_flag.exists():
            note("cancelled while queued")
            raise SystemExit(0)
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


_terminated = False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    """``qorch cancel`` stops a worker with SIGTERM: exit, and remember why."""
    global _terminated
    _terminated = True
    raise SystemExit(0)


def run_all(jobs: list[tuple[Path, int]]) -> int:
    """Execute each ``(job directory, attempt)`` in turn; the first job's output goes where
    the spawner pointed stdout (its ``worker.log``), every later job's to its own log."""
    for number, (directory, attempt) in enumerate(jobs):
        if _terminated:  # cancelled while native code ran: SIGTERM ends the whole worker
            break
        if number:
            log_to(directory)
        run(directory, attempt)
    return 0


def run_inline(jobs: list[tuple[Path, int]]) -> None:
    """Execute each ``(job directory, attempt)`` in this process, in turn, each job's notes
    in its ``worker.log``: what a detached worker does, without the interpreter and SDK
    imports a fresh process pays. A job cancelled while queued stops there; a full disk
    stops the run with a StateError (where a detached worker would stop)."""
    for directory, attempt in jobs:
        try:
            with (
                open(directory / "worker.log", "a", encoding="utf-8") as log,
                contextlib.redirect_stdout(log),
                contextlib.redirect_stderr(log),
                contextlib.suppress(SystemExit),  # cancelled while queued
            ):
                run(directory, attempt, inline=True)
        except OSError as error:
            if not _disk_full(error):
                raise
            raise StateError(
                f"cannot run the job in {directory}: disk full: free space "
                f"under {directory.parent} and run the same command again"
            ) from None


def log_to(directory: Path) -> None:
    """Point this process's stdout and stderr at the job's ``worker.log`` (append)."""
    with contextlib.suppress(OSError):
        fd = os.open(directory / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)


def parse_args(argv: list[str]) -> list[tuple[Path, int]] | None:
    """``JOB_DIR`` alone, or ``JOB_DIR ATTEMPT`` pairs; None if neither."""
    if len(argv) == 1:
        return [(Path(argv[0]), 1)]
    if not argv or len(argv) % 2 or not all(a.isdigit() for a in argv[1::2]):
        return None
    return [(Path(d), int(a)) for d, a in zip(argv[::2], argv[1::2], strict=True)]


def main(argv: list[str]) -> int:
    """Entry point: ``python -m qorch.engine.worker JOB_DIR [ATTEMPT] [JOB_DIR ATTEMPT ...]``."""
    if len(argv) == 3 and argv[0] == serve.SERVE_FLAG:  # --serve JOBS_DIR LOG
        with contextlib.suppress(KeyboardInterrupt):
            return serve.serve(Path(argv[2]), serve.Worker(run_all, log_to, note))
        return 130
    jobs = parse_args(argv)
    if jobs is None:
        print(
            "usage: python -m qorch.engine.worker JOB_DIR [ATTEMPT] [JOB_DIR ATTEMPT ...]"
            " | --serve JOBS_DIR LOG",
            file=sys.stderr,
        )
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        return run_all(jobs)
    return 130


if __name__ == "__main__":
    status = main(sys.argv[1:])
    # every outcome is written and synced: skip the interpreter's teardown of the vendor
    # SDKs (~0.3 s of CPU, which the run's last steps on this machine would compete with)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
