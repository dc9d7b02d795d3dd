"""Partition a circuit over QPUs: placement, cat-entanglement groups, teleportations.

:func:`partition_circuit` reduces the circuit to diagonal two-qubit gates
(:mod:`hypergraph`), chooses a placement minimising the weighted EPR cost
(:mod:`placement`, exact cost from :mod:`refine`), picks where each cross-node gate
runs (on one of its qubits' nodes by a minimum vertex cover, or on a third node holding
copies of both, :mod:`hub`), and fits the resulting cat-entanglements
into each node's communication qubits, splitting a group when a node runs out
(furthest-next-use eviction). It also weighs a layered plan (:mod:`layers` for two
nodes, :mod:`klayers` for more): ops in block-layer order, qubits moved between layers
so every block runs locally. With few communication qubits it also reorders commuting gates so that
copies are reused (:mod:`reorder`). Every search is bounded by the effort's counts
(:mod:`effort`). The plan is never worse than the naive baseline (:mod:`baseline`),
which it reports beside the cost with unlimited communication qubits. The
:class:`Partition` it returns is a complete plan: lowering emits exactly ``epr_pairs``
EPR pairs.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from qiskit import QuantumCircuit

from qorch.contract.errors import CapabilityError, PlanError
from qorch.workloads.distributed.baseline import baseline_plan
from qorch.workloads.distributed.catplan import CatGroup, CommQubitsError, comm_use
from qorch.workloads.distributed.effort import Effort, Work, effort_named
from qorch.workloads.distributed.feasibility import NoQuantumPathError, packing, refusal
from qorch.workloads.distributed.hypergraph import Op, canonicalise
from qorch.workloads.distributed.placement import initial_sizes
from qorch.workloads.distributed.refine import Gates, Teleport
from qorch.workloads.distributed.search import (
    Candidate,
    Problem,
    Progress,
    candidate_plans,
    placement,
)

METHODS = ("auto", "blocks", "kl")
__all__ = [
    "METHODS",
    "CatGroup",
    "CommQubitsError",
    "NoQuantumPathError",
    "Partition",
    "Teleport",
    "partition_circuit",
]


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
    baseline_pairs: int | None = None  # naive plan under the same limits (None: it has none)
    baseline_cost: float | None = None
    unlimited_pairs: int = 0  # the best plan's pairs with unlimited comm qubits: a floor
    unlimited_cost: float = 0.0
    effort: str = "default"
    work: dict[str, int] = field(default_factory=dict)  # what each bounded search spent
    planner: str = ""  # the strategy whose candidate won (e.g. "layered", "cover1", "hub")

    @property
    def epr_pairs(self) -> int:
        """Total EPR pairs the plan consumes (cat-entanglements plus teleportations)."""
        return sum(self.epr_pairs_per_pair.values())

    @property
    def comm_use(self) -> tuple[int, ...]:
        """Per node, the most cat copies it holds at once: the comm qubits the plan keeps busy."""
        return comm_use(self.cat_groups, len(self.capacities))

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
    effort: str | Effort = "default",
    progress: Progress | None = None,
) -> Partition:
    """Assign ``circuit``'s qubits to nodes and plan every cross-node gate.

    ``capacities[i]``: data qubits of node i. ``pair_cost[i][j]``: cost of one EPR pair
    between i and j (e.g. expected seconds per pair); ``math.inf`` = no quantum path.
    ``comm_qubits[i]``: communication qubits of node i (default: ample). ``method``:
    "auto" (best of all), "blocks" or "kl" for the initial split. ``effort``: the
    bounds of every search (``fast``, ``default``, ``thorough`` or an :class:`Effort`);
    ``progress`` is told each stage's name. Raises CapabilityError when no plan exists
    (the message says why), PlanError for malformed arguments.
    """
    bounds = effort if isinstance(effort, Effort) else effort_named(effort)
    names = list(node_names) if node_names is not None else [str(i) for i in range(len(capacities))]
    costs = _validate(circuit, capacities, pair_cost, comm_qubits, method, names)
    k, n = len(capacities), circuit.num_qubits
    comm = tuple(comm_qubits) if comm_qubits is not None else (max(n, 1),) * k
    canon = canonicalise(circuit)
    gates = Gates.of(canon)
    work = Work()
    prob = Problem(canon, gates, capacities, costs, comm, names, bounds, work,
                   progress or (lambda _stage: None))  # fmt: skip
    found: list[Candidate] = []
    for caps in _capacity_levels(n, capacities, bounds.capacity_levels):
        prob.capacities = caps
        prob.progress("placement")
        assign, starts = placement(prob, seed, method)
        bound = min((c.cost for c in found), default=float("inf"))
        found.extend(candidate_plans(prob, assign, starts, seed, bound))
    prob.capacities = capacities
    naive = baseline_plan(prob)
    feasible = [c for c in [*found, *([naive] if naive else [])] if c.cost < float("inf")]
    packed = None if feasible else packing(gates, n, capacities, costs, comm)
    if packed is not None:  # interacting qubits kept within nodes that reach each other
        feasible = [c for c in candidate_plans(prob, packed, [], seed) if c.cost < float("inf")]
    if not feasible:
        prob.progress("done")
        raise refusal(gates, capacities, costs, comm, names)
    prob.progress("done")
    best = min(feasible, key=lambda c: c.rank(k))
    floor = min(feasible, key=lambda c: (c.unlimited_cost, c.rank(k)))
    return _build(best, n, capacities, comm, method, naive, floor, bounds, work)


def _capacity_levels(n: int, capacities: Sequence[int], levels: int) -> list[list[int]]:
    """The capacities searched, smallest first: the tight sizes plus 0, 1, ... spare
    slots (capped by the given ones), then the given ones.

    A plan for smaller capacities holds for larger ones. Each level's search depends
    only on its capacities and the levels below it (their best plan bounds it, what
    they computed is reused), never on the levels above, so the levels searched for one
    more slot per node extend those searched for the fewer: one more slot never costs
    more pairs while the given capacities are within ``levels`` slots of the tight sizes.
    """
    tight = initial_sizes(n, capacities)
    out: list[list[int]] = []
    for extra in range(levels):
        caps = [min(c, t + extra) for c, t in zip(capacities, tight, strict=True)]
        if caps not in out:
            out.append(caps)
    if list(capacities) not in out:
        out.append(list(capacities))
    return out


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


def _pairs(candidate: Candidate) -> dict[tuple[int, int], int]:
    per_pair: dict[tuple[int, int], int] = defaultdict(int)
    ends = [(g.source, g.target) for g in candidate.groups]
    for u, v in ends + [(t.source, t.target) for t in candidate.teleports]:
        per_pair[(min(u, v), max(u, v))] += 1
    return dict(per_pair)


def _build(best, n, capacities, comm, method, naive, floor, bounds, work) -> Partition:
    per_pair = _pairs(best)
    below = floor.unlimited_cost <= best.cost
    found = naive is not None and naive.cost < float("inf")
    return Partition(
        num_qubits=n,
        capacities=tuple(capacities),
        comm_qubits=tuple(comm),
        assignment=tuple(int(x) for x in best.assign),
        ops=tuple(best.canon.ops),
        cat_groups=best.groups,
        teleports=best.teleports,
        epr_pairs_per_pair=per_pair,
        cost=best.cost,
        method=method,
        baseline_pairs=sum(_pairs(naive).values()) if found else None,
        baseline_cost=naive.cost if found else None,
        unlimited_pairs=floor.unlimited_pairs if below else sum(per_pair.values()),
        unlimited_cost=floor.unlimited_cost if below else best.cost,
        effort=bounds.name,
        work=dict(work.spent),
        planner=best.label,
    )
