"""State-store faults: damaged, missing, locked, read-only or full stores end in one line.

Every test works inside its own ``tmp_path``; a store that is refused is left
byte for byte as it was, and nothing is submitted again.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sqlite3
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

TINY_PLAN = """
version: 1
kind: circuits
name: tiny
shots: 100
seed: 3
circuits:
  - {name: bell, generator: ghz, qubits: 2}
  - {name: ghz3, generator: ghz, qubits: 3}
targets:
  - local:statevector
"""


# helpers ------------------------------------------------------------------


def assert_one_line_error(result: Any, *words: str, code: int = 1) -> str:
    """Exit ``code``, no traceback, exactly one line on stderr containing every word."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [text for text in result.stderr.splitlines() if text.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def job_dirs(state: Path) -> list[str]:
    """Names of the local job directories under a state directory."""
    jobs = state / "jobs"
    return sorted(p.name for p in jobs.glob("qorch-*")) if jobs.exists() else []


def finished_run(cli: Callable[..., Any], plan: Path) -> dict[str, Any]:
    """Run ``plan`` to completion; its JSON summary."""
    result = cli("run", str(plan), "--json", "--poll", "0.1")
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def umask() -> int:
    """The process umask, read without changing it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("Umask:"):
            return int(line.split()[1], 8)
    raise AssertionError("no Umask in /proc/self/status")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@contextlib.contextmanager
def tmpfs(directory: Path, size: str = "2m") -> Iterator[Path]:
    """Mount a small tmpfs on ``directory`` for the block (skip the test if not allowed)."""
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], capture_output=True)


@contextlib.contextmanager
def read_only_view(directory: Path, view: Path) -> Iterator[Path]:
    """A read-only bind mount of ``directory`` at ``view`` (skip the test if not allowed)."""
    view.mkdir(parents=True, exist_ok=True)
    bound = subprocess.run(["mount", "--bind", str(directory), str(view)], capture_output=True)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bound.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(view)], check=True)
        yield view
    finally:
        subprocess.run(["umount", "-l", str(view)], capture_output=True)


def fill_disk(directory: Path) -> Path:
    """Fill the file system holding ``directory`` to the last byte; returns the filler."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (65536, 4096, 1):
            with contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * size)
    return filler


