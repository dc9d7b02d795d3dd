"""``qorch gc``: what can go from a state directory, and removing it under the store's lock.

Only finished runs are touched (every job done, failed or cancelled, none that
a rerun would submit, no step running). From each selected run it removes its
local job directories (the counts are kept in the run's result files; a job
whose result file is missing keeps its directory, the only copy) and its
bundle's payloads (the manifest stays: ``qorch results``, ``show`` and the
checks need only it). A bundle shared by runs is pruned only when every run
using it is selected. ``include_results`` also removes the run's result files,
``results.json``, artifacts and whole bundle. Bundles that no run uses
(``qorch compile`` alone) go too, once a day old (or ``--older-than``). The
run, its jobs' ids and its journal stay in the store; what was removed is recorded there
(:mod:`qorch.store.gcrecord`), so readers say so instead of reporting damage.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from qorch.contract.errors import StateError
from qorch.engine import execution
from qorch.engine.jobs import NOT_SUBMITTED, SUBMISSION_UNCONFIRMED
from qorch.store import gcrecord
from qorch.store.lock import hold_exclusive
from qorch.store.state import JOB_FINAL, JobRecord, RunRecord, StateStore

UNUSED_BUNDLE = "unused bundle"
UNUSED_BUNDLE_MIN_AGE_DAYS = 1.0
"""A bundle no run uses is kept this long unless --older-than says otherwise: it may be one
``qorch compile -o DIR`` just wrote for a ``qorch submit DIR`` to come."""
FINISHED_RUN = ("completed", "failed", "cancelled")


@dataclass(frozen=True)
class Item:
    """One thing to remove: a directory or file, what it is, whose, its size in bytes."""

    run_id: str | None
    what: str  # gcrecord.JOB_DIRS, PAYLOADS, BUNDLE, RESULTS or UNUSED_BUNDLE
    path: str
    bytes: int
    shared_with: tuple[str, ...] = ()  # other runs whose bundle this is (recorded for each)


@dataclass(frozen=True)
class Kept:
    """A run (or its part) left alone, and why."""

    run_id: str
    reason: str


@dataclass
class Selection:
    """Which runs ``qorch gc`` considers: ``run_ids`` (None: all), finished more than
    ``older_than_days`` ago (None: any age), and whether results go too."""

    run_ids: set[str] | None = None
    older_than_days: float | None = None
    include_results: bool = False
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


@dataclass
class GcPlan:
    """What ``qorch gc`` removes (or removed, once ``applied``) from one state directory."""

    state_dir: Path
    items: list[Item] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    applied: bool = False

    @property
    def freed_bytes(self) -> int:
        """Bytes of the files removed (or to be removed)."""
        return sum(item.bytes for item in self.items)

    def to_json(self) -> dict[str, Any]:
        """The plan as ``qorch gc --json`` prints it (per state directory)."""
        return {"state_dir": str(self.state_dir), "applied": self.applied,
                "freed_bytes": self.freed_bytes, "items": [asdict(i) for i in self.items],
                "kept": [asdict(k) for k in self.kept]}  # fmt: skip


def plan(store: StateStore, chosen: Selection) -> GcPlan:
    """What gc would remove from ``store``'s directory for ``chosen`` (removes nothing)."""
    out = GcPlan(store.directory)
    runs = store.runs()
    finished = {run.run_id: _unfinished(store, run) is None for run in runs}
    selected = [run for run in runs if _selected(store, run, chosen, out)]
    chosen_ids = {run.run_id for run in selected}
    users: dict[Path, list[str]] = {}
    for run in runs:
        users.setdefault(_resolved(run.bundle_dir), []).append(run.run_id)
    for run in selected:
        _run_items(store, run, chosen, out)
        sharing = users[_resolved(run.bundle_dir)]
        _bundle_items(store, run, sharing, chosen_ids, finished, chosen, out)
    if chosen.run_ids is None:
        _unused_bundles(store, set(users), chosen, out)
    return out


