"""Layered teleportation planning for three or more nodes: keep every gate block local.

The k-node counterpart of :mod:`layers` (same block layers, same beam over layers).
Two sides no longer suffice to enumerate, so each placement in the beam is extended by
an assignment of the layer's blocks to pairs of free data slots, solved exactly by
``linear_sum_assignment``: a block costs the EPR pairs of moving its qubits to the node
(the network's pair costs, so a pair without a quantum path or a node without
communication qubits is never used) plus a lookahead term for the nodes of its qubits'
partners in the next layers. Each placement gets a few assignments (lookahead weights,
a refined second round, seeded perturbations), within the effort's counts. Where odd
free slots leave no full assignment, blocks stay split (cat-entanglement serves them).

Moves between layers are batched for lowering (:mod:`lower`, Bell measurements first):
a single move into a node with a free data slot, or a cycle of moves among full nodes,
started at its node with the fewest communication qubits. The caller weighs the result
under the exact global cost, beside every other strategy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment

from qorch.workloads.distributed.effort import Effort, Work, effort_named
from qorch.workloads.distributed.layers import LOOKAHEAD, BlockLayers, block_layers, moves_fit
from qorch.workloads.distributed.refine import Gates, Teleport

BIG = 1e6  # price of a move or split pair that the network cannot serve
SPLIT = 2.0  # pairs a block left split is assumed to cost (a few cat-entanglements)
# per placement and layer, in order: (lookahead weight, perturbation, refined round)
VARIANTS = ((1.0, 0.0, True), (0.5, 0.0, False), (2.0, 0.0, False))
NOISE = 0.6  # perturbation of the remaining options, in mean pair costs
MAX_OPTIONS = 6  # assignments per placement and layer, at most
OPTION_WEIGHT = 256  # an assignment weighs this many of the two-node planner's options


def klayered_teleports(
    gates: Gates,
    assign: np.ndarray,
    capacities: Sequence[int],
    comm: Sequence[int],
    costs: np.ndarray,
    seed: int = 0,
    bounds: Effort | None = None,
    work: Work | None = None,
    bound: float = math.inf,
    lay: BlockLayers | None = None,
) -> tuple[np.ndarray, list[Teleport]] | None:
    """An initial assignment and teleportations keeping blocks local, or None if unfit
    or if every placement in the beam has paid more than ``bound`` (the cheapest plan
    found so far) for its moves alone.

    Solves at most ``bounds.layered_steps`` assignments in all (the beam narrows for deep
    circuits), ``bounds.layered_options // OPTION_WEIGHT`` (1 to :data:`MAX_OPTIONS`)
    per placement and layer, keeping ``bounds.layered_beam`` placements at most. ``lay``:
    the gates' :func:`block_layers`, if the caller has them.
    """
    bounds = bounds or effort_named("default")
    k, n = len(capacities), len(assign)
    if k < 3 or not len(gates.index):
        return None
    price = _prices(costs, comm)
    lay = lay or block_layers(gates, n)
    depth = len(lay.pairs)
    options = max(1, min(MAX_OPTIONS, bounds.layered_options // OPTION_WEIGHT))
    beam = max(1, min(bounds.layered_beam, bounds.layered_steps // (depth * options)))
    partners = _partners(lay, n)
    caps = np.asarray(capacities)
    rng = np.random.default_rng(seed)
    states, scores, paid = [assign.astype(np.int64)], [0.0], [0.0]
    history: list[tuple[list[np.ndarray], list[int]]] = []
    for d in range(depth):
        found: list[tuple[float, float, int, np.ndarray, float]] = []
        for s, (col, g) in enumerate(zip(states, scores, strict=True)):
            cols = _extend(col, d, lay, partners, caps, price, rng, options)
            if work is not None:
                work.add("layered_options", len(cols))
            for new in cols:
                moves = 0.0
                if d:
                    moved = np.nonzero(new != col)[0]
                    moves = float(price[col[moved], new[moved]].sum())
                step = moves + _split_price(new, lay.pairs[d], price) * SPLIT
                h = sum(
                    w * _split_price(new, lay.pairs[e], price)
                    for w, e in zip(LOOKAHEAD, range(d + 1, depth), strict=False)
                )
                found.append((g + step + h, g + step, s, new, paid[s] + moves))
        if not found:
            return None
        found.sort(key=lambda f: (f[0], f[1], f[2]))
        keep, seen = [], set()
        for f in found:
            key = f[3].tobytes()
            if key not in seen:
                seen.add(key)
                keep.append(f)
            if len(keep) == beam:
                break
        if keep[0][1] >= BIG or min(f[4] for f in keep) > bound:
            return None  # a pair the network cannot serve, or dearer than a plan in hand
        states, scores, paid = [f[3] for f in keep], [f[1] for f in keep], [f[4] for f in keep]
        history.append((states, [f[2] for f in keep]))
    path = [0]
    for d in range(depth - 1, 0, -1):
        path.append(history[d][1][path[-1]])
    path.reverse()
    chosen = [history[d][0][path[d]] for d in range(depth)]
    start = chosen[0]
    last_gate = int(gates.index[-1])
    for monotone in (False, True):
        plan = _timed(lay, chosen, caps, comm, monotone, last_gate)
        if plan is not None and moves_fit(start, plan, caps, comm):
            return start, plan
    return None


def _prices(costs: np.ndarray, comm: Sequence[int]) -> np.ndarray:
    """Pair costs with no path, or no comm qubit at either end, replaced by :data:`BIG`."""
    price = np.where(np.isinf(costs), BIG, costs).astype(float)
    dead = np.asarray(comm) < 1
    price[dead, :] = BIG
    price[:, dead] = BIG
    np.fill_diagonal(price, 0.0)
    return price


def _partners(lay: BlockLayers, n: int) -> list[np.ndarray]:
    """Per layer, each qubit's partner in its block there (-1: no block)."""
    out = []
    for pairs in lay.pairs:
        p = np.full(n, -1, dtype=np.int64)
        p[pairs[:, 0]], p[pairs[:, 1]] = pairs[:, 1], pairs[:, 0]
        out.append(p)
    return out


