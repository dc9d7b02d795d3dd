"""Unit tests for qorch.store.journal: the per-run files a lost state database is rebuilt from."""

from __future__ import annotations

import json
from pathlib import Path

from qorch.store import journal

RUN = {"run_id": "20260101-000000-abcdef", "idem_key": "key-1", "status": "running"}
JOBS = [{"idx": 0, "token": "qorch-a-0000"}, {"idx": 1, "token": "qorch-a-0001"}]


def test_paths_live_under_the_run() -> None:
    state = Path("/state")
    assert journal.journal_dir(state, "r1") == Path("/state/runs/r1/journal")
    assert journal.job_file(state, "r1", 7) == Path("/state/runs/r1/journal/job-0007.json")
    task = journal.task_file(state, "r1", "sweep/su4/angle: ∂ & /")
    assert task.parent == journal.journal_dir(state, "r1")
    assert task.name.startswith("task-") and task.name.endswith(".json") and "/" not in task.name
    assert task != journal.task_file(state, "r1", "sweep/su4/angle")


def test_a_written_run_reads_back_with_its_jobs_and_tasks(tmp_path: Path) -> None:
    journal.write_run(tmp_path, RUN, JOBS, {"evaluate": [0, 1]})
    journal.write_job(tmp_path, RUN["run_id"], {"idx": 1, "handle": {"id": "x"}, "status": "done"})
    journal.write_task(tmp_path, RUN["run_id"], {"name": "train", "status": "done", "result": {}})
    read = journal.read_run(tmp_path, RUN["run_id"])
    assert read is not None
    assert (read.run, read.jobs, read.groups) == (RUN, JOBS, {"evaluate": [0, 1]})
    assert read.job_states == {1: {"idx": 1, "handle": {"id": "x"}, "status": "done"}}
    assert read.tasks == {"train": {"name": "train", "status": "done", "result": {}}}
    assert read.problems == []
    record = json.loads((journal.journal_dir(tmp_path, RUN["run_id"]) / "run.json").read_text())
    assert record["format"] == journal.FORMAT


def test_journal_files_are_private(tmp_path: Path) -> None:
    journal.write_run(tmp_path, RUN, JOBS, {})
    journal.write_job(tmp_path, RUN["run_id"], {"idx": 0, "status": "queued"})
    for path in journal.journal_dir(tmp_path, RUN["run_id"]).iterdir():
        assert path.stat().st_mode & 0o077 == 0, path


def test_rewriting_a_run_replaces_it(tmp_path: Path) -> None:
    journal.write_run(tmp_path, RUN, JOBS[:1], {})
    journal.write_run(tmp_path, {**RUN, "status": "completed"}, JOBS, {})
    read = journal.read_run(tmp_path, RUN["run_id"])
    assert read is not None and read.run["status"] == "completed" and read.jobs == JOBS


def test_unreadable_job_and_task_files_are_problems_not_errors(tmp_path: Path) -> None:
    journal.write_run(tmp_path, RUN, JOBS, {})
    directory = journal.journal_dir(tmp_path, RUN["run_id"])
    (directory / "job-0000.json").write_text('{"idx": 0, "status": "do')  # torn
    (directory / "job-0001.json").write_text('{"status": "done"}')  # no idx
    (directory / "task-0123456789abcdef.json").write_bytes(b"\x00\xff")
    read = journal.read_run(tmp_path, RUN["run_id"])
    assert read is not None and read.job_states == {} and read.tasks == {}
    assert len(read.problems) == 3 and all(p.endswith(": unreadable") for p in read.problems)


def test_a_run_without_a_readable_run_file_has_no_journal(tmp_path: Path) -> None:
    assert journal.read_run(tmp_path, "missing") is None
    directory = journal.journal_dir(tmp_path, "r1")
    directory.mkdir(parents=True)
    (directory / "run.json").write_text("[]")
    assert journal.read_run(tmp_path, "r1") is None
    (directory / "run.json").write_text('{"format": 1, "run": "not a mapping"}')
    assert journal.read_run(tmp_path, "r1") is None


def test_run_ids_and_runs_for_key(tmp_path: Path) -> None:
    assert journal.run_ids(tmp_path) == []  # no runs directory yet
    journal.write_run(tmp_path, {**RUN, "run_id": "b"}, [], {})
    journal.write_run(tmp_path, {**RUN, "run_id": "a"}, [], {})
    journal.write_run(tmp_path, {**RUN, "run_id": "c", "idem_key": "other"}, [], {})
    (tmp_path / "runs" / "d").mkdir()  # a run directory without a journal
    (tmp_path / "runs" / "stray-file").write_text("")
    assert journal.run_ids(tmp_path) == ["a", "b", "c", "d"]
    assert journal.runs_for_key(tmp_path, "key-1") == ["a", "b"]
    assert journal.runs_for_key(tmp_path, "other") == ["c"]
    assert journal.runs_for_key(tmp_path, "none") == []
