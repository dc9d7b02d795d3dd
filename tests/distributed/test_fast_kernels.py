"""The partitioner's fast kernels agree with plain definitions of what they compute.

``placed`` (binary search over teleports), ``small_matching_size`` (greedy start, then
augmenting paths), the teleport sweep's window cover and ``block_layers``' windows were
rewritten for speed (the 128-qubit random rows of the EPR table); each is checked here
against a direct, slow statement of its definition on seeded random inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from qorch.workloads.distributed.layers import block_layers
from qorch.workloads.distributed.refine import Gates, Teleport, placed, small_matching_size
from qorch.workloads.distributed.teleport import _cover_cost, _rehome


def _random_gates(rng: np.random.Generator, n: int, count: int) -> Gates:
    a = rng.integers(0, n, count)
    b = (a + rng.integers(1, n, count)) % n
    index = np.sort(rng.choice(4 * count + 1, size=count, replace=False)).astype(np.int64)
    seg = rng.integers(0, 20, (2, count)).astype(np.int64)
    return Gates(index, a.astype(np.int64), b.astype(np.int64), seg[0], seg[1])


def _placed_by_definition(gates: Gates, assign: np.ndarray, teleports: list[Teleport]):
    """Per gate and side: the qubit's node after every teleport of it at or before the
    gate (in the plan's order), its key moved on by ``stride`` for each."""
    stride = int(max(gates.seg_a.max(initial=0), gates.seg_b.max(initial=0))) + 1
    out = []
    for qubits, segs in ((gates.a, gates.seg_a), (gates.b, gates.seg_b)):
        nodes, keys = [], []
        for i, q, seg in zip(gates.index.tolist(), qubits.tolist(), segs.tolist(), strict=True):
            seen = [t for t in teleports if t.qubit == q and t.at <= i]
            nodes.append(seen[-1].target if seen else int(assign[q]))
            keys.append(seg + stride * len(seen))
        out.append((nodes, keys))
    (na, ka), (nb, kb) = out
    return na, nb, ka, kb


@pytest.mark.parametrize("in_order", [True, False])
def test_placed_matches_applying_each_teleport(in_order: bool) -> None:
    """Also with a qubit's teleports out of op order and several at one op (last wins)."""
    rng = np.random.default_rng(11)
    for _ in range(150):
        n, k = int(rng.integers(2, 9)), int(rng.integers(2, 5))
        gates = _random_gates(rng, n, int(rng.integers(0, 60)))
        assign = rng.integers(0, k, n)
        teleports = [
            Teleport(int(rng.integers(0, n)), 0, int(rng.integers(0, k)), int(rng.integers(0, 250)))
            for _ in range(int(rng.integers(0, 15)))
        ]
        if in_order:
            teleports.sort(key=lambda t: t.at)
        got = [x.tolist() for x in placed(gates, assign, teleports)]
        assert got == list(_placed_by_definition(gates, assign, teleports))


def test_small_matching_size_is_the_maximum_matching() -> None:
    rng = np.random.default_rng(5)
    for _ in range(1_000):
        edges = int(rng.integers(1, 90))
        left = rng.integers(0, int(rng.integers(1, 16)), edges)
        right = rng.integers(0, int(rng.integers(1, 16)), edges)
        lu, li = np.unique(left, return_inverse=True)
        ru, ri = np.unique(right, return_inverse=True)
        graph = csr_matrix((np.ones(edges), (li, ri)), shape=(len(lu), len(ru)))
        best = int(np.count_nonzero(maximum_bipartite_matching(graph, perm_type="column") >= 0))
        assert small_matching_size(left.tolist(), right.tolist()) == best


def _cover_by_brute_force(na, nb, ka, kb, costs) -> float:
    """Fewest (segment, far node) copies covering every cross gate, by trying subsets."""
    total = 0.0
    for u in range(len(costs)):
        for v in range(u + 1, len(costs)):
            edges = set()
            for x, y, p, q in zip(na, nb, ka, kb, strict=True):
                if {x, y} == {u, v}:
                    edges.add((("u", p), ("v", q)) if x == u else (("u", q), ("v", p)))
            vertices = sorted({end for e in edges for end in e})
            fewest = min(
                bin(mask).count("1")
                for mask in range(1 << len(vertices))
                if all(any((mask >> vertices.index(end)) & 1 for end in e) for e in edges)
            )
            total += fewest * float(costs[u, v])
    return total


def test_window_cover_cost_is_the_minimum_weighted_cover() -> None:
    rng = np.random.default_rng(7)
    for _ in range(120):
        k, count = int(rng.integers(2, 5)), int(rng.integers(0, 12))
        na, nb = rng.integers(0, k, count), rng.integers(0, k, count)
        ka, kb = rng.integers(0, 4, count), rng.integers(0, 4, count)
        costs = rng.integers(1, 4, (k, k)).astype(float)
        costs = costs + costs.T
        want = _cover_by_brute_force(na.tolist(), nb.tolist(), ka.tolist(), kb.tolist(), costs)
        assert _cover_cost(na, nb, ka, kb, costs) == pytest.approx(want)


def test_block_layer_windows_wait_for_each_qubits_next_block() -> None:
    """Window of qubit x at layer d: (previous gate, start) of x's first block in layer ≥ d;
    after its last block, (its last gate, one past it)."""
    rng = np.random.default_rng(3)
    for _ in range(100):
        n = int(rng.integers(2, 8))
        gates = _random_gates(rng, n, int(rng.integers(1, 50)))
        lay = block_layers(gates, n)
        blocks = [
            (d, int(x), int(before), int(begin))
            for d in range(len(lay.pairs))
            for pair, prev, begin in zip(lay.pairs[d], lay.prev[d], lay.start[d], strict=True)
            for x, before in zip(pair, prev, strict=True)
        ]
        last = {x: -1 for x in range(n)}
        for i, a, b in zip(gates.index.tolist(), gates.a.tolist(), gates.b.tolist(), strict=True):
            last[a] = last[b] = i
        for d, window in enumerate(lay.window):
            for x in range(n):
                later = sorted(
                    (e, before, begin) for e, y, before, begin in blocks if y == x and e >= d
                )
                want = later[0][1:] if later else (last[x], last[x] + 1)
                assert tuple(window[x]) == want
                assert lay.first[d][x] == want[1]


def test_rehome_splits_a_moved_qubits_segments_and_keeps_the_rest() -> None:
    """From ``start`` on, a moved qubit's gates get its new node and keys used nowhere
    else, equal where they were equal; every other entry is unchanged."""
    rng = np.random.default_rng(13)
    for _ in range(200):
        n, count = int(rng.integers(2, 8)), int(rng.integers(1, 60))
        gates = _random_gates(rng, n, count)
        arrays = (rng.integers(0, 3, count), rng.integers(0, 3, count),
                  gates.seg_a.copy(), gates.seg_b.copy())  # fmt: skip
        before = tuple(x.copy() for x in arrays)
        fresh = int(max(gates.seg_a.max(), gates.seg_b.max())) + 1
        start = int(rng.integers(0, count))
        moves = [(int(q), 3 + i) for i, q in enumerate(rng.choice(n, 2, replace=False))]
        end = _rehome(gates.a, gates.b, arrays, moves, start, fresh)
        for side, (qubits, nodes, keys) in enumerate(
            ((gates.a, arrays[0], arrays[2]), (gates.b, arrays[1], arrays[3]))
        ):
            for pos in range(count):
                dest = dict(moves).get(int(qubits[pos]))
                if pos < start or dest is None:
                    assert (nodes[pos], keys[pos]) == (before[side][pos], before[2 + side][pos])
                else:
                    assert nodes[pos] == dest and fresh <= keys[pos] < end
        old = {}  # (qubit, old key) -> new key: one to one, per moved qubit
        for qubits, keys, was in ((gates.a, arrays[2], before[2]), (gates.b, arrays[3], before[3])):
            for pos in range(start, count):
                if int(qubits[pos]) in dict(moves):
                    old.setdefault((int(qubits[pos]), int(was[pos])), set()).add(int(keys[pos]))
        assert all(len(v) == 1 for v in old.values())
        assert len({next(iter(v)) for v in old.values()}) == len(old)


def test_ample_cat_ends_are_schedule_cats_own_when_no_copy_is_closed_early() -> None:
    """Candidates' cost with ample comm qubits reads only the groups' ends: ample_cats
    gives schedule_cats' ends in its order, or None where a node might run out."""
    from qiskit.circuit.random import random_circuit

    from qorch.workloads.distributed.catplan import ample_cats, schedule_cats
    from qorch.workloads.distributed.hypergraph import canonicalise
    from qorch.workloads.distributed.refine import serving_nodes
    from qorch.workloads.distributed.teleport import best_teleports

    rng = np.random.default_rng(3)
    checked = refused = 0
    for seed in range(12):
        n, k = int(rng.integers(6, 12)), int(rng.integers(2, 5))
        gates = Gates.of(canonicalise(random_circuit(n, 10, max_operands=2, seed=seed)))
        assign = rng.integers(0, k, n)
        caps = np.bincount(assign, minlength=k) + 1
        costs = np.ones((k, k)) - np.eye(k)
        tele = best_teleports(gates, assign, caps.tolist(), [n] * k, costs) if seed % 2 else []
        where = serving_nodes(gates, assign, tele, k, bool(seed % 3))
        names = [str(i) for i in range(k)]
        for comm in ([n] * k, [2] * k):
            ends = ample_cats(gates, assign, tele, k, comm, where)
            if ends is None:
                refused += 1
                continue
            groups = schedule_cats(gates, assign, tele, k, comm, names, where)
            assert ends == [(g.source, g.target) for g in groups]
            checked += 1
    assert checked >= 12 and refused >= 1
