"""Schema upgrades of the state store, applied by the first writer that opens an older one.

- 1 → 2: paths relative to the state directory, and a journal per run;
- 2 → 3: the ``metrics`` and ``verdicts`` tables of the run history (filled
  from each completed run's results as they are judged).

Best effort: a store that cannot be written now is still read (both kinds of
path are resolved on reading) and upgraded by a later writer.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import StateError
from qorch.store import journal
from qorch.store.records import result_file_path
from qorch.store.statedb import SCHEMA, SCHEMA_VERSION

if TYPE_CHECKING:
    from qorch.store.state import StateStore


def upgrade(store: StateStore) -> None:
    """Bring an older store up to :data:`SCHEMA_VERSION` in one transaction (best effort)."""
    try:
        with store.write() as conn:
            version = int(
                conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
            )
            if version >= SCHEMA_VERSION:
                return
            if version < 2:
                _relativise_paths(store, conn)
                _journal_everything(store)
            for statement in SCHEMA.split(";"):  # every table is CREATE … IF NOT EXISTS
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                (str(SCHEMA_VERSION),),
            )
        store.version = SCHEMA_VERSION
    except (StateError, sqlite3.Error, OSError):
        return


def _relativise_paths(store: StateStore, conn: Any) -> None:
    for run in conn.execute("SELECT run_id, bundle_dir FROM runs").fetchall():
        if Path(run["bundle_dir"]).is_absolute():
            bundle = store._bundle_dir(run["bundle_dir"])
            conn.execute(
                "UPDATE runs SET bundle_dir = ? WHERE run_id = ?",
                (store.relative(bundle), run["run_id"]),
            )
    jobs = conn.execute("SELECT run_id, idx, result_file FROM jobs").fetchall()
    for job in jobs:
        stored = job["result_file"]
        if not stored:
            continue
        canonical = result_file_path(store.directory, job["run_id"], job["idx"])
        keep = Path(stored).is_absolute() and Path(stored).exists()
        conn.execute(
            "UPDATE jobs SET result_file = ? WHERE run_id = ? AND idx = ?",
            (store.relative(stored if keep else canonical), job["run_id"], job["idx"]),
        )


def _journal_everything(store: StateStore) -> None:
    for (run_id,) in store._conn.execute("SELECT run_id FROM runs").fetchall():
        store._journal_run(run_id)
        for job in store._conn.execute(
            "SELECT idx FROM jobs WHERE run_id = ? AND (handle IS NOT NULL"
            " OR status IN ('done', 'failed', 'cancelled'))",
            (run_id,),
        ).fetchall():
            store._journal_job(run_id, job["idx"])
        for task in store.tasks(run_id).values():
            if not task.name.startswith("jobs:"):
                record = {"name": task.name, "status": task.status,
                          "result": task.result, "updated": task.updated}  # fmt: skip
                journal.write_task(store.directory, run_id, record)
