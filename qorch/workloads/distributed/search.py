"""The partitioner's candidate plans, each search bounded by an :class:`Effort`.

A candidate is a placement, teleportations, where every cross gate runs, and the cat
groups that fit those into the communication qubits (:mod:`catplan`), over one order
of the circuit's ops. :func:`candidate_plans` makes them from the initial splits of
:mod:`placement` (refined), the teleportation sweeps of :mod:`teleport`, the
third-QPU program of :mod:`hub`, the layered planners of :mod:`layers` (two QPUs) and
:mod:`klayers` (three or more), and the comm-reuse reordering of :mod:`reorder`; the
caller keeps the cheapest. Each candidate also carries its cost with unlimited
communication qubits.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from qorch.workloads.distributed.catplan import (
    CatGroup,
    CommQubitsError,
    ample_cats,
    schedule_cats,
)
from qorch.workloads.distributed.effort import Effort, Work
from qorch.workloads.distributed.hub import gate_nodes
from qorch.workloads.distributed.hypergraph import CanonicalCircuit
from qorch.workloads.distributed.klayers import klayered_teleports
from qorch.workloads.distributed.layers import (
    BlockLayers,
    block_layers,
    layer_order,
    layered_teleports,
)
from qorch.workloads.distributed.placement import (
    block_assignment,
    improve,
    initial_sizes,
    interaction_weights,
    kl_assignment,
)
from qorch.workloads.distributed.refine import (
    Gates,
    Teleport,
    pair_counts,
    serving_nodes,
    weighted_cost,
)
from qorch.workloads.distributed.reorder import comm_order, op_keys, reordered
from qorch.workloads.distributed.teleport import best_teleports

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Candidate:
    """One complete plan over ``canon``'s op order; ``cost`` is inf if it needs a dead pair."""

    canon: CanonicalCircuit
    assign: np.ndarray
    groups: tuple[CatGroup, ...]
    teleports: tuple[Teleport, ...]
    cost: float
    unlimited_cost: float  # the same placement and gate sites with ample comm qubits
    unlimited_pairs: int
    label: str

    def rank(self, k: int) -> tuple[float, int, bool, int, int]:
        """Cheapest first; then fewer teleports, the circuit's own order (a reordering
        must save pairs to be chosen), fewer comm qubits busy, fewer groups."""
        from qorch.workloads.distributed.catplan import comm_use

        # costs equal up to the order of summation are equal
        return (round(self.cost, 9), len(self.teleports), self.label.endswith("+reorder"),
                max(comm_use(self.groups, k), default=0), len(self.groups))  # fmt: skip


Moves = tuple[bytes, tuple[Teleport, ...]]  # a placement's bytes and its teleports


@dataclass
class Shared:
    """What the capacity levels of one partition share, as none of it depends on the
    capacities: the placement starts per initial sizes (with the interaction weights
    and the best start), the candidates of each placement and teleports (plain and
    layered op order), and the layer order with its block layers."""

    starts: dict[tuple[int, ...], tuple[list[np.ndarray], np.ndarray, np.ndarray]] = field(
        default_factory=dict
    )
    covers: dict[Moves, list[Candidate]] = field(default_factory=dict)
    hubs: dict[Moves, list[Candidate]] = field(default_factory=dict)
    layered: dict[Moves, list[Candidate]] = field(default_factory=dict)
    layer_order: tuple[CanonicalCircuit, Gates, BlockLayers] | None = None


@dataclass
class Problem:
    """What every search reads: the circuit, the network and the bounds."""

    canon: CanonicalCircuit
    gates: Gates
    capacities: Sequence[int]
    costs: np.ndarray
    comm: Sequence[int]
    names: Sequence[str]
    bounds: Effort
    work: Work
    progress: Progress
    shared: Shared = field(default_factory=Shared)

    @property
    def k(self) -> int:
        """Number of nodes."""
        return len(self.capacities)


def plan_cost(
    groups: Sequence[CatGroup], teleports: Sequence[Teleport], costs: np.ndarray
) -> float:
    """Weighted cost of a plan: each cat group and teleport costs its node pair's price."""
    cats = sum(costs[g.source, g.target] for g in groups)
    return float(cats + sum(costs[t.source, t.target] for t in teleports))


def candidate(
    prob: Problem,
    canon: CanonicalCircuit,
    gates: Gates,
    assign: np.ndarray,
    teleports: Sequence[Teleport],
    where: dict[int, int],
    label: str,
) -> Candidate | None:
    """The candidate for these choices; None if a node lacks the comm qubits for it."""
    k = prob.k
    try:
        groups = schedule_cats(gates, assign, teleports, k, prob.comm, prob.names, where)
    except CommQubitsError:
        return None
    ample = [max(canon.num_qubits, 1)] * k
    ends = ample_cats(gates, assign, teleports, k, ample, where)
    if ends is None:
        free = schedule_cats(gates, assign, teleports, k, ample, prob.names, where)
        ends = [(g.source, g.target) for g in free]
    return Candidate(
        canon, assign, tuple(groups), tuple(teleports),
        plan_cost(groups, teleports, prob.costs), _ends_cost(ends, teleports, prob.costs),
        len(ends) + len(teleports), label,
    )  # fmt: skip


