"""Zero-noise extrapolation (ZNE), Mitiq's method written out: pure functions.

qorch does not call Mitiq: Mitiq 1.1.0 pins numpy < 2.3 and, for Qiskit,
qiskit-aer 0.17 and qiskit-ibm-runtime 0.41, which qorch's stack is past. The
method is Mitiq's: **global unitary folding** (``mitiq.zne.scaling.fold_global``
for odd scale factors) turns the circuit's unitary U into U (U† U)^k, which
implements the same operation with 2k+1 times the gates, so 2k+1 times the gate
noise; the observable measured at each scale is extrapolated to scale 0 with
**Richardson** (the polynomial of degree n−1 through n points) or a **linear**
fit (weighted least squares). Barriers between the folds keep the transpiler
from cancelling U† U; measurements stay at the end (readout error is not scaled:
combine with ``readout: m3`` for that).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

RICHARDSON = "richardson"
LINEAR = "linear"


def fold_global(body: QuantumCircuit, scale_factor: int) -> QuantumCircuit:
    """``body`` (a unitary circuit, no measurements) folded to ``scale_factor`` = 2k+1:
    U, then k times (barrier, U†, barrier, U). ValueError for an even or non-positive
    factor."""
    if scale_factor < 1 or scale_factor % 2 == 0:
        raise ValueError(f"global folding needs an odd scale factor ≥ 1, not {scale_factor}")
    folded = body.copy_empty_like()
    folded.compose(body, inplace=True)
    inverse = body.inverse()
    for _ in range((scale_factor - 1) // 2):
        folded.barrier()
        folded.compose(inverse, inplace=True)
        folded.barrier()
        folded.compose(body, inplace=True)
    folded.name = body.name
    return folded


def richardson_weights(scale_factors: Sequence[float]) -> list[float]:
    """Richardson's weights w_i = Π_{j≠i} λ_j / (λ_j − λ_i): Σ w_i y_i is the value at
    λ = 0 of the polynomial of degree n−1 through the n points (λ_i, y_i)."""
    weights = []
    for i, at in enumerate(scale_factors):
        weight = 1.0
        for j, other in enumerate(scale_factors):
            if j != i:
                weight *= other / (other - at)
        weights.append(weight)
    return weights


def linear_weights(scale_factors: Sequence[float], std_errors: Sequence[float]) -> list[float]:
    """The weights c_i with intercept = Σ c_i y_i of the weighted least-squares line
    y = a + b λ (weights 1/σ_i²; equal weights if some σ_i is 0)."""
    if all(s > 0 for s in std_errors):
        w = [1.0 / (s * s) for s in std_errors]
    else:
        w = [1.0] * len(scale_factors)
    s0 = sum(w)
    s1 = sum(wi * x for wi, x in zip(w, scale_factors, strict=True))
    s2 = sum(wi * x * x for wi, x in zip(w, scale_factors, strict=True))
    det = s0 * s2 - s1 * s1
    if det <= 0:
        raise ValueError("a line needs at least two distinct scale factors")
    # first row of (Xᵀ W X)⁻¹ Xᵀ W, X's rows (1, λ_i)
    return [wi * (s2 - s1 * x) / det for wi, x in zip(w, scale_factors, strict=True)]


def extrapolate(
    scale_factors: Sequence[float],
    values: Sequence[float],
    std_errors: Sequence[float],
    method: str = RICHARDSON,
) -> tuple[float, float]:
    """The zero-noise value and its standard error from each scale's value and standard
    error: Σ w_i y_i and √(Σ w_i² σ_i²), with Richardson's or the linear fit's weights."""
    if len(scale_factors) != len(values) or len(values) != len(std_errors):
        raise ValueError("one value and one standard error per scale factor")
    if method == RICHARDSON:
        weights = richardson_weights(scale_factors)
    elif method == LINEAR:
        weights = linear_weights(scale_factors, std_errors)
    else:
        raise ValueError(f"unknown extrapolation {method!r}")
    value = sum(w * y for w, y in zip(weights, values, strict=True))
    variance = sum((w * s) ** 2 for w, s in zip(weights, std_errors, strict=True))
    return value, math.sqrt(variance)


def two_qubit_gates(circuit: QuantumCircuit) -> int:
    """The circuit's gates on two or more qubits (barriers and measurements not counted)."""
    return sum(1 for instruction in circuit.data
               if instruction.operation.num_qubits >= 2
               and instruction.operation.name not in ("barrier", "measure"))  # fmt: skip
