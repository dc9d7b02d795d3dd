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


def affordable_trajectories(
    sim: BranchSimulation,
    relaxations: Mapping[int, Sequence[Relaxation]],
    max_work: int = MAX_TRAJECTORY_WORK,
) -> int:
    """How many trajectories the work and memory bounds allow (capped at the maximum): a
    trajectory touches what the forward pass does, and each relaxation three times the
    state it acts on."""
    live, work = 0, sim.work
    for boundary in range(len(sim.steps) + 1):
        work += 3 * len(relaxations.get(boundary, ())) * 2**live
        if boundary < len(sim.steps):
            live += {"add": 1, "drop": -1}.get(sim.steps[boundary].kind, 0)
    by_work = max_work // max(1, work)
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
    ``Σ_b |⟨b|ψ⟩|²`` over ``bras`` (shaped like ``sim.final_state``).

    Stratified on whether any Pauli error happens (probability ``1 − P₀``, known): the
    error-free stratum needs one trajectory when nothing else is random, and the other
    draws its first error's channel from its exact distribution, so the mean does not
    carry the binomial noise of how many trajectories stayed error-free."""
    rng = np.random.default_rng(seed)
    errors = _error_probabilities(sim, channels)
    clean = float(np.prod(1.0 - errors))  # P₀
    if clean >= 1.0 - 1e-15:  # nothing to stratify
        kept = trajectories
    else:
        kept = max(1, round(trajectories * clean)) if relaxations else 1
        kept = min(kept, trajectories - 1)
    first = np.full(trajectories, len(errors))  # the stratum without errors: none
    if kept < trajectories:
        before = np.concatenate([[1.0], np.cumprod(1.0 - errors)[:-1]])
        weights = before * errors / (1.0 - clean)
        first[kept:] = rng.choice(len(errors), size=trajectories - kept, p=weights / weights.sum())
    state = np.ones(trajectories, dtype=complex)
    axes, index = [_BATCH], 0
    for boundary, step in enumerate([*sim.steps, None]):
        for q, gamma, coherence in relaxations.get(boundary, ()):
            if q in axes:
                state = _relax(state, axes, q, gamma, coherence, rng)
        for qubits, paulis in channels.get(boundary, ()):
            if all(q in axes for q in qubits):
                draw = rng.random(trajectories)
                draw = np.where(first > index, 1.0, draw)  # before the first error: none
                draw = np.where(first == index, draw * errors[index], draw)  # there: one
                state = _pauli_channel(state, axes, qubits, paulis, draw)
                index += 1
        if step is not None:
            state = forward(state, axes, step)
    order = [0] + [axes.index(q) for q in sim.final_axes]
    flat = np.transpose(state, order).reshape(trajectories, -1)
    flat = flat / np.maximum(np.linalg.norm(flat, axis=1), 1e-300)[:, None]
    shares = np.where(np.arange(trajectories) < kept, clean / kept, 0.0)
    if kept < trajectories:
        shares[kept:] = (1.0 - clean) / (trajectories - kept)
    mean = shares @ (np.abs(flat) ** 2)
    stacked = np.array([bra.ravel() for bra in bras])
    success = float(shares @ np.sum(np.abs(flat @ stacked.conj().T) ** 2, axis=1))
    return sim.distribution_of(mean.reshape(sim.final_state.shape)), success


def _error_probabilities(
    sim: BranchSimulation, channels: Mapping[int, Sequence[PauliChannel]]
) -> np.ndarray:
    """Per channel that acts (its qubits live), in the order applied: ``Σp``."""
    live: set[int] = set()
    found: list[float] = []
    for boundary in range(len(sim.steps) + 1):
        for qubits, paulis in channels.get(boundary, ()):
            if all(q in live for q in qubits):
                found.append(sum(p for _, p in paulis))
        if boundary < len(sim.steps):
            step = sim.steps[boundary]
            if step.kind == "add":
                live.add(step.qubits[0])
            elif step.kind == "drop":
                live.discard(step.qubits[0])
    return np.array(found)


def _pauli_channel(
    state: np.ndarray,
    axes: list[int],
    qubits: tuple[int, ...],
    paulis: Sequence[tuple[str, float]],
    draw: np.ndarray,
) -> np.ndarray:
    """Per trajectory the Pauli whose probability interval holds its ``draw`` (none past
    them all)."""
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
    else ``diag(1, √(1−γ))``, then Z with the dephasing beyond it. Trajectories are not
    renormalised here (``P(1)`` is taken relative to the norm; the end normalises)."""
    axis = axes.index(q)
    zero = (slice(None),) * axis + (0,)
    one = (slice(None),) * axis + (1,)
    weights = np.abs(state.reshape(state.shape[0], -1)) ** 2
    ones = (np.abs(state[one]) ** 2).reshape(state.shape[0], -1).sum(axis=1)
    jump = rng.random(state.shape[0]) < gamma * ones / np.maximum(weights.sum(axis=1), 1e-300)
    undamped = np.sqrt(max(1.0 - gamma, 0.0))
    flip = max(0.0, (1.0 - coherence / undamped) / 2) if undamped > 0 else 0.0
    factor = np.where(rng.random(state.shape[0]) < flip, -undamped, undamped)
    if jump.any():
        jumped_zero, jumped_one = (jump, *zero[1:]), (jump, *one[1:])
        state[jumped_zero] = state[jumped_one]
    factor[jump] = 0.0
    state[one] *= factor.reshape((-1,) + (1,) * (state.ndim - 2))
    return state
