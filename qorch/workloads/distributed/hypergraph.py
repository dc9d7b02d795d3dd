"""The partitioner's view of a circuit: single-qubit unitaries and diagonal two-qubit gates.

Any circuit is reduced to a list of :class:`Op`: merged single-qubit unitaries and
two-qubit gates that are *diagonal* in the computational basis (``cz``, ``cp``,
``crz``, ``rzz``, ...). A ``cx`` becomes ``H·CZ·H`` on its target, and adjacent
Hadamards cancel, so a run of CNOTs onto one target becomes a run of diagonal gates.
Diagonal gates are what cat-entanglement exploits: every two-qubit gate can be
served from either of its qubits.

A qubit's *segment* is a maximal stretch between two non-diagonal, non-anti-diagonal
single-qubit unitaries on it. One cat-entanglement of a segment to another node serves
every cross gate of that segment with that node. Anti-diagonal gates (X, Y, ...) do not
end a segment: the remote copy is flipped with them (embedding through a single-qubit
gate).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from qiskit import QuantumCircuit, transpile

from qorch.contract.errors import CapabilityError

DIAG1, ANTI1, GENERAL1, DIAG2 = "diag1", "anti1", "u1", "diag2"
_ATOL = 1e-12
_H = np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2)
_CZ = np.array([1, 1, 1, -1], dtype=complex)
_DIAGONAL_2Q = {"cz", "cp", "crz", "rzz", "cu1", "cs", "csdg"}
_BASIS = ["u", "cx", "cz", "cp", "crz", "rzz"]
_IGNORED = {"barrier", "delay"}


class CircuitNotDistributableError(CapabilityError):
    """The circuit itself cannot be partitioned (the plan's circuit is at fault)."""


@dataclass(frozen=True, eq=False)
class Op:
    """One operation: a 2×2 unitary (``kind`` diag1/anti1/u1) or a diagonal 2-qubit gate.

    For ``diag2``, ``matrix`` holds the four diagonal entries indexed by
    ``bit(qubits[0]) + 2·bit(qubits[1])`` (qiskit's little-endian order).
    """

    kind: str
    qubits: tuple[int, ...]
    matrix: np.ndarray = field(repr=False)

    def diag_phases(self) -> tuple[float, float, float]:
        """For diag2: (phase on qubits[0], phase on qubits[1], controlled phase), up to global."""
        ph = np.angle(self.matrix)
        return (
            float(ph[1] - ph[0]),
            float(ph[2] - ph[0]),
            float(ph[3] - ph[1] - ph[2] + ph[0]),
        )


@dataclass(frozen=True, eq=False)
class CanonicalCircuit:
    """A circuit as ops, with each 2-qubit op's segment index on both of its qubits."""

    num_qubits: int
    ops: tuple[Op, ...]
    segments: dict[int, tuple[int, int]]  # op index -> (segment of qubits[0], of qubits[1])
    segment_counts: tuple[int, ...]  # segments per qubit

    @property
    def two_qubit(self) -> list[int]:
        """Indices of the two-qubit ops, in circuit order."""
        return sorted(self.segments)


def classify_1q(matrix: np.ndarray) -> str | None:
    """diag1, anti1 or u1 for a 2×2 unitary; None if it is the identity up to phase."""
    if abs(matrix[0, 1]) < _ATOL and abs(matrix[1, 0]) < _ATOL:
        if abs(matrix[0, 0] - matrix[1, 1]) < _ATOL:
            return None
        return DIAG1
    if abs(matrix[0, 0]) < _ATOL and abs(matrix[1, 1]) < _ATOL:
        return ANTI1
    return GENERAL1


def _prepare(circuit: QuantumCircuit) -> QuantumCircuit:
    """Drop final measurements and barriers; reject non-unitary operations; reduce gates."""
    qc = circuit.remove_final_measurements(inplace=False)
    simple = True
    for inst in qc.data:
        name = inst.operation.name
        if name in _IGNORED:
            continue
        if name in ("measure", "reset") or getattr(inst.operation, "blocks", None):
            raise CircuitNotDistributableError(
                f"cannot distribute a circuit with mid-circuit '{name}'; "
                "only unitary gates and final measurements are supported"
            )
        nq = inst.operation.num_qubits
        reducible = name in _DIAGONAL_2Q or name == "cx"
        if nq > 2 or (nq == 2 and not reducible) or not hasattr(inst.operation, "to_matrix"):
            simple = False
    if simple:
        return qc
    return transpile(qc, basis_gates=_BASIS, optimization_level=0)


def canonicalise(circuit: QuantumCircuit) -> CanonicalCircuit:
    """Reduce ``circuit`` to single-qubit unitaries and diagonal two-qubit gates.

    Raises CapabilityError for mid-circuit measurements, resets or control flow.
    """
    qc = _prepare(circuit)
    n = qc.num_qubits
    pending: list[np.ndarray | None] = [None] * n
    ops: list[Op] = []

    def push(q: int, m: np.ndarray) -> None:
        cur = pending[q]
        pending[q] = m if cur is None else m @ cur

    def flush(qubits: Iterable[int]) -> None:
        for q in qubits:
            m = pending[q]
            pending[q] = None
            if m is not None:
                kind = classify_1q(m)
                if kind is not None:
                    ops.append(Op(kind, (q,), m))

    for inst in qc.data:
        op = inst.operation
        if op.name in _IGNORED:
            continue
        qs = tuple(qc.find_bit(b).index for b in inst.qubits)
        if len(qs) == 1:
            push(qs[0], np.asarray(op.to_matrix(), dtype=complex))
            continue
        if op.name == "cx":
            push(qs[1], _H)
            diag = _CZ
        else:
            full = np.asarray(op.to_matrix(), dtype=complex)
            diag = np.diag(full).copy()
            if not np.allclose(full, np.diag(diag), atol=1e-8):
                raise CapabilityError(f"gate '{op.name}' could not be reduced to diagonal form")
        flush(qs)
        _append_diag(ops, qs, diag)
        if op.name == "cx":
            push(qs[1], _H)
    flush(range(n))
    return _with_segments(n, ops)


def _append_diag(ops: list[Op], qs: tuple[int, ...], diag: np.ndarray) -> None:
    """Append a diagonal gate, splitting it into 1-qubit phases when it does not entangle."""
    op = Op(DIAG2, qs, diag)
    pa, pb, cphase = op.diag_phases()
    if math.remainder(cphase, 2 * math.pi) != 0.0:  # exact: tiny controlled phases still count
        ops.append(op)
        return
    for q, phase in ((qs[0], pa), (qs[1], pb)):
        if math.remainder(phase, 2 * math.pi) != 0.0:
            ops.append(Op(DIAG1, (q,), np.diag([1, np.exp(1j * phase)])))


def _with_segments(n: int, ops: list[Op]) -> CanonicalCircuit:
    """Number each qubit's segments; a general single-qubit unitary starts a new one."""
    counter = [0] * n
    touched = [False] * n
    segments: dict[int, tuple[int, int]] = {}
    for i, op in enumerate(ops):
        if op.kind == GENERAL1:
            q = op.qubits[0]
            if touched[q]:
                counter[q] += 1
                touched[q] = False
        elif op.kind == DIAG2:
            a, b = op.qubits
            segments[i] = (counter[a], counter[b])
            touched[a] = touched[b] = True
    return CanonicalCircuit(n, tuple(ops), segments, tuple(c + 1 for c in counter))
