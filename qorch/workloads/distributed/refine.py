"""EPR-aware cost and refinement: exact cat-entanglement cover and assignment search.

For a placement of qubits (fixed, or changed by teleportations at given ops), each
cross-node two-qubit gate must be served by a cat-entanglement of the segment of one
of its qubits to the other qubit's node. A vertex is (segment, target node) and a gate
is an edge between its two candidate vertices; edges only join "u→v" vertices to
"v→u" vertices, so each node pair is a bipartite graph and the fewest EPR pairs is a
minimum vertex cover, found exactly by maximum matching (König's theorem).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from qorch.workloads.distributed.hypergraph import CanonicalCircuit

Vertex = tuple[int, int, int]  # (qubit, segment key, target node)


@dataclass(frozen=True)
class Teleport:
    """Move ``qubit`` from node ``source`` to node ``target`` just before op ``at``."""

    qubit: int
    source: int
    target: int
    at: int


@dataclass(frozen=True)
class Gates:
    """The entangling ops as arrays: op index, qubits and global segment ids."""

    index: np.ndarray
    a: np.ndarray
    b: np.ndarray
    seg_a: np.ndarray
    seg_b: np.ndarray

    @classmethod
    def of(cls, canon: CanonicalCircuit) -> Gates:
        """Arrays of ``canon``'s two-qubit ops, segment ids made global across qubits."""
        idx = np.array(canon.two_qubit, dtype=np.int64)
        offset = np.concatenate([[0], np.cumsum(canon.segment_counts)])
        a = np.array([canon.ops[i].qubits[0] for i in idx], dtype=np.int64)
        b = np.array([canon.ops[i].qubits[1] for i in idx], dtype=np.int64)
        sa = np.array([canon.segments[i][0] for i in idx], dtype=np.int64)
        sb = np.array([canon.segments[i][1] for i in idx], dtype=np.int64)
        return cls(idx, a, b, offset[a] + sa, offset[b] + sb)


def placed(
    gates: Gates, assign: np.ndarray, teleports: Sequence[Teleport]
) -> tuple[np.ndarray, ...]:
    """Nodes of both qubits of every gate, and segment keys split at each teleportation.

    A gate sees, per qubit, the teleportations of that qubit at or before it: its node is
    the last one's target and its key moves on by ``stride`` for each. Found by binary
    search over the teleports sorted by (qubit, op): O((gates + teleports) log), where a
    pass per teleport was O(gates × teleports) (a minute at 128 qubits, 10 000 teleports).
    """
    na, nb = assign[gates.a], assign[gates.b]  # fancy indexing copies
    ka, kb = gates.seg_a.copy(), gates.seg_b.copy()
    if not len(teleports):
        return na, nb, ka, kb
    stride = int(max(ka.max(initial=0), kb.max(initial=0))) + 1
    tq = np.array([t.qubit for t in teleports], dtype=np.int64)
    tat = np.array([t.at for t in teleports], dtype=np.int64)
    to = np.array([t.target for t in teleports], dtype=np.int64)
    order = np.argsort(tq, kind="stable")  # per qubit, in the plan's order
    tq, tat, to = tq[order], tat[order], to[order]
    same = tq[1:] == tq[:-1]
    if np.any(same & (tat[1:] < tat[:-1])):  # a qubit's moves out of op order: apply in turn
        return _placed_in_turn(gates, (na, nb, ka, kb), teleports, stride)
    span = int(max(tat.max(), gates.index.max(initial=0))) + 2
    tkey = tq * span + tat  # sorted: by qubit, then op
    for nodes, qubits, keys in ((na, gates.a, ka), (nb, gates.b, kb)):
        hi = np.searchsorted(tkey, qubits * span + gates.index, side="right")
        seen = hi - np.searchsorted(tkey, qubits * span, side="left")
        moved = seen > 0
        nodes[moved] = to[hi[moved] - 1]
        keys += stride * seen
    return na, nb, ka, kb


def _placed_in_turn(
    gates: Gates, arrays: tuple[np.ndarray, ...], teleports: Sequence[Teleport], stride: int
) -> tuple[np.ndarray, ...]:
    """:func:`placed` one teleportation at a time (for plans not in op order per qubit)."""
    na, nb, ka, kb = arrays
    for t in teleports:
        later = gates.index >= t.at
        for nodes, qubits, keys in ((na, gates.a, ka), (nb, gates.b, kb)):
            hit = later & (qubits == t.qubit)
            nodes[hit] = t.target
            keys[hit] += stride
    return na, nb, ka, kb


