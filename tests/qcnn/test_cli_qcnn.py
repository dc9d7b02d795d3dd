"""qcnn plans through the CLI: results, the JSON contract, errors, resume, Dask.

In this process (``cli``); real ``qorch run`` processes where a kill or a fresh
interpreter is the point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

SMALL = """
version: 1
kind: qcnn
seed: 4
data: {source: sklearn:digits, classes: [0, 1]}
model: {ansatz: so4, encoding: angle}
train: {steps: 80}
baselines: [logistic]
"""


def test_reference_digits_plan(cli) -> None:
    """The reference reproduction: ≥ 0.98 exact; IBM fake and Braket local within 3 points."""
    result = cli("run", "plans/qcnn-digits.yaml", "--json", "--poll", "0.3")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"run_id", "status", "metrics", "baselines", "evaluation", "jobs"} <= data.keys()
    assert data["status"] == "completed"
    metrics = data["metrics"]
    assert {"test_accuracy", "train_accuracy", "n_params", "train_seconds"} <= metrics.keys()
    assert metrics["n_params"] == 51 and metrics["test_accuracy"] >= 0.98
    assert {"logistic", "mlp"} <= data["baselines"].keys()
    for name in ("logistic", "mlp"):
        assert {"test_accuracy", "n_params"} <= data["baselines"][name].keys()
    assert data["baselines"]["mlp"]["n_params"] == 51
    evaluation = data["evaluation"]
    assert set(evaluation) == {"ibm:fake_kyiv", "braket:local"}
    for target, report in evaluation.items():
        assert abs(report["accuracy"] - metrics["test_accuracy"]) <= 0.03, (target, report)
        assert report["jobs"] == 1 and report["samples"] == 108
        assert report["total_shots"] == 108 * 2000
        low, high = report["ci95"]
        assert low <= report["accuracy"] <= high
    artifacts = Path(data["artifacts"])
    for name in ("metrics.json", "model.json", "training_curve.png", "baselines.md",
                 "circuit.qasm", "circuit.qpy"):  # fmt: skip
        assert (artifacts / name).stat().st_size > 0, name
    assert "input float" in (artifacts / "circuit.qasm").read_text()
    verdicts = [(c["metric"], c["target"], c["verdict"]) for c in data["checks"]]
    assert sorted(verdicts, key=str) == [("evaluation_accuracy", "braket:local", "pass"),
                                         ("evaluation_accuracy", "ibm:fake_kyiv", "pass"),
                                         ("test_accuracy", None, "pass")], verdicts  # fmt: skip


def test_same_plan_same_numbers(cli, qorch, make_plan: Callable[..., Path]) -> None:
    """Two runs of one plan, one in this process and one in a fresh interpreter (another
    hash seed, no state shared): the same accuracy and the same trained model."""
    plan = make_plan(SMALL)
    first = json.loads(cli("run", str(plan), "--json", "-k", "a").stdout)
    second = json.loads(qorch("run", str(plan), "--json", "-k", "b").stdout)
    assert first["run_id"] != second["run_id"]
    assert first["metrics"]["test_accuracy"] == second["metrics"]["test_accuracy"]
    model_a = json.loads((Path(first["artifacts"]) / "model.json").read_text())
    model_b = json.loads((Path(second["artifacts"]) / "model.json").read_text())
    assert model_a == model_b


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (("classes: [0, 1]", "classes: [0, 12]"), "data.classes", "classes not in the data: 12"),
        (
            ("model: {ansatz: so4, encoding: angle}", "model: {ansatz: so5, encoding: angle}"),
            "model.ansatz",
            "input should be 'ttn', 'sim5'",
        ),
        (
            ("train: {steps: 80}", "train: {steps: 80, optimizer: lbfgs}"),
            "train.optimizer",
            "input should be 'nesterov'",
        ),
        (
            ("source: sklearn:digits, ", "source: 'csv:missing.csv', label_column: y, "),
            "data.source",
            "data file not found",
        ),
        (
            ("model: {ansatz: so4, encoding: angle}", "model: {ansatz: so4, encoding: angel}"),
            "model.encoding",
            "unknown encoding 'angel'",
        ),
    ],
)
def test_bad_input_is_one_located_line(
    cli, make_plan: Callable[..., Path], change: tuple[str, str], field: str, words: str
) -> None:
    plan = make_plan(SMALL.replace(*change))
    result = cli("validate", str(plan))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert f"{plan}:" in lines[0] and f": {field}: " in lines[0] and words in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_width_that_does_not_fit_the_encoding(cli, make_plan: Callable[..., Path]) -> None:
    plan = make_plan(SMALL.replace("classes: [0, 1]}", "classes: [0, 1], width: 10}"))
    result = cli("compile", str(plan))
    assert result.returncode == 1
    assert f"{plan}:4: data.width: compressed width 10 does not fit encoding angle" in result.stderr
    assert "takes 8 features" in result.stderr


def test_csv_errors(cli, make_plan: Callable[..., Path]) -> None:
    make_plan("a,b,label\n1,2,x\n3,oops,y\n", name="bad.csv")
    source = "source: 'csv:bad.csv', label_column: label, classes: [x, y], compression: none"
    plan = make_plan(SMALL.replace("source: sklearn:digits, classes: [0, 1]", source))
    result = cli("validate", str(plan))
    assert result.returncode == 1
    assert "data.source: " in result.stderr and "column 'b' is not numeric: 'oops' on line 3" in (
        result.stderr
    )
    plan = make_plan(SMALL.replace("source: sklearn:digits", "source: 'csv:bad.csv', "
                                   "label_column: kind"))  # fmt: skip
    result = cli("validate", str(plan))
    assert "no label column 'kind'; columns: a, b, label" in result.stderr


SLOW_SWEEP = """
version: 1
kind: qcnn
seed: 2
data: {classes: [3, 8]}
train: {steps: 100}
baselines: []
sweep: {ansatz: [ttn, sim9, so4, sim15], encoding: [angle], seeds: 3, workers: 1}
"""


def test_killed_sweep_resumes_where_it_stopped(
    make_plan: Callable[..., Path], state_dir: Path, cli
) -> None:
    """``qorch run`` (a real process) SIGKILLed mid-sweep; the same command (here in this
    process) runs only the tasks that had not finished."""
    plan = make_plan(SLOW_SWEEP)
    env = {**os.environ, "QORCH_STATE_DIR": str(state_dir)}
    command = [sys.executable, "-m", "qorch", "run", str(plan)]
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    database = state_dir / "state.db"
    deadline = time.monotonic() + 120
    while _done_sweep_tasks(database) < 3:
        assert time.monotonic() < deadline and proc.poll() is None, proc.stderr
        time.sleep(0.1)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = _done_sweep_tasks(database)
    assert finished < 12
    again = cli("run", str(plan), "--json")
    assert again.returncode == 0, again.stderr
    assert f"sweep: {12 - finished} of 12 tasks to run" in again.stderr
    rows = json.loads(again.stdout)["sweep"]
    assert len(rows) == 4 and all(row["seeds"] == 3 for row in rows)


def _done_sweep_tasks(database: Path) -> int:
    import sqlite3

    if not database.exists():
        return 0
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        try:
            row = conn.execute(
                "SELECT COUNT(*) FROM tasks WHERE name LIKE 'sweep/%' AND status = 'done'"
            ).fetchone()
        except sqlite3.OperationalError:
            return 0
    return int(row[0])


def test_sweep_on_a_dask_cluster_matches_local_processes(
    cli, make_plan: Callable[..., Path]
) -> None:
    distributed = pytest.importorskip("distributed")
    text = SLOW_SWEEP.replace("steps: 100", "steps: 30").replace("workers: 1", "workers: 2")
    plan = make_plan(text)
    local = json.loads(cli("run", str(plan), "--json", "-k", "local").stdout)["sweep"]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                  dashboard_address=None) as cluster:  # fmt: skip
        result = cli("run", str(plan), "--json", "-k", "dask", "--cluster",
                       cluster.scheduler_address)  # fmt: skip
    assert result.returncode == 0, result.stderr
    untimed = [{k: v for k, v in row.items() if k != "train_seconds_mean"} for row in local]
    dask_rows = json.loads(result.stdout)["sweep"]
    assert [{k: v for k, v in row.items() if k != "train_seconds_mean"} for row in dask_rows] == (
        untimed
    )


def test_unreachable_dask_scheduler_is_one_line(
    cli, make_plan: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("distributed")
    from qorch.workloads.qcnn import executor

    # Dask retries a refused connection until its timeout: 1 s here instead of 10 s
    monkeypatch.setattr(executor, "CONNECT_TIMEOUT", "1s")
    plan = make_plan(SLOW_SWEEP.replace("steps: 100", "steps: 5"))
    result = cli("run", str(plan), "--cluster", "tcp://127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr


LONG_TRAINING = """
version: 1
kind: qcnn
seed: 9
model: {ansatz: su4}
train: {steps: 600, checkpoint_every: 100}
baselines: []
"""


def test_killed_training_resumes_from_its_checkpoint_to_the_same_parameters(
    make_plan: Callable[..., Path], state_dir: Path, cli
) -> None:
    """A reference run here; the same plan in a real ``qorch run`` SIGKILLed after its first
    checkpoint; the same command again (here) resumes and ends on the reference's numbers."""
    plan = make_plan(LONG_TRAINING)
    reference = json.loads(cli("run", str(plan), "--json", "-k", "whole").stdout)
    env = {**os.environ, "QORCH_STATE_DIR": str(state_dir)}
    command = [sys.executable, "-m", "qorch", "run", str(plan), "-k", "killed"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoints = state_dir / "runs"
    deadline = time.monotonic() + 120
    while not list(checkpoints.glob("*/checkpoints/train.json")) or _only_reference(state_dir):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    resumed = cli("run", str(plan), "--json", "-k", "killed")
    assert resumed.returncode == 0, resumed.stderr
    assert "resuming training from the checkpoint at step" in resumed.stderr
    data = json.loads(resumed.stdout)
    model = json.loads((Path(data["artifacts"]) / "model.json").read_text())
    expected = json.loads((Path(reference["artifacts"]) / "model.json").read_text())
    assert model["params"] == expected["params"]
    assert data["metrics"]["test_accuracy"] == reference["metrics"]["test_accuracy"]


def _only_reference(state_dir: Path) -> bool:
    """True while the only checkpoint is the finished reference run's."""
    return len(list((state_dir / "runs").glob("*/checkpoints/train.json"))) < 2


def test_lost_evaluation_results_are_fetched_again(cli, make_plan, state_dir: Path) -> None:
    """Guard: a deleted results/ directory; the evaluation is scored from counts fetched again."""
    plan = make_plan(
        SMALL.replace("train: {steps: 80}", "train: {steps: 20}")
        + "evaluate: {targets: [local:statevector], shots: 200}\n"
    )
    first = cli("run", str(plan), "--json", "--poll", "0.2")
    assert first.returncode == 0, first.stderr
    data = json.loads(first.stdout)
    import shutil

    shutil.rmtree(state_dir / "runs" / data["run_id"] / "results")
    again = cli("results", data["run_id"], "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["evaluation"] == data["evaluation"]
