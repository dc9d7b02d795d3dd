"""Teleportation planning: move qubits between nodes mid-circuit when it saves EPR pairs.

A greedy sweep over the two-qubit ops in circuit order. At each cross-node op it
weighs moving one of its qubits to the other's node (one EPR pair, into a free data
slot) or swapping it with a qubit of that node that gains from the opposite move (two
pairs, one batch) against leaving the op to cat-entanglement. Candidates are ranked
by a cheap per-qubit proxy over the qubit's next ops and accepted only when the exact
cat-entanglement cover of a window of ops around the move, plus the teleportation
pairs, drops. Capacities hold at every op; the caller compares the result with the
static plan under the exact global cost.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qorch.workloads.distributed.effort import Effort, Work, effort_named
from qorch.workloads.distributed.refine import (
    SMALL_GRAPH_EDGES,
    Gates,
    Teleport,
    cover_size,
    pair_counts,
    small_matching_size,
    weighted_cost,
)

Move = tuple[int, int]  # (qubit, destination node)
# (horizon, span per qubit, slack): settings tried by :func:`best_teleports`
SETTINGS = ((4, 0.5, 0.0), (4, 1.5, 0.0), (8, 0.5, 0.0), (6, 0.5, -3.0), (8, 1.5, -3.0))


def batch_comm_peak(batch: Sequence[Teleport], k: int) -> list[int]:
    """Comm qubits each node needs at once to lower ``batch`` (teleports sharing ``at``).

    Lowering runs the batch's Bell measurements in order, each borrowing one comm qubit
    at the source and parking the state in one at the target until all are done.
    """
    held, peak = [0] * k, [0] * k
    for t in batch:
        held[t.source] += 1
        held[t.target] += 1
        peak[t.source] = max(peak[t.source], held[t.source])
        peak[t.target] = max(peak[t.target], held[t.target])
        held[t.source] -= 1
    return peak


@dataclass
class _Sweep:
    """The plan so far: node and segment key of both qubits of every gate."""

    gates: Gates
    costs: np.ndarray
    na: np.ndarray
    nb: np.ndarray
    ka: np.ndarray
    kb: np.ndarray
    cur: np.ndarray
    load: np.ndarray
    positions: list[list[int]]  # per qubit: gate positions touching it, ascending
    fresh: int  # next unused segment key
    horizon: int  # per-qubit lookahead, in that qubit's gates
    window_gates: int = 0  # gates in the exact windows weighed so far

    def proxies(self, q: int, pos: int, nodes: Sequence[int]) -> list[float]:
        """Cat cost of ``q``'s next gates if it sat on each of ``nodes``: its distinct
        (segment, far node) pairs over the horizon, the far node not that node.

        Plain Python over the few gates of the horizon: numpy's per-call overhead made
        this the sweep's main cost (260 000 calls at 128 qubits).
        """
        ps = self.positions[q]
        start = bisect_left(ps, pos)
        a, na, nb, ka, kb = self.gates.a, self.na, self.nb, self.ka, self.kb
        seen: set[tuple[int, int]] = set()
        for p in ps[start : start + self.horizon]:
            seen.add((int(ka[p]), int(nb[p])) if a[p] == q else (int(kb[p]), int(na[p])))
        fars = sorted(far for _, far in seen)
        return [float(sum(self.costs[node, f] for f in fars if f != node)) for node in nodes]

    def apply(self, moves: Sequence[Move], pos: int) -> None:
        """Re-home the moved qubits for gates from ``pos`` on, with fresh segment keys."""
        arrays = (self.na, self.nb, self.ka, self.kb)
        self.fresh = _rehome(self.gates.a, self.gates.b, arrays, moves, pos, self.fresh)

    def window_cost(self, moves: Sequence[Move], pos: int, span: int) -> float:
        """Exact cat cover of the gates within ``span`` of ``pos``, after ``moves``, plus moves."""
        lo, hi = max(0, pos - span), min(len(self.na), pos + span)
        self.window_gates += hi - lo
        arrays = tuple(x[lo:hi].copy() for x in (self.na, self.nb, self.ka, self.kb))
        if moves:
            a, b = self.gates.a[lo:hi], self.gates.b[lo:hi]
            _rehome(a, b, arrays, moves, pos - lo, self.fresh)
        total = sum(float(self.costs[self.cur[q], d]) for q, d in moves)
        na, nb, ka, kb = arrays
        return total + _cover_cost(na, nb, ka, kb, self.costs)


def _rehome(
    a: np.ndarray,
    b: np.ndarray,
    arrays: tuple[np.ndarray, ...],
    moves: Sequence[Move],
    start: int,
    fresh: int,
) -> int:
    """Set node ``dest`` and new keys (from ``fresh``, past every key in use) on moved
    qubits' gates from ``start``; returns the next unused key."""
    na, nb, ka, kb = arrays
    for q, dest in moves:
        hit_a = np.nonzero(a[start:] == q)[0] + start
        hit_b = np.nonzero(b[start:] == q)[0] + start
        if not len(hit_a) and not len(hit_b):
            continue
        na[hit_a], nb[hit_b] = dest, dest
        # the qubit's keys shifted past every key in use: equal stay equal, no others
        low = min(ka[hit_a].min(initial=fresh), kb[hit_b].min(initial=fresh))
        high = max(ka[hit_a].max(initial=low), kb[hit_b].max(initial=low))
        ka[hit_a] += fresh - low
        kb[hit_b] += fresh - low
        fresh += int(high - low) + 1
    return fresh


