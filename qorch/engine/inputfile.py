"""Read a file the user named, safely: regular files only, never blocking, bounded in size.

A plan or a circuit path may name a FIFO (``open`` would wait for a writer for
ever), a device (``/dev/zero`` never ends), a directory or a symlink loop. The
file is opened with ``O_NONBLOCK``, checked with ``fstat`` on the open
descriptor (no race with a rename) and read up to a limit.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # a FIFO opens at once instead of waiting for a writer
    | getattr(os, "O_NOCTTY", 0)  # a terminal device never becomes our controlling tty
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)  # Windows: no newline translation
)
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class InputFileError(Exception):
    """The file cannot be read as a plan or circuit; ``str()`` is the reason, one line."""

    def __init__(self, reason: str, *, missing: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.missing = missing


def read_regular_file(path: Path | str, max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path``, which must hold at most ``max_bytes``.

    Raises InputFileError: missing (``missing=True``), not a regular file, too
    large, or unreadable (permissions, symlink loop, I/O error).
    """
    try:
        fd = os.open(path, _FLAGS)
    except FileNotFoundError:
        raise InputFileError("not found", missing=True) from None
    except OSError as error:
        raise InputFileError(_reason(error)) from None
    except ValueError:  # os.open refuses a path with a NUL byte
        raise InputFileError("not a valid path (it contains a NUL character)") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "a special file")
            raise InputFileError(f"not a regular file ({kind})")
        if info.st_size > max_bytes:
            raise InputFileError(_too_large(info.st_size, max_bytes))
        data = _read_at_most(fd, max_bytes + 1)  # the file may grow while we read
        if len(data) > max_bytes:
            raise InputFileError(_too_large(len(data), max_bytes, grew=True))
        return data
    except OSError as error:
        raise InputFileError(_reason(error)) from None
    finally:
        os.close(fd)


def _read_at_most(fd: int, count: int) -> bytes:
    chunks: list[bytes] = []
    left = count
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _too_large(size: int, limit: int, *, grew: bool = False) -> str:
    size_text = f"more than {limit} bytes" if grew else f"{size} bytes"
    return f"the file is {size_text}; the limit is {limit} bytes ({_human(limit)})"


def _human(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} B"


def _reason(error: OSError) -> str:
    text = error.strerror or (os.strerror(error.errno) if error.errno else type(error).__name__)
    return text[:1].lower() + text[1:]


def bad_utf8_line(data: bytes, error: UnicodeDecodeError) -> int:
    """1-based line of the first byte that is not UTF-8."""
    return data.count(b"\n", 0, error.start) + 1
