"""The layered two-QPU planner's side choices for one placement and layer, and their scores.

A choice puts each *variable* block of the layer (every block in the first layer, a
split block later) on one side, and each *idle* qubit offered to balance the nodes on
one side: a row of bits, one per group of qubits that move together. Rows are drawn
in batches (:func:`side_choices`) and scored without building each colouring
(:func:`choice_scores`): the qubits moved and the split blocks of the next layers are
a constant, plus a linear term in the bits, plus one product of two bits for each next
block whose two qubits both belong to groups. The counts are small integers, summed
exactly, so the scores are the same on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np


@dataclass(frozen=True)
class Choices:
    """Rows of side bits for the groups of one placement's qubits."""

    bits: np.ndarray  # (rows, groups) int8: the side of each group
    qubits: np.ndarray  # the grouped qubits
    group: np.ndarray  # each of those qubits' group

    def colouring(self, col: np.ndarray, row: int) -> np.ndarray:
        """``col`` with row ``row``'s sides applied."""
        out = col.copy()
        out[self.qubits] = self.bits[row, self.group]
        return out


def side_choices(
    col: np.ndarray,
    pairs: np.ndarray,
    var: np.ndarray,
    caps: np.ndarray,
    rng: np.random.Generator,
    options: int,
    idle: np.ndarray | None = None,
) -> Choices:
    """Choices with each ``var`` block on one side (and ``idle`` qubits free), in capacity."""
    idle = np.zeros(0, dtype=np.int64) if idle is None else idle
    m, i = len(var), len(idle)
    qubits = np.concatenate([pairs[var, 0], pairs[var, 1], idle]).astype(np.int64)
    group = np.concatenate([np.arange(m), np.arange(m), m + np.arange(i)]).astype(np.int64)
    if not m and not i:
        return Choices(np.zeros((1, 0), dtype=np.int8), qubits, group)
    rest = np.ones(len(col), dtype=bool)
    rest[qubits] = False
    base = np.bincount(col[rest], minlength=2)
    budget = max(1, options >> i)
    out = []
    for word in range(1 << i):
        ids = np.array([(word >> j) & 1 for j in range(i)], dtype=np.int8)
        u = int(ids.sum())
        # side 1 holds base[1] + 2·ones + u qubits, side 0 base[0] + 2·(m − ones) + i − u
        lo = max(0, -(-(int(base[0]) + 2 * m + i - u - int(caps[0])) // 2))
        hi = (int(caps[1]) - int(base[1]) - u) // 2
        sides = _choices(m, lo, hi, rng, budget)
        if len(sides):
            out.append(np.concatenate([sides, np.repeat(ids[None, :], len(sides), 0)], axis=1))
    bits = np.concatenate(out) if out else np.zeros((0, m + i), dtype=np.int8)
    return Choices(bits, qubits, group)


def _choices(m: int, lo: int, hi: int, rng: np.random.Generator, budget: int) -> np.ndarray:
    """Rows of 0/1 (side per variable block) with between ``lo`` and ``hi`` ones.

    All of them when there are at most ``budget``; else ``budget`` rows drawn uniformly
    (a count of ones weighted by how many rows have it, then that many blocks at random),
    repeats dropped (ordered by their bits as an integer). One batch of numpy calls per
    call: drawing row by row made ``rng.choice`` the planner's main cost (665 000 calls
    at 64 qubits on 2 QPUs).
    """
    counts = list(range(max(lo, 0), min(hi, m) + 1))
    sizes = [math.comb(m, t) for t in counts]
    total = sum(sizes)
    if total == 0:
        return np.zeros((0, m), dtype=np.int8)
    if total <= budget:
        rows = np.zeros((total, m), dtype=np.int8)
        at = 0
        for t, size in zip(counts, sizes, strict=True):
            if t:
                ones = np.array(list(combinations(range(m), t)), dtype=np.int64)
                rows[np.arange(at, at + size)[:, None], ones] = 1
            at += size
        return rows
    weights = np.array(sizes, dtype=float)
    ts = rng.choice(np.asarray(counts), size=budget, p=weights / weights.sum())
    # a uniformly random subset of t blocks: the t smallest of m uniform draws
    draws = rng.random((budget, m))
    kth = np.sort(draws, axis=1)[np.arange(budget), np.maximum(ts - 1, 0)]
    rows = ((draws <= kth[:, None]) & (ts[:, None] > 0)).astype(np.int8)
    if m > 62:  # 2^62 rows or more: repeats are too rare to be worth a row sort
        return rows
    keys = rows.astype(np.int64) @ (np.int64(1) << np.arange(m, dtype=np.int64))
    _, first = np.unique(keys, return_index=True)
    return rows[first]


def choice_scores(
    col: np.ndarray, choices: Choices, ahead: Sequence[np.ndarray], weights: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Per row: qubits moved from ``col``, and the weighted split blocks of ``ahead``."""
    c = col.astype(np.int64)
    groups = choices.bits.shape[1]
    src = np.full(len(col), -1, dtype=np.int64)
    src[choices.qubits] = choices.group
    layers = min(len(ahead), len(weights))
    # a bit b of group g against a fixed colour x differs by x + (1 − 2x)·b
    linear = np.zeros((groups, 1 + layers))
    const = np.zeros(1 + layers)
    np.add.at(linear[:, 0], choices.group, 1 - 2 * c[choices.qubits])
    const[0] = c[choices.qubits].sum()
    quad_a, quad_b, quad_layer = [], [], []
    for e in range(layers):
        x, y = ahead[e][:, 0], ahead[e][:, 1]
        sx, sy = src[x], src[y]
        fixed = (sx < 0) & (sy < 0)
        const[1 + e] += np.count_nonzero(c[x[fixed]] != c[y[fixed]])
        for s_one, s_other, other in ((sx, sy, y), (sy, sx, x)):
            half = (s_one >= 0) & (s_other < 0)
            np.add.at(linear[:, 1 + e], s_one[half], 1 - 2 * c[other[half]])
            const[1 + e] += c[other[half]].sum()
        # two groups: b + b' − 2·b·b' (one group for both qubits: never split)
        both = (sx >= 0) & (sy >= 0) & (sx != sy)
        np.add.at(linear[:, 1 + e], sx[both], 1)
        np.add.at(linear[:, 1 + e], sy[both], 1)
        quad_a.append(sx[both])
        quad_b.append(sy[both])
        quad_layer.append(np.full(int(both.sum()), 1 + e))
    bits = choices.bits
    counts = const + bits.astype(np.float64) @ linear  # small integers: exact in any order
    if layers:
        qa, qb, ql = map(np.concatenate, (quad_a, quad_b, quad_layer))
        if len(qa):
            onehot = np.zeros((len(qa), 1 + layers))
            onehot[np.arange(len(qa)), ql] = 2.0
            counts -= (bits[:, qa] & bits[:, qb]).astype(np.float64) @ onehot
    h = np.zeros(len(bits))
    for e in range(layers):
        h += weights[e] * counts[:, 1 + e]
    return counts[:, 0], h
