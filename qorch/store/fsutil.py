"""Atomic file writes: a reader never sees a half-written file, a failure names the path.

Modes: ``private=True`` files are 0600 (the state store, journals, anything
holding provider handles); other files follow the umask (0666 & ~umask), like
any file the user's shell would create: plans, results, plots, bundles.
Failures (disk full, read-only file system, no permission) raise
:class:`~qorch.contract.errors.StateError` with one line naming the path and what to
do; the temporary file is removed and whatever was at the path is untouched.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from qorch.contract.errors import StateError

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask, read without a window in which it is changed (Linux: /proc)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    with _UMASK_LOCK:  # elsewhere: set and restore at once (other threads may race)
        old = os.umask(0o077)
        os.umask(old)
    return old


def public_mode() -> int:
    """The mode of a user-facing file: 0666 minus the umask."""
    return 0o666 & ~current_umask()


def describe_os_error(path: Path, error: OSError, action: str = "write") -> str:
    """One line naming ``path``, what went wrong and what to do about it."""
    where = path.parent if path.parent != Path("") else Path(".")
    code = error.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"cannot {action} {path}: disk full: free space under {where} "
            "and run the same command again"
        )
    if code == errno.EROFS:
        return (
            f"cannot {action} {path}: read-only file system: remount it read-write, or set "
            "QORCH_STATE_DIR to a writable directory, and run the same command again"
        )
    if code in (errno.EACCES, errno.EPERM):
        return (
            f"cannot {action} {path}: permission denied: make {where} writable by this user "
            "and run the same command again"
        )
    reason = error.strerror or str(error)
    return f"cannot {action} {path}: {reason}"


def make_dirs(directory: Path, *, private: bool = False) -> None:
    """Create ``directory`` and its parents (the new leaf 0700 when ``private``)."""
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR if private else 0o777)
    except FileExistsError:
        raise StateError(f"cannot create directory {directory}: a file is in the way") from None
    except OSError as error:
        raise StateError(describe_os_error(directory, error, "create")) from None


def write_bytes_atomic(path: Path, data: bytes, *, private: bool = False) -> None:
    """Write ``data`` to ``path`` via a temporary file in the same directory and a rename.

    ``private``: mode 0600 (and a new parent directory 0700); otherwise the
    umask's mode. Raises StateError naming ``path`` if it cannot be written.
    """
    make_dirs(path.parent, private=private)
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as handle:
            if not private:
                os.fchmod(handle.fileno(), public_mode())
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as error:
        raise StateError(describe_os_error(path, error)) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_text_atomic(path: Path, text: str, *, private: bool = False) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    write_bytes_atomic(path, text.encode("utf-8"), private=private)


def dumps_json(data: Any) -> str:
    """Canonical JSON: sorted keys, two-space indent, trailing newline."""
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_json_atomic(path: Path, data: Any, *, private: bool = False) -> None:
    """Write ``data`` as canonical JSON to ``path`` atomically (see :func:`write_bytes_atomic`)."""
    write_text_atomic(path, dumps_json(data), private=private)


def read_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))