def _cover_cost(
    na: np.ndarray, nb: np.ndarray, ka: np.ndarray, kb: np.ndarray, costs: np.ndarray
) -> float:
    """Weighted minimum cat cover of the cross gates among the given ones.

    One pass in plain Python over the window's cross gates, grouped by node pair: a
    window holds a few hundred gates, where numpy's per-pair masks cost more than the work.
    """
    cross = np.nonzero(na != nb)[0]
    if not len(cross):
        return 0.0
    edges: dict[tuple[int, int], tuple[list[int], list[int]]] = {}
    rows = (x[cross].tolist() for x in (na, nb, ka, kb))
    for u, v, x, y in zip(*rows, strict=True):
        if u < v:
            left, right = edges.setdefault((u, v), ([], []))
            left.append(x)
            right.append(y)
        else:
            left, right = edges.setdefault((v, u), ([], []))
            left.append(y)
            right.append(x)
    total = 0.0
    for (u, v), (left, right) in sorted(edges.items()):
        if len(left) > SMALL_GRAPH_EDGES:
            size = cover_size(np.array(left), np.array(right))
        else:
            size = small_matching_size(left, right)
        total += size * float(costs[u, v])
    return total


def plan_teleports(
    gates: Gates,
    assign: np.ndarray,
    capacities: Sequence[int],
    comm: Sequence[int],
    costs: np.ndarray,
    *,
    horizon: int = 4,
    span: int = 0,
    slack: float = 0.0,
    max_gates: int | None = None,
    max_window_gates: int | None = None,
    work: Work | None = None,
) -> list[Teleport]:
    """Teleportations that lower the EPR cost of ``assign`` by the greedy sweep above.

    ``horizon``: lookahead in a qubit's own gates for the proxy; ``span``: half-width in
    gates of the exact window (default: twice the qubit count); ``slack``: proxy gain
    above which a move is weighed exactly (lower = more candidates); ``max_gates``: cross
    gates weighed at most, ``max_window_gates``: gates in exact windows at most (later
    cross gates are left to cat-entanglement).
    """
    n = len(assign)
    stride = int(max(gates.seg_a.max(initial=0), gates.seg_b.max(initial=0))) + 1
    sweep = _Sweep(
        gates,
        costs,
        assign[gates.a].copy(),
        assign[gates.b].copy(),
        gates.seg_a.copy(),
        gates.seg_b.copy(),
        assign.copy(),
        np.bincount(assign, minlength=len(capacities)),
        [np.nonzero((gates.a == q) | (gates.b == q))[0].tolist() for q in range(n)],
        stride,
        horizon,
    )
    span = span or 2 * n
    caps = np.asarray(capacities)
    plan: list[Teleport] = []
    weighed = 0
    for pos in range(len(gates.index)):
        if sweep.na[pos] == sweep.nb[pos]:
            continue
        if max_gates is not None and weighed >= max_gates:
            break
        if max_window_gates is not None and sweep.window_gates >= max_window_gates:
            break
        weighed += 1
        moves = _best_moves(sweep, pos, caps, comm, span, slack)
        if not moves:
            continue
        at = int(gates.index[pos])
        batch = [Teleport(q, int(sweep.cur[q]), d, at) for q, d in moves]
        plan.extend(batch)
        sweep.apply(moves, pos)
        for t in batch:
            sweep.cur[t.qubit] = t.target
            sweep.load[t.source] -= 1
            sweep.load[t.target] += 1
    if work is not None:
        work.add("teleport_gates", weighed)
        work.add("teleport_window_gates", sweep.window_gates)
    return plan


