"""The detached local job worker: ``python -m qorch.worker JOB_DIR``.

It claims the job (at most one worker ever runs a job), waits for a free
execution slot, asks the job's provider to execute it in-process, and writes
``result.json`` or ``error.json`` atomically. See :mod:`qorch.localjob`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import IO

from qorch.fsutil import write_json_atomic, write_text_atomic


def slot_count() -> int:
    """How many local jobs may execute at once (``QORCH_LOCAL_WORKERS``, default CPUs)."""
    try:
        return max(1, int(os.environ.get("QORCH_LOCAL_WORKERS", "")))
    except ValueError:
        return os.cpu_count() or 1


def claim(directory: Path) -> bool:
    """Create the claim file exclusively; False if another worker has the job."""
    try:
        fd = os.open(directory / "claim", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(str(os.getpid()))
    return True


def acquire_slot(root: Path, cancel_flag: Path) -> IO[str] | None:
    """Hold one of the execution slots under ``root/.slots`` (None if cancelled meanwhile)."""
    slots = root / ".slots"
    slots.mkdir(parents=True, exist_ok=True)
    while True:
        for index in range(slot_count()):
            handle = open(slots / str(index), "w")  # noqa: SIM115 - held while running
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            return handle
        if cancel_flag.exists():
            return None
        time.sleep(0.05)


def run(directory: Path) -> int:
    """Execute the job in ``directory``; returns the process exit status."""
    if not claim(directory):
        return 0
    signal.signal(signal.SIGTERM, _on_sigterm)
    slot = acquire_slot(directory.parent, directory / "cancel")
    try:
        if slot is None or (directory / "cancel").exists():
            return 0
        _execute(directory)
    finally:
        if slot is not None:
            slot.close()
    return 0


def _execute(directory: Path) -> None:
    started = time.time()
    try:
        from qorch import localjob, registry

        request, provider_name = localjob.load_request(directory)
        delay = float(request.options.extra.get("queue_delay_s", 0) or 0)
        _sleep_unless_cancelled(delay, directory / "cancel")
        write_text_atomic(directory / "state", "running")
        counts = registry.load(provider_name).execute(request)
    except Exception as error:  # report any failure to the submitter, never lose it
        write_json_atomic(
            directory / "error.json",
            {"message": f"{type(error).__name__}: {error}", "traceback": traceback.format_exc()},
        )
        return
    record = {"counts": counts, "seconds": round(time.time() - started, 6)}
    write_json_atomic(directory / "result.json", record)


def _sleep_unless_cancelled(seconds: float, cancel_flag: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if cancel_flag.exists():
            raise SystemExit(0)
        time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str]) -> int:
    """Entry point: ``python -m qorch.worker JOB_DIR``."""
    if len(argv) != 1:
        print("usage: python -m qorch.worker JOB_DIR", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        return run(Path(argv[0]))
    return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
