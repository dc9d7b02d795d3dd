"""Classical baselines on exactly the QCNN's split and features: logistic, MLP, 1-D CNN.

Each returns ``{"test_accuracy", "train_accuracy", "n_params", "seconds", "skipped"}``
(plus a few details); a baseline that cannot run here (``cnn1d`` without PyTorch) has
``skipped: True``, a ``reason`` and None for the figures. ``seconds`` is training time.
The MLP and CNN sizes are chosen so their parameter counts come closest to the QCNN's.
"""

from __future__ import annotations

import importlib.util
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from qorch.workloads.qcnn.data import DataError

BASELINES = ("logistic", "mlp", "cnn1d")
CNN_STEPS = 200  # Hur, Kim & Park: 200 Adam steps (lr 0.01) on batches of 25 drawn with replacement
CNN_BATCH = 25
CNN_LEARNING_RATE = 0.01
CNN_REFERENCE_CHANNELS = 2  # their CNN.py; 2 channels on 8 features = 26 parameters
TORCH_MISSING = "PyTorch not installed; pip install 'qorch[cnn]'"


def torch_available() -> bool:
    """Whether PyTorch can be imported (checked without importing it)."""
    return importlib.util.find_spec("torch") is not None


def run_baselines(
    names: Sequence[str],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    target_params: int | None,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """Train each named baseline on the given split; labels are 0..C-1.

    ``target_params`` is the QCNN's parameter count, matched by ``mlp`` and ``cnn1d``
    (``cnn1d`` uses the reference's 2 channels when it is None). Raises DataError for an
    unknown name or ``mlp`` without a target.
    """
    unknown = [name for name in names if name not in BASELINES]
    if unknown:
        raise DataError(f"unknown baseline {unknown[0]!r}; choose {', '.join(BASELINES)}")
    results: dict[str, dict[str, Any]] = {}
    for name in names:
        if name == "logistic":
            results[name] = logistic(X_train, y_train, X_test, y_test, seed)
        elif name == "mlp":
            results[name] = mlp(X_train, y_train, X_test, y_test, target_params, seed)
        else:
            results[name] = cnn1d(X_train, y_train, X_test, y_test, target_params, seed)
    return results


def logistic(
    X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray, seed: int
) -> dict[str, Any]:
    """L2-regularised logistic regression (multinomial for C > 2); n_params = coef + intercept."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=5000, random_state=seed)
    seconds = _timed_fit(model, X_train, y_train)
    n_params = int(model.coef_.size + model.intercept_.size)
    return _result(model.predict, X_train, y_train, X_test, y_test, n_params, seconds)


def mlp_params(hidden: int, n_features: int, n_classes: int) -> int:
    """Weights + biases of a one-hidden-layer MLPClassifier (one logistic output for 2 classes)."""
    outputs = 1 if n_classes == 2 else n_classes
    return (n_features * hidden + hidden) + (hidden * outputs + outputs)


def mlp_hidden_width(target: int, n_features: int, n_classes: int) -> int:
    """The hidden width h >= 1 whose parameter count is closest to ``target`` (ties: smaller h)."""
    outputs = 1 if n_classes == 2 else n_classes
    guess = max(1, round((target - outputs) / (n_features + 1 + outputs)))
    candidates = range(max(1, guess - 1), guess + 2)
    return min(candidates, key=lambda h: (abs(mlp_params(h, n_features, n_classes) - target), h))


def mlp(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    target_params: int | None,
    seed: int,
) -> dict[str, Any]:
    """A one-hidden-layer tanh MLP (L-BFGS, no early stopping) sized to ``target_params``."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    if target_params is None:
        raise DataError("the mlp baseline needs the QCNN's parameter count to match")
    n_classes = len(np.unique(y_train))
    hidden = mlp_hidden_width(target_params, X_train.shape[1], n_classes)
    model = MLPClassifier(
        hidden_layer_sizes=(hidden,), activation="tanh", solver="lbfgs", max_iter=2000,
        early_stopping=False, random_state=seed,
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        seconds = _timed_fit(model, X_train, y_train)
    n_params = int(sum(w.size for w in model.coefs_) + sum(b.size for b in model.intercepts_))
    result = _result(model.predict, X_train, y_train, X_test, y_test, n_params, seconds)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return {
        **result,
        "hidden_units": hidden,
        "target_params": target_params,
        "converged": converged,
    }


def cnn1d_params(channels: int, n_features: int, n_classes: int) -> int:
    """Parameters of the reference 1-D CNN: two conv(k=2, pad=1) + max-pool(2) blocks, a linear."""
    length = ((n_features + 1) // 2 + 1) // 2
    convolutions = (2 * channels + channels) + (2 * channels * channels + channels)
    return convolutions + channels * length * n_classes + n_classes


def cnn1d_channels(target: int | None, n_features: int, n_classes: int) -> int:
    """The channel count closest to ``target`` parameters (the reference's 2 when None)."""
    if target is None:
        return CNN_REFERENCE_CHANNELS
    return min(
        range(1, 65), key=lambda c: (abs(cnn1d_params(c, n_features, n_classes) - target), c)
    )


def cnn1d(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    target_params: int | None,
    seed: int,
) -> dict[str, Any]:
    """The reference's 1-D CNN over the feature vector, trained with Adam as in its CNN.py.

    Needs PyTorch (imported here, never at module import); without it the result is
    skipped with the reason. Seeded by ``torch.manual_seed`` and a numpy Generator.
    """
    if not torch_available():
        return _skipped(TORCH_MISSING)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a few dozen weights: threads only add contention (10x slower)
    try:
        return _train_cnn1d(torch, X_train, y_train, X_test, y_test, target_params, seed)
    finally:
        torch.set_num_threads(threads)


def _train_cnn1d(
    torch: Any,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    target_params: int | None,
    seed: int,
) -> dict[str, Any]:
    n_features, n_classes = X_train.shape[1], int(max(y_train.max(), y_test.max())) + 1
    channels = cnn1d_channels(target_params, n_features, n_classes)
    torch.manual_seed(seed)
    model = _cnn_model(torch, channels, n_features, n_classes)
    inputs = torch.tensor(X_train, dtype=torch.float32).reshape(len(X_train), 1, n_features)
    labels = torch.tensor(y_train, dtype=torch.long)
    optimizer = torch.optim.Adam(model.parameters(), lr=CNN_LEARNING_RATE, betas=(0.9, 0.999))
    loss_function = torch.nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(CNN_STEPS):
        batch = torch.as_tensor(rng.integers(0, len(X_train), CNN_BATCH))
        loss = loss_function(model(inputs[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    seconds = time.perf_counter() - start

    def predict(X: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            rows = torch.tensor(X, dtype=torch.float32).reshape(len(X), 1, n_features)
            return np.asarray(model(rows).argmax(dim=1).numpy())

    n_params = int(sum(p.numel() for p in model.parameters()))
    result = _result(predict, X_train, y_train, X_test, y_test, n_params, seconds)
    return {**result, "channels": channels, "target_params": target_params, "steps": CNN_STEPS}


def _cnn_model(torch: Any, channels: int, n_features: int, n_classes: int) -> Any:
    nn = torch.nn
    length = ((n_features + 1) // 2 + 1) // 2
    return nn.Sequential(
        nn.Conv1d(1, channels, kernel_size=2, padding=1), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(channels, channels, kernel_size=2, padding=1), nn.ReLU(), nn.MaxPool1d(2),
        nn.Flatten(), nn.Linear(channels * length, n_classes),
    )  # fmt: skip


def _timed_fit(model: Any, X: np.ndarray, y: np.ndarray) -> float:
    start = time.perf_counter()
    model.fit(X, y)
    return time.perf_counter() - start


def _result(
    predict: Callable[[np.ndarray], np.ndarray],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    n_params: int,
    seconds: float,
) -> dict[str, Any]:
    return {
        "test_accuracy": float(np.mean(predict(X_test) == y_test)),
        "train_accuracy": float(np.mean(predict(X_train) == y_train)),
        "n_params": n_params,
        "seconds": float(seconds),
        "skipped": False,
    }


def _skipped(reason: str) -> dict[str, Any]:
    return {
        "test_accuracy": None, "train_accuracy": None, "n_params": None, "seconds": None,
        "skipped": True, "reason": reason,
    }  # fmt: skip
