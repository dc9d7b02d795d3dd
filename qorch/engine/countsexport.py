"""``qorch results --csv``: every job's counts as one CSV table, in a stable order.

One row per (job, parameter set, outcome), jobs by index, outcomes by bit
string; ``probability`` is the count over that set's shots. ``parameter_set``
is empty for a job without parameter sets (the common case).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any

CSV_COLUMNS = ("run", "job", "circuit", "target", "outcome", "count", "probability",
               "parameter_set")  # fmt: skip


def count_rows(run: Mapping[str, Any]) -> Iterator[tuple[Any, ...]]:
    """The CSV rows of a run's JSON object (``qorch results --json``)."""
    for job in sorted(run["jobs"], key=lambda job: job["index"]):
        counts = job.get("counts")
        if not counts:
            continue
        sets = counts if isinstance(counts, list) else [counts]
        for number, entry in enumerate(sets):
            total = sum(entry.values())
            label = number if isinstance(counts, list) else ""
            for outcome, count in sorted(entry.items()):
                probability = f"{count / total:.6g}" if total else "0"
                yield (run["run_id"], job["index"], job["circuit"], job["target"], outcome,
                       count, probability, label)  # fmt: skip


def counts_csv(run: Mapping[str, Any]) -> str:
    """The run's counts as CSV text with a header (``CSV_COLUMNS``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(count_rows(run))
    return buffer.getvalue()
