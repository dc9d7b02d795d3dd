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
from typing import Any, NamedTuple

import numpy as np
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import CircuitInstruction

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


class _Inst(NamedTuple):
    """One DAG node, read without building its Python operation unless needed (a named
    tuple: one per gate, twice, and a frozen dataclass is slow to build)."""

    name: str
    qubits: tuple[int, ...]
    node: Any

    def matrix(self, cache: dict[tuple, np.ndarray]) -> np.ndarray:
        """The gate's unitary; standard gates are computed once per (name, parameters)."""
        key = (self.name, tuple(self.node.params)) if self.node.is_standard_gate() else None
        found = cache.get(key) if key is not None else None
        if found is None:
            raw = self.node.matrix if key is not None else None
            if raw is None:
                raw = self.node.op.to_matrix()
            found = np.asarray(raw, dtype=complex)
            if key is not None:
                cache[key] = found
        return found


def _instructions(circuit: QuantumCircuit) -> list[_Inst]:
    """The circuit's operations in the DAG's topological order, final measurements dropped.

    The order is what ``remove_final_measurements`` gives (qiskit's lexicographic
    topological sort), without copying every operation as it does.
    """
    from qiskit.converters import circuit_to_dag
    from qiskit.transpiler.passes import RemoveFinalMeasurements

    dag = circuit_to_dag(circuit, copy_operations=False)
    if "measure" in circuit.count_ops():
        dag = RemoveFinalMeasurements().run(dag)
    index = {q: i for i, q in enumerate(circuit.qubits)}
    return [_Inst(node.name, tuple([index[q] for q in node.qargs]), node)
            for node in dag.topological_op_nodes()]  # fmt: skip


def _prepare(circuit: QuantumCircuit) -> list[_Inst]:
    """Drop final measurements and barriers; reject non-unitary operations; reduce gates."""
    found = _instructions(circuit)
    simple = True
    for inst in found:
        name, node = inst.name, inst.node
        if name in _IGNORED:
            continue
        if name in ("measure", "reset") or node.is_control_flow():
            raise CircuitNotDistributableError(
                f"cannot distribute a circuit with mid-circuit '{name}'; "
                "only unitary gates and final measurements are supported"
            )
        nq = len(inst.qubits)
        reducible = name in _DIAGONAL_2Q or name == "cx"
        known = node.is_standard_gate() or hasattr(node.op, "to_matrix")
        if nq > 2 or (nq == 2 and not reducible) or not known:
            simple = False
    if simple:
        return found
    # what remove_final_measurements(inplace=False) builds, in the same order, without its
    # copy of every operation (12 s of 26 at 256 qubits)
    bare = circuit.copy_empty_like()
    for inst in found:
        bare._append(CircuitInstruction(inst.node.op, inst.node.qargs, inst.node.cargs))
    return _instructions(transpile(bare, basis_gates=_BASIS, optimization_level=0))


def canonicalise(circuit: QuantumCircuit) -> CanonicalCircuit:
    """Reduce ``circuit`` to single-qubit unitaries and diagonal two-qubit gates.

    Raises CapabilityError for mid-circuit measurements, resets or control flow.
    """
    found = _prepare(circuit)
    n = circuit.num_qubits
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

    cache: dict[tuple, np.ndarray] = {}
    for inst in found:
        name, qs = inst.name, inst.qubits
        if name in _IGNORED:
            continue
        if len(qs) == 1:
            push(qs[0], inst.matrix(cache))
            continue
        if name == "cx":
            push(qs[1], _H)
            diag = _CZ
        else:
            full = inst.matrix(cache)
            diag = np.diag(full).copy()
            if np.abs(full - np.diag(diag)).max() > 1e-8:  # allclose, 50x cheaper
                raise CapabilityError(f"gate '{name}' could not be reduced to diagonal form")
        flush(qs)
        _append_diag(ops, qs, diag)
        if name == "cx":
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
