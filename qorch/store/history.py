"""The run history: every judged run's metrics and check verdicts, kept in the state store.

Rows are keyed by run, metric, circuit and target; a run's time is its
``created`` time. They are derived data (pure post-processing of the run's
stored results), so recording a run again replaces its rows, and a store
rebuilt by ``qorch recover`` regains them the next time each run is judged.
"""

from __future__ import annotations

import datetime
import fnmatch
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Protocol, TypeVar

from qorch.store.state import StateStore

R = TypeVar("R")
HISTORY_SCHEMA = 3  # the schema version that added the metrics and verdicts tables


@dataclass(frozen=True)
class MetricRow:
    """One metric value of one run, with its interval and where it was measured."""

    run_id: str
    created: str
    plan_name: str
    name: str
    circuit: str
    target: str
    value: float | None
    std_error: float | None
    low: float | None
    high: float | None
    level: float


@dataclass(frozen=True)
class VerdictRow:
    """One check's verdict on one run."""

    run_id: str
    created: str
    label: str
    metric: str
    circuit: str
    target: str
    bound: str
    verdict: str


class MetricLike(Protocol):
    """What a metric value offers (``qorch.engine.checks.MetricValue`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> float | None: ...
    @property
    def std_error(self) -> float | None: ...
    @property
    def low(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...
    @property
    def level(self) -> float: ...
    @property
    def circuit(self) -> str | None: ...
    @property
    def target(self) -> str | None: ...


@dataclass(frozen=True)
class Judged:
    """A check's verdict on one metric value, as the history keeps it."""

    label: str
    metric: str
    circuit: str | None
    target: str | None
    bound: str
    verdict: str


def record_metrics(store: StateStore, run_id: str, values: Iterable[MetricLike]) -> None:
    """Replace ``run_id``'s metric rows with ``values``."""
    with store.write() as conn:
        conn.execute("DELETE FROM metrics WHERE run_id = ?", (run_id,))
        for v in values:
            conn.execute(
                "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, v.name, v.circuit or "", v.target or "", v.value, v.std_error, v.low,
                 v.high, v.level),
            )  # fmt: skip


def record_verdicts(store: StateStore, run_id: str, verdicts: Iterable[Judged]) -> None:
    """Replace ``run_id``'s verdict rows."""
    with store.write() as conn:
        conn.execute("DELETE FROM verdicts WHERE run_id = ?", (run_id,))
        for position, v in enumerate(verdicts):
            conn.execute(
                "INSERT INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, position, v.label, v.metric, v.circuit or "", v.target or "", v.bound,
                 v.verdict),
            )  # fmt: skip


def utc_since(since: str) -> str:
    """``since`` (an ISO date, or a date and time, with or without an offset: no offset
    means UTC) as the store writes times, to compare with runs' ``created``; ValueError
    for anything else (a word such as 'yesterday' compared as text and matched nothing)."""
    text = since.strip()
    try:
        if len(text) == 10:  # a date: from its start, UTC
            return datetime.date.fromisoformat(text).isoformat()
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"--since {since!r} is not an ISO date or time (e.g. 2026-11-01 or "
            "2026-11-01T08:00, UTC unless it has an offset such as +01:00)"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def metric_rows(
    store: StateStore,
    *,
    plan_name: str | None = None,
    metric: str | None = None,
    target: str | None = None,
    since: str | None = None,
) -> list[MetricRow]:
    """Metric rows oldest first; ``target`` is a glob, ``since`` an ISO date or time."""
    sql = (
        "SELECT m.*, r.created, r.plan_name FROM metrics m JOIN runs r USING (run_id)"
        " WHERE (? IS NULL OR r.plan_name = ?) AND (? IS NULL OR m.name = ?)"
        " AND (? IS NULL OR r.created >= ?) ORDER BY r.created, r.rowid, m.name, m.circuit,"
        " m.target"
    )
    params = (plan_name, plan_name, metric, metric, since, since)
    rows = [_record(MetricRow, row) for row in _select(store, sql, params)]
    return [row for row in rows if target is None or fnmatch.fnmatchcase(row.target, target)]


def verdict_rows(store: StateStore, run_id: str | None = None) -> list[VerdictRow]:
    """Verdict rows (of one run, or all) oldest first."""
    sql = (
        "SELECT v.*, r.created FROM verdicts v JOIN runs r USING (run_id)"
        " WHERE (? IS NULL OR v.run_id = ?) ORDER BY r.created, r.rowid, v.position"
    )
    return [_record(VerdictRow, row) for row in _select(store, sql, (run_id, run_id))]


def judged_runs(store: StateStore) -> set[str]:
    """Runs that have metric rows."""
    return {row["run_id"] for row in _select(store, "SELECT DISTINCT run_id FROM metrics", ())}


def _select(store: StateStore, sql: str, params: tuple[object, ...]) -> list[sqlite3.Row]:
    """Rows of a read query; none from a store too old to have the history tables (a
    read-only store of schema 2 is read, never upgraded)."""
    if store.version < HISTORY_SCHEMA:
        return []
    return store.query(sql, params)


def _record(cls: type[R], row: sqlite3.Row) -> R:
    """A row as the dataclass ``cls`` (its fields are the row's columns)."""
    return cls(**{field.name: row[field.name] for field in fields(cls)})  # type: ignore[arg-type]