def _best_moves(
    sweep: _Sweep, pos: int, caps: np.ndarray, comm: Sequence[int], span: int, slack: float
) -> list[Move]:
    """The cheapest candidate move set for the cross gate at ``pos``, or [] to keep it."""
    a, b = int(sweep.gates.a[pos]), int(sweep.gates.b[pos])
    k = len(caps)
    candidates: list[list[Move]] = []
    for q, other in ((a, b), (b, a)):
        src, dst = int(sweep.cur[q]), int(sweep.cur[other])
        tc = float(sweep.costs[src, dst])
        here, there = sweep.proxies(q, pos, (src, dst))
        gain = here - there - tc
        if gain <= slack or min(comm[src], comm[dst]) < 1:
            continue
        if sweep.load[dst] < caps[dst]:
            candidates.append([(q, dst)])
        single = Teleport(q, src, dst, 0)
        for r in _partners(sweep, pos, dst, src, other, gain):
            batch = [single, Teleport(r, dst, src, 0)]
            if all(p <= c for p, c in zip(batch_comm_peak(batch, k), comm, strict=True)):
                candidates.append([(q, dst), (r, src)])
    if not candidates:
        return []
    best, best_cost = [], sweep.window_cost([], pos, span) - 1e-9
    for moves in candidates:
        cost = sweep.window_cost(moves, pos, span)
        if cost < best_cost:
            best, best_cost = moves, cost
    return best


def _partners(
    sweep: _Sweep, pos: int, node: int, dest: int, exclude: int, gain: float, top: int = 2
) -> list[int]:
    """Up to ``top`` qubits on ``node`` whose move to ``dest`` pays with ``gain`` added."""
    tc = float(sweep.costs[node, dest])
    scored = []
    for r in np.nonzero(sweep.cur == node)[0].tolist():
        if r == exclude:
            continue
        here, there = sweep.proxies(r, pos, (node, dest))
        g = here - there - tc
        if g + gain > 0:
            scored.append((-g, r))
    return [r for _, r in sorted(scored)[:top]]


def best_teleports(
    gates: Gates,
    assign: np.ndarray,
    capacities: Sequence[int],
    comm: Sequence[int],
    costs: np.ndarray,
    bounds: Effort | None = None,
    work: Work | None = None,
) -> list[Teleport]:
    """The cheapest of :func:`plan_teleports` over the effort's share of :data:`SETTINGS`.

    Settings with negative slack cost more time; they run only once a move has paid.
    Each sweep weighs at most ``bounds.teleport_gates`` cross gates, and all sweeps
    sharing ``work`` (the partitioner's, of one capacity level) at most
    ``bounds.teleport_window_gates`` gates in their exact windows: with many QPUs a
    window costs a cover per QPU pair.
    """
    bounds = bounds or effort_named("default")
    work = work if work is not None else Work()
    k, n = len(capacities), len(assign)
    best: list[Teleport] = []
    best_cost = weighted_cost(pair_counts(gates, assign, (), k), costs)
    for horizon, span, slack in SETTINGS[: bounds.teleport_sweeps]:
        if slack < 0 and not best:
            break  # wider searches only where moves already paid
        left = bounds.teleport_window_gates - work.spent["teleport_window_gates"]
        if left <= 0:
            break
        plan = plan_teleports(
            gates,
            assign,
            capacities,
            comm,
            costs,
            horizon=horizon,
            span=max(1, int(span * n)),
            slack=slack,
            max_gates=bounds.teleport_gates,
            max_window_gates=left,
            work=work,
        )
        cost = weighted_cost(pair_counts(gates, assign, plan, k), costs)
        cost += sum(float(costs[t.source, t.target]) for t in plan)
        if cost < best_cost - 1e-9:
            best, best_cost = plan, cost
    return best
