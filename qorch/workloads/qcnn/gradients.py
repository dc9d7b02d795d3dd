"""Gradients from estimated probabilities: parameter shift and SPSA (for shot-based targets).

An *estimator* is a callable ``estimate(model, params, X) -> (batch, n_outcomes)`` giving the
read-out distribution of ``model`` with ``params`` on features ``X``; e.g. a hardware
provider building ``model.circuit(params, x)`` per sample and normalising its counts. For
parameter shift it is called with :meth:`QCNN.unshared` (one parameter per gate
occurrence, so a shared parameter's derivative is the sum over its occurrences).

Shift rules (every gate is ``exp(-iθH)``): RX/RY/RZ (eigenvalues of ``H`` ±½) use
``∂f = [f(θ+π/2) - f(θ-π/2)] / 2``; CRX/CRY/CRZ (eigenvalues 0, ±½) the four-term rule
``∂f = c₁[f(θ+π/2) - f(θ-π/2)] - c₂[f(θ+3π/2) - f(θ-3π/2)]``,
``c₁,₂ = (√2 ± 1)/(4√2)`` (Anselmetti et al., NJP 23, 113010, 2021).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from qorch.workloads.qcnn.model import QCNN

__all__ = ["Estimator", "exact_estimator", "parameter_shift", "sampling_estimator", "spsa_gradient"]

Estimator = Callable[[QCNN, np.ndarray, Any], np.ndarray]

_C1 = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_C2 = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
RULES: dict[str, tuple[tuple[float, float], ...]] = {  # (shift, coefficient) pairs
    "two-term": ((math.pi / 2, 0.5), (-math.pi / 2, -0.5)),
    "four-term": (
        (math.pi / 2, _C1), (-math.pi / 2, -_C1), (3 * math.pi / 2, -_C2), (-3 * math.pi / 2, _C2)
    ),
}  # fmt: skip


def exact_estimator(model: QCNN, params: np.ndarray, X: Any) -> np.ndarray:
    """The exact read-out distribution (statevector)."""
    return model.probabilities(params, X)


def sampling_estimator(shots: int, rng: np.random.Generator) -> Estimator:
    """An estimator drawing ``shots`` samples per row from the exact distribution (seeded)."""
    if shots <= 0:
        raise ValueError(f"shots must be > 0, got {shots}")

    def estimate(model: QCNN, params: np.ndarray, X: Any) -> np.ndarray:
        exact = np.clip(model.probabilities(params, X), 0.0, None)
        exact /= exact.sum(axis=1, keepdims=True)
        return rng.multinomial(shots, exact) / shots

    return estimate


def parameter_shift(
    model: QCNN,
    params: Any,
    X: Any,
    y: Any,
    kind: str,
    estimate: Estimator = exact_estimator,
    reduction: str = "reference",
) -> tuple[float, np.ndarray]:
    """Loss and gradient by the parameter-shift rules, from ``estimate`` calls only.

    Costs ``1 + 2·(RX/RY/RZ occurrences) + 4·(controlled-rotation occurrences)`` estimates.
    Raises ValueError for ``su4-exp`` (no single-generator gates).
    """
    twin = model.unshared()
    rules = twin.shift_rules()
    if any(rule is None for rule in rules):
        raise ValueError(f"parameter shift needs rotation gates; {model.spec.ansatz} has none")
    base = model.expand(params)
    value, dloss_dp = model.loss_from_outcomes(
        estimate(model, np.asarray(params, dtype=np.float64), X), y, kind, reduction
    )
    grad = np.zeros(twin.n_params)
    for j, rule in enumerate(rules):
        for shift, weight in RULES[str(rule)]:
            shifted = base.copy()
            shifted[j] += shift
            grad[j] += weight * np.sum(dloss_dp * estimate(twin, shifted, X))
    return value, model.contract(grad)


def spsa_gradient(
    model: QCNN,
    params: Any,
    X: Any,
    y: Any,
    kind: str,
    rng: np.random.Generator,
    perturbation: float = 0.1,
    estimate: Estimator = exact_estimator,
    reduction: str = "reference",
) -> tuple[float, np.ndarray]:
    """SPSA estimate ``(L(θ+cΔ) - L(θ-cΔ)) / 2c · Δ`` (Rademacher ``Δ``, ``c`` in radians).

    Returns the mean of the two losses and the gradient estimate (two ``estimate`` calls).
    """
    params = np.asarray(params, dtype=np.float64)
    delta = 2.0 * rng.integers(0, 2, size=params.shape) - 1.0
    plus = model.loss_from_outcomes(
        estimate(model, params + perturbation * delta, X), y, kind, reduction
    )[0]
    minus = model.loss_from_outcomes(
        estimate(model, params - perturbation * delta, X), y, kind, reduction
    )[0]
    return 0.5 * (plus + minus), (plus - minus) / (2 * perturbation) * delta