def apply(store: StateStore, chosen: Selection) -> GcPlan:
    """Remove what :func:`plan` lists, holding the store's lock exclusively (so no other
    qorch process runs meanwhile), and record it per run. Raises StateError if the store
    is in use."""
    busy = (
        f"{store.directory} is in use by another qorch process (a run, or a command "
        "reading it); nothing was removed; run 'qorch gc' again when it finishes"
    )
    with hold_exclusive(store.directory / "locks" / "store.lock", busy=busy):
        found = plan(store, chosen)  # again, under the lock: nothing changed since
        per_run: dict[str, tuple[set[str], int]] = {}
        try:
            for item in found.items:
                _remove(Path(item.path))
                for run_id in (item.run_id, *item.shared_with):
                    if run_id is not None:
                        kinds, total = per_run.get(run_id, (set(), 0))
                        freed = item.bytes if run_id == item.run_id else 0
                        per_run[run_id] = (kinds | {item.what}, total + freed)
        finally:  # what went is recorded even if a later removal failed
            for run_id, (kinds, total) in per_run.items():
                gcrecord.record(store, run_id, kinds, total)
    found.applied = True
    return found


# selection ---------------------------------------------------------------------


def _selected(store: StateStore, run: RunRecord, chosen: Selection, out: GcPlan) -> bool:
    if chosen.run_ids is not None and run.run_id not in chosen.run_ids:
        return False
    why = _unfinished(store, run)
    if why is not None:
        out.kept.append(Kept(run.run_id, why))
        return False
    if chosen.older_than_days is None:
        return True
    age_days = (chosen.now - _finished_at(store, run)).total_seconds() / 86400
    if age_days <= chosen.older_than_days:
        if chosen.run_ids is not None:
            out.kept.append(Kept(run.run_id, f"finished {age_days:.1f} days ago"))
        return False
    return True


def _unfinished(store: StateStore, run: RunRecord) -> str | None:
    """Why ``run`` is not finished (so gc never touches it), or None."""
    jobs = store.jobs(run.run_id)
    waiting = [job for job in jobs if job.status not in JOB_FINAL]
    if waiting:
        return f"not finished: {len(waiting)} jobs {waiting[0].status} or waiting"
    again = [job for job in jobs if job.handle is None and job.status == "failed"
             and job.message.startswith((SUBMISSION_UNCONFIRMED, NOT_SUBMITTED))]  # fmt: skip
    if again:
        return f"not finished: {len(again)} jobs are submitted again when the run resumes"
    if any(task.status == "running" for task in store.tasks(run.run_id).values()):
        return "not finished: a step of the run (training, a sweep) is running"
    if run.status not in FINISHED_RUN:
        return f"not finished: the run is {run.status}"
    return None


def _finished_at(store: StateStore, run: RunRecord) -> datetime:
    """When the run's last job finished (else when the run was last updated)."""
    stamps = [job.finished for job in store.jobs(run.run_id) if job.finished]
    return _parse(max(stamps) if stamps else run.updated)


# what goes ----------------------------------------------------------------------


def _run_items(store: StateStore, run: RunRecord, chosen: Selection, out: GcPlan) -> None:
    for job in store.jobs(run.run_id):
        directory = _job_dir(store, job)
        if directory is None or not directory.is_dir():
            continue
        if job.status == "done" and not chosen.include_results and not _readable(job):
            out.kept.append(Kept(run.run_id, f"job {job.idx}: its result file is missing, so "
                                 f"{directory} holds the only copy of its counts"))  # fmt: skip
            continue
        _add(out, store, run.run_id, gcrecord.JOB_DIRS, directory)
    late = store.directory / "runs" / run.run_id / "bundle"  # jobs added after compile
    if chosen.include_results:
        _add(out, store, run.run_id, gcrecord.BUNDLE, late)
    else:
        _add(out, store, run.run_id, gcrecord.PAYLOADS, late / "payloads")
    if chosen.include_results:
        base = store.directory / "runs" / run.run_id
        for name in ("results", "results.json", "artifacts"):
            _add(out, store, run.run_id, gcrecord.RESULTS, base / name)


