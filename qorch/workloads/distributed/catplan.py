"""Cat-entanglement groups: which copies serve which gates, fitted into comm qubits.

Given where every cross-node gate runs (:mod:`refine`, :mod:`hub`), :func:`schedule_cats`
walks the ops in order, opening one cat copy per (segment, node) and closing it after
its last gate; when a node runs out of communication qubits it closes the open copy
whose next use is furthest away (it is opened again, for one more EPR pair, when
needed). :func:`comm_use` counts the comm qubits the groups keep busy.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass

from qorch.contract.errors import CapabilityError
from qorch.workloads.distributed.refine import Teleport, placed
from qorch.workloads.distributed.teleport import batch_comm_peak


class CommQubitsError(CapabilityError):
    """A node needs communication qubits it does not have (``node``: its index)."""

    def __init__(self, message: str, node: int) -> None:
        super().__init__(message)
        self.node = node


@dataclass(frozen=True)
class CatGroup:
    """One cat-entanglement: ``qubit`` (on ``source``) shared with ``target`` by one EPR pair.

    It is opened just before op ``open_at``, serves the two-qubit ops ``gates`` (indices
    into :attr:`Partition.ops`) on the target side, and is closed just before op
    ``close_at``. A gate listed by two groups runs on their common target, a node that
    holds neither of its qubits.
    """

    qubit: int
    source: int
    target: int
    gates: tuple[int, ...]
    open_at: int
    close_at: int


def comm_use(groups: Sequence[CatGroup], k: int) -> tuple[int, ...]:
    """Per node, the most cat copies it holds at once (closes before opens at one op)."""
    held, peak = [0] * k, [0] * k
    # at one op, lowering closes groups before it opens new ones
    for _, step, node in sorted(
        (t, d, g.target) for g in groups for t, d in ((g.open_at, 1), (g.close_at, -1))
    ):
        held[node] += step
        peak[node] = max(peak[node], held[node])
    return tuple(peak)


def _copies(gates, assign, teleports, where) -> list[tuple[int, list[tuple]]]:
    """Each gate in ``where`` (in the gates' order) with the copies it needs on its node w:
    one key ``(qubit, segment, w, node holding the segment)`` per operand living elsewhere
    (one, or two when w is a third node, see :mod:`hub`)."""
    na, nb, ka, kb = (x.tolist() for x in placed(gates, assign, teleports))
    qa, qb = gates.a.tolist(), gates.b.tolist()
    out: list[tuple[int, list[tuple]]] = []
    for pos, i in enumerate(gates.index.tolist()):
        w = where.get(i)
        if w is None:
            continue
        keys = []
        if na[pos] != w:
            keys.append((qa[pos], ka[pos], w, na[pos]))
        if nb[pos] != w:
            keys.append((qb[pos], kb[pos], w, nb[pos]))
        out.append((i, keys))
    return out


def schedule_cats(gates, assign, teleports, k, comm, names, where) -> list[CatGroup]:
    """Cat groups serving each gate on its node ``where[op]``, split where comm qubits run out
    (the copies each gate needs: :func:`_copies`)."""
    serve: dict[int, list[tuple]] = {}
    uses: dict[tuple, deque[int]] = defaultdict(deque)
    for i, keys in _copies(gates, assign, teleports, where):
        serve[i] = keys
        for key in keys:
            uses[key].append(i)
    held: list[dict[tuple, list]] = [{} for _ in range(k)]
    done: list[CatGroup] = []

    def close(node: int, key: tuple, at: int) -> None:
        rec = held[node].pop(key)
        done.append(CatGroup(key[0], key[3], node, tuple(rec[1]), rec[0], at))

    def make_room(node: int, at: int, need: int = 1, keep: Sequence[tuple] = ()) -> None:
        if len(held[node]) + need <= comm[node]:  # room already (keep is held: no error)
            return
        if comm[node] < need + len(keep):
            raise CommQubitsError(
                f"node {names[node]} has no communication qubits for its EPR pairs", node
            )
        while len(held[node]) + need > comm[node]:
            victim = max(
                (key for key in held[node] if key not in keep), key=lambda key: uses[key][0]
            )
            close(node, victim, at)

    batches: dict[int, list[Teleport]] = defaultdict(list)
    for t in teleports:
        batches[t.at].append(t)
    pending = deque(sorted(batches))
    for i in sorted(serve):
        while pending and pending[0] <= i:
            at = pending.popleft()
            for node, need in enumerate(batch_comm_peak(batches[at], k)):
                if need:
                    make_room(node, at, need)
        keys = serve[i]
        for key in keys:
            _, _, target, source = key
            if key not in held[target]:
                make_room(target, i, keep=[o for o in keys if o != key and o in held[target]])
                make_room(source, i)
                held[target][key] = [i, []]
        for key in keys:
            held[key[2]][key][1].append(i)
            uses[key].popleft()
        for key in keys:
            if not uses[key]:
                close(key[2], key, i + 1)
    return sorted(done, key=lambda g: (g.open_at, g.close_at))


def ample_cats(gates, assign, teleports, k, comm, where) -> list[tuple[int, int]] | None:
    """(source, target) of each group :func:`schedule_cats` makes, in its order, when no
    node can run out of ``comm`` qubits (one group per copy); None when one might.

    The candidates' cost with ample comm qubits needs only these pairs: scheduling the
    copies for it was a quarter of partitioning 256 qubits on 8 QPUs. No copy is closed
    early when, on every node, the most copies open at once plus what opening one more
    or a teleport batch borrows fits its comm qubits.
    """
    span: dict[tuple, list[int]] = {}  # key -> [first use, last use, place in that gate]
    for i, keys in sorted(_copies(gates, assign, teleports, where), key=lambda c: c[0]):
        for slot, key in enumerate(keys):
            found = span.setdefault(key, [i, i, slot])
            found[1], found[2] = i, slot
    events: list[list[tuple[int, int]]] = [[] for _ in range(k)]
    for key, (first, last, _) in span.items():
        events[key[2]] += [(first, 1), (last + 1, -1)]
    need = [1] * k
    batches: dict[int, list[Teleport]] = defaultdict(list)
    for t in teleports:
        batches[t.at].append(t)
    for batch in batches.values():
        need = [max(a, b) for a, b in zip(need, batch_comm_peak(batch, k), strict=True)]
    for node in range(k):
        held = most = 0
        for _, step in sorted(events[node]):  # closes (−1) before opens at one op
            held += step
            most = max(most, held)
        if most + need[node] > comm[node]:
            return None
    # schedule_cats closes a copy after its last gate (in the gate's order) and sorts
    # the groups by (open, close), stably: the same order, so costs sum the same way
    order = sorted(span.items(), key=lambda item: (item[1][0], item[1][1], item[1][2]))
    return [(key[3], key[2]) for key, _ in order]
