"""Combine a program's Pauli channels into what a shot keeps of each ideal outcome (pure):
the per-channel model of :mod:`~qorch.workloads.distributed.estimate`, for a program too
wide for its density matrix and for sampled trajectories.

Two errors that leave the same output — a Z on either half of a Bell pair, on a qubit or
its cat copy, or on a qubit before and after a diagonal gate — undo each other when both
happen: the output after an error ``E`` is ``U E U†`` applied to the ideal output, an
involution, so ``E₁ψ = E₂ψ`` gives ``E₁E₂ψ = ψ``. Counted as independent failures they
charge a long wait twice (with T2 = 50 ms on the ions plan: 0.12 against 0.15 measured).
So every error is fingerprinted by its overlaps with the bras followed and with a few
seeded random probes (equal fingerprints: the same output, up to a global phase), errors
with equal fingerprints form one class that is *on* when an odd number of them happen,
``π = (1 − ∏(1 − 2p_i))/2``, and the classes multiply as independent channels.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from qorch.workloads.distributed.sensitivity import BranchSimulation, PauliChannel

PROBES = 1
"""Random probe bras in a fingerprint: two outputs that differ are told apart by one, but for
a measure-zero set of probes (and the followed bras take part too)."""
DIGITS = 6
"""Fingerprint overlaps (of order 1) are compared to this many decimals."""

Fingerprint = tuple[int, ...]


def kept_shares(
    sim: BranchSimulation,
    channels: Mapping[int, Sequence[PauliChannel]],
    bras: Sequence[np.ndarray],
) -> np.ndarray:
    """Per bra ``b``: the share of ``|⟨b|ψ_ideal⟩|²`` that a shot's output keeps under all
    of ``channels`` (for an outcome's bra, ``q(x)/p(x)``)."""
    rng = np.random.default_rng(0)
    shape = sim.final_state.shape
    probes = [
        (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
        for _ in range(PROBES)
    ]  # entries of variance 1: overlaps with a unit vector of order 1
    followed = [*bras, *probes]
    base = np.array([np.vdot(bra, sim.final_state) for bra in followed])
    harmless = _fingerprint(base, len(bras))
    parity: dict[Fingerprint, float] = {}  # class -> ∏(1 − 2p) over its errors
    effect: dict[Fingerprint, np.ndarray] = {}
    for boundary, overlaps in sim.amplitudes(channels, followed).items():
        for (_, paulis), rows in zip(channels[boundary], overlaps, strict=True):
            if rows is None:  # on a qubit that no longer (or not yet) matters
                continue
            for (_, p), row in zip(paulis, rows, strict=True):
                key = _fingerprint(row, len(bras))
                if key == harmless:
                    continue
                parity[key] = parity.get(key, 1.0) * (1.0 - 2.0 * p)
                effect[key] = row[: len(bras)]
    ideal = np.abs(base[: len(bras)]) ** 2
    log_kept = np.zeros(len(bras))
    for key, product in parity.items():
        on = (1.0 - product) / 2.0
        share = np.abs(effect[key]) ** 2 / np.maximum(ideal, 1e-300)
        log_kept += np.log(np.maximum(1.0 - on + on * share, 1e-300))
    return np.minimum(1.0, np.exp(log_kept))


def _fingerprint(row: np.ndarray, first_probe: int) -> Fingerprint:
    """``row`` up to a global phase (fixed by the first probe's overlap), rounded."""
    anchor = row[first_probe] if abs(row[first_probe]) > 1e-9 else row[np.argmax(np.abs(row))]
    if abs(anchor) <= 1e-300:
        return ()
    aligned = row * (abs(anchor) / anchor)
    scaled = np.concatenate([aligned.real, aligned.imag]) * 10**DIGITS
    return tuple(int(v) for v in np.rint(scaled))
