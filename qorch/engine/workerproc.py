"""Who a local job's worker process is, whether it still runs, and files written once.

A worker is identified by its host, pid, start time (clock ticks since boot,
field 22 of ``/proc/PID/stat``) and the boot it started in, so a pid reused
by another process after the worker died is never taken for the worker; its
command line must also name the job (``python -m qorch.engine.worker JOB_DIR``).
Only a process verified this way is ever signalled. A worker on another host
(a state directory on a shared file system) cannot be checked from here: it
is presumed alive, and never signalled. Light on imports: the
worker itself uses this module.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WORKER_MODULE = "qorch.engine.worker"
SERVE_FLAG = "--serve"  # a warm worker: ``-m qorch.engine.worker --serve JOBS_DIR LOG``
_PROC = Path("/proc")


@dataclass(frozen=True)
class Ident:
    """A process as recorded in a claim or spawn file: pid, start time, boot id, host."""

    pid: int
    start: int | None = None  # clock ticks since boot; None when unknown (older claims)
    boot: str | None = None
    host: str | None = None

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return {"pid": self.pid, "start": self.start, "boot": self.boot, "host": self.host}

    @property
    def remote(self) -> bool:
        """True if the process runs on another host than this one."""
        return self.host is not None and self.host != hostname()

    def __str__(self) -> str:
        return f"pid {self.pid} on {self.host}" if self.remote else f"pid {self.pid}"


def has_proc() -> bool:
    """True where ``/proc`` describes processes (Linux)."""
    return (_PROC / "self" / "stat").exists()


def hostname() -> str:
    """This machine's host name."""
    return socket.gethostname()


def boot_id() -> str | None:
    """This boot's id (Linux), to tell a pid of an earlier boot from one of this boot."""
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/PID/stat`` after the command name (index 0 is the state)."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except (OSError, ValueError):
        return None
    _, _, rest = text.rpartition(")")
    fields = rest.split()
    return fields if len(fields) > 19 else None


def start_time(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot (None if unknown)."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields is not None else None


def identify(pid: int) -> Ident:
    """The identity of running process ``pid``, as a claim or spawn record stores it."""
    return Ident(pid, start_time(pid), boot_id(), hostname())


def parse(text: str) -> Ident | None:
    """An identity read back from a claim or spawn file; None if empty or damaged.

    Accepts the JSON record and the bare pid older workers wrote.
    """
    text = text.strip()
    if text.isdigit():
        pid = int(text)
        return Ident(pid) if pid > 1 else None
    try:
        record = json.loads(text)
        pid = int(record["pid"])
        start = record.get("start")
        boot = record.get("boot")
        host = record.get("host")
        ident = Ident(
            pid, None if start is None else int(start), boot and str(boot), host and str(host)
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return ident if pid > 1 else None


def read_ident(path: Path) -> tuple[bool, Ident | None, dict[str, Any]]:
    """(exists, identity or None if unreadable, the whole JSON record) of a claim/spawn file."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return False, None, {}
    except OSError:
        return True, None, {}
    ident = parse(text)
    record: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        loaded = json.loads(text)
        if isinstance(loaded, dict):
            record = loaded
    return True, ident, record


def _cmdline(pid: int) -> bytes | None:
    try:
        return (_PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return None


def names_job(cmdline: bytes, token: str) -> bool:
    """True if a command line is a worker's for the job ``token``."""
    args = cmdline.split(b"\0")
    return WORKER_MODULE.encode() in args and any(
        os.path.basename(arg.rstrip(b"/")) == token.encode() for arg in args
    )


def serves_job(cmdline: bytes, token: str) -> bool:
    """True if a command line is a warm worker's (:mod:`qorch.engine.serve`) whose jobs
    directory holds job ``token``: ``qorch run`` started it before the job existed, so
    its command line cannot name the job; the spawn record that names it does."""
    args = cmdline.split(b"\0")
    if WORKER_MODULE.encode() not in args or SERVE_FLAG.encode() not in args:
        return False
    at = args.index(SERVE_FLAG.encode()) + 1
    return at < len(args) and (Path(os.fsdecode(args[at])) / token).is_dir()


def is_worker(ident: Ident, token: str) -> bool:
    """True if ``ident`` is a live (not zombie) worker process of job ``token``.

    On Linux: same boot, same start time, command line naming the job (or a warm
    worker's, see :func:`serves_job`). Elsewhere (no ``/proc``): the pid exists and
    leads its own process group. :func:`find_workers` finds only workers whose
    command line names the job.
    """
    if not is_live_process(ident):
        return False
    if not has_proc():
        return _exists_elsewhere(ident.pid)
    cmdline = _cmdline(ident.pid)
    return cmdline is not None and (names_job(cmdline, token) or serves_job(cmdline, token))


def is_live_process(ident: Ident) -> bool:
    """True if ``ident`` is another live (not zombie) process of this host: on Linux the
    same boot and start time, elsewhere the pid exists. An inline job's claim names the
    ``qorch`` process that runs it (``QORCH_LOCAL_JOBS=inline``): alive while it is."""
    if ident.pid <= 1 or ident.pid == os.getpid() or ident.remote:
        return False
    if not has_proc():
        try:
            os.kill(ident.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if ident.boot is not None and ident.boot != boot_id():
        return False
    fields = _stat_fields(ident.pid)
    if fields is None or fields[0] in ("Z", "X", "x"):
        return False
    return ident.start is None or int(fields[19]) == ident.start


def _exists_elsewhere(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return os.getpgid(pid) == pid
    except (ProcessLookupError, PermissionError):
        return False


def find_workers(token: str) -> list[Ident]:
    """Every live worker process of job ``token`` (scans ``/proc``; empty elsewhere)."""
    if not has_proc():
        return []
    found = []
    for entry in _proc_pids():
        cmdline = _cmdline(entry)
        if cmdline and WORKER_MODULE.encode() in cmdline and names_job(cmdline, token):
            ident = identify(entry)
            if ident.start is not None and is_worker(ident, token):
                found.append(ident)
    return found


def _proc_pids() -> Iterator[int]:
    try:
        names = os.listdir(_PROC)
    except OSError:
        return
    for name in names:
        if name.isdigit():
            yield int(name)


def signal_worker(ident: Ident, token: str, signum: int) -> bool:
    """Send ``signum`` to a verified worker (its whole session group if it leads one).

    Returns False, sending nothing, unless ``ident`` is verified to be a live
    worker of job ``token``. Never signals this process or its own group.
    """
    if not is_worker(ident, token):
        return False
    try:
        group = os.getpgid(ident.pid)
        if group == ident.pid and group != os.getpgrp():
            os.killpg(group, signum)
        else:
            os.kill(ident.pid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def describe_exit(returncode: int) -> str:
    """A child's exit status in words: 'killed by SIGKILL', 'exited with status 1'."""
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exited with status {returncode}"


def publish_once(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` whole, only if it does not exist (mode 0600).

    The data is written and synced to a temporary file first and then
    hard-linked into place, so ``path`` is never seen empty or partial, and
    of two writers only one succeeds. Returns False if ``path`` existed.
    Filesystems without hard links fall back to an exclusive create.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:
            return _create_exclusive(path, data)
        return True
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _create_exclusive(path: Path, data: bytes) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return True
