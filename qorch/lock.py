"""Inter-process locks on files: held until released or until the holder dies."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from qorch.errors import StateError


@contextmanager
def file_lock(
    path: Path, *, timeout_s: float | None = None, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (released on exit, or if the process dies).

    If another process holds it, call ``on_wait`` once with the holder's pid
    and wait (at most ``timeout_s`` seconds, else raise StateError).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        if not _try_lock(handle.fileno()):
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            if on_wait is not None:
                on_wait(holder)
            deadline = None if timeout_s is None else time.monotonic() + timeout_s
            while not _try_lock(handle.fileno()):
                if deadline is not None and time.monotonic() > deadline:
                    raise StateError(f"{path} is locked by process {holder}; gave up waiting")
                time.sleep(0.1)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
