"""Reorder commuting ops so that limited communication qubits are reused, not re-paid.

A cat copy (a qubit's segment shared with another node) serves every gate of that
segment with that node, but it holds a communication qubit from its first gate to its
last. With few comm qubits, gates of many copies interleaved in circuit order force
copies to be closed and opened again (one more EPR pair each time). Diagonal gates
commute with each other, so within a segment they may run in any order: only a
qubit's non-diagonal single-qubit gates (segment boundaries, and the anti-diagonal
gates that flip its copies) keep their place relative to its diagonal gates.

:func:`comm_order` list-schedules the ops over that dependency graph: it runs every
ready op whose copies are open, and otherwise opens the copy that unblocks the most
ready gates (or, in the second variant, the one closest to done), evicting (when the
node is full) the open copy fewest ready gates wait for. The caller weighs both
results under the exact schedule of cat groups.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from qorch.workloads.distributed.hypergraph import ANTI1, DIAG1, DIAG2, GENERAL1, CanonicalCircuit
from qorch.workloads.distributed.refine import Gates, placed

Key = tuple[int, int, int, int]  # (qubit, segment key, target node, source node)


def _dependencies(canon: CanonicalCircuit) -> list[list[int]]:
    """Successors of each op: diagonal ops wait for the last boundary on their qubits,
    a boundary for every diagonal op since the previous one."""
    succ: list[list[int]] = [[] for _ in canon.ops]
    boundary = [-1] * canon.num_qubits
    since: list[list[int]] = [[] for _ in range(canon.num_qubits)]
    for i, op in enumerate(canon.ops):
        for q in op.qubits:
            if op.kind in (GENERAL1, ANTI1):
                for j in [*since[q], boundary[q]]:
                    if j >= 0:
                        succ[j].append(i)
                boundary[q], since[q] = i, []
            else:
                assert op.kind in (DIAG1, DIAG2)
                if boundary[q] >= 0:
                    succ[boundary[q]].append(i)
                since[q].append(i)
    return succ


def op_keys(gates: Gates, assign: np.ndarray, where: dict[int, int]) -> dict[int, list[Key]]:
    """The copies each cross gate needs on the node it runs on (``where[op]``)."""
    na, nb, ka, kb = placed(gates, assign, ())
    out: dict[int, list[Key]] = {}
    for pos, i in enumerate(gates.index.tolist()):
        if i not in where:
            continue
        w = where[i]
        out[i] = [
            (int(q[pos]), int(key[pos]), w, int(node[pos]))
            for q, key, node in ((gates.a, ka, na), (gates.b, kb, nb))
            if node[pos] != w
        ]
    return out


def comm_order(
    canon: CanonicalCircuit,
    keys: dict[int, list[Key]],
    comm: Sequence[int],
    finishing_first: bool = False,
) -> list[int] | None:
    """A dependency-respecting op order that keeps each copy's gates together.

    ``finishing_first``: open first the copy with the fewest gates left that are not
    ready yet (it can be closed soonest), rather than the one most ready gates wait for.

    None when some gate needs more copies on one node than it has comm qubits (the
    caller's schedule then reports the shortage).
    """
    k = len(comm)
    for need in keys.values():
        per_node: dict[int, int] = defaultdict(int)
        for key in need:
            per_node[key[2]] += 1
        if any(c > comm[w] for w, c in per_node.items()):
            return None
    succ = _dependencies(canon)
    indeg = [0] * len(canon.ops)
    for outs in succ:
        for j in outs:
            indeg[j] += 1
    remaining: dict[Key, int] = defaultdict(int)
    for need in keys.values():
        for key in need:
            remaining[key] += 1
    open_at: list[dict[Key, int]] = [{} for _ in range(k)]  # node -> open copy -> when opened
    ready: set[int] = set()
    waiting_on: dict[Key, set[int]] = defaultdict(set)  # copy -> ready ops that need it
    runnable: list[int] = []  # heap; an entry whose copy was closed since is skipped
    order: list[int] = []
    clock = 0

    def is_open(key: Key) -> bool:
        return key in open_at[key[2]]

    def runs(i: int) -> bool:
        return all(is_open(c) for c in keys.get(i, ()))

    def make_ready(i: int) -> None:
        ready.add(i)
        for c in keys.get(i, ()):
            waiting_on[c].add(i)
        if runs(i):
            heapq.heappush(runnable, i)

    def make_room(node: int, keep: Sequence[Key]) -> bool:
        held = open_at[node]
        while len(held) + 1 > comm[node]:
            victims = [c for c in held if c not in keep]
            if not victims:
                return False
            victim = min(victims, key=lambda c: (len(waiting_on[c]), held[c], c))
            del held[victim]
        return True

    for i, d in enumerate(indeg):
        if d == 0:
            make_ready(i)
    while ready:
        while runnable and (runnable[0] not in ready or not runs(runnable[0])):
            heapq.heappop(runnable)
        if not runnable:
            missing: dict[Key, int] = defaultdict(int)
            for i in ready:
                need = [c for c in keys.get(i, ()) if not is_open(c)]
                for c in need:
                    missing[c] += 2 if len(need) == 1 else 1

            def score(c: Key, missing: dict[Key, int] = missing) -> tuple[int, ...]:
                unready = remaining[c] - len(waiting_on[c])
                first = (-unready, missing[c]) if finishing_first else (missing[c], -unready)
                return (*first, -c[0], -c[1], -c[2])

            chosen = max(missing, key=score)
            shut = {i: sum(not is_open(c) for c in keys[i]) for i in waiting_on[chosen]}
            target = min(shut, key=lambda i: (shut[i], i))
            need = keys[target]
            for key in need:
                if is_open(key):
                    continue
                if not make_room(key[2], need):
                    return None
                if len(open_at[key[3]]) >= comm[key[3]] and not make_room(key[3], need):
                    return None  # opening borrows one comm qubit at the source
                open_at[key[2]][key] = clock
                clock += 1
            for key in need:
                runnable.extend(i for i in waiting_on[key] if runs(i))
            heapq.heapify(runnable)
            if not runnable:
                return None
            continue
        i = heapq.heappop(runnable)
        ready.discard(i)
        order.append(i)
        for key in keys.get(i, ()):
            waiting_on[key].discard(i)
            remaining[key] -= 1
            if not remaining[key]:
                open_at[key[2]].pop(key, None)
        for j in succ[i]:
            indeg[j] -= 1
            if not indeg[j]:
                make_ready(j)
    return order if len(order) == len(canon.ops) else None


def reordered(canon: CanonicalCircuit, order: Sequence[int]) -> CanonicalCircuit:
    """``canon`` with its ops in ``order`` (segments follow their ops)."""
    new_index = {old: new for new, old in enumerate(order)}
    return CanonicalCircuit(
        canon.num_qubits,
        tuple(canon.ops[i] for i in order),
        {new_index[i]: seg for i, seg in canon.segments.items()},
        canon.segment_counts,
    )
