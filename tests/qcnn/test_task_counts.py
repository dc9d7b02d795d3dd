"""One sweep, one task count (issue 13): validate, compile and run state the same number
of sweep tasks — its QCNN trainings and its baseline sets — for every QCNN example."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

PLANS = Path(__file__).resolve().parents[2] / "plans"
QCNN_EXAMPLES = sorted(p.name for p in PLANS.glob("qcnn-*.yaml"))


@pytest.mark.parametrize("name", QCNN_EXAMPLES)
def test_validate_and_compile_count_the_same_sweep(cli, tmp_path: Path, name: str) -> None:
    plan = str(PLANS / name)
    (report,) = json.loads(cli("validate", plan, "--json").stdout)
    compiled = cli("compile", plan, "-o", str(tmp_path / "bundle"), "--json")
    assert compiled.returncode == 0, compiled.stderr
    sweep = json.loads(compiled.stdout)["qcnn"]["sweep_tasks"]
    assert (report["tasks"], report["sweep_tasks"]) == (1 + sweep, sweep)


SWEEP = """
version: 1
kind: qcnn
seed: 4
data: {source: sklearn:digits, classes: [0, 1]}
model: {ansatz: so4, encoding: angle}
train: {steps: 3}
baselines: [logistic]
sweep: {encoding: [compact-angle, angle], seeds: 2}
"""


def test_a_run_counts_the_sweep_as_validate_does(cli, make_plan: Callable[..., Path]) -> None:
    plan = str(make_plan(SWEEP))
    (report,) = json.loads(cli("validate", plan, "--json").stdout)
    assert report["sweep_tasks"] == 2 * 2 + 2 * 2  # trainings, then baselines per encoding×seed
    ran = cli("run", plan)
    assert ran.returncode == 0, ran.stderr
    rows = json.loads(cli("results", "latest", "--json").stdout)["sweep"]
    assert [row["encoding"] for row in rows] == ["compact-angle", "angle"]  # the plan's order
    for row in rows:  # each seed's accuracy, in seed order, beside their mean
        assert len(row["test_accuracies"]) == len(row["seed_values"]) == row["seeds"] == 2
        assert sum(row["test_accuracies"]) / 2 == pytest.approx(row["test_accuracy_mean"])
    artifacts = Path(json.loads(cli("results", "latest", "--json").stdout)["artifacts"])
    with (artifacts / "sweep.csv").open() as handle:
        table = list(csv.DictReader(handle))
    assert [r["encoding"] for r in table] == ["compact-angle", "angle"]
    assert [len(r["test_accuracies"].split()) for r in table] == [2, 2]
    said = re.search(r"sweep: (\d+) of (\d+) tasks to run", ran.stderr)
    assert said is not None, ran.stderr
    assert int(said.group(1)) == int(said.group(2)) == report["sweep_tasks"]
    assert "1 training task and a sweep of 8 tasks" in cli("validate", plan).stderr
