"""Losses on class probabilities, each with its gradient ``dLoss/dprobabilities``.

Conventions of github.com/takh04/QCNN ``QCNN/Training.py``:

- ``cross-entropy``: ``-Σ_i log q_i[y_i]`` **summed** over the batch (``cross_entropy``:
  ``l·log p[l] + (1-l)·log(1-p[1-l])`` is ``log p[l]`` for two outcomes), with ``q`` the
  read-out distribution (``qml.probs(wires=4)``). Multi-class: the same over ``C`` classes.
- ``mse``: binary, ``mean_i (t_i - <Z>_i)²`` with ``<Z> = q0 - q1`` (``qml.expval(PauliZ(4))``)
  and target ``t = +1`` for label 0, ``-1`` for label 1; **averaged** over the batch
  (``square_loss`` divides by ``len(labels)``). Multi-class: the Brier score
  ``mean_i Σ_k (q_ik - [k = y_i])²``.

Labels ``y`` are class indices ``0..C-1``: class ``k`` is read-out outcome ``k``. The reference
itself uses ``±1`` labels for MSE (``data.py`` with ``binary=True``: ``classes[0] -> +1``, our 0)
and 0/1 labels for cross-entropy (``binary=False``: ``classes[0] -> 1``), so its
cross-entropy runs learn the mirror-image assignment; accuracy is unaffected.
``reduction="reference"`` keeps those reductions; ``"sum"`` or ``"mean"`` force one.
Probabilities are floored at ``1e-15`` inside the logarithm.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["LOSS_NAMES", "cross_entropy", "loss_and_grad", "mse", "predict_classes"]

LOSS_NAMES = ("mse", "cross-entropy")
REDUCTIONS = ("reference", "sum", "mean")
_FLOOR = 1e-15


def _labels(q: np.ndarray, y: Any) -> np.ndarray:
    labels = np.asarray(y)
    if labels.shape != (q.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {q.shape[0]} integers, got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= q.shape[1]):
        raise ValueError(f"labels must be class indices in 0..{q.shape[1] - 1}")
    return labels


def _scale(reduction: str, default: str, batch: int) -> float:
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; choose one of {REDUCTIONS}")
    mode = default if reduction == "reference" else reduction
    return 1.0 / batch if mode == "mean" else 1.0


def cross_entropy(q: np.ndarray, y: Any, reduction: str = "reference") -> tuple[float, np.ndarray]:
    """Cross-entropy of class probabilities ``q (batch, C)`` against labels ``y (batch,)``.

    Returns the loss and ``dLoss/dq``. Raises ValueError for bad labels.
    """
    labels = _labels(q, y)
    rows = np.arange(q.shape[0])
    picked = np.maximum(q[rows, labels], _FLOOR)
    scale = _scale(reduction, "sum", q.shape[0])
    grad = np.zeros_like(q)
    grad[rows, labels] = -scale / picked
    return float(-scale * np.sum(np.log(picked))), grad


def mse(q: np.ndarray, y: Any, reduction: str = "reference") -> tuple[float, np.ndarray]:
    """Mean squared error (binary: on ``<Z>``; multi-class: Brier score) and ``dLoss/dq``.

    Raises ValueError for bad labels.
    """
    labels = _labels(q, y)
    scale = _scale(reduction, "mean", q.shape[0])
    if q.shape[1] == 2:
        residual = (1.0 - 2.0 * labels) - (q[:, 0] - q[:, 1])
        grad = np.stack([-2 * scale * residual, 2 * scale * residual], axis=1)
        return float(scale * np.sum(residual**2)), grad
    residual = q.copy()
    residual[np.arange(q.shape[0]), labels] -= 1.0
    return float(scale * np.sum(residual**2)), 2 * scale * residual


def loss_and_grad(
    kind: str, q: np.ndarray, y: Any, reduction: str = "reference"
) -> tuple[float, np.ndarray]:
    """Dispatch on ``kind`` (``mse`` or ``cross-entropy``); raises ValueError if unknown."""
    if kind == "cross-entropy":
        return cross_entropy(q, y, reduction)
    if kind == "mse":
        return mse(q, y, reduction)
    raise ValueError(f"unknown loss {kind!r}; choose one of {', '.join(LOSS_NAMES)}")


def predict_classes(q: np.ndarray) -> np.ndarray:
    """Predicted class per row: binary ``0 if q0 > q1 else 1`` (the reference's
    ``accuracy_test``, ties to 1), otherwise the most probable class."""
    if q.shape[1] == 2:
        return (q[:, 0] <= q[:, 1]).astype(np.int64)
    return np.argmax(q, axis=1)
