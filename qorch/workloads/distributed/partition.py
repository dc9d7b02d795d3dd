"""Partition a circuit over QPUs: placement, cat-entanglement groups, teleportations.

:func:`partition_circuit` reduces the circuit to diagonal two-qubit gates
(:mod:`hypergraph`), chooses a placement minimising the weighted EPR cost
(:mod:`placement`, exact cost from :mod:`refine`), picks where each cross-node gate
runs (on one of its qubits' nodes by a minimum vertex cover, or on a third node holding
copies of both, :mod:`hub`), and fits the resulting cat-entanglements
into each node's communication qubits, splitting a group when a node runs out
(furthest-next-use eviction). For two nodes it also weighs a layered plan
(:mod:`layers`): ops in block-layer order, qubits swapped between layers so every block
runs locally. The :class:`Partition` it returns is a complete plan: lowering emits
exactly ``epr_pairs`` EPR pairs.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from qiskit import QuantumCircuit

from qorch.contract.errors import CapabilityError, PlanError
from qorch.workloads.distributed.hub import gate_nodes
from qorch.workloads.distributed.hypergraph import CanonicalCircuit, Op, canonicalise
from qorch.workloads.distributed.layers import layer_order, layered_teleports
from qorch.workloads.distributed.placement import (
    block_assignment,
    improve,
    initial_sizes,
    interaction_weights,
    kl_assignment,
)
from qorch.workloads.distributed.refine import Gates, Teleport, pair_counts, placed, serving_nodes
from qorch.workloads.distributed.teleport import batch_comm_peak, best_teleports

METHODS = ("auto", "blocks", "kl")
__all__ = ["METHODS", "CatGroup", "Partition", "Teleport", "partition_circuit"]


class NoQuantumPathError(CapabilityError):
    """Every placement needs pairs between nodes that no quantum link joins."""


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


@dataclass(frozen=True)
class Partition:
    """A distribution plan. Node indices follow ``capacities``; pairs are keyed (i, j), i < j."""

    num_qubits: int
    capacities: tuple[int, ...]
    comm_qubits: tuple[int, ...]
    assignment: tuple[int, ...]
    ops: tuple[Op, ...]
    cat_groups: tuple[CatGroup, ...]
    teleports: tuple[Teleport, ...]
    epr_pairs_per_pair: dict[tuple[int, int], int]
    cost: float
    method: str

    @property
    def epr_pairs(self) -> int:
        """Total EPR pairs the plan consumes (cat-entanglements plus teleportations)."""
        return sum(self.epr_pairs_per_pair.values())

    @property
    def comm_use(self) -> tuple[int, ...]:
        """Per node, the most cat copies it holds at once: the comm qubits the plan keeps busy."""
        return _comm_use(self.cat_groups, len(self.capacities))

    @property
    def comm_peak(self) -> int:
        """The largest of :attr:`comm_use`."""
        return max(self.comm_use, default=0)

    @property
    def third_node_gates(self) -> int:
        """Gates run on a node that holds neither of their qubits (served by two copies)."""
        served = Counter(i for g in self.cat_groups for i in g.gates)
        return sum(1 for c in served.values() if c == 2)

    @property
    def final_assignment(self) -> tuple[int, ...]:
        """Node of each logical qubit at the end, after teleportations."""
        final = list(self.assignment)
        for t in self.teleports:
            final[t.qubit] = t.target
        return tuple(final)


def partition_circuit(
    circuit: QuantumCircuit,
    capacities: Sequence[int],
    pair_cost: Sequence[Sequence[float]],
    *,
    comm_qubits: Sequence[int] | None = None,
    seed: int = 0,
    method: str = "auto",
    node_names: Sequence[str] | None = None,
    effort: int = 400,
) -> Partition:
    """Assign ``circuit``'s qubits to nodes and plan every cross-node gate.

    ``capacities[i]``: data qubits of node i. ``pair_cost[i][j]``: cost of one EPR pair
    between i and j (e.g. expected seconds per pair); ``math.inf`` = no quantum path.
    ``comm_qubits[i]``: communication qubits of node i (default: ample). ``method``:
    "auto" (best of all), "blocks" or "kl" for the initial split. ``effort``: exact cost
    evaluations allowed in refinement. Raises CapabilityError when the network cannot
    hold or connect the circuit, PlanError for malformed arguments.
    """
    names = list(node_names) if node_names is not None else [str(i) for i in range(len(capacities))]
    costs = _validate(circuit, capacities, pair_cost, comm_qubits, method, names)
    k, n = len(capacities), circuit.num_qubits
    comm = tuple(comm_qubits) if comm_qubits is not None else (max(n, 1),) * k
    canon = canonicalise(circuit)
    gates = Gates.of(canon)
    sizes = initial_sizes(n, capacities)

    def evaluate(assign: np.ndarray) -> tuple[float, float]:
        counts = pair_counts(gates, assign, (), k)
        blocked = sum(c for (u, v), c in counts.items() if math.isinf(costs[u, v]))
        finite = sum(c * costs[u, v] for (u, v), c in counts.items() if not math.isinf(costs[u, v]))
        return (float(blocked), float(finite))

    starts = []
    if method in ("auto", "blocks"):
        starts.append(block_assignment(n, sizes))
    weights = interaction_weights(gates, n) if len(gates.index) else np.zeros((n, n))
    if method in ("auto", "kl") and len(gates.index):
        starts.append(kl_assignment(weights, sizes, seed))
    if not starts:
        starts.append(block_assignment(n, sizes))
    best = min(starts, key=evaluate)
    assign, score = improve(best, evaluate, weights, capacities, width=4 * n, budget=effort)
    if score[0] > 0:
        raise NoQuantumPathError(
            "circuit cannot be distributed: every placement needs EPR pairs between nodes "
            "with no quantum path"
        )
    moves: list[tuple[np.ndarray, list[Teleport]]] = [(assign, [])]
    if len(gates.index) and k > 1:
        for start in [assign, *starts]:  # other starts only once moving paid off
            planned = best_teleports(gates, start, capacities, comm, costs)
            if not planned:
                break
            moves.append((start, planned))
    plans: list[tuple[CanonicalCircuit, np.ndarray, list[CatGroup], list[Teleport]]] = []
    for start, tele in moves:
        wheres = [serving_nodes(gates, start, tele, k, pref) for pref in (True, False)]
        hub = gate_nodes(gates, start, tele, costs, comm)
        if hub is not None:
            wheres.append(hub)
        plans.extend(
            (canon, start, _schedule(gates, start, tele, k, comm, names, where), tele)
            for where in wheres
        )
    if len(gates.index) and k == 2:  # every block local, ops in layer order (same circuit)
        layered = layer_order(canon)
        lgates = Gates.of(layered)
        found = layered_teleports(lgates, assign, capacities, comm, costs, seed)
        if found is not None:
            lstart, ltele = found
            plans.extend(
                (layered, lstart, _schedule(lgates, lstart, ltele, k, comm, names, where), ltele)
                for where in (
                    serving_nodes(lgates, lstart, ltele, k, pref) for pref in (True, False)
                )
            )
    chosen, start, groups, tele = min(
        plans,
        key=lambda p: (
            _cost(p[2], p[3], costs),
            len(p[3]),
            max(_comm_use(p[2], k), default=0),
            len(p[2]),
        ),
    )
    return _build(chosen.ops, n, capacities, comm, start, groups, tele, costs, method)


def _validate(circuit, capacities, pair_cost, comm_qubits, method, names) -> np.ndarray:
    k = len(capacities)
    if method not in METHODS:
        raise PlanError(f"unknown partition method '{method}'; choose one of {', '.join(METHODS)}")
    if k == 0 or len(names) != k:
        raise PlanError("partition needs one name and one capacity per node")
    costs = np.asarray(pair_cost, dtype=float)
    if costs.shape != (k, k) or not np.allclose(costs, costs.T, equal_nan=False):
        raise PlanError(f"pair_cost must be a symmetric {k}×{k} matrix")
    if comm_qubits is not None and (len(comm_qubits) != k or min(comm_qubits) < 0):
        raise PlanError("comm_qubits needs one non-negative count per node")
    if min(capacities) < 0:
        raise PlanError("capacities must be non-negative")
    if circuit.num_qubits > sum(capacities):
        held = ", ".join(f"{nm}: {c}" for nm, c in zip(names, capacities, strict=True))
        raise CapabilityError(
            f"network too small: circuit needs {circuit.num_qubits} qubits, "
            f"nodes hold {sum(capacities)} data qubits ({held})"
        )
    return costs


def _cost(groups: Sequence[CatGroup], teleports: Sequence[Teleport], costs: np.ndarray) -> float:
    cats = sum(costs[g.source, g.target] for g in groups)
    return float(cats + sum(costs[t.source, t.target] for t in teleports))


def _comm_use(groups: Sequence[CatGroup], k: int) -> tuple[int, ...]:
    held, peak = [0] * k, [0] * k
    # at one op, lowering closes groups before it opens new ones
    for _, step, node in sorted(
        (t, d, g.target) for g in groups for t, d in ((g.open_at, 1), (g.close_at, -1))
    ):
        held[node] += step
        peak[node] = max(peak[node], held[node])
    return tuple(peak)


def _schedule(gates, assign, teleports, k, comm, names, where) -> list[CatGroup]:
    """Cat groups serving each gate on its node ``where[op]``, split where comm qubits run out.

    A gate running on node w needs a copy on w of each of its segments that lives
    elsewhere: one, or two when w is a third node (see :mod:`hub`).
    """
    na, nb, ka, kb = placed(gates, assign, teleports)
    serve: dict[int, list[tuple]] = {}
    uses: dict[tuple, deque[int]] = defaultdict(deque)
    for pos, i in enumerate(gates.index.tolist()):
        if i not in where:
            continue
        w = where[i]
        keys = [
            (int(q[pos]), int(key[pos]), w, int(node[pos]))
            for q, key, node in ((gates.a, ka, na), (gates.b, kb, nb))
            if node[pos] != w
        ]
        serve[i] = keys
        for key in keys:
            uses[key].append(i)
    held: list[dict[tuple, list]] = [{} for _ in range(k)]
    done: list[CatGroup] = []

    def close(node: int, key: tuple, at: int) -> None:
        rec = held[node].pop(key)
        done.append(CatGroup(key[0], key[3], node, tuple(rec[1]), rec[0], at))

    def make_room(node: int, at: int, need: int = 1, keep: Sequence[tuple] = ()) -> None:
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


def _build(ops, n, capacities, comm, assign, groups, teleports, costs, method) -> Partition:
    per_pair: dict[tuple[int, int], int] = defaultdict(int)
    for u, v in [(g.source, g.target) for g in groups] + [(t.source, t.target) for t in teleports]:
        per_pair[(min(u, v), max(u, v))] += 1
    return Partition(
        num_qubits=n,
        capacities=tuple(capacities),
        comm_qubits=tuple(comm),
        assignment=tuple(int(x) for x in assign),
        ops=tuple(ops),
        cat_groups=tuple(groups),
        teleports=tuple(teleports),
        epr_pairs_per_pair=dict(per_pair),
        cost=_cost(groups, teleports, costs),
        method=method,
    )
