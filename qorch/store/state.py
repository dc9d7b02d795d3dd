"""The state store: an embedded SQLite database of runs, jobs, handles and results.

SQLite in WAL mode with a busy timeout; every writer uses ``BEGIN IMMEDIATE``
so concurrent qorch processes (two cron jobs, a terminal and CI) serialise
their writes instead of failing. A run is found by its idempotency key and
generation (``UNIQUE``), so the same key never creates two runs. A job's
intent (``submitting``) is recorded before its provider call and its handle
right after.

The store never starts over silently: an existing ``state.db`` is validated
(:mod:`qorch.store.statedb`), a missing one is not re-created beside the job
directories and runs of an earlier one, and what was committed is repeated in
a per-run journal (:mod:`qorch.store.journal`) from which ``qorch recover`` rebuilds
a lost store. Paths are stored relative to the state directory, so a project
can be moved. Every ``sqlite3`` error leaves as one-line :class:`StateError`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar, cast

from qorch.contract.errors import StateError, UsageError
from qorch.store import journal, migrate
from qorch.store.fsutil import make_dirs
from qorch.store.lock import hold_shared
from qorch.store.records import JOB_FINAL as JOB_FINAL
from qorch.store.records import JobRecord as JobRecord
from qorch.store.records import NewJob as NewJob
from qorch.store.records import RunRecord as RunRecord
from qorch.store.records import TaskRecord as TaskRecord
from qorch.store.records import job_token as job_token
from qorch.store.records import new_run_id as new_run_id
from qorch.store.records import result_file_path as result_file_path
from qorch.store.records import utc_now as utc_now
from qorch.store.statedb import (
    DB_NAME,
    SCHEMA_VERSION,
    MissingStoreError,
    create_database,
    is_read_only_fs,
    open_connection,
    recover_hint,
    translate,
)
from qorch.store.statedir import default_state_dir as default_state_dir
from qorch.store.statedir import history

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
EMPTY_RUN_ID = (
    "the run id is empty: pass a run id, a unique prefix of one, or 'latest' "
    "(is the variable holding it set?)"
)

F = TypeVar("F", bound=Callable[..., Any])


def _translated(method: F) -> F:
    """Turn any ``sqlite3`` error of a store method into a one-line StateError."""

    @functools.wraps(method)
    def wrapper(self: StateStore, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as error:
            raise translate(error, self.path, self.timeout_s) from None

    return cast(F, wrapper)


class StateStore:
    """The SQLite store under a state directory (``.qorch/`` by default).

    ``create``: make the directory and database if there are none (commands
    that submit); without it (commands that only read) a missing store is
    "no qorch state in DIR". Raises StateError for a store that is damaged,
    of a newer qorch, locked, unwritable, or missing beside its history.
    """

    def __init__(self, directory: Path, *, create: bool = True) -> None:
        self.directory = directory
        self.path = directory / DB_NAME
        self.timeout_s = BUSY_TIMEOUT_MS / 1000
        self._lock: IO[str] | None = None
        self._prepare(create)
        self._root = directory.resolve()
        if not is_read_only_fs(directory):
            self._lock = hold_shared(
                directory / "locks" / "store.lock",
                timeout_s=self.timeout_s,
                busy=f"{directory} is being rebuilt by 'qorch recover --rebuild' or pruned by "
                "'qorch gc --yes'; try again when it finishes",
            )
        try:
            if not self.path.exists():
                create_database(self.path, self.timeout_s)
            self._conn, self.read_only, self.version = open_connection(self.path, self.timeout_s)
        except BaseException:
            self._release()
            raise
        log.debug("state store %s (schema %d%s)", self.path, self.version,
                  ", read-only" if self.read_only else "")  # fmt: skip
        if self.version < SCHEMA_VERSION and not self.read_only:
            log.info("upgrading the state store from schema %d to %d", self.version,
                     SCHEMA_VERSION)  # fmt: skip
            migrate.upgrade(self)

    def _prepare(self, create: bool) -> None:
        directory = self.directory
        if not directory.is_dir():
            if directory.exists():
                raise StateError(f"{directory} is not a directory, so it holds no qorch state")
            if not create:
                raise MissingStoreError(f"no qorch state in {directory}")
            make_dirs(directory, private=True)
        if self.path.exists():
            return
        proof = history(directory)
        # Job directories appear only after a store exists: a store there now was created by
        # a concurrent qorch between the two looks (simultaneous first submits), not lost.
        if proof and not self.path.exists():
            raise MissingStoreError(
                f"{self.path} is missing, but {directory} holds {' and '.join(proof)} of the "
                f"store that was there; no new store was created (it would submit them "
                f"again); {recover_hint(directory)}"
            )
        if not create:
            raise MissingStoreError(f"no qorch state in {directory}")

    def close(self) -> None:
        """Close the database connection (and release the store's shared lock)."""
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()
        self._release()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # sqlite3 connections sit in a reference cycle with their statement cache,
        # so without this a dropped store would close (and checkpoint its WAL into
        # whatever state.db is there by then) only at some later garbage collection.
        with contextlib.suppress(Exception):
            self.close()

    def _release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    @_translated
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """The rows of a read query (for the store's own modules: history, recovery)."""
        return self._conn.execute(sql, params).fetchall()

    @contextmanager
    def write(self) -> Iterator[_Writer]:
        """A write transaction (``BEGIN IMMEDIATE``): commit on success, roll back on error.

        SQLite's errors (a full disk at COMMIT, a lock held too long) leave it as
        one-line StateErrors, for the store's own modules (history) as for its methods.
        """
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield _Writer(self._conn)
                self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise translate(error, self.path, self.timeout_s) from None

    # runs -----------------------------------------------------------------

    @_translated
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
        get the same run. Raises StateError if the journal holds a run of this
        key that the database lacks (a stale or damaged store).
        """
        with self.write() as conn:
            rows = conn.execute(
                "SELECT * FROM runs WHERE idem_key = ? ORDER BY generation DESC", (idem_key,)
            ).fetchall()
            self._check_not_stale(idem_key, {row["run_id"] for row in rows})
            if rows and not new:
                found = rows[0]
            else:
                found = None
                generation = (rows[0]["generation"] + 1) if rows else 1
                run_id = new_run_id()
                now = utc_now()
                conn.execute(
                    "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'submitting', ?, ?)",
                    (run_id, idem_key, generation, plan_path, plan_name, plan_hash, kind,
                     self.relative(bundle_dir), now, now),
                )  # fmt: skip
                _insert_jobs(conn, run_id, 0, jobs)
        if found is not None:
            self._ensure_journal(found["run_id"])
            return self._run(found), False
        self._journal_run(run_id)
        return self.run(run_id), True

    def _check_not_stale(self, idem_key: str, known: set[str]) -> None:
        lost = [run_id for run_id in journal.runs_for_key(self.directory, idem_key)
                if run_id not in known]  # fmt: skip
        if lost:
            raise StateError(
                f"{self.path} does not hold run {lost[-1]} (idempotency key '{idem_key}') "
                f"that its journal records: the store is stale or damaged, so nothing was "
                f"submitted; {recover_hint(self.directory)}"
            )

    @_translated
    def matching_runs(self, run_id: str) -> list[RunRecord]:
        """The run with exactly this id, else the runs whose id starts with it (literally).

        Raises UsageError for an empty id.
        """
        if not run_id.strip():
            raise UsageError(EMPTY_RUN_ID)
        rows = self._conn.execute(
            "SELECT * FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY run_id",
            (len(run_id), run_id),
        ).fetchall()
        exact = [row for row in rows if row["run_id"] == run_id]
        return [self._run(row) for row in (exact or rows)]

    def run(self, run_id: str) -> RunRecord:
        """The run with this id, or the only run whose id starts with it.

        Raises UsageError (empty id) or StateError (none, or ambiguous: lists the candidates).
        """
        matches = self.matching_runs(run_id)
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise StateError(f"no run '{run_id}' in {self.path}")
        raise StateError(ambiguous(run_id, [match.run_id for match in matches]))

    @_translated
    def latest_run(self, idem_key: str) -> RunRecord | None:
        """The newest run of ``idem_key``; None if there is none (creates nothing). Raises
        StateError, as :meth:`open_run` does, if the journal knows a run the store lacks."""
        rows = self._conn.execute(
            "SELECT * FROM runs WHERE idem_key = ? ORDER BY generation DESC", (idem_key,)
        ).fetchall()
        self._check_not_stale(idem_key, {row["run_id"] for row in rows})
        return self._run(rows[0]) if rows else None

    @_translated
    def runs(self) -> list[RunRecord]:
        """Every run, newest first."""
        rows = self._conn.execute("SELECT * FROM runs ORDER BY created DESC, rowid DESC")
        return [self._run(row) for row in rows.fetchall()]

    @_translated
    def set_run_status(self, run_id: str, status: str) -> None:
        """Record a run's overall status."""
        with self.write() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, updated = ? WHERE run_id = ?",
                (status, utc_now(), run_id),
            )

    # jobs -----------------------------------------------------------------

    @_translated
    def jobs(self, run_id: str) -> list[JobRecord]:
        """The run's jobs in order."""
        rows = self._conn.execute("SELECT * FROM jobs WHERE run_id = ? ORDER BY idx", (run_id,))
        return [self._job(row) for row in rows.fetchall()]

    @_translated
    def job(self, run_id: str, idx: int) -> JobRecord:
        """One job of a run."""
        row = self._conn.execute(
            "SELECT * FROM jobs WHERE run_id = ? AND idx = ?", (run_id, idx)
        ).fetchone()
        if row is None:
            raise StateError(f"run {run_id} has no job {idx}")
        return self._job(row)

    @_translated
    def mark_submitting(self, run_id: str, idx: int) -> bool:
        """Record the intent to submit; False if the job is no longer pending."""
        with self.write() as conn:
            cursor = conn.execute(
                "UPDATE jobs SET status = 'submitting' WHERE run_id = ? AND idx = ?"
                " AND status = 'pending'",
                (run_id, idx),
            )
            return cursor.rowcount == 1

    @_translated
    def record_handle(self, run_id: str, idx: int, handle: dict[str, Any]) -> None:
        """Store the provider's handle right after submission (and journal it)."""
        with self.write() as conn:
            conn.execute(
                "UPDATE jobs SET status = 'submitted', handle = ?, submitted = ?"
                " WHERE run_id = ? AND idx = ?",
                (json.dumps(handle, sort_keys=True), utc_now(), run_id, idx),
            )
        self._journal_job(run_id, idx)

    @_translated
    def update_job(
        self,
        run_id: str,
        idx: int,
        status: str,
        message: str = "",
        result_file: str | None = None,
    ) -> None:
        """Record a job's latest status (and, when done, its result file).

        A job re-opened from a final status (a dead local worker restarted)
        loses its ``finished`` time, and the journal follows it either way.
        """
        finished = utc_now() if status in JOB_FINAL else None
        stored = self.relative(result_file) if result_file is not None else None
        with self.write() as conn:
            before = conn.execute(
                "SELECT status FROM jobs WHERE run_id = ? AND idx = ?", (run_id, idx)
            ).fetchone()
            conn.execute(
                "UPDATE jobs SET status = ?, message = ?,"
                " finished = CASE WHEN ? IS NULL THEN NULL ELSE COALESCE(finished, ?) END,"
                " result_file = COALESCE(?, result_file) WHERE run_id = ? AND idx = ?",
                (status, message, finished, finished, stored, run_id, idx),
            )
        reopened = before is not None and before["status"] in JOB_FINAL
        if status in JOB_FINAL or reopened:
            self._journal_job(run_id, idx)

    # tasks (in-process work of a run: training, sweeps, baselines) --------

    @_translated
    def tasks(self, run_id: str) -> dict[str, TaskRecord]:
        """The run's tasks by name."""
        rows = self._conn.execute("SELECT * FROM tasks WHERE run_id = ? ORDER BY name", (run_id,))
        return {row["name"]: _task(row) for row in rows.fetchall()}

    @_translated
    def set_task(
        self, run_id: str, name: str, status: str, result: dict[str, Any] | None = None
    ) -> None:
        """Record a task's status (and result) — insert or replace."""
        now = utc_now()
        with self.write() as conn:
            conn.execute(
                "INSERT INTO tasks (run_id, name, status, result, updated) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (run_id, name) DO UPDATE SET status = excluded.status,"
                " result = excluded.result, updated = excluded.updated",
                (run_id, name, status, _dumps(result), now),
            )
        task = {"name": name, "status": status, "result": result, "updated": now}
        journal.write_task(self.directory, run_id, task)

    @_translated
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
        self._journal_run(run_id)
        return True

    # paths ----------------------------------------------------------------

    def relative(self, path: str | Path) -> str:
        """``path`` (absolute, or relative to the current directory) as stored:
        relative to the state directory."""
        target = Path(path)
        if not target.is_absolute():
            target = Path.cwd() / target
        return os.path.relpath(target.resolve(), self._root)

    def absolute(self, stored: str) -> Path:
        """A stored path (relative to the state directory; absolute from older stores)."""
        path = Path(stored)
        return path if path.is_absolute() else self.directory / path

    def _bundle_dir(self, stored: str) -> Path:
        path = self.absolute(stored)
        if Path(stored).is_absolute() and not path.exists():
            moved = self.directory / "bundles" / path.name  # an older store, moved
            if moved.exists():
                return moved
        return path

    def _result_file(self, run_id: str, idx: int, stored: str) -> Path:
        path = self.absolute(stored)
        if not path.exists():
            canonical = result_file_path(self.directory, run_id, idx)
            if canonical.exists():
                return canonical  # written by an older store (relative to its cwd), or moved
        return path

    def _run(self, row: sqlite3.Row) -> RunRecord:
        data = {key: row[key] for key in row.keys()}  # noqa: SIM118
        data["bundle_dir"] = str(self._bundle_dir(data["bundle_dir"]))
        if data["status"] == "created":  # written by older qorch; not a documented status
            data["status"] = "submitting"
        return RunRecord(**data)

    def _job(self, row: sqlite3.Row) -> JobRecord:
        data = {key: row[key] for key in row.keys()}  # noqa: SIM118
        data["handle"] = json.loads(data["handle"]) if data["handle"] else None
        if data["result_file"]:
            data["result_file"] = str(
                self._result_file(data["run_id"], data["idx"], data["result_file"])
            )
        return JobRecord(**data)

    # journal --------------------------------------------------------------

    def _journal_run(self, run_id: str) -> None:
        """Write ``run.json`` from the database (what this connection sees)."""
        row = self._conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        run = {key: row[key] for key in row.keys() if key not in ("status", "updated")}  # noqa: SIM118
        jobs = [
            {key: job[key] for key in ("idx", "circuit", "target", "shots", "payload", "token")}
            for job in self._conn.execute(
                "SELECT * FROM jobs WHERE run_id = ? ORDER BY idx", (run_id,)
            )
        ]
        journal.write_run(self.directory, run, jobs, self._groups(run_id))

    def _groups(self, run_id: str) -> dict[str, Any]:
        rows = self._conn.execute(
            "SELECT name, result FROM tasks WHERE run_id = ? AND name LIKE 'jobs:%'", (run_id,)
        )
        return {row["name"][5:]: json.loads(row["result"] or "{}") for row in rows}

    def _ensure_journal(self, run_id: str) -> None:
        """Rewrite ``run.json`` if it is missing or behind the database (a crash between)."""
        journaled = journal.read_run(self.directory, run_id)
        count = self._conn.execute(
            "SELECT COUNT(*) FROM jobs WHERE run_id = ?", (run_id,)
        ).fetchone()[0]
        if journaled is None or len(journaled.jobs) != count:
            self._journal_run(run_id)

    def _journal_job(self, run_id: str, idx: int) -> None:
        row = self._conn.execute(
            "SELECT * FROM jobs WHERE run_id = ? AND idx = ?", (run_id, idx)
        ).fetchone()
        if row is None:
            return
        keys = ("idx", "token", "status", "message", "submitted", "finished", "result_file")
        record: dict[str, Any] = {key: row[key] for key in keys}
        record["handle"] = json.loads(row["handle"]) if row["handle"] else None
        journal.write_job(self.directory, run_id, record)


class _Writer:
    """The connection inside a write transaction."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        return self._conn.execute(sql, params)


def ambiguous(prefix: str, run_ids: Sequence[str], limit: int = 6) -> str:
    """The message for a prefix that several runs share, listing them."""
    shown = ", ".join(run_ids[:limit]) + (", …" if len(run_ids) > limit else "")
    return (
        f"run id '{prefix}' is ambiguous: {len(run_ids)} runs start with it ({shown}); "
        "give more of the id"
    )


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
