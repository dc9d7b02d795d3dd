"""Layered teleportation planning for two nodes: keep every gate block local by swapping.

Consecutive gates on one pair of qubits form a *block*; blocks are layered as soon as
possible (a block's layer is one past the latest block of either qubit). Circuits of
dense random blocks (quantum volume) are best run with every block local, paying one
EPR pair per qubit moved between layers. A beam search over layers picks, for each
block split across the nodes, which of its qubits moves, ranking placements by the
pairs spent so far plus the split blocks of the next layers (each needs a move).
The first layer's placement is free (it becomes the initial assignment). Moves in
opposite directions are paired into one batch so full nodes stay within capacity.
The caller weighs the result under the exact global cost. The side choices are drawn
and scored by :mod:`layerchoices`; how many, in all, is fixed by the effort and the
circuit's shape (:func:`_widths`), never by time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qorch.workloads.distributed.effort import Effort, Work, effort_named
from qorch.workloads.distributed.hypergraph import DIAG2, CanonicalCircuit
from qorch.workloads.distributed.layerchoices import Choices, choice_scores, side_choices
from qorch.workloads.distributed.refine import Gates, Teleport
from qorch.workloads.distributed.teleport import batch_comm_peak

LOOKAHEAD = (1.0, 0.35, 0.12)  # weight of split blocks in the next layers
LEAST_OPTIONS = 16  # side choices per placement and layer, however tight the budget
IDLE = 4  # idle qubits that may move to balance the nodes, when blocks alone cannot


@dataclass(frozen=True)
class BlockLayers:
    """Blocks (qubit pairs) per layer, with each block's first op and its qubits' last ops."""

    pairs: list[np.ndarray]  # per layer: (blocks, 2) qubits
    start: list[np.ndarray]  # per layer: op index of each block's first gate
    prev: list[np.ndarray]  # per layer: (blocks, 2) op index of each qubit's previous gate
    window: list[np.ndarray]  # per layer: (qubits, 2) ops between which each qubit may move
    first: list[np.ndarray]  # per layer: each qubit's next block start (its window's end)


def block_layers(gates: Gates, n: int) -> BlockLayers:
    """The blocks of ``gates`` layered as soon as possible (shared with :mod:`klayers`)."""
    cur = [-1] * n
    last = [-1] * n
    qubits: list[tuple[int, int]] = []
    layer: list[int] = []
    start: list[int] = []
    prev: list[tuple[int, int]] = []
    for i, a, b in zip(gates.index.tolist(), gates.a.tolist(), gates.b.tolist(), strict=True):
        blk = cur[a]
        if blk < 0 or blk != cur[b]:
            depth = max(layer[cur[a]] if cur[a] >= 0 else -1, layer[cur[b]] if cur[b] >= 0 else -1)
            qubits.append((a, b))
            layer.append(depth + 1)
            start.append(i)
            prev.append((last[a], last[b]))
            cur[a] = cur[b] = len(qubits) - 1
        last[a] = last[b] = i
    depth = max(layer, default=-1) + 1
    lay = np.asarray(layer, dtype=np.int64)
    q, s, p = np.asarray(qubits).reshape(-1, 2), np.asarray(start), np.asarray(prev).reshape(-1, 2)
    by_layer = np.argsort(lay, kind="stable")
    cuts = np.searchsorted(lay[by_layer], np.arange(1, depth))
    sel = np.split(by_layer, cuts) if depth else []
    window = np.zeros((depth, n, 2), dtype=np.int64)
    window[:, :, 0] = np.asarray(last)
    window[:, :, 1] = np.asarray(last) + 1
    # a qubit's blocks come in rising layers: layers after its previous block's, up to
    # this block's, wait for this block (after its last block: the end of the circuit)
    filled = [0] * n
    for layer_of, (qa, qb), (pa, pb), begin in zip(
        layer, q.tolist(), p.tolist(), s.tolist(), strict=True
    ):
        for x, before in ((qa, pa), (qb, pb)):
            window[filled[x] : layer_of + 1, x] = (before, begin)
            filled[x] = layer_of + 1
    return BlockLayers(
        [q[x] for x in sel],
        [s[x] for x in sel],
        [p[x] for x in sel],
        list(window),
        [w[:, 1] for w in window],
    )


def layered_teleports(
    gates: Gates,
    assign: np.ndarray,
    capacities: Sequence[int],
    comm: Sequence[int],
    costs: np.ndarray,
    seed: int = 0,
    bounds: Effort | None = None,
    work: Work | None = None,
    lay: BlockLayers | None = None,
) -> tuple[np.ndarray, list[Teleport]] | None:
    """An initial assignment and teleportations keeping blocks local, or None if unfit.

    The beam keeps ``bounds.layered_beam`` placements per layer (fewer when the layers
    times the beam would pass ``bounds.layered_steps``) and tries at most
    ``bounds.layered_options`` block-side choices for each, fewer when all of them, times
    the qubits, would pass ``bounds.layered_cells`` (see :func:`_widths`). ``lay``: the
    gates' :func:`block_layers`, if the caller has them.
    """
    bounds = bounds or effort_named("default")
    k, n = len(capacities), len(assign)
    if k != 2 or not len(gates.index) or math.isinf(costs[0, 1]) or min(comm) < 1:
        return None
    lay = lay or block_layers(gates, n)
    depth = len(lay.pairs)
    beam, options = _widths(bounds, depth, n)
    caps = np.asarray(capacities)
    rng = np.random.default_rng(seed)
    states = [assign.astype(np.int8)]
    scores = [0.0]
    history: list[tuple[list[np.ndarray], list[int]]] = []  # per layer: colourings, parents
    for d in range(depth):
        pairs = lay.pairs[d]
        ahead = [lay.pairs[e] for e in range(d + 1, min(depth, d + 1 + len(LOOKAHEAD)))]
        cand: list[Choices] = []
        cand_g, cand_h, cand_par = [], [], []
        for s, (col, g) in enumerate(zip(states, scores, strict=True)):
            split = col[pairs[:, 0]] != col[pairs[:, 1]]
            var = np.arange(len(pairs)) if d == 0 else np.nonzero(split)[0]
            found = side_choices(col, pairs, var, caps, rng, options)
            if not len(found.bits):
                idle = np.setdiff1d(np.arange(n), pairs.ravel())
                idle = idle[np.argsort(lay.first[d][idle], kind="stable")][:IDLE]
                found = side_choices(col, pairs, var, caps, rng, options, idle)
            if not len(found.bits):
                return None
            if work is not None:
                work.add("layered_options", len(found.bits))
            moved, h = choice_scores(col, found, ahead, LOOKAHEAD)
            step = np.zeros(len(moved)) if d == 0 else moved * float(costs[0, 1])
            cand.append(found)
            cand_g.append(g + step)
            cand_h.append(h * float(costs[0, 1]))
            cand_par.append(np.full(len(moved), s))
        rows = np.concatenate([np.arange(len(c.bits)) for c in cand])
        g_all, h_all, par = map(np.concatenate, (cand_g, cand_h, cand_par))
        order = np.lexsort((par, g_all, g_all + h_all))
        kept: list[np.ndarray] = []
        keep, seen = [], set()
        for i in order.tolist():
            colouring = cand[par[i]].colouring(states[par[i]], int(rows[i]))
            key = colouring.tobytes()
            if key in seen:
                continue
            seen.add(key)
            keep.append(i)
            kept.append(colouring)
            if len(keep) == beam:
                break
        states = kept
        scores = [float(g_all[i]) for i in keep]
        history.append((states, [int(par[i]) for i in keep]))
    path = [0]
    for d in range(depth - 1, 0, -1):
        path.append(history[d][1][path[-1]])
    path.reverse()
    chosen = [history[d][0][path[d]] for d in range(depth)]
    start = chosen[0].astype(np.int64)
    plan = _timed(lay, chosen)
    if not moves_fit(start, plan, caps, comm):
        return None
    return start, plan


def _widths(bounds: Effort, depth: int, n: int) -> tuple[int, int]:
    """The beam and the side choices per placement and layer within the effort's bounds.

    Choices × qubits (the cells the planner fills and compares) over every layer and
    placement stay within ``bounds.layered_cells``: a wider or deeper circuit gets fewer
    choices, down to :data:`LEAST_OPTIONS`, then a narrower beam. The work is fixed by
    the circuit's shape and the effort, so the plan is the same on every machine.
    """
    depth = max(depth, 1)
    beam = max(1, min(bounds.layered_beam, bounds.layered_steps // depth))
    cells = max(bounds.layered_cells, 1)
    beam = max(1, min(beam, cells // (depth * n * LEAST_OPTIONS)))
    options = min(bounds.layered_options, max(LEAST_OPTIONS, cells // (depth * beam * n)))
    return beam, options


def _timed(lay: BlockLayers, chosen: list[np.ndarray]) -> list[Teleport]:
    """Teleports for the colour changes between layers, opposite moves paired in one batch."""
    plan: list[Teleport] = []
    used: set[int] = set()
    last: dict[int, int] = {}
    for d in range(1, len(chosen)):
        before, after = chosen[d - 1], chosen[d]
        window = {q: (int(lo), int(hi)) for q, (lo, hi) in enumerate(lay.window[d].tolist())}
        moves = np.nonzero(before != after)[0].tolist()
        out = {
            v: sorted((q for q in moves if before[q] == v), key=lambda q: window[q][1])
            for v in (0, 1)
        }
        while out[0] or out[1]:
            if out[0] and out[1]:
                q = out[0].pop(0)
                lo_q, hi_q = window[q]
                fits = [r for r in out[1] if max(lo_q, window[r][0]) < min(hi_q, window[r][1])]
                r = fits[0] if fits else out[1][0]
                out[1].remove(r)
                batch = [q, r]
                lo, hi = max(lo_q, window[r][0]), min(hi_q, window[r][1])
            else:
                q = (out[0] or out[1]).pop(0)
                batch = [q]
                lo, hi = window[q]
            floor = max(last.get(q, -1) for q in batch)  # keep each qubit's moves in order
            at = max(hi, floor + 1)
            while at in used and at - 1 > max(lo, floor):
                at -= 1
            while at in used:
                at += 1
            used.add(at)
            last.update((q, at) for q in batch)
            plan.extend(Teleport(q, int(before[q]), int(after[q]), at) for q in batch)
    plan.sort(key=lambda t: t.at)
    return plan


def moves_fit(
    start: np.ndarray, plan: list[Teleport], caps: np.ndarray, comm: Sequence[int]
) -> bool:
    """Capacity after every batch and comm qubits within each batch's needs."""
    loads = np.bincount(start, minlength=len(caps))
    if np.any(loads > caps):
        return False
    node = start.copy()
    i = 0
    while i < len(plan):
        j = i
        while j < len(plan) and plan[j].at == plan[i].at:
            j += 1
        batch = plan[i:j]
        for t in batch:
            if node[t.qubit] != t.source:
                return False
            node[t.qubit] = t.target
            loads[t.source] -= 1
            loads[t.target] += 1
        if np.any(loads > caps):
            return False
        if any(p > c for p, c in zip(batch_comm_peak(batch, len(caps)), comm, strict=True)):
            return False
        i = j
    return True


