"""A qcnn run's metrics recomputed without qorch's model code (issue 11): the exported
circuit scored with qiskit's Statevector on the exported test inputs, the evaluation
accuracy from the job's per-sample counts, and its interval from scipy."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

PLAN = """
version: 1
kind: qcnn
seed: 4
data: {source: sklearn:digits, classes: [3, 8]}
model: {ansatz: so4, encoding: angle}
train: {steps: 12}
baselines: [logistic, cnn1d]
evaluate: {targets: [local:statevector], shots: 100}
"""
# 12 steps on 3 vs 8: accuracies near 0.9, so a wrong rule or a shifted label shows.


def binary_class(p0: float, p1: float) -> int:
    """The README's binary rule: class 0 when its read-out probability is larger."""
    return 0 if p0 > p1 else 1


def test_qcnn_metrics_equal_independent_computations(cli, make_plan: Callable[..., Path]) -> None:
    from qiskit import qpy
    from qiskit.quantum_info import Statevector
    from scipy.stats import binomtest

    result = cli("run", str(make_plan(PLAN)), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "evaluation: 1 job on 1 target, 108 test samples at 100 shots each" in result.stderr
    artifacts = Path(data["artifacts"])
    with (artifacts / "circuit.qpy").open("rb") as handle:
        (circuit,) = qpy.load(handle)
    inputs = np.load(artifacts / "test_inputs.npz")
    x, y = inputs["x"], inputs["y"]
    (readout,) = [circuit.find_bit(ins.qubits[0]).index
                  for ins in circuit.data if ins.operation.name == "measure"]  # fmt: skip
    bare = circuit.remove_final_measurements(inplace=False)
    parameters = sorted(bare.parameters, key=lambda p: p.index)  # x[0], x[1], …
    predicted = []
    for row in x:
        p0, p1 = Statevector(bare.assign_parameters(dict(zip(parameters, row, strict=True)))
                             ).probabilities([readout])  # fmt: skip
        predicted.append(binary_class(p0, p1))
    exact = float(np.mean(np.array(predicted) == y))
    assert 0.6 < exact < 1.0  # not a trivial model
    values = {(m["name"], m.get("target")): m for m in data["metric_values"]}
    assert values[("test_accuracy", None)]["value"] == pytest.approx(exact, abs=1e-12)

    (job,) = data["jobs"]
    shot_predictions = [binary_class(c.get("0", 0), c.get("1", 0)) for c in job["counts"]]
    correct = int(np.sum(np.array(shot_predictions) == y))
    evaluation = values[("evaluation_accuracy", "local:statevector")]
    assert evaluation["value"] == pytest.approx(correct / len(y), abs=1e-6)
    interval = binomtest(correct, len(y)).proportion_ci(confidence_level=0.95, method="wilson")
    assert (evaluation["low"], evaluation["high"]) == pytest.approx(
        (interval.low, interval.high), abs=1e-6
    )
    assert data["evaluation"]["local:statevector"]["exact_accuracy"] == pytest.approx(exact)
    assert data["comparison"]["line"].startswith(f"QCNN {exact:.3f} (24 params) · best classical:")
    cnn = data["baselines"]["cnn1d"]
    table = (artifacts / "baselines.md").read_text()
    if cnn["skipped"]:  # no PyTorch here: the reason is shown, not "None"
        assert cnn["reason"].startswith("PyTorch not installed")
        assert f"| cnn1d | - | skipped: {cnn['reason']} | - |" in table, table
    assert "None" not in table
