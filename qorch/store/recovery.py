"""What a state directory proves was submitted, and rebuilding its store from that.

Evidence, most trusted first: the per-run journal (:mod:`qorch.store.journal`: the
run, its jobs and tokens, provider handles, final statuses, tasks), result
files (``runs/RUN/results/IDX.json``) and local job directories
(``jobs/qorch-RUN-IDX/request.json``, ``result.json``). :func:`survey` lists
it; :func:`rebuild` moves the old ``state.db`` aside (never deletes it) and
writes a new one from the journals. A rebuilt job with a handle is
``submitted`` (the next ``qorch run`` asks its provider), one without is
``submitting`` (recovered by its idempotency token before anything is
submitted), so the same plan resumes its run and submits nothing twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qorch.contract.errors import StateError
from qorch.store import journal
from qorch.store.fsutil import read_json
from qorch.store.lock import hold_exclusive
from qorch.store.state import JOB_FINAL, StateStore, job_token, result_file_path, utc_now
from qorch.store.statedb import (
    DB_NAME,
    DamagedStoreError,
    MissingStoreError,
    NewerStoreError,
    connect,
    create_database,
    fsync_dir,
    recover_hint,
    translate,
)
from qorch.store.statedir import history

TOKEN = re.compile(r"^qorch-(?P<run>.+)-(?P<idx>\d{4,})$")


@dataclass
class JobEvidence:
    """What proves a job was (or was not yet) submitted."""

    index: int
    token: str
    circuit: str | None = None
    target: str | None = None
    job_id: str | None = None
    status: str | None = None
    evidence: list[str] = field(default_factory=list)


@dataclass
class RunEvidence:
    """A run found in the state directory and its jobs."""

    run_id: str
    journal: bool
    in_store: bool | None
    plan: str | None = None
    plan_name: str | None = None
    idempotency_key: str | None = None
    created: str | None = None
    jobs: list[JobEvidence] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass
class Survey:
    """The store's health and every run the directory holds evidence of."""

    state_dir: Path
    store_status: str  # ok, missing, damaged, stale, newer
    store_detail: str
    runs: list[RunEvidence]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "state_dir": str(self.state_dir),
            "store": {"status": self.store_status, "detail": self.store_detail},
            "runs": [asdict(run) for run in self.runs],
        }


@dataclass
class Rebuilt:
    """What :func:`rebuild` did."""

    runs: int
    jobs: int
    moved_aside: Path | None
    skipped: list[str]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        data["moved_aside"] = str(self.moved_aside) if self.moved_aside else None
        return data


def survey(state_dir: Path) -> Survey:
    """The store's health and what the journals, results and job directories prove.

    Raises StateError if the store cannot be judged (locked, unreadable).
    """
    status, detail, in_store = _store_health(state_dir)
    runs = [_journaled(state_dir, journaled, in_store) for journaled in _journals(state_dir)]
    known = {run.run_id for run in runs}
    runs.extend(_unjournaled(state_dir, known, in_store))
    runs.sort(key=lambda run: run.run_id)
    if status == "ok":
        lost = [run.run_id for run in runs if run.journal and run.run_id not in (in_store or ())]
        if lost:
            status = "stale"
            detail = f"{len(lost)} journaled runs are not in {DB_NAME}: {', '.join(lost)}"
    return Survey(state_dir, status, detail, runs)


def _store_health(state_dir: Path) -> tuple[str, str, set[str] | None]:
    def detail(error: StateError) -> str:  # without the advice to run this very command
        return str(error).replace(f"; {recover_hint(state_dir)}", "")

    try:
        store = StateStore(state_dir, create=False)
    except NewerStoreError as error:
        return "newer", detail(error), None
    except DamagedStoreError as error:
        return "damaged", detail(error), None
    except MissingStoreError as error:
        return "missing", detail(error), None
    try:
        run_ids = {run.run_id for run in store.runs()}
    except DamagedStoreError as error:
        return "damaged", detail(error), None
    finally:
        store.close()
    return "ok", f"{DB_NAME} is valid and holds {len(run_ids)} runs", run_ids


def _journals(state_dir: Path) -> list[journal.JournaledRun]:
    found = []
    for run_id in journal.run_ids(state_dir):
        journaled = journal.read_run(state_dir, run_id)
        if journaled is not None and journaled.run.get("run_id") == run_id:
            found.append(journaled)
    return found


