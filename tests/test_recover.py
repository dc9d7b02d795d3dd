"""Item 2 of issue 9: what was submitted survives a lost or damaged store.

The store keeps a per-run journal beside the database (runs/RUN/journal/);
``qorch recover`` lists what the journals, job directories and results prove
was submitted, and ``--rebuild`` moves the damaged database aside and
rebuilds it, so running the same plan resumes instead of submitting again.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qorch.store.statedb import SCHEMA_VERSION

pytestmark = pytest.mark.detached_workers  # kills, restarts and concurrent qorch processes

PLAN = """
version: 1
kind: circuits
name: journaled
shots: 100
seed: 5
circuits:
  - {name: bell, generator: ghz, qubits: 2}
  - {name: ghz3, generator: ghz, qubits: 3}
targets:
  - target: local:statevector
    options: {queue_delay_s: DELAY}
"""


def job_dirs(state: Path) -> list[str]:
    return sorted(p.name for p in (state / "jobs").glob("qorch-*"))


def one_line(result: Any, *words: str, code: int = 1) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [text for text in result.stderr.splitlines() if text.strip()]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


def damage(state: Path, how: str) -> None:
    db = state / "state.db"
    if how == "empty":
        db.write_bytes(b"")
    elif how == "missing":
        for name in ("state.db", "state.db-wal", "state.db-shm"):
            (state / name).unlink(missing_ok=True)


def test_recover_lists_what_was_submitted(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    plan = make_plan(PLAN.replace("DELAY", "0"))
    done = cli("run", str(plan), "--json", "--poll", "0.1")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    damage(state_dir, "empty")

    listed = cli("recover", "--json")
    assert listed.returncode == 0, listed.stderr
    report = json.loads(listed.stdout)
    assert report["store"]["status"] == "damaged"
    (run,) = report["runs"]
    assert run["run_id"] == data["run_id"] and run["journal"] is True
    assert [job["circuit"] for job in run["jobs"]] == ["bell", "ghz3"]
    for job, expected in zip(run["jobs"], data["jobs"], strict=True):
        assert job["job_id"] == expected["job_id"]
        assert {"handle", "result", "job_dir"} <= set(job["evidence"])
    assert (state_dir / "state.db").read_bytes() == b"", "listing changes nothing"

    table = cli("recover")
    assert table.returncode == 0, table.stderr
    assert data["run_id"] in table.stdout and "--rebuild" in table.stderr


@pytest.mark.parametrize("how", ["empty", "missing"])
def test_rebuild_then_run_resumes_without_resubmitting(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path, how: str
) -> None:
    plan = make_plan(PLAN.replace("DELAY", "1.5"))
    submitted = cli("submit", str(plan))
    assert submitted.returncode == 0, submitted.stderr
    run_id = submitted.stdout.strip()
    before = job_dirs(state_dir)
    assert len(before) == 2
    damage(state_dir, how)

    refused = cli("run", str(plan))
    one_line(refused, "qorch recover")
    rebuilt = cli("recover", "--rebuild", "--json")
    assert rebuilt.returncode == 0, rebuilt.stderr
    report = json.loads(rebuilt.stdout)
    assert report["rebuilt"]["runs"] == 1 and report["rebuilt"]["jobs"] == 2
    if how == "empty":
        aside = Path(report["rebuilt"]["moved_aside"])
        assert aside.parent == state_dir and aside.read_bytes() == b""

    resumed = cli("run", str(plan), "--json", "--poll", "0.1")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming" in resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["run_id"] == run_id
    assert [job["status"] for job in data["jobs"]] == ["done", "done"]
    assert job_dirs(state_dir) == before, "no job may be submitted twice"


def test_rebuild_restores_cloud_handles_and_added_jobs(tmp_path: Path) -> None:
    """Handles of cloud jobs exist nowhere but the store: the journal keeps them."""
    from qorch.store import recovery
    from qorch.store.state import NewJob, StateStore

    state = tmp_path / "state"
    store = StateStore(state)
    jobs = [NewJob("bell", "braket:sv1", 100, "payloads/0.qasm") for _ in range(3)]
    run, created = store.open_run(
        idem_key="nightly", new=False, plan_path="p.yaml", plan_name="p", plan_hash="h" * 64,
        kind="circuits", bundle_dir=str(state / "bundles" / "p"), jobs=jobs[:2],
    )  # fmt: skip
    assert created
    handle = {"job_id": "arn:aws:braket:us-east-1:1:quantum-task/abc", "region": "us-east-1"}
    assert store.mark_submitting(run.run_id, 0)
    store.record_handle(run.run_id, 0, handle)
    assert store.mark_submitting(run.run_id, 1)  # crashed before its handle was recorded
    assert store.add_jobs_once(run.run_id, "evaluate", jobs[2:])
    store.set_task(run.run_id, "train", "done", {"metrics": {"accuracy": 0.9}})
    store.close()
    (state / "state.db").write_bytes(b"")

    summary = recovery.rebuild(state)
    assert summary.runs == 1 and summary.jobs == 3
    store = StateStore(state, create=False)
    rebuilt = store.jobs(run.run_id)
    assert [job.status for job in rebuilt] == ["submitted", "submitting", "submitting"]
    assert rebuilt[0].handle == handle
    assert [job.token for job in rebuilt] == [f"qorch-{run.run_id}-{i:04d}" for i in range(3)]
    tasks = store.tasks(run.run_id)
    assert tasks["train"].result == {"metrics": {"accuracy": 0.9}}
    assert not store.add_jobs_once(run.run_id, "evaluate", jobs[2:]), "added once, not twice"
    assert store.run(run.run_id).idem_key == "nightly"


def test_stale_store_does_not_start_a_second_run_for_a_journaled_key(tmp_path: Path) -> None:
    """A valid but older state.db (a restored backup) must not resubmit a journaled run."""
    from qorch.contract.errors import StateError
    from qorch.store.state import NewJob, StateStore

    state, other = tmp_path / "state", tmp_path / "other"
    StateStore(other).close()
    store = StateStore(state)
    args: dict[str, Any] = dict(
        idem_key="k", new=False, plan_path="p.yaml", plan_name="p", plan_hash="h",
        kind="circuits", bundle_dir=str(state / "b"), jobs=[NewJob("c", "local:aer", 10, "x")],
    )  # fmt: skip
    store.open_run(**args)
    store.close()
    for name in ("state.db", "state.db-wal", "state.db-shm"):
        (state / name).unlink(missing_ok=True)
    (other / "state.db").rename(state / "state.db")  # an empty but valid store
    with pytest.raises(StateError, match="qorch recover"):
        StateStore(state).open_run(**args)


def test_rebuild_refuses_a_healthy_store(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    plan = make_plan(PLAN.replace("DELAY", "0"))
    assert cli("run", str(plan), "--poll", "0.1").returncode == 0
    before = (state_dir / "state.db").read_bytes()
    one_line(cli("recover", "--rebuild"), "healthy", "--force")
    assert (state_dir / "state.db").read_bytes() == before
    forced = cli("recover", "--rebuild", "--force", "--json")
    assert forced.returncode == 0, forced.stderr
    assert Path(json.loads(forced.stdout)["rebuilt"]["moved_aside"]).read_bytes() == before


def test_store_of_an_older_qorch_is_read_and_journaled(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path, tmp_path: Path
) -> None:
    """Schema 1 stored an absolute bundle path and a result path relative to the old cwd."""
    plan = make_plan(PLAN.replace("DELAY", "0"))
    done = cli("run", str(plan), "--json", "--poll", "0.1")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    run_id = data["run_id"]
    db = state_dir / "state.db"
    bundle = next((state_dir / "bundles").iterdir()).resolve()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        conn.execute("UPDATE runs SET bundle_dir = ?", (str(bundle),))
        conn.execute(
            "UPDATE jobs SET result_file = 'old-cwd/state/runs/' || run_id || '/results/'"
            " || printf('%04d', idx) || '.json'"
        )
    conn.close()
    for path in sorted((state_dir / "runs" / run_id).rglob("journal/*"), reverse=True):
        path.unlink()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shown = cli("results", run_id, "--json", cwd=elsewhere)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["jobs"] == data["jobs"]
    assert (state_dir / "runs" / run_id / "journal" / "run.json").exists()
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)
        stored = [row[0] for row in conn.execute("SELECT result_file FROM jobs ORDER BY idx")]
    conn.close()
    assert stored == [f"runs/{run_id}/results/{i:04d}.json" for i in range(2)]
