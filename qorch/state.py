"""The state store: an embedded SQLite database of runs, jobs, handles and results.

SQLite in WAL mode with a busy timeout; every writer uses ``BEGIN IMMEDIATE``
so concurrent qorch processes (two cron jobs, a terminal and CI) serialise
their writes instead of failing. A run is found by its idempotency key and
generation (``UNIQUE``), so the same key never creates two runs. A job's
intent (``submitting``) is recorded before its provider call and its handle
right after.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qorch.errors import StateError

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id      TEXT PRIMARY KEY,
    idem_key    TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    plan_path   TEXT NOT NULL,
    plan_name   TEXT NOT NULL,
    plan_hash   TEXT NOT NULL,
    kind        TEXT NOT NULL,
    bundle_dir  TEXT NOT NULL,
    status      TEXT NOT NULL,
    created     TEXT NOT NULL,
    updated     TEXT NOT NULL,
    UNIQUE (idem_key, generation)
);
CREATE TABLE IF NOT EXISTS jobs (
    run_id      TEXT NOT NULL REFERENCES runs(run_id),
    idx         INTEGER NOT NULL,
    circuit     TEXT NOT NULL,
    target      TEXT NOT NULL,
    shots       INTEGER NOT NULL,
    payload     TEXT NOT NULL,
    token       TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL,
    handle      TEXT,
    message     TEXT NOT NULL DEFAULT '',
    submitted   TEXT,
    finished    TEXT,
    result_file TEXT,
    PRIMARY KEY (run_id, idx)
);
CREATE TABLE IF NOT EXISTS tasks (
    run_id      TEXT NOT NULL REFERENCES runs(run_id),
    name        TEXT NOT NULL,
    status      TEXT NOT NULL,
    result      TEXT,
    updated     TEXT NOT NULL,
    PRIMARY KEY (run_id, name)
);
"""

JOB_FINAL = ("done", "failed", "cancelled")


def utc_now() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class RunRecord:
    """A row of ``runs``."""

    run_id: str
    idem_key: str
    generation: int
    plan_path: str
    plan_name: str
    plan_hash: str
    kind: str
    bundle_dir: str
    status: str
    created: str
    updated: str


@dataclass(frozen=True)
class JobRecord:
    """A row of ``jobs``; ``handle`` is the provider's JSON handle once submitted."""

    run_id: str
    idx: int
    circuit: str
    target: str
    shots: int
    payload: str
    token: str
    status: str
    handle: dict[str, Any] | None
    message: str
    submitted: str | None
    finished: str | None
    result_file: str | None


@dataclass(frozen=True)
class NewJob:
    """What a run's job is, before it is submitted."""

    circuit: str
    target: str
    shots: int
    payload: str


