"""The run history in the state store: metrics and verdicts per run, and the 2 → 3 upgrade."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from qorch.engine.checks import MetricValue
from qorch.store import history
from qorch.store.state import NewJob, StateStore
from qorch.store.statedb import SCHEMA_VERSION


def new_run(store: StateStore, key: str, plan: str = "ghz") -> str:
    run, _ = store.open_run(
        idem_key=key, new=True, plan_path=f"{plan}.yaml", plan_name=plan, plan_hash="h",
        kind="circuits", bundle_dir=str(store.directory / "b"),
        jobs=[NewJob("ghz5", "local:aer", 100, "p")],
    )  # fmt: skip
    return run.run_id


def test_metrics_are_recorded_per_run_and_filtered(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    first, second = new_run(store, "a"), new_run(store, "b")
    other = new_run(store, "c", plan="qft")
    for run_id, fidelity in ((first, 0.95), (second, 0.90), (other, 0.5)):
        history.record_metrics(store, run_id, [
            MetricValue("hellinger_fidelity", fidelity, 0.01, fidelity - 0.02, fidelity + 0.02,
                        0.95, "ghz5", "local:aer"),
            MetricValue("hellinger_fidelity", fidelity - 0.1, 0.01, None, None, 0.95, "ghz5",
                        "ibm:fake_kyiv"),
            MetricValue("epr_pairs", 8, None, 8, 8, 1.0),
        ])  # fmt: skip
    rows = history.metric_rows(store, plan_name="ghz", metric="hellinger_fidelity", target="ibm:*")
    assert [(row.run_id, row.value) for row in rows] == [(first, 0.85), (second, 0.8)]
    assert {row.run_id for row in history.metric_rows(store, metric="epr_pairs")} == {
        first, second, other}  # fmt: skip
    history.record_metrics(store, first, [MetricValue("tvd", 0.1)])  # replaces, not appends
    assert [row.name for row in history.metric_rows(store) if row.run_id == first] == ["tvd"]
    assert history.judged_runs(store) == {first, second, other}


def test_verdicts_keep_their_order(tmp_path: Path) -> None:
    store = StateStore(tmp_path / "state")
    run_id = new_run(store, "a")
    judged = [
        history.Judged("f ≥ 0.9", "hellinger_fidelity", "ghz5", "local:aer", "≥ 0.9", "pass"),
        history.Judged("f ≥ 0.9", "hellinger_fidelity", "ghz5", "ibm:fake_kyiv", "≥ 0.9", "fail"),
    ]
    history.record_verdicts(store, run_id, judged)
    rows = history.verdict_rows(store, run_id)
    assert [(row.target, row.verdict) for row in rows] == [
        ("local:aer", "pass"), ("ibm:fake_kyiv", "fail")]  # fmt: skip


def downgrade_to_schema_2(directory: Path) -> None:
    with sqlite3.connect(directory / "state.db") as conn:
        conn.execute("DROP TABLE metrics")
        conn.execute("DROP TABLE verdicts")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")


def test_a_schema_2_store_is_upgraded_by_the_next_writer(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    store = StateStore(directory)
    run_id = new_run(store, "a")
    store.close()
    downgrade_to_schema_2(directory)
    reopened = StateStore(directory)
    assert reopened.version == SCHEMA_VERSION == 3
    history.record_metrics(reopened, run_id, [MetricValue("tvd", 0.1)])
    assert [row.value for row in history.metric_rows(reopened)] == [0.1]
    assert reopened.run(run_id).plan_name == "ghz"  # nothing else changed


def test_a_read_only_schema_2_store_has_an_empty_history(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    store = StateStore(directory)
    new_run(store, "a")
    store.close()
    downgrade_to_schema_2(directory)
    reader = StateStore(directory)
    reader.version = 2  # as a store on a read-only file system stays: never upgraded
    assert history.metric_rows(reader) == [] and history.verdict_rows(reader) == []


def test_runs_in_the_same_second_keep_their_order(tmp_path: Path) -> None:
    """Run ids end in random hex, so order by creation, never by id (a flaky CI once showed it)."""
    store = StateStore(tmp_path / "state")
    run_ids = [new_run(store, f"k{index}") for index in range(12)]
    for position, run_id in enumerate(run_ids):
        history.record_metrics(
            store, run_id, [MetricValue("m", float(position), None, None, None, 0.95)]
        )
    assert [row.run_id for row in history.metric_rows(store, metric="m")] == run_ids
    assert [run.run_id for run in store.runs()] == run_ids[::-1]


def test_since_is_read_as_a_utc_time_like_runs_created() -> None:
    import pytest

    from qorch.store.history import utc_since

    assert utc_since("2026-12-07") == "2026-12-07"
    assert utc_since("2026-12-07T10:00+01:00") == "2026-12-07T09:00:00Z"
    assert utc_since("2026-12-07T10:00") == "2026-12-07T10:00:00Z"  # no offset: UTC
    assert utc_since("2026-12-07T10:00:30Z") == "2026-12-07T10:00:30Z"
    with pytest.raises(ValueError, match="not an ISO date or time"):
        utc_since("last week")