def tree(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its bytes (to prove nothing changed)."""
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and "locks" not in p.parts and p.name != "worker.log"
    }


# item 2: a truncated, emptied or foreign state.db is refused ----------------


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated"])
def test_damaged_state_db_is_refused_and_nothing_resubmitted(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path, damage: str
) -> None:
    plan = make_plan(TINY_PLAN)
    finished_run(cli, plan)
    db = state_dir / "state.db"
    before_jobs = job_dirs(state_dir)
    if damage == "empty":
        db.write_bytes(b"")
    elif damage == "garbage":
        db.write_bytes(os.urandom(8192))
    else:
        data = db.read_bytes()
        db.write_bytes(data[: len(data) // 2 + 100])
    damaged = db.read_bytes()

    result = cli("run", str(plan), "--json")
    line = assert_one_line_error(result, str(db), "qorch recover")
    assert result.stdout == "" or "error" in json.loads(result.stdout)
    assert db.read_bytes() == damaged, "the damaged store must be left as it was"
    assert job_dirs(state_dir) == before_jobs, f"resubmitted after: {line}"
    assert_one_line_error(cli("status"), str(db))


def test_missing_state_db_beside_job_directories_is_refused(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    plan = make_plan(TINY_PLAN)
    finished_run(cli, plan)
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        (state_dir / name).unlink(missing_ok=True)
    before_jobs = job_dirs(state_dir)

    result = cli("run", str(plan))
    assert_one_line_error(result, str(state_dir), "qorch recover")
    assert not (state_dir / "state.db").exists(), "never re-create a store over its history"
    assert job_dirs(state_dir) == before_jobs
    assert_one_line_error(cli("status"), "qorch recover")


def test_a_store_created_by_a_concurrent_first_submit_is_opened(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first submits at once: the second saw no state.db, then (descheduled) saw the
    first one's job directories and refused the store as lost (a CI failure)."""
    from qorch.store import state as state_module
    from qorch.store.statedb import create_database

    directory = tmp_path / "state"
    real_history = state_module.history

    def history_after_a_concurrent_submit(where: Path) -> list[str]:
        create_database(where / "state.db", 5.0)  # the other process, meanwhile
        (where / "jobs" / "qorch-run-0000").mkdir(parents=True)
        return real_history(where)

    monkeypatch.setattr(state_module, "history", history_after_a_concurrent_submit)
    with state_module.StateStore(directory) as store:
        assert store.runs() == []


def test_store_written_by_newer_qorch_is_refused(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    plan = make_plan(TINY_PLAN)
    data = finished_run(cli, plan)
    with sqlite3.connect(state_dir / "state.db") as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.close()
    assert_one_line_error(cli("status", data["run_id"]), "newer qorch", str(state_dir))
    assert_one_line_error(cli("run", str(plan)), "newer qorch")
    with sqlite3.connect(state_dir / "state.db") as conn:
        assert conn.execute("SELECT value FROM meta").fetchone()[0] == "99"
    conn.close()


def test_sqlite_file_that_is_not_a_qorch_store_is_refused(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    state_dir.mkdir()
    with sqlite3.connect(state_dir / "state.db") as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.close()
    before = (state_dir / "state.db").read_bytes()
    result = cli("run", str(make_plan(TINY_PLAN)))
    assert_one_line_error(result, str(state_dir / "state.db"), "not a qorch")
    assert (state_dir / "state.db").read_bytes() == before
    assert job_dirs(state_dir) == []


# item 8: malformed, read-only, locked, full, results deleted --------------


def test_randomly_overwritten_store_gives_one_line(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    plan = make_plan(TINY_PLAN)
    data = finished_run(cli, plan)
    db = state_dir / "state.db"
    raw = bytearray(db.read_bytes())
    raw[4096 : 4096 + 2048] = os.urandom(2048)  # pages of the runs/jobs tables
    db.write_bytes(bytes(raw))
    for args in (("status", data["run_id"]), ("results", data["run_id"]), ("status",)):
        assert_one_line_error(cli(*args), str(db), "qorch recover")
    assert_one_line_error(cli("run", str(plan)), str(db))
    assert db.read_bytes() == bytes(raw)


def test_store_locked_longer_than_busy_timeout_gives_one_line(
    cli: Callable[..., Any],
    make_plan: Callable[..., Path],
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from qorch.store import state

    plan = make_plan(TINY_PLAN)
    finished_run(cli, plan)
    monkeypatch.setattr(state, "BUSY_TIMEOUT_MS", 200)
    holder = sqlite3.connect(state_dir / "state.db", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        result = cli("run", str(plan), "--new")
        assert_one_line_error(result, str(state_dir / "state.db"), "locked", "try again")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    listing = json.loads(cli("status", "--json").stdout)
    assert len(listing) == 1, "the refused run must not have been created"


def test_read_only_state_directory_gives_one_line(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path, tmp_path: Path
) -> None:
    plan = make_plan(TINY_PLAN)
    run_id = finished_run(cli, plan)["run_id"]
    with read_only_view(state_dir, tmp_path / "ro") as view:
        env: dict[str, str | None] = {"QORCH_STATE_DIR": str(view)}
        before = tree(state_dir)
        result = cli("run", str(plan), "--new", env=env)
        assert_one_line_error(result, str(view), "read-only")
        shown = cli("results", run_id, "--json", env=env)  # reading still works
        assert shown.returncode == 0, shown.stderr
        assert [job["status"] for job in json.loads(shown.stdout)["jobs"]] == ["done", "done"]
        assert tree(state_dir) == before


def test_full_disk_gives_one_line_and_keeps_the_store(
    cli: Callable[..., Any], make_plan: Callable[..., Path], tmp_path: Path
) -> None:
    plan = make_plan(TINY_PLAN)
    with tmpfs(tmp_path / "small", size="2m") as mount:
        state = mount / "state"
        env: dict[str, str | None] = {"QORCH_STATE_DIR": str(state)}
        result = cli("run", str(plan), "--json", "--poll", "0.1", env=env)
        assert result.returncode == 0, result.stderr
        run_id = json.loads(result.stdout)["run_id"]
        filler = fill_disk(mount)
        try:
            result = cli("run", str(plan), "--new", env=env)
            assert_one_line_error(result, "disk full", "run the same command again")
            assert not [p for p in state.rglob("*.tmp")], "temporary files must be removed"
        finally:
            filler.unlink()
        listing = json.loads(cli("status", "--json", env=env).stdout)
        assert [run["run_id"] for run in listing] == [run_id]
        with sqlite3.connect(f"file:{state / 'state.db'}?mode=ro", uri=True) as conn:
            assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        conn.close()


def test_a_store_created_on_a_nearly_full_disk_is_whole_or_refused(tmp_path: Path) -> None:
    """With room for the new store's journal but not for its file, creating the store
    published a file whose pages were only in its deleted WAL: every later command said
    the store was malformed. Now each amount of free space gives a whole store or a
    one-line 'disk full', and the next try after freeing space works."""
    from qorch.contract.errors import StateError
    from qorch.store.state import StateStore

    outcomes: set[str] = set()
    with tmpfs(tmp_path / "small", size="1m") as mount:
        for free_kib in range(0, 200, 8):
            state = mount / f"state{free_kib}"
            filler = fill_disk(mount)
            with open(filler, "r+b") as handle:  # give back free_kib
                handle.truncate(max(0, filler.stat().st_size - free_kib * 1024))
            try:
                with StateStore(state) as store:
                    store.runs()
                outcomes.add("created")
            except StateError as error:
                assert "disk full" in str(error) and "damaged" not in str(error), error
                outcomes.add("disk full")
            finally:
                filler.unlink()
            with StateStore(state) as store:  # space freed: the store opens, or is created
                assert store.runs() == []
            shutil.rmtree(state)
    assert outcomes == {"created", "disk full"}, outcomes


def test_a_local_job_the_full_disk_stopped_is_submitted_by_the_next_run(
    make_plan: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while writing a local job's directory failed the job for good ("run
    the same command again" then changed nothing). Now the run stops with the one-line
    error and the next run submits the job, once."""
    import qorch
    from qorch.contract.errors import StateError
    from qorch.engine import localjob
    from qorch.store.fsutil import describe_os_error
    from qorch.store.state import StateStore

    monkeypatch.setenv("QORCH_STATE_DIR", str(tmp_path / "state"))
    plan = make_plan(TINY_PLAN)
    real = localjob.write_bytes_atomic
    written: list[Path] = []

    def full_at_the_second_payload(path: Path, data: bytes, **options: Any) -> None:
        written.append(path)
        if len(written) == 2:
            raise StateError(describe_os_error(path, OSError(errno.ENOSPC, "No space left")))
        real(path, data, **options)

    monkeypatch.setattr(localjob, "write_bytes_atomic", full_at_the_second_payload)
    with pytest.raises(StateError, match=r"was not submitted: cannot write .*: disk full") as got:
        qorch.run(plan, qorch.RunOptions(poll_s=0.05))
    assert str(got.value).count("run the same command again") == 1, got.value
    monkeypatch.setattr(localjob, "write_bytes_atomic", real)
    done = qorch.run(plan, qorch.RunOptions(poll_s=0.05))
    assert done.exit_code == 0 and done.finished
    with StateStore(tmp_path / "state") as store:
        [run] = store.runs()
        assert [job.status for job in store.jobs(run.run_id)] == ["done", "done"]
    logs = sorted((tmp_path / "state" / "jobs").glob("*/worker.log"))
    assert [log.read_text().count("result written") for log in logs] == [1, 1]


def test_history_on_a_full_disk_gives_one_line(tmp_path: Path) -> None:
    """A run judged on a full disk died with sqlite3's traceback ('database or disk is
    full') while keeping its metrics in the history: the history writes went around the
    store's error translation."""
    from types import SimpleNamespace

    from qorch.contract.errors import StateError
    from qorch.store import history
    from qorch.store.state import StateStore

    metric = {"circuit": "c", "target": "t", "std_error": 0.1, "low": 0.0, "high": 1.0,
              "level": 0.95}  # fmt: skip
    values = [SimpleNamespace(name=f"m{i}", value=float(i), **metric) for i in range(5000)]
    with tmpfs(tmp_path / "small", size="1m") as mount:
        with StateStore(mount / "state") as store:
            run, _ = store.open_run(
                idem_key="k", new=True, plan_path="p.yaml", plan_name="p", plan_hash="h",
                kind="circuits", bundle_dir="b", jobs=[],
            )  # fmt: skip
            filler = fill_disk(mount)
            try:
                with pytest.raises(StateError, match="disk full: free space under"):
                    history.record_metrics(store, run.run_id, values)
            finally:
                filler.unlink()
        with StateStore(mount / "state") as store:  # the next command, space freed
            history.record_metrics(store, run.run_id, values[:3])
            assert len(store.query("SELECT * FROM metrics")) == 3


def test_atomic_write_on_full_disk_names_the_path_and_removes_the_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qorch.contract.errors import StateError
    from qorch.store import fsutil

    target = tmp_path / "out" / "result.json"
    fsutil.write_json_atomic(target, {"old": 1})

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsutil.os, "fsync", no_space)
    with pytest.raises(StateError) as caught:
        fsutil.write_json_atomic(target, {"new": 2})
    assert str(target) in str(caught.value) and "disk full" in str(caught.value)
    assert json.loads(target.read_text()) == {"old": 1}
    assert sorted(p.name for p in target.parent.iterdir()) == ["result.json"]


@pytest.mark.parametrize("errno_value, words", [(errno.EROFS, "read-only"), (errno.EACCES, "")])
def test_atomic_write_on_read_only_or_forbidden_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errno_value: int, words: str
) -> None:
    from qorch.contract.errors import StateError
    from qorch.store import fsutil

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno_value, os.strerror(errno_value))

    monkeypatch.setattr(fsutil.tempfile, "mkstemp", refuse)
    with pytest.raises(StateError) as caught:
        fsutil.write_text_atomic(tmp_path / "plan.yaml", "x")
    assert str(tmp_path / "plan.yaml") in str(caught.value) and words in str(caught.value)


def test_deleted_results_are_fetched_again_from_the_provider(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    data = finished_run(cli, make_plan(TINY_PLAN))
    results_dir = state_dir / "runs" / data["run_id"] / "results"
    shutil.rmtree(results_dir)
    again = cli("results", data["run_id"], "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["jobs"] == data["jobs"]
    assert sorted(p.name for p in results_dir.iterdir()) == ["0000.json", "0001.json"]


def test_corrupt_result_file_is_fetched_again(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    data = finished_run(cli, make_plan(TINY_PLAN))
    result_file = state_dir / "runs" / data["run_id"] / "results" / "0001.json"
    result_file.write_text('{"counts": ')
    again = cli("results", data["run_id"], "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["jobs"] == data["jobs"]
    assert json.loads(result_file.read_text())["counts"] == data["jobs"][1]["counts"]


def test_lost_result_that_the_provider_cannot_return_gives_one_line(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    data = finished_run(cli, make_plan(TINY_PLAN))
    result_file = state_dir / "runs" / data["run_id"] / "results" / "0000.json"
    result_file.unlink()
    for job_dir in (state_dir / "jobs").glob("qorch-*"):
        shutil.rmtree(job_dir)
    result = cli("results", data["run_id"])
    assert_one_line_error(result, str(result_file))


# item 10: run ids match literally; empty is a usage error ------------------


def open_runs(state_dir: Path, plan: Path, count: int) -> list[str]:
    """Open ``count`` runs of ``plan`` without submitting anything; their ids."""
    from qorch.engine.session import prepare_run

    ids = []
    for index in range(count):
        ctx, _ = prepare_run(plan, idem_key=f"key-{index}", new=False, notify=lambda _: None)
        ids.append(ctx.run.run_id)
        ctx.store.close()
    return ids


def test_empty_run_id_is_a_usage_error_and_cancels_nothing(
    cli: Callable[..., Any],
    make_plan: Callable[..., Path],
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    (run_id,) = open_runs(state_dir, make_plan(TINY_PLAN), 1)
    for command in ("cancel", "status", "results"):
        result = cli(command, "")
        assert_one_line_error(result, "empty", code=2)
    shown = json.loads(cli("status", "--json").stdout)
    assert shown[0]["run_id"] == run_id and shown[0]["status"] != "cancelled"


def test_run_ids_match_literally_not_as_like_patterns(
    cli: Callable[..., Any],
    make_plan: Callable[..., Path],
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    (run_id,) = open_runs(state_dir, make_plan(TINY_PLAN), 1)
    for pattern in (run_id[:7] + "_", run_id[:4] + "%", "%", "_"):
        assert_one_line_error(cli("status", pattern), "no run", f"'{pattern}'")
    assert cli("status", run_id[:9]).returncode in (0, 3)


def test_ambiguous_prefix_lists_the_candidates(
    cli: Callable[..., Any],
    make_plan: Callable[..., Path],
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    ids = open_runs(state_dir, make_plan(TINY_PLAN), 2)
    line = assert_one_line_error(cli("cancel", "2"), "ambiguous")
    assert all(run_id in line for run_id in ids), line
    store_line = assert_one_line_error(cli("status", ids[0][:2]), "ambiguous")
    assert ids[1] in store_line


# item 14: the state directory is private, user outputs follow the umask ----


def test_state_files_are_private(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    data = finished_run(cli, make_plan(TINY_PLAN))
    assert mode(state_dir) == 0o700
    for path in [state_dir / "state.db", *(state_dir / "locks").iterdir()]:
        assert mode(path) == 0o600, path
    for suffix in ("-wal", "-shm"):
        wal = state_dir / f"state.db{suffix}"
        if wal.exists():
            assert mode(wal) == 0o600, wal
    journal = [p for p in (state_dir / "runs" / data["run_id"]).rglob("*") if p.is_file()]
    handles = [p for p in journal if "journal" in p.parts]
    assert handles, journal
    for path in handles:
        assert mode(path) == 0o600, path


def test_user_outputs_follow_the_umask(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path, tmp_path: Path
) -> None:
    data = finished_run(cli, make_plan(TINY_PLAN))
    public = 0o666 & ~umask()
    run_dir = state_dir / "runs" / data["run_id"]
    for path in [run_dir / "results.json", *(run_dir / "results").iterdir()]:
        assert mode(path) == public, path
    plan = tmp_path / "new-plan.yaml"
    assert cli("init", "circuits", str(plan)).returncode == 0
    assert mode(plan) == public


def test_atomic_writer_modes(tmp_path: Path) -> None:
    from qorch.store import fsutil

    old = os.umask(0o002)
    try:
        fsutil.write_text_atomic(tmp_path / "shared.txt", "x")
        fsutil.write_text_atomic(tmp_path / "secret.txt", "x", private=True)
    finally:
        os.umask(old)
    assert mode(tmp_path / "shared.txt") == 0o664
    assert mode(tmp_path / "secret.txt") == 0o600


# item 17: reading commands never create a store -----------------------------


@pytest.mark.parametrize(
    "args", [("status", "abc"), ("results", "abc"), ("cancel", "abc"), ("status",)]
)
def test_reading_commands_never_create_a_store(
    cli: Callable[..., Any], tmp_path: Path, args: tuple[str, ...]
) -> None:
    missing = tmp_path / "nothing-here"
    result = cli(*args, "--state-dir", str(missing))
    assert_one_line_error(result, f"no qorch state in {missing}")
    assert not missing.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_one_line_error(cli(*args, "--state-dir", str(empty)), "no qorch state in")
    assert list(empty.iterdir()) == []


RUN_STATUSES = {"submitting", "running", "completed", "failed", "cancelled"}  # the README's list


def test_a_new_run_has_a_documented_status(tmp_path: Path) -> None:
    """Runs were inserted as 'created', a status the contract does not list (issue 9, item 7)."""
    from qorch.store.state import NewJob, StateStore

    store = StateStore(tmp_path / "state")
    run, created = store.open_run(
        idem_key="k", new=False, plan_path="p.yaml", plan_name="p", plan_hash="h",
        kind="circuits", bundle_dir=str(tmp_path / "b"), jobs=[NewJob("c", "local:aer", 10, "x")],
    )  # fmt: skip
    assert created and run.status in RUN_STATUSES
    assert {record.status for record in store.runs()} <= RUN_STATUSES


def test_a_reopened_job_loses_its_finished_time(tmp_path: Path) -> None:
    """A job restarted after its worker died is no longer 'finished' at the old time."""
    from qorch.store.state import NewJob, StateStore

    store = StateStore(tmp_path / "state")
    run, _ = store.open_run(
        idem_key="k", new=False, plan_path="p.yaml", plan_name="p", plan_hash="h",
        kind="circuits", bundle_dir=str(tmp_path / "b"), jobs=[NewJob("c", "local:aer", 10, "x")],
    )  # fmt: skip
    store.update_job(run.run_id, 0, "failed", "worker died")
    assert store.job(run.run_id, 0).finished is not None
    store.update_job(run.run_id, 0, "queued", "restarted (attempt 2 of 3)")
    assert store.job(run.run_id, 0).finished is None