def _split_price(col: np.ndarray, pairs: np.ndarray, price: np.ndarray) -> float:
    """Pair costs of the blocks of ``pairs`` whose qubits sit on different nodes."""
    return float(price[col[pairs[:, 0]], col[pairs[:, 1]]].sum())


def _extend(
    col: np.ndarray,
    d: int,
    lay: BlockLayers,
    partners: list[np.ndarray],
    caps: np.ndarray,
    price: np.ndarray,
    rng: np.random.Generator,
    options: int,
) -> list[np.ndarray]:
    """Up to ``options`` placements for layer ``d`` from ``col`` (each block on one node)."""
    pairs = lay.pairs[d]
    split = col[pairs[:, 0]] != col[pairs[:, 1]]
    if d and not split.any():
        return [col]
    k = len(caps)
    rows, free = _rows(col, pairs, split, caps, price)
    if not len(rows):
        return [col]
    q = pairs[rows]
    move = price[col[q[:, 0]]] + price[col[q[:, 1]]]  # (rows, k)
    if d == 0:
        move = move * 0.01  # the first layer's placement is free; stay only on ties
    slots = np.repeat(np.arange(k), np.minimum(free // 2, len(rows)))
    mean = float(price[price < BIG].mean()) if np.any(price < BIG) else 1.0
    look = _look(q, col, d, partners, price)
    out: list[np.ndarray] = []
    for i in range(options):
        weight, noise, refine = VARIANTS[i] if i < len(VARIANTS) else (1.0, NOISE, False)
        base = move + weight * look
        if noise:
            base = base + noise * mean * rng.random(base.shape)
        new = _assign(col, q, base, slots, move)
        if new is not None and refine:
            again = _assign(col, q, move + weight * _look(q, new, d, partners, price), slots, move)
            new = again if again is not None else new
        if new is not None and not any(np.array_equal(new, o) for o in out):
            out.append(new)
    return out


def _rows(
    col: np.ndarray, pairs: np.ndarray, split: np.ndarray, caps: np.ndarray, price: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Blocks to place and the free slots per node; split blocks stay put where slot
    parity leaves too few pairs of slots (servable ones with most odd ends first)."""
    k = len(caps)
    inside = np.zeros(len(col), dtype=bool)
    inside[pairs.ravel()] = True
    free = caps - np.bincount(col[~inside], minlength=k)
    rows = list(range(len(pairs)))
    while int((free // 2).sum()) < len(rows):
        odd = free % 2
        u, v = col[pairs[:, 0]], col[pairs[:, 1]]
        pin = max(
            (b for b in rows if split[b]),
            key=lambda b: (price[u[b], v[b]] < BIG, int(odd[u[b]] + odd[v[b]]), -b),
        )
        rows.remove(pin)
        free[col[pairs[pin, 0]]] -= 1
        free[col[pairs[pin, 1]]] -= 1
    return np.asarray(rows, dtype=np.int64), free


def _look(
    q: np.ndarray, col: np.ndarray, d: int, partners: list[np.ndarray], price: np.ndarray
) -> np.ndarray:
    """(rows, k): weighted pair costs of each block's qubits' next partners, per node."""
    look = np.zeros((len(q), price.shape[0]))
    for w, p in zip(LOOKAHEAD, partners[d + 1 : d + 1 + len(LOOKAHEAD)], strict=False):
        for side in (0, 1):
            mate = p[q[:, side]]
            valid = (mate >= 0) & (mate != q[:, 1 - side])
            look[valid] += w * price[col[mate[valid]]]
    return look


def _assign(
    col: np.ndarray, q: np.ndarray, cost: np.ndarray, slots: np.ndarray, move: np.ndarray
) -> np.ndarray | None:
    """The placement with each block on its assigned node; None if a move is unservable."""
    r, c = linear_sum_assignment(cost[:, slots])
    node = slots[c]
    if np.any(move[r, node] >= BIG):
        return None
    new = col.copy()
    new[q[r, 0]] = node
    new[q[r, 1]] = node
    return new


def _timed(
    lay: BlockLayers,
    chosen: list[np.ndarray],
    caps: np.ndarray,
    comm: Sequence[int],
    monotone: bool,
    last_gate: int,
) -> list[Teleport] | None:
    """Teleports for the node changes between layers, batched; each batch at its own op,
    within its qubits' windows where it can (``monotone``: batches in the order made).
    None if a batch would fall after the last two-qubit gate (it would serve nothing)."""
    plan: list[Teleport] = []
    used: set[int] = set()
    last: dict[int, int] = {}
    clock = -1
    loads = np.bincount(chosen[0], minlength=len(caps))
    for d in range(1, len(chosen)):
        before, after, window = chosen[d - 1], chosen[d], lay.window[d]
        batches = _batches(before, after, window, loads, caps, comm)
        if batches is None:
            return None
        for batch in batches:
            lo = max(int(window[q, 0]) for q in batch)
            hi = min(int(window[q, 1]) for q in batch)
            floor = max(max(last.get(q, -1) for q in batch), clock if monotone else -1)
            at = max(hi, floor + 1)
            while at in used and at - 1 > max(lo, floor):
                at -= 1
            while at in used:
                at += 1
            if at > last_gate:
                return None
            used.add(at)
            clock = at
            last.update((q, at) for q in batch)
            plan.extend(Teleport(q, int(before[q]), int(after[q]), at) for q in batch)
    plan.sort(key=lambda t: t.at)
    return plan


def _batches(
    before: np.ndarray,
    after: np.ndarray,
    window: np.ndarray,
    loads: np.ndarray,
    caps: np.ndarray,
    comm: Sequence[int],
) -> list[list[int]] | None:
    """The moves from ``before`` to ``after`` as batches that keep every node within its
    capacity (``loads`` is updated): singles into free slots, else cycles of full nodes."""
    pending = sorted(np.nonzero(before != after)[0].tolist(), key=lambda q: int(window[q, 1]))
    out: list[list[int]] = []
    while pending:
        single = next((q for q in pending if loads[after[q]] < caps[after[q]]), None)
        if single is not None:
            pending.remove(single)
            loads[before[single]] -= 1
            loads[after[single]] += 1
            out.append([single])
            continue
        path, seen = [pending[0]], {int(before[pending[0]]): 0}
        lo, hi = int(window[path[0], 0]), int(window[path[0], 1])
        node = int(after[path[0]])
        while node not in seen:
            seen[node] = len(path)
            outs = [r for r in pending if before[r] == node and r not in path]
            if not outs:
                return None
            r = max(outs, key=lambda r: min(hi, int(window[r, 1])) - max(lo, int(window[r, 0])))
            lo, hi = max(lo, int(window[r, 0])), min(hi, int(window[r, 1]))
            path.append(r)
            node = int(after[r])
        cycle = path[seen[node] :]
        first = min(range(len(cycle)), key=lambda i: (comm[int(before[cycle[i]])], i))
        out.append(cycle[first:] + cycle[:first])
        for r in cycle:
            pending.remove(r)
    return out