class StateStore:
    """The SQLite store under a state directory (``.qorch/`` by default)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise StateError(f"cannot create state directory {directory}: {error}") from None
        self.path = directory / "state.db"
        self._conn = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
        )
        self._conn.row_factory = sqlite3.Row
        self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        with self.write() as conn:
            conn.executescript_safe(SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    def close(self) -> None:
        """Close the database connection."""
        self._conn.close()

    @contextmanager
    def write(self) -> Iterator[_Writer]:
        """A write transaction (``BEGIN IMMEDIATE``): commit on success, roll back on error."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield _Writer(self._conn)
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # runs -----------------------------------------------------------------

    def open_run(
        self,
        *,
        idem_key: str,
        new: bool,
        plan_path: str,
        plan_name: str,
        plan_hash: str,
        kind: str,
        bundle_dir: str,
        jobs: Sequence[NewJob],
    ) -> tuple[RunRecord, bool]:
        """The latest run for ``idem_key``, or a new one (always new with ``new``).

        Returns (run, created). Atomic: concurrent callers with the same key
        get the same run.
        """
        with self.write() as conn:
            row = conn.execute(
                "SELECT * FROM runs WHERE idem_key = ? ORDER BY generation DESC LIMIT 1",
                (idem_key,),
            ).fetchone()
            if row is not None and not new:
                return _run(row), False
            generation = (row["generation"] + 1) if row is not None else 1
            run_id = new_run_id()
            now = utc_now()
            conn.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?)",
                (
                    run_id,
                    idem_key,
                    generation,
                    plan_path,
                    plan_name,
                    plan_hash,
                    kind,
                    bundle_dir,
                    now,
                    now,
                ),
            )
            _insert_jobs(conn, run_id, 0, jobs)
        return self.run(run_id), True

    def run(self, run_id: str) -> RunRecord:
        """The run with this id, or the only run whose id starts with it. Raises StateError."""
        rows = self._conn.execute(
            "SELECT * FROM runs WHERE run_id = ? OR run_id LIKE ? ORDER BY run_id",
            (run_id, run_id.replace("%", "") + "%"),
        ).fetchall()
        exact = [row for row in rows if row["run_id"] == run_id]
        if exact:
            return _run(exact[0])
        if len(rows) == 1:
            return _run(rows[0])
        if not rows:
            raise StateError(f"no run '{run_id}' in {self.path}")
        raise StateError(f"run id '{run_id}' is ambiguous ({len(rows)} runs start with it)")

    def runs(self) -> list[RunRecord]:
        """Every run, newest first."""
        rows = self._conn.execute("SELECT * FROM runs ORDER BY created DESC, run_id DESC")
        return [_run(row) for row in rows.fetchall()]

    def set_run_status(self, run_id: str, status: str) -> None:
        """Record a run's overall status."""
        with self.write() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, updated = ? WHERE run_id = ?",
                (status, utc_now(), run_id),
            )

    # jobs -----------------------------------------------------------------

    def jobs(self, run_id: str) -> list[JobRecord]:
        """The run's jobs in order."""
        rows = self._conn.execute("SELECT * FROM jobs WHERE run_id = ? ORDER BY idx", (run_id,))
        return [_job(row) for row in rows.fetchall()]

    def job(self, run_id: str, idx: int) -> JobRecord:
        """One job of a run."""
        row = self._conn.execute(
            "SELECT * FROM jobs WHERE run_id = ? AND idx = ?", (run_id, idx)
        ).fetchone()
        if row is None:
            raise StateError(f"run {run_id} has no job {idx}")
        return _job(row)

    def mark_submitting(self, run_id: str, idx: int) -> bool:
        """Record the intent to submit; False if the job is no longer pending."""
        with self.write() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET status = 'submitting' WHERE run_id = ? AND idx = ?"
                " AND status = 'pending'",
                (run_id, idx),
            )
            return cursor.rowcount == 1

    def record_handle(self, run_id: str, idx: int, handle: dict[str, Any]) -> None:
        """Store the provider's handle right after submission."""
        with self.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'submitted', handle = ?, submitted = ?"
                " WHERE run_id = ? AND idx = ?",
                (json.dumps(handle, sort_keys=True), utc_now(), run_id, idx),
            )

    def update_job(
        self,
        run_id: str,
        idx: int,
        status: str,
        message: str = "",
        result_file: str | None = None,
    ) -> None:
        """Record a job's latest status (and, when done, its result file)."""
        finished = utc_now() if status in JOB_FINAL else None
        with self.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = ?, message = ?, finished = COALESCE(finished, ?),"
                " result_file = COALESCE(?, result_file) WHERE run_id = ? AND idx = ?",
                (status, message, finished, result_file, run_id, idx),
            )

    # tasks (in-process work of a run: training, sweeps, baselines) --------

    def tasks(self, run_id: str) -> dict[str, TaskRecord]:
        """The run's tasks by name."""
        rows = self._conn.execute("SELECT * FROM tasks WHERE run_id = ? ORDER BY name", (run_id,))
        return {row["name"]: _task(row) for row in rows.fetchall()}

    def set_task(
        self, run_id: str, name: str, status: str, result: dict[str, Any] | None = None
    ) -> None:
        """Record a task's status (and result) — insert or replace."""
        with self.write() as conn:
            conn.execute(
                "INSERT INTO tasks (run_id, name, status, result, updated) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status,"
                " result = excluded.result, updated = excluded.updated",
                (run_id, name, status, _dumps(result), utc_now()),
            )

    def add_jobs_once(self, run_id: str, group: str, jobs: Sequence[NewJob]) -> bool:
        """Append ``jobs`` to a run once per ``group`` name (atomic); False if added before."""
        with self.write() as conn:
            marker = f"jobs:{group}"
            seen = conn.execute(
                "SELECT 1 FROM tasks WHERE run_id = ? AND name = ?", (run_id, marker)
            ).fetchone()
            if seen is not None:
                return False
            start = conn.execute(
                "SELECT COALESCE(MAX(idx) + 1, 0) FROM jobs WHERE run_id = ?", (run_id,)
            ).fetchone()[0]
            _insert_jobs(conn, run_id, start, jobs)
            conn.execute(
                "INSERT INTO tasks (run_id, name, status, result, updated)"
                " VALUES (?, ?, 'done', ?, ?)",
                (run_id, marker, _dumps({"first_job": start, "jobs": len(jobs)}), utc_now()),
            )
        return True


class _Writer:
    """The connection inside a write transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)

    def executescript_safe(self, script: str) -> None:
        """Run several statements inside the current transaction."""
        for statement in script.split(";"):
            if statement.strip():
                self._conn.execute(statement)


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus random hex, e.g. ``20261120-233501-3fa2c1``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{stamp}-{secrets.token_hex(3)}"


def job_token(run_id: str, idx: int) -> str:
    """The idempotency token of a run's job: deterministic, unique, provider-safe."""
    return f"qorch-{run_id}-{idx:04d}"


def default_state_dir(plan_path: Path | None) -> Path:
    """``$QORCH_STATE_DIR``, else ``.qorch/`` beside the plan (or in the current directory)."""
    override = os.environ.get("QORCH_STATE_DIR")
    if override:
        return Path(override)
    base = plan_path.parent if plan_path is not None else Path.cwd()
    return base / ".qorch"


@dataclass(frozen=True)
class TaskRecord:
    """A row of ``tasks``: in-process work of a run and its JSON result."""

    run_id: str
    name: str
    status: str
    result: dict[str, Any] | None
    updated: str


def _insert_jobs(conn: _Writer, run_id: str, start: int, jobs: Sequence[NewJob]) -> None:
    """Insert ``jobs`` as pending, numbered from ``start``, each with its token."""
    for idx, job in enumerate(jobs, start=start):
        conn.execute(
            "INSERT INTO jobs (run_id, idx, circuit, target, shots, payload, token, status)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
            (run_id, idx, job.circuit, job.target, job.shots, job.payload, job_token(run_id, idx)),
        )


def _dumps(data: dict[str, Any] | None) -> str | None:
    return None if data is None else json.dumps(data, sort_keys=True)


def _task(row: sqlite3.Row) -> TaskRecord:
    result = json.loads(row["result"]) if row["result"] else None
    return TaskRecord(row["run_id"], row["name"], row["status"], result, row["updated"])


def _run(row: sqlite3.Row) -> RunRecord:
    return RunRecord(**{key: row[key] for key in row.keys()})  # noqa: SIM118


def _job(row: sqlite3.Row) -> JobRecord:
    data = {key: row[key] for key in row.keys()}  # noqa: SIM118
    data["handle"] = json.loads(data["handle"]) if data["handle"] else None
    return JobRecord(**data)