def _bundle_items(
    store: StateStore,
    run: RunRecord,
    sharing: list[str],
    chosen_ids: set[str],
    finished: dict[str, bool],
    chosen: Selection,
    out: GcPlan,
) -> None:
    """The run's bundle (payloads, or all of it with results), unless a run that is not
    selected, or not finished, uses it too."""
    bundle = Path(run.bundle_dir)
    if not _inside(bundle, store.directory / "bundles") or not bundle.is_dir():
        return  # a bundle compiled elsewhere (-o DIR) is the user's, never removed
    others = [r for r in sharing if r not in chosen_ids or not finished[r]]
    if others:
        out.kept.append(Kept(run.run_id, f"bundle {bundle.name} is shared with run "
                             f"{others[0]}, which is not selected or not finished"))  # fmt: skip
        return
    if any(item.path == str(bundle) for item in out.items):
        return  # listed for another run sharing it
    also = tuple(r for r in sharing if r != run.run_id)
    if chosen.include_results:
        _add(out, store, run.run_id, gcrecord.BUNDLE, bundle, also)
    elif not any(item.path == str(bundle / "payloads") for item in out.items):
        _add(out, store, run.run_id, gcrecord.PAYLOADS, bundle / "payloads", also)


def _unused_bundles(store: StateStore, used: set[Path], chosen: Selection, out: GcPlan) -> None:
    root = store.directory / "bundles"
    if not root.is_dir():
        return
    for bundle in sorted(root.iterdir()):
        if bundle.name.startswith(".") or bundle.is_symlink() or not bundle.is_dir():
            continue  # a bundle being written (a staging directory) or not qorch's
        if bundle.resolve() in used or not (bundle / "manifest.json").is_file():
            continue
        # a fresh bundle may be one the user just compiled and is about to submit
        days = (
            UNUSED_BUNDLE_MIN_AGE_DAYS if chosen.older_than_days is None else chosen.older_than_days
        )
        written = datetime.fromtimestamp((bundle / "manifest.json").stat().st_mtime, timezone.utc)
        if (chosen.now - written).total_seconds() / 86400 <= days:
            continue
        _add(out, store, None, UNUSED_BUNDLE, bundle)


def _add(
    out: GcPlan,
    store: StateStore,
    run_id: str | None,
    what: str,
    path: Path,
    shared_with: tuple[str, ...] = (),
) -> None:
    """List ``path`` if it exists, is a real file or directory inside the state directory."""
    if path.is_symlink() or not path.exists() or not _inside(path, store.directory):
        return
    out.items.append(Item(run_id, what, str(path), _size(path), shared_with))


# helpers ------------------------------------------------------------------------


def _job_dir(store: StateStore, job: JobRecord) -> Path | None:
    if job.handle is None or not execution.is_local(job.handle):
        return None
    directory = Path(execution.resolve_handle(job.handle, store.directory)["dir"])
    return directory if _inside(directory, store.directory / execution.JOBS_DIR) else None


def _readable(job: JobRecord) -> bool:
    from qorch.store.fsutil import read_json

    try:
        return bool(job.result_file) and "counts" in read_json(Path(str(job.result_file)))
    except (OSError, ValueError, TypeError):
        return False


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except (ValueError, OSError):
        return False
    return path.resolve() != root.resolve()


def _resolved(stored: str) -> Path:
    return Path(stored).resolve()


def _size(path: Path) -> int:
    """Bytes of disk the files under ``path`` take (allocated blocks, as ``du`` counts them;
    symbolic links not followed)."""
    if path.is_file():
        return _allocated(str(path))
    total = 0
    for folder, _, files in os.walk(path):
        total += sum(_allocated(os.path.join(folder, name)) for name in files)
    return total


def _allocated(path: str) -> int:
    try:
        info = os.lstat(path)
    except OSError:
        return 0
    return int(getattr(info, "st_blocks", 0)) * 512 or info.st_size


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as error:
        raise StateError(f"qorch gc: cannot remove {path}: {error}; what was removed before "
                         "it is recorded, run 'qorch gc' again") from None  # fmt: skip


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