def layer_order(canon: CanonicalCircuit) -> CanonicalCircuit:
    """The same circuit with its ops sorted by block layer (each qubit's order is kept).

    A 2-qubit op takes its block's layer; a 1-qubit op the layer of the next block on its
    qubit. Sorting by (layer, original index) keeps every qubit's sequence, so the circuit
    is unchanged, while each layer's blocks become contiguous: moves between layers then
    fit between the blocks they serve.
    """
    n = canon.num_qubits
    gates = Gates.of(canon)
    cur = [-1] * n
    blocks: list[int] = []  # layer per block
    layer_of = np.zeros(len(canon.ops), dtype=np.int64)
    for i, a, b in zip(gates.index.tolist(), gates.a.tolist(), gates.b.tolist(), strict=True):
        if cur[a] < 0 or cur[a] != cur[b]:
            depth = max(
                blocks[cur[a]] if cur[a] >= 0 else -1, blocks[cur[b]] if cur[b] >= 0 else -1
            )
            blocks.append(depth + 1)
            cur[a] = cur[b] = len(blocks) - 1
        layer_of[i] = blocks[cur[a]]
    nxt = [len(blocks) and max(blocks) + 1] * n
    for i in range(len(canon.ops) - 1, -1, -1):
        op = canon.ops[i]
        if op.kind == DIAG2:
            nxt[op.qubits[0]] = nxt[op.qubits[1]] = int(layer_of[i])
        else:
            layer_of[i] = nxt[op.qubits[0]]
    order = sorted(range(len(canon.ops)), key=lambda i: (int(layer_of[i]), i))
    new_index = {old: new for new, old in enumerate(order)}
    return CanonicalCircuit(
        n,
        tuple(canon.ops[i] for i in order),
        {new_index[i]: seg for i, seg in canon.segments.items()},
        canon.segment_counts,
    )
