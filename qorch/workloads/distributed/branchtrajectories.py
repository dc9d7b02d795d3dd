"""The output distribution of a distributed program under its error channels, sampled: a
batch of statevector trajectories along the branch that
:class:`~qorch.workloads.distributed.sensitivity.BranchSimulation` fixes (pure numpy, seeded).

For a program too wide for :mod:`~qorch.workloads.distributed.branchdensity` (its density
matrix costs ``4^live`` per step) whose ideal distribution is broad, so the per-channel
model's assumptions (independent channels, failed shots spread uniformly, a harmed state
counted as lost) are at their weakest. Each trajectory draws one Pauli per channel, and
unravels each relaxation into a jump to |0⟩ or not (with the state's own probabilities) and
a phase flip; the trajectories' distributions, each exact for its draw, average to the
mixture's. A trajectory costs what the forward pass does (``2^live`` per step), all run at
once as one batch axis; their number is bounded by work and memory, not wall time, and the
generator is seeded, so every machine gives the same answer. The spread of the mean is
``O(1/√N)`` in each outcome's probability, far below the shots a user runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from qorch.workloads.distributed.branchdensity import Relaxation
from qorch.workloads.distributed.branchkernels import PauliChannel, apply, forward, pauli
from qorch.workloads.distributed.sensitivity import BranchSimulation

MAX_TRAJECTORIES = 2000
"""Trajectories at most: the mean's spread is then about 0.01 or less in the fidelity."""
MIN_TRAJECTORIES = 400
"""Fewer affordable than this: no sampled estimate (the per-channel model stands)."""
MAX_TRAJECTORY_WORK = 2**27
"""Amplitudes touched by all trajectories together (N × the forward pass's work) at most."""
MAX_TRAJECTORY_AMPLITUDES = 2**22
"""Amplitudes held at once (N × 2^widest; 64 MiB of complex128)."""
_BATCH = -1  # the axis label of the trajectory index (qubit labels are ≥ 0)


def affordable_trajectories(sim: BranchSimulation, max_work: int = MAX_TRAJECTORY_WORK) -> int:
    """How many trajectories the work and memory bounds allow (capped at the maximum)."""
    by_work = max_work // max(1, sim.work)
    by_memory = MAX_TRAJECTORY_AMPLITUDES // 2**sim.widest
    return int(min(MAX_TRAJECTORIES, by_work, by_memory))


def sampled_outputs(
    sim: BranchSimulation,
    channels: Mapping[int, Sequence[PauliChannel]],
    relaxations: Mapping[int, Sequence[Relaxation]],
    bras: Sequence[np.ndarray],
    trajectories: int,
    seed: int = 0,
) -> tuple[np.ndarray, float]:
    """Over ``trajectories`` seeded trajectories: the mean output distribution over the
    ``meas`` register (indexed like ``sim.ideal_probabilities``), and the mean of
    ``Σ_b |⟨b|ψ⟩|²`` over ``bras`` (shaped like ``sim.final_state``)."""
    rng = np.random.default_rng(seed)
    state = np.ones(trajectories, dtype=complex)
    axes = [_BATCH]
    for boundary, step in enumerate([*sim.steps, None]):
        for q, gamma, coherence in relaxations.get(boundary, ()):
            if q in axes:
                state = _relax(state, axes, q, gamma, coherence, rng)
        for qubits, paulis in channels.get(boundary, ()):
            if all(q in axes for q in qubits):
                state = _pauli_channel(state, axes, qubits, paulis, rng)
        if step is not None:
            state = forward(state, axes, step)
    order = [0] + [axes.index(q) for q in sim.final_axes]
    flat = np.transpose(state, order).reshape(trajectories, -1)
    flat = flat / np.maximum(np.linalg.norm(flat, axis=1), 1e-300)[:, None]
    mean = (np.abs(flat) ** 2).mean(axis=0).reshape(sim.final_state.shape)
    stacked = np.array([bra.ravel() for bra in bras])
    success = float(np.sum(np.abs(flat @ stacked.conj().T) ** 2) / trajectories)
    return sim.distribution_of(mean), success


def _pauli_channel(
    state: np.ndarray,
    axes: list[int],
    qubits: tuple[int, ...],
    paulis: Sequence[tuple[str, float]],
    rng: np.random.Generator,
) -> np.ndarray:
    draw = rng.random(state.shape[0])
    low = 0.0
    for label, p in paulis:
        hit = np.flatnonzero((draw >= low) & (draw < low + p))
        low += p
        if hit.size:
            state[hit] = apply(state[hit], axes, qubits, pauli(label))
    return state


def _relax(
    state: np.ndarray,
    axes: list[int],
    q: int,
    gamma: float,
    coherence: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """One relaxation per trajectory: a jump ``|1⟩ → |0⟩`` with probability ``γ·P(1)``,
    else ``diag(1, √(1−γ))`` renormalised; then Z with the dephasing beyond it."""
    axis = axes.index(q)
    moved = np.moveaxis(state, axis, 1).copy()
    weights = np.abs(moved.reshape(moved.shape[0], 2, -1)) ** 2
    one = weights[:, 1].sum(axis=1) / np.maximum(weights.sum(axis=(1, 2)), 1e-300)
    jump = rng.random(state.shape[0]) < gamma * one
    moved[jump, 0], moved[jump, 1] = moved[jump, 1], 0.0
    moved[~jump, 1] *= np.sqrt(1.0 - gamma)
    norms = np.sqrt(np.sum(np.abs(moved.reshape(moved.shape[0], -1)) ** 2, axis=1))
    moved /= np.maximum(norms, 1e-300).reshape((-1,) + (1,) * (moved.ndim - 1))
    undamped = np.sqrt(max(1.0 - gamma, 0.0))
    flip = (1.0 - coherence / undamped) / 2 if undamped > 0 else 0.0
    flipped = rng.random(state.shape[0]) < max(0.0, flip)
    moved[flipped, 1] *= -1.0
    return np.moveaxis(moved, 1, axis)
