"""Statevector kernels of :mod:`qorch.workloads.distributed.sensitivity` (pure numpy).

A state is an array with one axis of length 2 per live qubit; ``axes`` lists the qubit each
axis holds. Gates apply without transposing the state where they can (diagonal gates
elementwise, one-qubit gates as a batched 2×2 product), since a pass touches every
amplitude once per gate.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PauliChannel = tuple[tuple[int, ...], tuple[tuple[str, float], ...]]
"""Qubits and the non-identity Paulis on them (one letter per qubit) with their probabilities."""
_PAULI = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]).astype(complex),
}


@dataclass(frozen=True)
class Step:
    """``gate``: unitary on ``qubits`` (first most significant); ``add``: bring ``qubits[0]``
    in as |bit⟩; ``drop``: project it on |bit⟩, times ``scale``, and remove its axis."""

    kind: str
    qubits: tuple[int, ...]
    matrix: np.ndarray | None = None
    bit: int = 0
    scale: float = 1.0


def apply(state: np.ndarray, axes: list[int], qubits: Sequence[int], matrix: np.ndarray):
    """``matrix`` on ``qubits`` of ``state`` (a diagonal one elementwise, a 1q one as a batched
    2×2 product: both without transposing the state)."""
    positions = [axes.index(q) for q in qubits]
    diagonal = np.diagonal(matrix)
    if np.count_nonzero(matrix - np.diag(diagonal)) == 0:
        shape = [1] * state.ndim
        for position in positions:
            shape[position] = 2
        order = np.argsort(positions)  # broadcast needs the factor's axes in state order
        factor = diagonal.reshape((2,) * len(qubits)).transpose(order).reshape(shape)
        return state * factor
    if len(qubits) == 1:
        (position,) = positions
        before = int(np.prod(state.shape[:position], dtype=np.int64))
        moved = np.matmul(matrix, state.reshape(before, 2, -1))
        return moved.reshape(state.shape)
    k = len(qubits)
    front = np.moveaxis(state, positions, list(range(k)))
    moved = (matrix @ front.reshape(2**k, -1)).reshape(front.shape)
    return np.moveaxis(moved, list(range(k)), positions)


def forward(state: np.ndarray, axes: list[int], step: Step) -> np.ndarray:
    if step.kind == "gate":
        assert step.matrix is not None
        return apply(state, axes, step.qubits, step.matrix)
    q = step.qubits[0]
    if step.kind == "add":
        axes.append(q)
        zero = np.zeros_like(state)
        return np.stack([state, zero] if step.bit == 0 else [zero, state], axis=-1)
    axis = axes.index(q)
    axes.pop(axis)
    return np.take(state, step.bit, axis=axis) * step.scale


@functools.cache
def pauli(label: str) -> np.ndarray:
    """The Pauli string ``label`` as a matrix, first letter most significant."""
    matrix = _PAULI[label[0]]
    for letter in label[1:]:
        matrix = np.kron(matrix, _PAULI[letter])
    return matrix


def overlaps(
    psi: np.ndarray, phis: list[np.ndarray], axes: list[int], channels: Sequence[PauliChannel]
) -> list[np.ndarray | None]:
    """``⟨φ_b|P|ψ⟩`` per channel (Paulis × bras); cross operators shared per qubit tuple."""
    crosses: dict[tuple[int, ...], list[np.ndarray]] = {}
    out: list[np.ndarray | None] = []
    for qubits, paulis in channels:
        if any(q not in axes for q in qubits):
            out.append(None)
            continue
        if qubits not in crosses:
            positions = [axes.index(q) for q in qubits]
            psi_m = _front(psi, positions)
            crosses[qubits] = [psi_m @ _front(phi, positions).conj().T for phi in phis]
        out.append(np.array([[np.sum(pauli(label).T * cross) for cross in crosses[qubits]]
                             for label, _ in paulis]))  # fmt: skip
    return out


def _front(state: np.ndarray, positions: list[int]) -> np.ndarray:
    """``state`` as a matrix, rows indexed by the qubits at ``positions``: the cross operator
    ``Tr_rest |ψ⟩⟨φ| = ψ_m φ_m†`` gives ``⟨φ|P|ψ⟩ = Tr(P·cross)``."""
    k = len(positions)
    return np.moveaxis(state, positions, list(range(k))).reshape(2**k, -1)
