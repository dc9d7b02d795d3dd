"""QCNN test fixtures: find the processes a ``qorch run`` left behind.

A process belongs to a test when its environment holds the test's
``QORCH_STATE_DIR``: the multiprocessing forkserver, its sweep workers and the
resource tracker inherit the environment of the ``qorch run`` that started them,
so they are found even after that process is gone (re-parented to init).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

LINUX = sys.platform.startswith("linux")
STATE_KEY = b"QORCH_STATE_DIR="


class Processes:
    """Processes found by the state directory in their environment (Linux ``/proc``)."""

    def holding(self, state_prefix: Path | str, exclude: set[int] | None = None) -> dict[int, str]:
        """Live (non-zombie) processes whose ``QORCH_STATE_DIR`` starts with ``state_prefix``,
        other than this one and ``exclude``: pid -> command line."""
        needle = STATE_KEY + str(state_prefix).encode()
        skip = {os.getpid(), *(exclude or set())}
        found: dict[int, str] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in skip:
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except (OSError, IndexError):
                continue
            if state != "Z" and any(item.startswith(needle) for item in environ):
                found[int(entry.name)] = command.decode(errors="replace").strip()
        return found

    def survivors(self, state_prefix: Path | str, within_s: float) -> dict[int, str]:
        """The processes :meth:`holding` ``state_prefix`` still alive after up to ``within_s``."""
        deadline = time.monotonic() + within_s
        while True:
            alive = self.holding(state_prefix)
            if not alive or time.monotonic() > deadline:
                return alive
            time.sleep(0.1)

    @staticmethod
    def kill(pids: dict[int, str]) -> None:
        """SIGKILL a test's own leftovers (those already gone are ignored)."""
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    @staticmethod
    def tasks(database: Path, prefix: str = "sweep/") -> dict[str, int]:
        """How many tasks named ``prefix…`` have each status (empty before the store exists)."""
        if not database.exists():
            return {}
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
            try:
                rows = conn.execute(
                    "SELECT status, COUNT(*) FROM tasks WHERE name LIKE ? GROUP BY status",
                    (prefix + "%",),
                ).fetchall()
            except sqlite3.OperationalError:
                return {}
        return {str(status): int(count) for status, count in rows}


@pytest.fixture
def processes() -> Processes:
    """Find (and clean up) processes that tests' ``qorch run`` invocations started."""
    if not LINUX:
        pytest.skip("process checks read /proc (Linux)")
    return Processes()


def _own_helpers() -> set[int]:
    """This pytest process's own forkserver and resource tracker (they end with it)."""
    from multiprocessing import forkserver, resource_tracker

    pids = {
        getattr(forkserver._forkserver, "_forkserver_pid", None),
        getattr(resource_tracker._resource_tracker, "_pid", None),
    }
    return {pid for pid in pids if pid is not None}


@pytest.fixture(scope="session", autouse=True)
def no_leftover_processes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the QCNN tests: no process started under this session's temporary directory
    (where every test's state lives) is still running, except this process's own idle
    forkserver and resource tracker, which exit with it."""
    yield
    if not LINUX:
        return
    base = tmp_path_factory.getbasetemp()
    probe = Processes()
    deadline = time.monotonic() + 5
    while (left := probe.holding(base, exclude=_own_helpers())) and time.monotonic() < deadline:
        time.sleep(0.1)
    probe.kill(left)
    assert not left, f"processes left behind by the tests: {left}"
