"""Unit tests for qorch.engine.workerproc: who a local job's worker is, and files written once.

A stand-in worker is a sleeping Python process whose command line names the worker module
and a job directory, as ``python -m qorch.engine.worker JOB_DIR`` does.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from qorch.engine import workerproc
from qorch.engine.workerproc import Ident

pytestmark = pytest.mark.detached_workers  # kills, restarts and concurrent qorch processes

linux_only = pytest.mark.skipif(not workerproc.has_proc(), reason="reads /proc")
TOKEN = "qorch-20260101-000000-abcdef-0003"


@pytest.fixture
def stand_in(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process that looks like the worker of job ``TOKEN`` (in its own session)."""
    job = tmp_path / "jobs" / TOKEN
    job.mkdir(parents=True)
    code = "import time; time.sleep(60)"
    process = subprocess.Popen(
        [sys.executable, "-c", code, workerproc.WORKER_MODULE, f"{job}/"],
        start_new_session=True,
    )
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_ident_record_round_trips_through_parse() -> None:
    ident = Ident(4242, 123456, "boot-id", "some-host")
    assert workerproc.parse(json.dumps(ident.to_record())) == ident
    assert workerproc.parse(" 4242\n") == Ident(4242)  # the bare pid older workers wrote


@pytest.mark.parametrize(
    "text",
    ["", "   ", "1", "0", '{"pid": 1}', '{"start": 5}', '{"pid": "x"}', "[4242]", "{not json"],
)
def test_parse_refuses_empty_damaged_and_reserved_pids(text: str) -> None:
    assert workerproc.parse(text) is None


def test_read_ident_tells_missing_from_damaged(tmp_path: Path) -> None:
    assert workerproc.read_ident(tmp_path / "claim") == (False, None, {})
    damaged = tmp_path / "damaged"
    damaged.write_bytes(b"\xff\xfe{")
    assert workerproc.read_ident(damaged) == (True, None, {})
    good = tmp_path / "spawn"
    good.write_text(json.dumps({"pid": 77, "start": 9, "boot": None, "host": "h", "attempt": 2}))
    exists, ident, record = workerproc.read_ident(good)
    assert exists and ident == Ident(77, 9, None, "h") and record["attempt"] == 2


def test_names_job_needs_the_module_and_the_job_directory() -> None:
    job = f"/state/jobs/{TOKEN}".encode()
    assert workerproc.names_job(b"python\0-m\0qorch.engine.worker\0" + job + b"\0" + b"1\0", TOKEN)
    assert workerproc.names_job(b"python\0-m\0qorch.engine.worker\0" + job + b"/\0", TOKEN)
    assert not workerproc.names_job(b"python\0-m\0qorch.engine.worker\0/state/jobs/other\0", TOKEN)
    assert not workerproc.names_job(b"python\0-m\0something.else\0" + job + b"\0", TOKEN)
    assert not workerproc.names_job(b"python\0-m\0qorch.engine.worker\0" + job + b"-0\0", TOKEN)


def test_a_remote_worker_is_never_taken_for_a_local_one() -> None:
    remote = Ident(os.getpid() + 1, 1, "boot", host=workerproc.hostname() + "-elsewhere")
    assert remote.remote and str(remote).endswith("-elsewhere")
    assert not workerproc.is_worker(remote, TOKEN)
    assert not workerproc.signal_worker(remote, TOKEN, signal.SIGKILL)
    local = Ident(42, host=workerproc.hostname())
    assert not local.remote and str(local) == "pid 42"


def test_this_process_and_pid_1_are_never_workers() -> None:
    assert not workerproc.is_worker(workerproc.identify(os.getpid()), TOKEN)
    assert not workerproc.is_worker(Ident(1), TOKEN)


@linux_only
def test_a_live_stand_in_is_verified_by_start_time_boot_and_command_line(stand_in) -> None:
    ident = _wait_for_cmdline(stand_in.pid)
    assert ident.start is not None and ident.boot == workerproc.boot_id()
    assert workerproc.is_worker(ident, TOKEN)
    assert workerproc.is_worker(Ident(stand_in.pid), TOKEN)  # an older claim: pid only
    assert not workerproc.is_worker(ident, "qorch-some-other-job")
    assert not workerproc.is_worker(replace(ident, start=ident.start + 1), TOKEN)  # pid reused
    assert not workerproc.is_worker(replace(ident, boot="an-earlier-boot"), TOKEN)
    assert workerproc.find_workers(TOKEN) == [ident]
    assert workerproc.find_workers("qorch-some-other-job") == []


@linux_only
def test_signal_worker_signals_only_a_verified_worker(stand_in) -> None:
    ident = _wait_for_cmdline(stand_in.pid)
    assert not workerproc.signal_worker(replace(ident, start=ident.start + 1), TOKEN, 9)
    assert stand_in.poll() is None
    assert workerproc.signal_worker(ident, TOKEN, signal.SIGTERM)
    assert stand_in.wait(timeout=10) == -signal.SIGTERM
    assert not workerproc.is_worker(ident, TOKEN)  # gone (reaped): nothing to verify
    assert workerproc.describe_exit(stand_in.returncode) == "killed by SIGTERM"


def _wait_for_cmdline(pid: int) -> Ident:
    """The stand-in's identity once its command line (set at exec) is readable."""
    for _ in range(200):
        cmdline = (Path("/proc") / str(pid) / "cmdline").read_bytes()
        if workerproc.WORKER_MODULE.encode() in cmdline:
            return workerproc.identify(pid)
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never showed its command line")


def test_start_time_of_a_missing_process_is_unknown() -> None:
    assert workerproc.start_time(2**22 + 12345) is None  # above the default pid_max


@pytest.mark.parametrize(
    ("code", "words"),
    [(0, "exited with status 0"), (3, "exited with status 3"), (-9, "killed by SIGKILL"),
     (-15, "killed by SIGTERM"), (-200, "killed by signal 200")],
)  # fmt: skip
def test_describe_exit(code: int, words: str) -> None:
    assert workerproc.describe_exit(code) == words


def test_publish_once_creates_whole_private_files_only_once(tmp_path: Path) -> None:
    path = tmp_path / "claim"
    assert workerproc.publish_once(path, b'{"pid": 1234}')
    assert not workerproc.publish_once(path, b'{"pid": 5678}')
    assert path.read_bytes() == b'{"pid": 1234}'
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claim"]  # no temporary left


def test_publish_once_has_one_winner_among_racing_writers(tmp_path: Path) -> None:
    path = tmp_path / "claim"
    wins: list[int] = []
    barrier = threading.Barrier(8)

    def write(n: int) -> None:
        barrier.wait()
        if workerproc.publish_once(path, str(n).encode() * 1000):
            wins.append(n)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    assert path.read_bytes() == str(wins[0]).encode() * 1000