def _ends_cost(
    ends: Sequence[tuple[int, int]], teleports: Sequence[Teleport], costs: np.ndarray
) -> float:
    """:func:`plan_cost` of groups with these (source, target) ends, summed in their order."""
    cats = sum(costs[u, v] for u, v in ends)
    return float(cats + sum(costs[t.source, t.target] for t in teleports))


def placement(prob: Problem, seed: int, method: str) -> tuple[np.ndarray, list[np.ndarray]]:
    """The refined initial placement, and the unrefined starts it came from.

    The starts depend on the initial sizes only, the same at every capacity level (and
    so is the best of them): they are made once per partition (:class:`Shared`).
    """
    gates, costs, k, n = prob.gates, prob.costs, prob.k, prob.canon.num_qubits
    sizes = initial_sizes(n, prob.capacities)

    def evaluate(assign: np.ndarray) -> tuple[float, float]:
        counts = pair_counts(gates, assign, (), k)
        blocked = sum(c for (u, v), c in counts.items() if math.isinf(costs[u, v]))
        finite = sum(c * costs[u, v] for (u, v), c in counts.items() if not math.isinf(costs[u, v]))
        prob.work.add("refine_evaluations")
        return (float(blocked), float(finite))

    key = tuple(sizes)
    if key not in prob.shared.starts:
        starts = []
        if method in ("auto", "blocks"):
            starts.append(block_assignment(n, sizes))
        weights = interaction_weights(gates, n) if len(gates.index) else np.zeros((n, n))
        if method in ("auto", "kl") and len(gates.index):
            starts.append(kl_assignment(weights, sizes, seed))
        if not starts:
            starts.append(block_assignment(n, sizes))
        prob.shared.starts[key] = (starts, weights, min(starts, key=evaluate))
    starts, weights, best = prob.shared.starts[key]
    width = min(4 * n, prob.bounds.refine_width)
    per_gate = prob.bounds.refine_gate_evaluations // max(len(gates.index), 1)
    budget = max(1, min(prob.bounds.refine_evaluations, per_gate))
    assign, _ = improve(best, evaluate, weights, prob.capacities, width=width, budget=budget)
    return assign, starts


def candidate_plans(
    prob: Problem,
    assign: np.ndarray,
    starts: Sequence[np.ndarray],
    seed: int,
    bound: float = math.inf,
) -> list[Candidate]:
    """Every candidate from ``assign`` (and, once moving pays, the other starts).

    ``bound``: the cheapest plan already in hand (from a lower capacity level). The
    third-QPU and layered plans are made first (the layered planner for three or more
    QPUs stops once its moves alone cost more than a plan in hand, or than a cover plan
    can cost), then the covers, skipped where their floor is above the cheapest plan;
    the candidates are returned in the order they always were, so ties fall as before.
    What does not depend on the capacities (where gates run for a placement and its
    teleports, the layer order) is computed once per partition (:class:`Shared`).
    """
    gates, k, costs, comm = prob.gates, prob.k, prob.costs, prob.comm
    moves: list[tuple[np.ndarray, list[Teleport]]] = [(assign, [])]
    if len(gates.index) and k > 1:
        prob.progress("teleportations")
        level = Work()  # each capacity level's sweeps have their own window budget
        for start in [assign, *starts]:  # other starts only once moving paid off
            planned = best_teleports(gates, start, prob.capacities, comm, costs, prob.bounds,
                                     level)  # fmt: skip
            if not planned:
                break
            moves.append((start, planned))
        prob.work.spent.update(level.spent)
    keys = [(start.tobytes(), tuple(tele)) for start, tele in moves]
    for (start, tele), key in zip(moves, keys, strict=True):
        if key not in prob.shared.hubs:
            prob.shared.hubs[key] = _sited(prob, start, tele, ("hub", "hub-fitted"))
    hubs = [c for key in keys for c in prob.shared.hubs[key]]
    lfound: list[Candidate] = []
    if len(gates.index) and k >= 2:  # every block local, ops in layer order (same circuit)
        prob.progress("layered teleportations")
        if prob.shared.layer_order is None:
            in_layers = layer_order(prob.canon)
            gates_in_layers = Gates.of(in_layers)
            blocks = block_layers(gates_in_layers, prob.canon.num_qubits)
            prob.shared.layer_order = (in_layers, gates_in_layers, blocks)
        layered, lgates, blocks = prob.shared.layer_order
        if k == 2:
            planned_layers = layered_teleports(lgates, assign, prob.capacities, comm, costs,
                                               seed, prob.bounds, prob.work, blocks)  # fmt: skip
        else:  # stops once its moves alone cost more than a plan in hand
            ceilings = [_cover_ceiling(prob, start, tele) for start, tele in moves]
            cheapest = min([bound, *(c.cost for c in hubs), *ceilings])
            planned_layers = klayered_teleports(lgates, assign, prob.capacities, comm, costs,
                                                seed, prob.bounds, prob.work, cheapest,
                                                blocks)  # fmt: skip
        if planned_layers is not None:
            lstart, ltele = planned_layers
            key = (lstart.tobytes(), tuple(ltele))
            if key not in prob.shared.layered:
                prob.shared.layered[key] = _sited_layered(prob, layered, lgates, lstart, ltele)
            lfound = prob.shared.layered[key]
    best = min([bound, *(c.cost for c in [*hubs, *lfound])])
    found: list[Candidate] = []
    for (start, tele), key in zip(moves, keys, strict=True):  # in the order they were made
        if key not in prob.shared.covers:
            prob.shared.covers[key] = _sited(prob, start, tele, ("cover1", "cover0"), best)
        found += [*prob.shared.covers[key], *prob.shared.hubs[key]]
    return found + lfound


