"""Finding runs for commands without a plan: state directories, run ids, ``latest``.

Never creates a store: a command that only reads (``status``, ``results``,
``cancel``) without one says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import StateError, UsageError

if TYPE_CHECKING:
    from qorch.engine.runner import Notify, RunContext
from qorch.store.state import EMPTY_RUN_ID, RunRecord, StateStore, ambiguous
from qorch.store.statedir import env_state_dir, nearby_state_dirs


def state_dirs(state_dir: Path | None = None) -> list[Path]:
    """``state_dir``, else ``$QORCH_STATE_DIR``, else the stores found near the current
    directory: the ``.qorch`` found upward (not above a ``.git``), then those in its
    subfolders (depth ≤ 2)."""
    if state_dir is not None:
        return [state_dir]
    override = env_state_dir()
    if override is not None:
        return [override]
    return nearby_state_dirs(Path.cwd())


def attach(run_id: str, state_dir: Path | None = None, notify: Notify | None = None) -> RunContext:
    """Re-open run ``run_id`` (an id, a unique prefix, or ``latest``) and its bundles."""
    from qorch.engine import runner  # imported here: listing runs needs only the store

    dirs = state_dirs(state_dir)
    if run_id == "latest":
        store, run_id = latest(dirs)
    else:
        store = locate_run(run_id, dirs)
    if notify is None:
        return runner.attach(store, run_id)
    return runner.attach(store, run_id, notify=notify)


def find(run_id: str, state_dir: Path | None = None) -> tuple[StateStore, RunRecord]:
    """The store holding run ``run_id`` (an id, a unique prefix, or ``latest``) and its record,
    without reading its bundle (for commands that only inspect: ``show``, ``gc``)."""
    dirs = state_dirs(state_dir)
    if run_id == "latest":
        store, run_id = latest(dirs)
    else:
        store = locate_run(run_id, dirs)
    return store, store.run(run_id)


def latest(dirs: list[Path]) -> tuple[StateStore, str]:
    """The store and id of the newest run in ``dirs``. Raises StateError if there is none."""
    best: tuple[str, StateStore, str] | None = None
    for directory in dirs:
        store = StateStore(directory, create=False)
        for record in store.runs()[:1]:
            if best is None or (record.created, record.run_id) > (best[0], best[2]):
                best = (record.created, store, record.run_id)
    if best is None:
        where = ", ".join(str(d) for d in dirs) or "no state directory found"
        raise StateError(
            f"no runs found (looked in: {where}); set QORCH_STATE_DIR or pass --state-dir"
        )
    return best[1], best[2]


def list_runs(state_dir: Path | None = None) -> list[dict[str, Any]]:
    """Every run in the state directories, newest first, as ``qorch status --json`` lists
    them (``run_id``, ``status``, ``created``, ``plan``, ``jobs``, ``jobs_done``, …)."""
    rows: list[dict[str, Any]] = []
    for directory in state_dirs(state_dir):
        store = StateStore(directory, create=False)
        for record in store.runs():
            jobs = store.jobs(record.run_id)
            rows.append(
                {
                    "run_id": record.run_id,
                    "status": record.status,
                    "created": record.created,
                    "plan": record.plan_path,
                    "plan_name": record.plan_name,
                    "jobs": len(jobs),
                    "jobs_done": sum(1 for job in jobs if job.status == "done"),
                    "idempotency_key": record.idem_key,
                    "state_dir": str(directory),
                }
            )
        store.close()
    rows.sort(key=lambda row: (row["created"], row["run_id"]), reverse=True)
    return rows


def locate_run(run_id: str, state_dirs: list[Path]) -> StateStore:
    """The existing store among ``state_dirs`` that holds ``run_id`` (an id or a prefix).

    Never creates a store. Raises UsageError for an empty id, StateError if no
    run matches or a prefix matches several (naming them).
    """
    if not run_id.strip():
        raise UsageError(EMPTY_RUN_ID)
    if not state_dirs:
        raise StateError(
            "no qorch state found here (looked in .qorch upward from the current directory "
            "and in its subfolders); pass --state-dir or set QORCH_STATE_DIR"
        )
    exact: list[StateStore] = []
    prefixed: list[tuple[StateStore, str]] = []
    for directory in state_dirs:
        store = StateStore(directory, create=False)
        matches = store.matching_runs(run_id)
        if any(match.run_id == run_id for match in matches):
            exact.append(store)
        elif matches:
            prefixed.extend((store, match.run_id) for match in matches)
        else:
            store.close()
    if len(exact) == 1:
        return exact[0]
    if len(prefixed) == 1 and not exact:
        return prefixed[0][0]
    where = ", ".join(str(d) for d in state_dirs)
    if exact:
        raise StateError(f"run '{run_id}' is in several state directories ({where})")
    if not prefixed:
        raise StateError(f"no run '{run_id}' (looked in: {where}); set QORCH_STATE_DIR?")
    raise StateError(ambiguous(run_id, sorted(run for _, run in prefixed)))
