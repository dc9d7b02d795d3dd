"""Classical baselines: accuracy, parameter matching, JSON results, cnn1d with and without torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qorch.contract.errors import PlanError
from qorch.workloads.qcnn import baselines, compression, data

QCNN_REFERENCE_PARAMS = 51  # Hur, Kim & Park: SU(4) convolutions + pooling on 8 qubits


@pytest.fixture(scope="module")
def digits01() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits 0 vs 1, PCA to 8 features and z-scored, all fitted on the training set."""
    X, y, _ = data.select_classes(data.load("sklearn:digits", Path(".")), [0, 1])
    X_train, X_test, y_train, y_test = data.split(X, y, 0.3, seed=0)
    train, test, _ = compression.fit_transform(
        "pca", 8, X_train, X_test, seed=0, scaling="standard"
    )
    return train, y_train, test, y_test


def test_logistic_separates_digits_0_and_1(digits01):
    result = baselines.logistic(*digits01, seed=0)
    assert result["test_accuracy"] >= 0.98 and result["train_accuracy"] >= 0.98
    assert result["n_params"] == 8 + 1 and result["seconds"] >= 0 and not result["skipped"]


def test_logistic_counts_multiclass_parameters():
    X, y, _ = data.select_classes(data.load("sklearn:iris", Path(".")), None)
    X_train, X_test, y_train, y_test = data.split(X, y, 0.3, seed=1)
    result = baselines.logistic(X_train, y_train, X_test, y_test, seed=1)
    assert result["n_params"] == 3 * 4 + 3 and result["test_accuracy"] > 0.85


@pytest.mark.parametrize(
    ("target", "d", "classes", "hidden", "params"),
    [
        (51, 8, 2, 5, 51),
        (26, 8, 2, 2, 21),
        (44, 8, 2, 4, 41),
        (51, 16, 2, 3, 55),
        (51, 8, 3, 4, 51),
    ],
)
def test_mlp_width_gives_the_closest_parameter_count(target, d, classes, hidden, params):
    assert baselines.mlp_hidden_width(target, d, classes) == hidden
    assert baselines.mlp_params(hidden, d, classes) == params


@pytest.mark.parametrize("d", [4, 8, 16, 64])
@pytest.mark.parametrize("classes", [2, 3, 10])
def test_no_hidden_width_is_closer_to_the_target(d, classes):
    for target in (10, 26, 51, 56, 120, 400):
        chosen = baselines.mlp_params(baselines.mlp_hidden_width(target, d, classes), d, classes)
        best = min(abs(baselines.mlp_params(h, d, classes) - target) for h in range(1, 500))
        assert abs(chosen - target) == best
        if best <= 0.1 * target:
            assert abs(chosen - target) <= 0.1 * target


def test_mlp_matches_the_qcnn_parameter_count_and_learns(digits01):
    result = baselines.mlp(*digits01, target_params=QCNN_REFERENCE_PARAMS, seed=0)
    assert result["n_params"] == QCNN_REFERENCE_PARAMS  # counted from the fitted model
    assert result["hidden_units"] == 5 and result["converged"]
    assert result["test_accuracy"] >= 0.98
    again = baselines.mlp(*digits01, target_params=QCNN_REFERENCE_PARAMS, seed=0)
    assert again["test_accuracy"] == result["test_accuracy"]


def test_mlp_counts_one_output_per_class_beyond_two():
    X, y, _ = data.select_classes(data.load("sklearn:wine", Path(".")), None)
    X_train, X_test, y_train, y_test = data.split(X, y, 0.3, seed=0)
    train, test, _ = compression.scale("standard", X_train, X_test)
    result = baselines.mlp(train, y_train, test, y_test, target_params=60, seed=0)
    hidden = result["hidden_units"]
    assert result["n_params"] == 13 * hidden + hidden + hidden * 3 + 3


def test_run_baselines_results_are_json(digits01, monkeypatch):
    monkeypatch.setattr(baselines, "torch_available", lambda: False)
    results = baselines.run_baselines(
        ["logistic", "mlp", "cnn1d"], *digits01, target_params=QCNN_REFERENCE_PARAMS, seed=0
    )
    assert list(results) == ["logistic", "mlp", "cnn1d"]
    assert json.loads(json.dumps(results)) == results
    for name in ("logistic", "mlp"):
        assert {"test_accuracy", "train_accuracy", "n_params", "seconds"} <= set(results[name])


def test_cnn1d_is_skipped_cleanly_without_torch(digits01, monkeypatch):
    monkeypatch.setattr(baselines, "torch_available", lambda: False)
    result = baselines.cnn1d(*digits01, target_params=None, seed=0)
    assert result == {
        "test_accuracy": None, "train_accuracy": None, "n_params": None, "seconds": None,
        "skipped": True, "reason": "PyTorch not installed; pip install 'qorch[cnn]'",
    }  # fmt: skip


def test_importing_baselines_does_not_import_torch():
    code = "import sys, qorch.workloads.qcnn.baselines; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_unknown_baseline_and_missing_target_are_errors(digits01):
    with pytest.raises(PlanError, match="unknown baseline 'svm'; choose logistic, mlp, cnn1d"):
        baselines.run_baselines(["logistic", "svm"], *digits01, target_params=51, seed=0)
    with pytest.raises(PlanError, match="parameter count"):
        baselines.mlp(*digits01, target_params=None, seed=0)


@pytest.mark.parametrize(
    ("channels", "d", "params"), [(2, 8, 26), (3, 8, 44), (2, 16, 34), (3, 16, 56)]
)
def test_cnn1d_parameter_counts_match_the_reference(channels, d, params):
    assert baselines.cnn1d_params(channels, d, 2) == params  # their 26-56 parameters


def test_cnn1d_channels_match_the_target():
    assert baselines.cnn1d_channels(None, 8, 2) == 2
    assert baselines.cnn1d_channels(QCNN_REFERENCE_PARAMS, 8, 2) == 3
    assert baselines.cnn1d_channels(56, 16, 2) == 3


def test_cnn1d_trains_with_torch(digits01):
    torch = pytest.importorskip("torch")
    result = baselines.cnn1d(*digits01, target_params=None, seed=0)
    model = baselines._cnn_model(torch, 2, 8, 2)
    assert result["n_params"] == 26 == sum(p.numel() for p in model.parameters())
    assert result["channels"] == 2 and result["steps"] == 200 and not result["skipped"]
    assert result["test_accuracy"] >= 0.9
    again = baselines.cnn1d(*digits01, target_params=None, seed=0)
    assert again["test_accuracy"] == result["test_accuracy"]
    assert again["train_accuracy"] == result["train_accuracy"]
    assert json.loads(json.dumps(result)) == result