def _journaled(
    state_dir: Path, journaled: journal.JournaledRun, in_store: set[str] | None
) -> RunEvidence:
    run = journaled.run
    evidence = RunEvidence(
        run_id=run["run_id"],
        journal=True,
        in_store=None if in_store is None else run["run_id"] in in_store,
        plan=run.get("plan_path"),
        plan_name=run.get("plan_name"),
        idempotency_key=run.get("idem_key"),
        created=run.get("created"),
        problems=list(journaled.problems),
    )
    for job in journaled.jobs:
        idx = int(job["idx"])
        entry = JobEvidence(idx, job["token"], job.get("circuit"), job.get("target"))
        state = journaled.job_states.get(idx, {})
        if state.get("handle"):
            entry.evidence.append("handle")
            entry.job_id = state["handle"].get("job_id")
        entry.status = state.get("status")
        _files(state_dir, run["run_id"], entry)
        evidence.jobs.append(entry)
    return evidence


def _unjournaled(state_dir: Path, known: set[str], in_store: set[str] | None) -> list[RunEvidence]:
    """Runs of an older qorch (no journal): from result files and job directories."""
    tokens: dict[str, dict[int, str]] = {}
    for path in _dirs(state_dir / "jobs"):
        match = TOKEN.match(path.name)
        if match and match["run"] not in known:
            tokens.setdefault(match["run"], {})[int(match["idx"])] = path.name
    for run_id in journal.run_ids(state_dir):
        if run_id not in known:
            for path in (state_dir / "runs" / run_id / "results").glob("[0-9]*.json"):
                with contextlib.suppress(ValueError):
                    tokens.setdefault(run_id, {}).setdefault(
                        int(path.stem), job_token(run_id, int(path.stem))
                    )
            tokens.setdefault(run_id, {})
    found = []
    for run_id, jobs in sorted(tokens.items()):
        summary = _read(state_dir / "runs" / run_id / "results.json") or {}
        evidence = RunEvidence(
            run_id=run_id,
            journal=False,
            in_store=None if in_store is None else run_id in in_store,
            plan=summary.get("plan"),
            plan_name=summary.get("plan_name"),
            idempotency_key=summary.get("idempotency_key"),
            created=summary.get("created"),
        )
        for idx, token in sorted(jobs.items()):
            entry = JobEvidence(idx, token)
            _files(state_dir, run_id, entry)
            evidence.jobs.append(entry)
        found.append(evidence)
    return found


def _files(state_dir: Path, run_id: str, entry: JobEvidence) -> None:
    result = _read(result_file_path(state_dir, run_id, entry.index))
    if isinstance(result, dict):
        entry.evidence.append("result")
        entry.circuit = entry.circuit or result.get("circuit")
        entry.target = entry.target or result.get("target")
        entry.job_id = entry.job_id or result.get("job_id")
        entry.status = entry.status or "done"
    job_dir = state_dir / "jobs" / entry.token
    if (job_dir / "request.json").exists():
        entry.evidence.append("job_dir")
        entry.job_id = entry.job_id or entry.token
    if (job_dir / "result.json").exists():
        entry.evidence.append("job_result")


def rebuild(state_dir: Path, *, force: bool = False) -> Rebuilt:
    """Rebuild ``state.db`` from the journals; the old one is moved aside, never deleted.

    Refuses (StateError) a healthy store, a store in use, or, unless
    ``force``, a directory with runs of an older qorch that have no journal.
    """
    found = survey(state_dir)
    db = state_dir / DB_NAME
    if found.store_status == "ok" and not force:
        raise StateError(
            f"{db} is healthy (every journaled run is in it); --rebuild replaces only a "
            "damaged, missing or stale store; pass --force to rebuild it anyway"
        )
    if found.store_status == "missing" and not history(state_dir):
        raise StateError(f"no qorch state in {state_dir}: nothing to rebuild")
    legacy = [run.run_id for run in found.runs if not run.journal]
    if legacy and not force:
        raise StateError(
            f"{len(legacy)} runs in {state_dir} have no journal (an older qorch wrote them: "
            f"{', '.join(legacy)}) and cannot be rebuilt, so running their plans again would "
            "submit them again; pass --force to rebuild the other runs anyway"
        )
    busy = (
        f"{state_dir} is in use by another qorch process; let it finish (or stop it) "
        "and run 'qorch recover --rebuild' again"
    )
    with hold_exclusive(state_dir / "locks" / "store.lock", busy=busy):
        fresh = state_dir / f".{DB_NAME}.rebuilt-{os.getpid()}"
        try:
            _remove(fresh)  # left by a rebuild that crashed
            create_database(fresh, 5.0)
            runs, jobs = _fill(state_dir, fresh)
            aside = _move_aside(db)
            os.replace(fresh, db)
            fsync_dir(state_dir)
        except OSError as error:
            raise StateError(f"cannot rebuild {db}: {error}; nothing was replaced") from None
        finally:
            _remove(fresh)
    return Rebuilt(runs, jobs, aside, legacy)


