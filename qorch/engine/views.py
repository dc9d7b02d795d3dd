"""What a command shows on a terminal, as data: tables and message lines.

Workloads describe their output with these specs and never import the CLI;
:mod:`qorch.cli.output` prints them (rich tables on a terminal, aligned text
when piped, messages on stderr).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from qorch.engine.wording import usd


@dataclass(frozen=True)
class Table:
    """A table: column headings, rows of cells (None shows as ``-``) and an optional title."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    title: str | None = None


@dataclass(frozen=True)
class View:
    """Tables for stdout, then message lines for stderr."""

    tables: list[Table] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def __add__(self, other: View) -> View:
        return View([*self.tables, *other.tables], [*self.messages, *other.messages])


FINAL = ("done", "failed", "cancelled")


def job_table(
    run: Mapping[str, Any],
    *,
    counts: bool,
    shown_counts: Mapping[int, Mapping[str, int]] | None = None,
) -> Table:
    """A run's jobs: index, circuit, target, status, shots, and the top outcomes (``counts``)
    or the provider's job id. ``shown_counts`` replaces a job's counts in the table (by
    index), e.g. with the logical qubits' counts of a job that measured more."""
    rows: list[tuple[Any, ...]] = []
    for job in run["jobs"]:
        row: list[Any] = [job["index"], job["circuit"], job["target"], job["status"], job["shots"]]
        shown = (shown_counts or {}).get(job["index"]) or job["counts"]
        if counts:
            row.append(top_outcomes(shown, job["shots"]) if shown else job["message"])
        else:
            row.append(job["job_id"] or "-")
        rows.append(tuple(row))
    last = "top outcomes" if counts else "job id"
    title = f"run {run['run_id']} ({run['status']}) — {run['plan']}"
    return Table(("#", "circuit", "target", "status", "shots", last), rows, title)


def top_outcomes(counts: Mapping[str, int], shots: int, top: int = 3) -> str:
    """The ``top`` most frequent outcomes with their frequencies: ``'00:50.1%  11:49.9%'``."""
    best = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return "  ".join(f"{bits}:{count / max(shots, 1):.1%}" for bits, count in best)


def manifest_job_table(jobs: Sequence[Any]) -> Table:
    """A compiled bundle's jobs: what would run where, with depth, 2-qubit gates and cost."""
    rows = [
        (j.index, j.circuit, j.target, j.shots, j.num_qubits, j.depth, j.two_qubit_gates,
         usd(j.cost_usd))
        for j in jobs
    ]  # fmt: skip
    columns = ("#", "circuit", "target", "shots", "qubits", "depth", "2q gates", "cost")
    return Table(columns, rows)