def _sited(
    prob: Problem,
    start: np.ndarray,
    tele: list[Teleport],
    kinds: tuple[str, str],
    bound: float = math.inf,
) -> list[Candidate]:
    """The candidates of one placement and its teleports: each gate on one of its own
    nodes (``cover1``, ``cover0``: two minimum covers) or on a third QPU (``hub``,
    ``hub-fitted``: the program, plain and fitted to comm qubits), and, without
    teleports, the comm-reuse reorderings of each.

    A cover plan pays at least the fewest cat-entanglements per node pair (before comm
    limits) plus its teleports, with or without comm limits; when that alone costs more
    than ``bound``, the plan in hand, the covers are not built (about a second each at
    256 qubits). Never where they would be reordered: that changes the op order.
    """
    canon, gates, k, costs, comm = prob.canon, prob.gates, prob.k, prob.costs, prob.comm
    wheres: list[tuple[dict[int, int] | None, str]] = []
    if kinds == ("cover1", "cover0"):
        reorders = not tele and len(canon.ops) <= prob.bounds.reorder_ops
        if reorders or _cover_floor(prob, start, tele) <= bound:
            wheres = [(serving_nodes(gates, start, tele, k, pref), f"cover{int(pref)}")
                      for pref in (True, False)]  # fmt: skip
    else:
        prob.progress("gates on a third QPU")
        wheres.append((gate_nodes(gates, start, tele, costs, comm, prob.bounds, prob.work),
                       "hub"))  # fmt: skip
        if min(comm) < canon.num_qubits:  # the program again, copies fitted to comm qubits
            fitted = gate_nodes(gates, start, tele, costs, comm, prob.bounds, prob.work, True)
            wheres.append((fitted, "hub-fitted"))
    found: list[Candidate | None] = []
    for where, label in wheres:
        if where is None:
            continue
        found.append(candidate(prob, canon, gates, start, tele, where, label))
        if not tele:
            found.extend(_reordered(prob, start, where, label, first) for first in (0, 1))
    return [c for c in found if c is not None]


def _cover_ceiling(prob: Problem, start: np.ndarray, tele: Sequence[Teleport]) -> float:
    """The most a cover plan without teleports can cost, comm limits and all: each
    cross gate opens at most one copy (inf where that is not sure: teleports, or a node
    without comm qubits, whose cover plan may not exist)."""
    if tele or min(prob.comm) < 1:
        return math.inf
    na, nb = start[prob.gates.a], start[prob.gates.b]
    cross = na != nb
    return float(prob.costs[na[cross], nb[cross]].sum())


def _cover_floor(prob: Problem, start: np.ndarray, tele: Sequence[Teleport]) -> float:
    """The least a plan serving each gate on one of its own nodes can cost."""
    counts = pair_counts(prob.gates, start, tele, prob.k)
    return weighted_cost(counts, prob.costs) + plan_cost((), tele, prob.costs)


def _sited_layered(
    prob: Problem, layered: CanonicalCircuit, lgates: Gates, lstart: np.ndarray,
    ltele: list[Teleport],
) -> list[Candidate]:  # fmt: skip
    """The layered plan's candidates, each gate on one of its own nodes (two covers)."""
    found = []
    for pref in (True, False):
        where = serving_nodes(lgates, lstart, ltele, prob.k, pref)
        found.append(candidate(prob, layered, lgates, lstart, ltele, where, "layered"))
    return [c for c in found if c is not None]


def _reordered(
    prob: Problem, assign: np.ndarray, where: dict[int, int], label: str, finishing_first: int
) -> Candidate | None:
    """The same gate sites with ops reordered so each copy's gates run together."""
    if len(prob.canon.ops) > prob.bounds.reorder_ops or not where:
        return None
    keys = op_keys(prob.gates, assign, where)
    order = comm_order(prob.canon, keys, prob.comm, bool(finishing_first))
    if order is None:
        return None
    prob.work.add("reorder_ops", len(order))
    canon = reordered(prob.canon, order)
    position = {old: new for new, old in enumerate(order)}
    moved = {position[i]: w for i, w in where.items()}
    return candidate(prob, canon, Gates.of(canon), assign, (), moved, f"{label}+reorder")
