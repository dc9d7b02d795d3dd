"""Inter-process locks on files: held until released or until the holder dies.

Lock files are private (0600, in a 0700 directory): they hold a process id.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from qorch.contract.errors import StateError
from qorch.store.fsutil import PRIVATE_FILE, describe_os_error, make_dirs


def open_lock_file(path: Path) -> IO[str]:
    """Open (create 0600 if needed) a lock file for reading and writing. Raises StateError."""
    make_dirs(path.parent, private=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
    except OSError as error:
        raise StateError(describe_os_error(path, error, "create the lock")) from None
    with contextlib.suppress(OSError):
        os.fchmod(fd, PRIVATE_FILE)  # a lock file left world-readable by an older qorch
    return os.fdopen(fd, "r+")


@contextmanager
def file_lock(
    path: Path, *, timeout_s: float | None = None, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (released on exit, or if the process dies).

    If another process holds it, call ``on_wait`` once with the holder's pid
    and wait (at most ``timeout_s`` seconds, else raise StateError).
    """
    with open_lock_file(path) as handle:
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
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        except OSError as error:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            raise StateError(describe_os_error(path, error)) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def hold_shared(path: Path, *, timeout_s: float, busy: str) -> IO[str] | None:
    """A shared POSIX lock on ``path``, held until the returned file is closed.

    Best effort: None where the lock file cannot be created (a read-only
    state directory, which nobody can rebuild either). Waits ``timeout_s``
    for an exclusive holder, then raises StateError(``busy``). POSIX (not
    ``flock``) locks: a process never blocks on its own locks.
    """
    try:
        handle = open_lock_file(path)
    except StateError:
        return None
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            fcntl.lockf(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            return handle
        except OSError:
            if time.monotonic() > deadline:
                handle.close()
                raise StateError(busy) from None
            time.sleep(0.05)


def hold_exclusive(path: Path, *, busy: str) -> IO[str]:
    """An exclusive POSIX lock on ``path`` now, or StateError(``busy``)."""
    handle = open_lock_file(path)
    try:
        fcntl.lockf(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise StateError(busy) from None
    return handle


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
