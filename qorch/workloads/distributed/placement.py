"""Initial qubit placement and exact-cost local search (moves and swaps between nodes).

The initial split comes from contiguous blocks in qubit order (ideal for ladder-like
circuits such as the QFT) and from networkx's Kernighan–Lin bisection of a weighted
interaction graph; the better one under the exact EPR cost of :mod:`refine` is then
improved by single-qubit moves (into spare capacity) and swaps, ranked by a cheap
affinity proxy and accepted only when the exact cost drops. Deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import networkx as nx
import numpy as np

from qorch.workloads.distributed.refine import Gates

Cost = tuple[float, float]  # (pairs on links with no quantum path, weighted finite cost)


def initial_sizes(n: int, capacities: Sequence[int]) -> list[int]:
    """Qubits per node, proportional to capacity, never above it."""
    total = sum(capacities)
    raw = [n * c / total for c in capacities]
    sizes = [min(int(r), c) for r, c in zip(raw, capacities, strict=True)]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - int(raw[i])), i))
    while sum(sizes) < n:
        for i in order:
            if sum(sizes) < n and sizes[i] < capacities[i]:
                sizes[i] += 1
    return sizes


def block_assignment(n: int, sizes: Sequence[int]) -> np.ndarray:
    """Qubits in index order, filling node 0, then node 1, ..."""
    return np.repeat(np.arange(len(sizes)), sizes)[:n].astype(np.int64)


def interaction_weights(gates: Gates, n: int) -> np.ndarray:
    """n×n weights: each gate adds 1/(partners of each of its two segments)."""
    w = np.zeros((n, n))
    for seg, own, other in ((gates.seg_a, gates.a, gates.b), (gates.seg_b, gates.b, gates.a)):
        pairs = np.unique(np.stack([seg, other]), axis=1)
        segs, deg = np.unique(pairs[0], return_counts=True)
        share = 1.0 / deg[np.searchsorted(segs, seg)]
        np.add.at(w, (own, other), share)
    return w + w.T


def kl_assignment(w: np.ndarray, sizes: Sequence[int], seed: int) -> np.ndarray:
    """Recursive Kernighan–Lin bisection (networkx) of the interaction graph into ``sizes``."""
    n = len(w)
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    rows, cols = np.nonzero(np.triu(w, 1))
    graph.add_weighted_edges_from(
        (int(r), int(c), float(w[r, c])) for r, c in zip(rows, cols, strict=True)
    )
    assign = np.zeros(n, dtype=np.int64)

    def split(qubits: list[int], nodes: list[int]) -> None:
        if len(nodes) == 1:
            assign[qubits] = nodes[0]
            return
        half = len(nodes) // 2
        left = sum(sizes[i] for i in nodes[:half])
        if 0 < left < len(qubits):
            part = nx.algorithms.community.kernighan_lin_bisection(
                graph.subgraph(qubits), (qubits[:left], qubits[left:]), seed=seed
            )
            first, second = sorted(part[0]), sorted(part[1])
            if len(first) != left:
                first, second = second, first
        else:
            first, second = qubits[:left], qubits[left:]
        split(first, nodes[:half])
        split(second, nodes[half:])

    split(list(range(n)), list(range(len(sizes))))
    return assign


def _candidates(
    assign: np.ndarray, w: np.ndarray, caps: np.ndarray, k: int, width: int
) -> list[tuple]:
    """The ``width`` best moves (q, node) into spare capacity and swaps (q, r) by affinity
    gain, ties in their order (moves by qubit then node, then swaps by qubit pair).

    One stable argsort over all of them: sorting tens of thousands of Python tuples per
    round was most of a round at 256 qubits.
    """
    n = len(assign)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), assign] = 1.0
    affinity = w @ onehot  # affinity[q, v]: weight from q to qubits on node v
    own = affinity[np.arange(n), assign]
    gain = affinity - own[:, None]
    load = np.bincount(assign, minlength=k)
    mq, mv = np.nonzero((np.arange(k)[None, :] != assign[:, None]) & (load < caps)[None, :])
    g_r = gain[:, assign]  # g_r[q, r] = gain of moving q to r's node
    swap_gain = g_r + g_r.T - 2 * w
    qs, rs = np.nonzero(np.triu(assign[:, None] != assign[None, :], 1))
    gains = np.concatenate([gain[mq, mv], swap_gain[qs, rs]])
    out: list[tuple] = []
    for i in np.argsort(-gains, kind="stable")[:width].tolist():
        if i < len(mq):
            out.append(("move", int(mq[i]), int(mv[i])))
        else:
            out.append(("swap", int(qs[i - len(mq)]), int(rs[i - len(mq)])))
    return out


def improve(
    assign: np.ndarray,
    evaluate: Callable[[np.ndarray], Cost],
    w: np.ndarray,
    caps: Sequence[int],
    *,
    width: int,
    budget: int,
) -> tuple[np.ndarray, Cost]:
    """First-improvement local search under the exact cost, at most ``budget`` evaluations."""
    k = len(caps)
    cap_arr = np.asarray(caps)
    best = evaluate(assign)
    evals = 1
    improved = True
    while improved and evals < budget:
        improved = False
        for kind, x, y in _candidates(assign, w, cap_arr, k, width):
            if evals >= budget:
                break
            trial = assign.copy()
            if kind == "move":
                trial[x] = y
            else:
                trial[x], trial[y] = assign[y], assign[x]
            cost = evaluate(trial)
            evals += 1
            if cost < best:
                assign, best, improved = trial, cost, True
                break
    return assign, best
