"""What ``qorch gc`` removed from a run, kept as the run's ``gc`` task (journaled like any task).

The store must never point at a bundle or a result file that is gone without
knowing why: readers ask :func:`read` before they treat a missing file as
damage, and say in one line that ``qorch gc`` removed it, and when.
"""

from __future__ import annotations

from dataclasses import dataclass

from qorch.store.state import StateStore, utc_now

GC_TASK = "gc"
JOB_DIRS = "job directories"
PAYLOADS = "bundle payloads"
BUNDLE = "bundle"
RESULTS = "results"


@dataclass(frozen=True)
class GcRecord:
    """What was removed from a run (``JOB_DIRS``, ``PAYLOADS``, ``BUNDLE``, ``RESULTS``),
    when (UTC, ISO 8601) and how many bytes in all its collections freed."""

    removed: frozenset[str]
    at: str
    freed_bytes: int

    def says(self, what: str) -> bool:
        """True if ``what`` was removed."""
        return what in self.removed

    def message(self, run_id: str, what: str) -> str:
        """One line: ``what`` of run ``run_id`` was removed by qorch gc, when, what now."""
        flag = " --include-results" if RESULTS in self.removed else ""
        return (
            f"run {run_id}: {what} removed by 'qorch gc{flag}' at {self.at}; the store and "
            "journal keep the run's jobs and ids, but there is nothing more to read (run the "
            "plan with --new for fresh results)"
        )


def read(store: StateStore, run_id: str) -> GcRecord | None:
    """What ``qorch gc`` removed from the run; None if it never touched it."""
    task = store.tasks(run_id).get(GC_TASK)
    if task is None or not task.result:
        return None
    result = task.result
    return GcRecord(frozenset(map(str, result.get("removed", []))), str(result.get("at", "")),
                    int(result.get("freed_bytes", 0)))  # fmt: skip


def record(store: StateStore, run_id: str, removed: set[str], freed_bytes: int) -> GcRecord:
    """Add ``removed`` (and the bytes freed) to the run's gc record; returns the new record."""
    before = read(store, run_id)
    kinds = set(removed) | (set(before.removed) if before else set())
    total = freed_bytes + (before.freed_bytes if before else 0)
    now = utc_now()
    store.set_task(run_id, GC_TASK, "done",
                   {"removed": sorted(kinds), "at": now, "freed_bytes": total})  # fmt: skip
    return GcRecord(frozenset(kinds), now, total)