def pair_edges(gates: Gates, assign: np.ndarray, teleports: Sequence[Teleport], k: int) -> dict:
    """Per node pair (u < v): the edge arrays (gate positions, u-side key, v-side key)."""
    na, nb, ka, kb = placed(gates, assign, teleports)
    cross = np.nonzero(na != nb)[0]
    lo, hi = np.minimum(na[cross], nb[cross]), np.maximum(na[cross], nb[cross])
    code = lo * k + hi
    out = {}
    for c in np.unique(code):
        sel = cross[code == c]
        u_is_a = na[sel] < nb[sel]
        left = np.where(u_is_a, ka[sel], kb[sel])
        right = np.where(u_is_a, kb[sel], ka[sel])
        out[(int(c) // k, int(c) % k)] = (sel, left, right)
    return out


def _matching(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lu, li = np.unique(left, return_inverse=True)
    ru, ri = np.unique(right, return_inverse=True)
    graph = csr_matrix((np.ones(len(li), dtype=np.int8), (li, ri)), shape=(len(lu), len(ru)))
    match = maximum_bipartite_matching(graph, perm_type="column")
    return match, li, ri


SMALL_GRAPH_EDGES = 600  # below this, augmenting paths in Python beat building a sparse matrix


def cover_size(left: np.ndarray, right: np.ndarray) -> int:
    """Size of a minimum vertex cover of the bipartite graph with edges (left[i], right[i])."""
    if len(left) <= SMALL_GRAPH_EDGES:
        return small_matching_size(left.tolist(), right.tolist())
    match, _, _ = _matching(left, right)
    return int(np.count_nonzero(match >= 0))


def small_matching_size(left: Sequence[int], right: Sequence[int]) -> int:
    """Maximum matching size by augmenting paths (Kuhn) from a greedy matching: exact
    (a vertex with no augmenting path never gains one), fast for small graphs."""
    adj: dict[int, dict[int, None]] = {}
    for x, y in zip(left, right, strict=True):
        adj.setdefault(x, {})[y] = None
    mate: dict[int, int] = {}  # right vertex -> its left partner
    free: list[int] = []
    for x, ys in adj.items():
        first = next((y for y in ys if y not in mate), None)
        if first is None:
            free.append(x)
        else:
            mate[first] = x
    size = len(mate)
    for root in free:
        seen: set[int] = set()
        stack = [(root, iter(adj[root]))]
        path: list[tuple[int, int]] = []
        while stack:
            x, it = stack[-1]
            for y in it:
                if y not in seen:
                    break
            else:
                stack.pop()
                if path:
                    path.pop()
                continue
            seen.add(y)
            path.append((x, y))
            if y not in mate:
                for px, py in path:
                    mate[py] = px
                size += 1
                break
            stack.append((mate[y], iter(adj[mate[y]])))
    return size


def pair_counts(
    gates: Gates, assign: np.ndarray, teleports: Sequence[Teleport], k: int
) -> dict[tuple[int, int], int]:
    """Fewest cat-entanglements per node pair for this placement (before comm limits)."""
    edges = pair_edges(gates, assign, teleports, k)
    return {p: cover_size(left, right) for p, (_, left, right) in edges.items()}


def weighted_cost(counts: dict[tuple[int, int], int], pair_cost: np.ndarray) -> float:
    """Sum of pairs × cost per pair; inf if a pair with no quantum path is needed."""
    total = 0.0
    for (u, v), c in counts.items():
        if c:
            total += math.inf if math.isinf(pair_cost[u, v]) else c * float(pair_cost[u, v])
    return total


def min_cover(left: np.ndarray, right: np.ndarray, prefer_left: bool) -> tuple[set, set]:
    """A minimum vertex cover (König) as (left keys, right keys) in the cover."""
    if not prefer_left:
        r, lft = min_cover(right, left, True)
        return lft, r
    match, li, ri = _matching(left, right)
    lu, ru = np.unique(left), np.unique(right)
    adj: list[list[int]] = [[] for _ in lu]
    for x, y in zip(li.tolist(), ri.tolist(), strict=True):
        adj[x].append(y)
    right_mate = {int(c): r for r, c in enumerate(match.tolist()) if c >= 0}
    seen_l = {r for r in range(len(lu)) if match[r] < 0}
    seen_r: set[int] = set()
    queue = deque(seen_l)
    while queue:
        x = queue.popleft()
        for y in adj[x]:
            if y not in seen_r:
                seen_r.add(y)
                mate = right_mate.get(y)
                if mate is not None and mate not in seen_l:
                    seen_l.add(mate)
                    queue.append(mate)
    cov_l = {int(lu[r]) for r in range(len(lu)) if r not in seen_l}
    cov_r = {int(ru[c]) for c in seen_r}
    return cov_l, cov_r


def serving_nodes(
    gates: Gates, assign: np.ndarray, teleports: Sequence[Teleport], k: int, prefer_left: bool
) -> dict[int, int]:
    """For each cross gate (op index): the node it runs on — one of its own qubits' nodes."""
    na, nb, _, _ = placed(gates, assign, teleports)
    where: dict[int, int] = {}
    for (_u, _v), (sel, left, right) in pair_edges(gates, assign, teleports, k).items():
        cov_l, cov_r = min_cover(left, right, prefer_left)
        for pos, lk, rk in zip(sel.tolist(), left.tolist(), right.tolist(), strict=True):
            from_left = lk in cov_l
            assert from_left or rk in cov_r
            # the covered segment is copied to the other qubit's node, where the gate runs
            low, high = sorted((int(na[pos]), int(nb[pos])))
            where[int(gates.index[pos])] = high if from_left else low
    return where
