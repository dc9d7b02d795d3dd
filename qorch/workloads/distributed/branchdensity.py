"""The output distribution of a distributed program under all of its Pauli channels at
once: a density matrix followed along the same branch as
:class:`~qorch.workloads.distributed.sensitivity.BranchSimulation` (pure numpy).

Every mid-circuit measurement of a lowered program is uniformly random and corrected for,
and a Pauli error keeps it so, so each pattern of errors gives the same output on every
branch; the mixture over patterns then does too, and projecting ``ρ`` on the branch the
forward pass fixed (×2 per uniform measurement) follows it exactly. Each channel is applied
where it acts, ``ρ → (1 − Σp)·ρ + Σ p·PρP†``, so errors compose as they do on the device —
two that undo each other, an error whose shots land on other ideal outcomes, many errors in
one shot — with none of the per-channel model's assumptions (independent channels, failed
shots spread uniformly). It costs ``4^live`` per step where the statevector pass costs
``2^live``, so :func:`density_work` bounds it; a program over the bound keeps the
per-channel model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from qorch.workloads.distributed.branchkernels import PauliChannel, apply
from qorch.workloads.distributed.sensitivity import BranchSimulation, UnsupportedProgram

MAX_DENSITY_WORK = 2**26
"""Density-matrix entries touched (Σ over steps and Pauli terms of ``4^live``) at most: a
bound on work, not wall time (about a second), so every machine gives the same answer.
A 6-qubit circuit on 3 QPUs (9 qubits live) needs about 2^24."""


Relaxation = tuple[int, float, float]
"""Amplitude damping then dephasing on a qubit: ``(qubit, γ = 1 − e^{−t/T1}, e^{−t/T2})``,
``ρ₁₁ → (1 − γ)ρ₁₁``, ``ρ₀₀ → ρ₀₀ + γρ₁₁``, ``ρ₀₁ → e^{−t/T2}ρ₀₁`` (Aer's thermal relaxation
with no excited-state population)."""


TRACE_TOLERANCE = 1e-6


def density_work(
    sim: BranchSimulation,
    channels: Mapping[int, Sequence[PauliChannel]],
    relaxations: Mapping[int, Sequence[Relaxation]] | None = None,
) -> int:
    """Entries :func:`final_density` touches for ``sim`` under these channels."""
    live, work = 0, 0
    for boundary in range(len(sim.steps) + 1):
        for _, paulis in channels.get(boundary, ()):
            work += (len(paulis) + 1) * 4**live
        work += 2 * len((relaxations or {}).get(boundary, ())) * 4**live
        if boundary < len(sim.steps):
            kind = sim.steps[boundary].kind
            live += {"add": 1, "drop": -1}.get(kind, 0)
            work += 4**live
    return work


def final_density(
    sim: BranchSimulation,
    channels: Mapping[int, Sequence[PauliChannel]],
    relaxations: Mapping[int, Sequence[Relaxation]] | None = None,
) -> np.ndarray:
    """The output density matrix (over ``sim.final_axes``, first most significant, as
    ``sim.final_state`` flattened) with every channel acting. Raises
    :class:`~qorch.workloads.distributed.sensitivity.UnsupportedProgram` when a relaxation
    leaves a mid-circuit outcome no longer uniform (the branch followed no longer stands
    for the others)."""
    rho = np.ones((), dtype=complex)
    labels: list[int] = []  # qubit q: ket axis q, bra axis ~q
    for boundary, step in enumerate([*sim.steps, None]):
        for q, gamma, coherence in (relaxations or {}).get(boundary, ()):
            if q in labels:
                rho = _relax(rho, labels, q, gamma, coherence)
        for qubits, paulis in channels.get(boundary, ()):
            if all(q in labels for q in qubits):
                rho = _channel(rho, labels, qubits, paulis)
        if step is None:
            break
        q = step.qubits[0]
        if step.kind == "gate":
            assert step.matrix is not None
            rho = apply(rho, labels, step.qubits, step.matrix)
            rho = apply(rho, labels, [~q for q in step.qubits], step.matrix.conj())
        elif step.kind == "add":
            basis = np.zeros(2, dtype=complex)
            basis[step.bit] = 1.0
            rho = np.multiply.outer(np.multiply.outer(rho, basis), basis)
            labels += [q, ~q]
        else:  # drop: project ket and bra on the branch's bit
            ket, bra = labels.index(q), labels.index(~q)
            for axis in sorted((ket, bra), reverse=True):
                rho = np.take(rho, step.bit, axis=axis)
                labels.pop(axis)
            rho = rho * step.scale**2
            if abs(_trace(rho, labels) - 1.0) > TRACE_TOLERANCE:
                raise UnsupportedProgram("a mid-circuit outcome made non-uniform by relaxation")
    kets = [labels.index(q) for q in sim.final_axes]
    bras = [labels.index(~q) for q in sim.final_axes]
    size = 2 ** len(kets)
    return np.transpose(rho, kets + bras).reshape(size, size)


def distribution(sim: BranchSimulation, density: np.ndarray) -> np.ndarray:
    """The distribution over the ``meas`` register (as ``sim.ideal_probabilities``)."""
    diagonal = np.clip(np.real(np.diagonal(density)), 0.0, None)
    return sim.distribution_of(diagonal.reshape((2,) * len(sim.final_axes)))


def _trace(rho: np.ndarray, labels: list[int]) -> float:
    kets = [labels.index(q) for q in labels if q >= 0]
    bras = [labels.index(~q) for q in labels if q >= 0]
    size = 2 ** len(kets)
    return float(np.real(np.trace(np.transpose(rho, kets + bras).reshape(size, size))))


def _relax(rho: np.ndarray, labels: list[int], q: int, gamma: float, coherence: float):
    """Thermal relaxation of qubit ``q`` (see :data:`Relaxation`)."""
    ket, bra = labels.index(q), labels.index(~q)
    index: list[slice | int] = [slice(None)] * rho.ndim
    out = rho.copy()

    def at(a: int, b: int) -> tuple[slice | int, ...]:
        index[ket], index[bra] = a, b
        return tuple(index)

    out[at(0, 0)] += gamma * rho[at(1, 1)]
    out[at(1, 1)] *= 1.0 - gamma
    out[at(0, 1)] *= coherence
    out[at(1, 0)] *= coherence
    return out


def _channel(
    rho: np.ndarray, labels: list[int], qubits: tuple[int, ...], paulis: Sequence[tuple[str, float]]
) -> np.ndarray:
    out = rho * (1.0 - sum(p for _, p in paulis))
    for label, p in paulis:
        out += p * _conjugated(rho, labels, qubits, label)
    return out


def _conjugated(
    rho: np.ndarray, labels: list[int], qubits: Sequence[int], label: str
) -> np.ndarray:
    """``PρP†`` for the Pauli string ``label`` on ``qubits`` (Y = iXZ: its phases cancel)."""
    term = rho
    for letter, q in zip(label, qubits, strict=True):
        axes = (labels.index(q), labels.index(~q))
        if letter in "ZY":
            shape = [1] * rho.ndim
            for axis in axes:
                shape[axis] = 2
            sign = np.array([1.0, -1.0])
            term = term * np.multiply.outer(sign, sign).reshape(shape)
        if letter in "XY":
            term = np.flip(term, axis=axes)
    return term
