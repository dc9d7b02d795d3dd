"""How much each Pauli error changes a distributed program's output: one fixed-branch
statevector pass forward, one backward (pure numpy; no simulator).

Every mid-circuit measurement of a lowered program (cat-entangle, disentangle, Bell
measurement) reads a qubit whose outcome is uniformly random and is corrected for, so every
branch ends in the same state. :class:`BranchSimulation` therefore follows one branch: it
projects each such measurement on a fixed outcome (×√2, so the norm stays 1), resets a
measured qubit by bookkeeping, and drops measured qubits from the state, so only the live
qubits cost memory. A Pauli error keeps the outcome uniform and maps branch onto branch, so
the same linear map gives the output *with* the error. For an error ``P`` on the state
``ψ_j`` between steps ``j−1`` and ``j``, the overlap of the output with a final bra ``b`` is
``⟨φ_j|P|ψ_j⟩``, with ``φ_j`` the bra propagated backwards to ``j``;
:meth:`BranchSimulation.amplitudes` computes it for every channel's Paulis and every bra in
one backward pass (undoing each step on ``ψ``; a projection's discarded half is kept for
this). The result is exact for Pauli errors, up to the one assumption checked as it runs
(every mid-circuit outcome is uniform or certain); a program that breaks it, or is too wide,
raises :class:`UnsupportedProgram`. The forward pass's steps are also what the density
matrix (:mod:`~qorch.workloads.distributed.branchdensity`) and the sampled trajectories
(:mod:`~qorch.workloads.distributed.branchtrajectories`) follow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from qiskit.circuit import CircuitInstruction, ClassicalRegister, Clbit, QuantumCircuit

from qorch.workloads.distributed.branchkernels import PauliChannel, Step, apply, forward, overlaps
from qorch.workloads.distributed.program import EPR_NAME, FINAL_REGISTER

MAX_LIVE_QUBITS = 20
"""Widest state followed (16 MiB per vector); a wider program gets no per-channel estimate."""
MAX_WORK = 2**25
"""Amplitudes touched by the forward pass (Σ over steps of 2^live qubits) at most: a bound on
the work, not on wall time, so every machine gives the same answer (plans/distributed-qft.yaml
needs 6·10⁶ ≈ 2^22.5)."""
_TOLERANCE = 1e-9
_IGNORED = frozenset({"barrier", "delay", "id"})
_H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)
_CX = np.eye(4, dtype=complex)[[0, 1, 3, 2]]  # control first (tensor order)


class UnsupportedProgram(Exception):
    """The program leaves what one branch can follow (or is too wide); the reason says why."""


class BranchSimulation:
    """The ideal run of ``circuit`` along one branch; ``op_start``/``op_end`` give the step
    boundary before/after each top-level instruction, ``ideal_probabilities`` the output
    distribution over the ``meas`` register (index = integer value, bit i = logical qubit i)."""

    def __init__(
        self, circuit: QuantumCircuit, max_qubits: int = MAX_LIVE_QUBITS, max_work: int = MAX_WORK
    ) -> None:
        self.max_qubits, self.max_work, self.work, self.widest = max_qubits, max_work, 0, 0
        self.steps: list[Step] = []
        self.kept: dict[int, tuple[int, np.ndarray]] = {}  # drop step -> (axis, discarded half)
        self.state = np.ones((), dtype=complex)
        self.axes: list[int] = []
        self.dead = dict.fromkeys(range(circuit.num_qubits), 0)
        self.bits: dict[int, int] = {}
        self.final: dict[int, int] = {}  # qubit -> bit of the meas register
        final_register = next((r for r in circuit.cregs if r.name == FINAL_REGISTER), None)
        self.final_clbits = {circuit.find_bit(c).index: i for i, c in
                             enumerate(final_register or [])}  # fmt: skip
        self.op_start: list[int] = []
        self.op_end: list[int] = []
        for inst in circuit.data:
            self.op_start.append(len(self.steps))
            qs = [circuit.find_bit(q).index for q in inst.qubits]
            cs = [circuit.find_bit(c).index for c in inst.clbits]
            self._visit(inst, qs, cs)
            self.op_end.append(len(self.steps))
        self.final_state, self.final_axes = self.state, list(self.axes)
        self.ideal_probabilities = self.distribution_of(np.abs(self.final_state) ** 2)

    # ---- forward ----------------------------------------------------------------------------

    def _visit(self, inst: CircuitInstruction, qs: list[int], cs: list[int]) -> None:
        op = inst.operation
        name = op.name
        if name in _IGNORED:
            return
        if name == "measure":
            self._measure(qs[0], cs[0])
        elif name == "reset":
            self._reset(qs[0])
        elif name == "if_else":
            self._branch(inst, qs, cs)
        elif name == EPR_NAME:
            self._gate(_H, qs[:1])
            self._gate(_CX, qs)
        else:
            try:
                matrix = np.asarray(op.to_matrix(), dtype=complex)
            except Exception as error:
                definition = getattr(op, "definition", None)
                if definition is None:
                    raise UnsupportedProgram(f"no matrix for '{name}'") from error
                for inner in definition.data:
                    iq = [qs[definition.find_bit(q).index] for q in inner.qubits]
                    ic = [cs[definition.find_bit(c).index] for c in inner.clbits]
                    self._visit(inner, iq, ic)
                return
            self._gate(matrix, qs[::-1])  # qiskit's matrices put the first qubit last

    def _branch(self, inst: CircuitInstruction, qs: list[int], cs: list[int]) -> None:
        op = inst.operation
        condition = op.condition
        local = {bit: cs[i] for i, bit in enumerate(inst.clbits)}
        target, value = condition if isinstance(condition, tuple) else (None, None)
        if isinstance(target, Clbit):
            taken = self.bits.get(local[target], 0) == value
        elif isinstance(target, ClassicalRegister):
            got = sum(self.bits.get(local[b], 0) << i for i, b in enumerate(target))
            taken = got == value
        else:
            raise UnsupportedProgram("a condition other than a bit or register test")
        blocks = op.blocks
        if not taken and len(blocks) < 2:
            return
        block = blocks[0] if taken else blocks[1]
        for inner in block.data:
            iq = [qs[block.find_bit(q).index] for q in inner.qubits]
            ic = [cs[block.find_bit(c).index] for c in inner.clbits]
            self._visit(inner, iq, ic)

    def _live(self, q: int) -> int:
        if q not in self.axes:
            if len(self.axes) >= self.max_qubits:
                raise UnsupportedProgram(f"more than {self.max_qubits} qubits live at once")
            self._do(Step("add", (q,), bit=self.dead.pop(q)))
        return self.axes.index(q)

    def _gate(self, matrix: np.ndarray, qs: Sequence[int]) -> None:
        if np.allclose(matrix, matrix[0, 0] * np.eye(len(matrix)), rtol=0, atol=1e-12):
            return  # an identity up to phase (p(0) is common): nothing to follow
        for q in qs:
            self._live(q)
        self._do(Step("gate", tuple(qs), matrix=matrix))

    def _one_probability(self, q: int) -> float:
        axis = self._live(q)
        return float(np.sum(np.abs(np.take(self.state, 1, axis=axis)) ** 2))

    def _measure(self, q: int, clbit: int) -> None:
        if clbit in self.final_clbits:
            self._live(q)
            self.final[q] = self.final_clbits[clbit]
            return
        p1 = self._one_probability(q)
        if abs(p1 - 0.5) < 1e-6:
            bit, scale = 0, math.sqrt(2.0)
        elif p1 < _TOLERANCE or p1 > 1 - _TOLERANCE:
            bit, scale = int(p1 > 0.5), 1.0
        else:
            raise UnsupportedProgram(f"a mid-circuit measurement with P(1) = {p1:.3f}")
        self.bits[clbit] = bit
        self._do(Step("drop", (q,), bit=bit, scale=scale))
        self.dead[q] = bit

    def _reset(self, q: int) -> None:
        if q in self.axes:
            p1 = self._one_probability(q)
            if _TOLERANCE < p1 < 1 - _TOLERANCE:
                raise UnsupportedProgram("a reset of an entangled qubit")
            self._do(Step("drop", (q,), bit=int(p1 > 0.5)))
        self.dead[q] = 0

    def _do(self, step: Step) -> None:
        index = len(self.steps)
        self.steps.append(step)
        self.work += 2 ** len(self.axes)
        self.widest = max(self.widest, len(self.axes) + (step.kind == "add"))
        if self.work > self.max_work:
            raise UnsupportedProgram(f"following it touches more than {self.max_work} amplitudes")
        if step.kind == "drop":
            axis = self.axes.index(step.qubits[0])
            self.kept[index] = (axis, np.take(self.state, 1 - step.bit, axis=axis))
        self.state = forward(self.state, self.axes, step)

    def distribution_of(self, probabilities: np.ndarray) -> np.ndarray:
        """The distribution over the ``meas`` register (index = integer value) of
        ``probabilities`` over the final live qubits (one axis each, as ``final_axes``)."""
        measured = [q for q in self.final_axes if q in self.final]
        rest = tuple(i for i, q in enumerate(self.final_axes) if q not in self.final)
        marginal = probabilities.sum(axis=rest) if rest else probabilities
        width = len(self.final_clbits)
        bits = [self.final[q] for q in measured]
        unwritten = [b for b in range(width) if b not in bits]  # read as 0
        padded = np.zeros((2,) * width)
        padded[(slice(None),) * len(measured) + (0,) * len(unwritten)] = marginal
        # axis i is meas bit (bits + unwritten)[i]; value = Σ bit_b·2^b: highest bit first
        order = np.argsort(bits + unwritten)[::-1]
        return np.transpose(padded, order).reshape(-1)

    # ---- backward ---------------------------------------------------------------------------

    def outcome_state(self, value: int) -> np.ndarray:
        """The ideal output projected on ``meas`` = ``value`` and normalised: the bra whose
        overlap with a shot's output gives that outcome's probability."""
        index = tuple(
            (value >> self.final[q]) & 1 if q in self.final else slice(None)
            for q in self.final_axes
        )
        projected = np.zeros_like(self.final_state)
        projected[index] = self.final_state[index]
        return projected / max(float(np.linalg.norm(projected)), 1e-300)

    def amplitudes(
        self, channels: Mapping[int, Sequence[PauliChannel]], bras: Sequence[np.ndarray]
    ) -> dict[int, list[np.ndarray | None]]:
        """Per step boundary, per channel there, the overlaps ``⟨φ_b|P|ψ⟩`` of the output
        with each final bra ``b`` (run backwards to the boundary) when Pauli ``P`` of the
        channel happens there: shape (Paulis, bras). None when a qubit of the channel is not
        live there (measured, reset, not yet used): it cannot reach the output."""
        psi, axes = self.final_state, list(self.final_axes)
        phis = [bra.copy() for bra in bras]
        out: dict[int, list[np.ndarray | None]] = {}
        for boundary in range(len(self.steps), -1, -1):
            if boundary in channels:
                out[boundary] = overlaps(psi, phis, axes, channels[boundary])
            if boundary > 0:
                psi, phis = self._backward(psi, phis, axes, boundary - 1)
        return out

    def survival(
        self, channels: Mapping[int, Sequence[PauliChannel]], bra: np.ndarray | None = None
    ) -> dict[int, list[float]]:
        """Per boundary, per channel: ``Σ_P p_P |⟨φ|P|ψ⟩|² / |⟨φ|ψ⟩|²`` (identity included),
        the share of the output's overlap with ``bra`` (default: the ideal output) that the
        channel keeps on its own."""
        bra = self.final_state if bra is None else bra
        ideal = abs(np.vdot(bra, self.final_state)) ** 2
        out: dict[int, list[float]] = {}
        for boundary, found in self.amplitudes(channels, [bra]).items():
            out[boundary] = []
            for (_, paulis), found_rows in zip(channels[boundary], found, strict=True):
                if found_rows is None:
                    out[boundary].append(1.0)
                    continue
                total = (1.0 - sum(p for _, p in paulis)) * ideal
                pairs = zip(paulis, found_rows, strict=True)
                total += sum(p * abs(row[0]) ** 2 for (_, p), row in pairs)
                out[boundary].append(min(1.0, total / max(ideal, 1e-300)))
        return out

    def _backward(
        self, psi: np.ndarray, phis: list[np.ndarray], axes: list[int], index: int
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Undo step ``index``: its inverse on ``ψ``, its adjoint on each ``φ``."""
        step = self.steps[index]
        if step.kind == "gate":
            assert step.matrix is not None
            inverse = step.matrix.conj().T
            return apply(psi, axes, step.qubits, inverse), [
                apply(phi, axes, step.qubits, inverse) for phi in phis
            ]
        if step.kind == "add":
            axis = axes.index(step.qubits[0])
            axes.pop(axis)
            return np.take(psi, step.bit, axis=axis), [
                np.take(phi, step.bit, axis=axis) for phi in phis
            ]
        axis, discarded = self.kept[index]
        axes.insert(axis, step.qubits[0])

        def halves(kept: np.ndarray, other: np.ndarray) -> np.ndarray:
            pair = [kept, other] if step.bit == 0 else [other, kept]
            return np.stack(pair, axis=axis)

        psi = halves(psi / step.scale, discarded)
        return psi, [halves(phi * step.scale, np.zeros_like(phi)) for phi in phis]
