"""The per-run journal beside the state database: what a rebuild can trust.

Every run keeps, under ``runs/<run_id>/journal/`` (private files, written
atomically):

    run.json          the run and its jobs with their idempotency tokens, and
                      the job groups added once (rewritten when jobs are added)
    job-0000.json     a job's provider handle, written right after it is
                      recorded (a cloud job's handle exists nowhere else), and
                      its final status
    task-<hash>.json  the latest status and result of an in-process task

The database stays the authority; the journal only repeats what was
committed, so a lost or damaged ``state.db`` can be rebuilt from it
(:mod:`qorch.store.recovery`) without submitting anything twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qorch.store.fsutil import read_json, write_json_atomic

FORMAT = 1
RUN_FILE = "run.json"


def journal_dir(state_dir: Path, run_id: str) -> Path:
    """The journal directory of a run."""
    return state_dir / "runs" / run_id / "journal"


def job_file(state_dir: Path, run_id: str, idx: int) -> Path:
    """The journal file of one job."""
    return journal_dir(state_dir, run_id) / f"job-{idx:04d}.json"


def task_file(state_dir: Path, run_id: str, name: str) -> Path:
    """The journal file of one task (names may hold any character, so they are hashed)."""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:16]
    return journal_dir(state_dir, run_id) / f"task-{digest}.json"


def write_run(
    state_dir: Path,
    run: dict[str, Any],
    jobs: list[dict[str, Any]],
    groups: dict[str, Any],
) -> None:
    """Write (or rewrite) a run's ``run.json``. Raises StateError if it cannot be written."""
    record = {"format": FORMAT, "run": run, "jobs": jobs, "groups": groups}
    write_json_atomic(journal_dir(state_dir, run["run_id"]) / RUN_FILE, record, private=True)


def write_job(state_dir: Path, run_id: str, job: dict[str, Any]) -> None:
    """Write a job's handle and status. Raises StateError if it cannot be written."""
    write_json_atomic(job_file(state_dir, run_id, int(job["idx"])), job, private=True)


def write_task(state_dir: Path, run_id: str, task: dict[str, Any]) -> None:
    """Write a task's status and result. Raises StateError if it cannot be written."""
    write_json_atomic(task_file(state_dir, run_id, task["name"]), task, private=True)


@dataclass
class JournaledRun:
    """What a run's journal holds."""

    run: dict[str, Any]
    jobs: list[dict[str, Any]]
    groups: dict[str, Any]
    job_states: dict[int, dict[str, Any]] = field(default_factory=dict)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read_run(state_dir: Path, run_id: str) -> JournaledRun | None:
    """A run's journal, or None if it has none (or its ``run.json`` is unreadable)."""
    directory = journal_dir(state_dir, run_id)
    record = _read(directory / RUN_FILE)
    if not isinstance(record, dict) or not isinstance(record.get("run"), dict):
        return None
    journaled = JournaledRun(record["run"], list(record.get("jobs", [])), record.get("groups", {}))
    for path in sorted(directory.glob("job-*.json")):
        state = _read(path)
        if isinstance(state, dict) and "idx" in state:
            journaled.job_states[int(state["idx"])] = state
        else:
            journaled.problems.append(f"{path}: unreadable")
    for path in sorted(directory.glob("task-*.json")):
        task = _read(path)
        if isinstance(task, dict) and "name" in task:
            journaled.tasks[str(task["name"])] = task
        else:
            journaled.problems.append(f"{path}: unreadable")
    return journaled


def run_ids(state_dir: Path) -> list[str]:
    """Ids of the runs with a run directory (journaled or not), sorted."""
    runs = state_dir / "runs"
    try:
        return sorted(path.name for path in runs.iterdir() if path.is_dir())
    except OSError:
        return []


def runs_for_key(state_dir: Path, idem_key: str) -> list[str]:
    """Ids of the journaled runs with this idempotency key."""
    found = []
    for run_id in run_ids(state_dir):
        record = _read(journal_dir(state_dir, run_id) / RUN_FILE)
        if isinstance(record, dict) and (record.get("run") or {}).get("idem_key") == idem_key:
            found.append(run_id)
    return found


def _read(path: Path) -> Any:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None