def _remove(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def _fill(state_dir: Path, path: Path) -> tuple[int, int]:
    """Insert every journaled run into the new database at ``path``; (runs, jobs)."""
    conn = connect(path, 5.0)
    runs = jobs = 0
    try:
        conn.execute("BEGIN IMMEDIATE")
        for journaled in _journals(state_dir):
            jobs += _insert_run(conn, state_dir, journaled)
            runs += 1
        conn.execute("COMMIT")
    except sqlite3.Error as error:
        raise translate(error, path, 5.0) from None
    finally:
        conn.close()
    return runs, jobs


def _insert_run(conn: sqlite3.Connection, state_dir: Path, journaled: journal.JournaledRun) -> int:
    run = journaled.run
    run_id = run["run_id"]
    rows = []
    for job in journaled.jobs:
        idx = int(job["idx"])
        state = journaled.job_states.get(idx, {})
        status, result_file = _job_status(state_dir, run_id, idx, state)
        handle = state.get("handle")
        rows.append(
            (run_id, idx, job["circuit"], job["target"], job["shots"], job["payload"],
             job["token"], status, json.dumps(handle, sort_keys=True) if handle else None,
             state.get("message", "") if status in JOB_FINAL else "",
             state.get("submitted"), state.get("finished"), result_file)
        )  # fmt: skip
    now = utc_now()
    conn.execute(
        "INSERT INTO runs (run_id, idem_key, generation, plan_path, plan_name, plan_hash, kind,"
        " bundle_dir, status, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (run_id, run["idem_key"], run["generation"], run["plan_path"], run["plan_name"],
         run["plan_hash"], run["kind"], run["bundle_dir"], _run_status([r[7] for r in rows]),
         run["created"], now),
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO jobs (run_id, idx, circuit, target, shots, payload, token, status,"
        " handle, message, submitted, finished, result_file)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    for name, task in journaled.tasks.items():
        conn.execute(
            "INSERT INTO tasks (run_id, name, status, result, updated) VALUES (?, ?, ?, ?, ?)",
            (run_id, name, task["status"], _dumps(task.get("result")), task.get("updated", now)),
        )
    for group, info in journaled.groups.items():
        conn.execute(
            "INSERT OR REPLACE INTO tasks (run_id, name, status, result, updated)"
            " VALUES (?, ?, 'done', ?, ?)",
            (run_id, f"jobs:{group}", _dumps(info), now),
        )
    return len(rows)


def _job_status(
    state_dir: Path, run_id: str, idx: int, state: dict[str, Any]
) -> tuple[str, str | None]:
    """A rebuilt job's status and result file (relative to the state directory)."""
    canonical = result_file_path(state_dir, run_id, idx)
    relative = str(canonical.relative_to(state_dir))
    status = state.get("status")
    if status in JOB_FINAL:
        return str(status), (state.get("result_file") or relative) if status == "done" else None
    if isinstance(_read(canonical), dict):
        return "done", relative
    if state.get("handle"):
        return "submitted", None
    return "submitting", None  # the provider is asked by token before anything is submitted


def _run_status(statuses: list[str]) -> str:
    found = set(statuses)
    if not found or found == {"done"}:
        return "completed"
    if found & {"pending", "submitting"}:
        return "submitting"
    if not found <= set(JOB_FINAL):
        return "running"
    return "failed" if "failed" in found else "cancelled"


def _move_aside(db: Path) -> Path | None:
    """Rename ``state.db`` (with its -wal and -shm) to ``state.db.damaged-STAMP``."""
    if not db.exists():
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = db.with_name(f"{db.name}.damaged-{stamp}")
    while aside.exists():
        stamp += "x"
        aside = db.with_name(f"{db.name}.damaged-{stamp}")
    for suffix in ("-wal", "-shm", ""):
        source = Path(f"{db}{suffix}")
        if source.exists():
            os.replace(source, Path(f"{aside}{suffix}"))
    return aside


def _dirs(directory: Path) -> list[Path]:
    try:
        return sorted(path for path in directory.iterdir() if path.is_dir())
    except OSError:
        return []


def _read(path: Path) -> Any:
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def _dumps(data: Any) -> str | None:
    return None if data is None else json.dumps(data, sort_keys=True)
