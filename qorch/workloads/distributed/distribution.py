"""Comparing output distributions (counts or probabilities): pure, shared by the
simulator, its tests and the results report."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence


def marginal(counts: Mapping[str, int], clbits: Sequence[int], num_clbits: int) -> dict[str, int]:
    """Counts over ``clbits`` only (Qiskit order: the first listed clbit rightmost)."""
    out: Counter[str] = Counter()
    for key, count in counts.items():
        bits = key.zfill(num_clbits)
        out["".join(bits[num_clbits - 1 - c] for c in reversed(clbits))] += count
    return dict(sorted(out.items()))


def _probabilities(counts: Mapping[str, float]) -> dict[str, float]:
    total = float(sum(counts.values()))
    if total <= 0:
        raise ValueError("empty distribution")
    return {key: value / total for key, value in counts.items()}


def total_variation_distance(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """½ Σ |p − q| over outcomes; counts or probabilities (normalised first)."""
    pp, qq = _probabilities(p), _probabilities(q)
    return 0.5 * sum(abs(pp.get(k, 0.0) - qq.get(k, 0.0)) for k in set(pp) | set(qq))


def classical_fidelity(p: Mapping[str, float], q: Mapping[str, float]) -> float:
    """Bhattacharyya fidelity (Σ √(p·q))² of two distributions (counts or probabilities)."""
    pp, qq = _probabilities(p), _probabilities(q)
    return sum(math.sqrt(pp[k] * qq[k]) for k in set(pp) & set(qq)) ** 2


def tvd_noise_floor(
    counts: Mapping[str, int], shots: int, draws: int = 200, seed: int = 0
) -> float:
    """The TVD two independent ``shots``-shot samples of ``counts``' distribution show on
    average: what shot noise alone puts between a distributed run and its monolithic
    reference (a TVD near it is noise, not error). Seeded, so reports are reproducible."""
    import numpy as np

    keys = sorted(counts)
    p = np.array([counts[key] for key in keys], dtype=float)
    p /= p.sum()
    rng = np.random.default_rng(seed)
    a = rng.multinomial(shots, p, size=draws) / shots
    b = rng.multinomial(shots, p, size=draws) / shots
    return float(np.mean(0.5 * np.abs(a - b).sum(axis=1)))
