"""Analysing a distributed plan: network → partition → lower → schedule (or cut).

Pure and deterministic; every error is located at the plan field responsible.
:mod:`qorch.workloads.distributed.compile` turns the analysis into a bundle, and
:mod:`qorch.workloads.distributed.report` post-processes the collected counts.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import itertools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import (
    BudgetError,
    CapabilityError,
    PlanError,
    QorchError,
    UnknownDeviceError,
)
from qorch.engine import registry
from qorch.engine.loadedplan import LoadedPlan, raise_all
from qorch.workloads.distributed.analysis import Analysis, Pair, distributed_plan
from qorch.workloads.distributed.network import Network, PairLink, TopologyError, build_network
from qorch.workloads.distributed.progress import compile_progress

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from qorch.workloads.distributed.cut import CutPlan
    from qorch.workloads.distributed.partition import Partition
    from qorch.workloads.distributed.timing import NodeTiming


def load_network(loaded: LoadedPlan) -> Network:
    """The plan's network; errors located at the link field responsible."""
    plan = distributed_plan(loaded)
    try:
        return build_network(plan.node_names, plan.links)
    except TopologyError as error:
        key = tuple(int(p) if p.isdigit() else p for p in (error.field or "links").split("."))
        raise loaded.error(key, error.message) from None


def pair_links(loaded: LoadedPlan, network: Network) -> dict[Pair, PairLink]:
    """The best path between every pair of nodes for the plan's objective (fidelity, time
    or pairs; pairs when cutting); an unconnected pair is an error."""
    plan = distributed_plan(loaded)
    objective = "pairs" if plan.execute.mode == "cut" else plan.strategy.objective
    found: dict[Pair, PairLink] = {}
    for a, b in itertools.combinations(plan.node_names, 2):
        try:
            found[(a, b)] = network.pair_link(a, b, objective)
        except TopologyError as error:
            raise loaded.error(("links",), error.message) from None
    return found


def pair_costs(
    names: list[str],
    links: dict[Pair, PairLink],
    objective: str,
    timings: dict[str, NodeTiming] | None = None,
) -> list[list[float]]:
    """Cost of one EPR pair between each two nodes (``inf`` where none is usable).

    ``time``: expected seconds per delivered pair; ``fidelity``: −ln F of a pair
    as it is used; ``pairs``: 1 per pair. With ``timings``, a pair is taken to be
    used after one classical message (the link's latency) during which its far
    half dephases with the node's T2; a pair that would fall to F ≤ 0.5 by then
    cannot carry a gate, and costs ``inf`` — the partitioner must avoid it.
    """
    from qorch.workloads.distributed.timing import stored_pair_fidelity

    size = len(names)
    costs = [[0.0] * size for _ in range(size)]
    for (a, b), link in links.items():
        fidelity = link.fidelity or 0.0
        if timings is not None and not link.classical_only:
            t2 = min(timings[a].t2_s, timings[b].t2_s)
            fidelity = stored_pair_fidelity(fidelity, 0.0, link.latency_s, t2, t2)
        if link.classical_only or fidelity <= 0.5:
            cost = math.inf
        elif objective == "time":
            cost = 1.0 / link.rate_hz if link.rate_hz > 0 else math.inf
        elif objective == "fidelity":
            cost = -math.log(fidelity)
        else:
            cost = 1.0
        i, j = names.index(a), names.index(b)
        costs[i][j] = costs[j][i] = cost
    return costs


def check_size(loaded: LoadedPlan, circuit: QuantumCircuit) -> None:
    """The network must hold the circuit's qubits in its nodes' data qubits."""
    plan = distributed_plan(loaded)
    held = sum(node.data_qubits for node in plan.nodes)
    if held < circuit.num_qubits:
        parts = ", ".join(f"{node.name}: {node.data_qubits}" for node in plan.nodes)
        raise loaded.error(
            ("nodes",),
            f"network too small: the circuit needs {circuit.num_qubits} qubits, the nodes hold "
            f"{held} data qubits ({parts})",
            CapabilityError,
        )


def check_plan(loaded: LoadedPlan) -> dict[str, Any]:
    """The cheap checks of ``qorch validate``: circuit, network, links, size (no partitioning).

    The circuit and the network are checked independently, so both problems are
    reported (as PlanErrors) when both have one; the size only when both are sound.
    """
    from qorch.workloads.sources.build import build_spec

    plan = distributed_plan(loaded)
    problems: list[QorchError] = []
    circuit = None
    try:
        circuit = build_spec(loaded, plan.circuit, ("circuit",))
    except QorchError as error:
        problems.append(error)
    try:
        pair_links(loaded, load_network(loaded))
    except QorchError as error:
        problems.append(error)
    problems += capacity_problems(loaded)
    raise_all(loaded.display, problems)
    assert circuit is not None
    check_size(loaded, circuit)
    return {"qubits": circuit.num_qubits, "nodes": len(plan.nodes), "jobs": None}


def capacity_problems(loaded: LoadedPlan) -> list[QorchError]:
    """A node whose ``capacity`` is more than its device's qubits (where the provider knows
    them offline): located at the node's capacity, at validate rather than when its jobs
    are built or, worse, not at all."""
    problems: list[QorchError] = []
    for index, node in enumerate(distributed_plan(loaded).nodes):
        try:
            provider_name, device = registry.split_target(node.target)
            qubits = registry.load(provider_name).known_qubits(device)
        except QorchError:  # a bad target: reported by the target checks
            continue
        if qubits is not None and node.capacity > qubits:
            message = (f"capacity {node.capacity} is more than the {qubits} qubits of "
                       f"{node.target}")  # fmt: skip
            problems.append(loaded.error(("nodes", index, "capacity"), message, PlanError))
    return problems


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause Python's cyclic garbage collector, then collect once.

    Compiling 256 qubits builds millions of long-lived objects (1.3 M instructions, one
    scheduled op each); the collector traversed them again and again, ~20 % of lowering
    and scheduling. Nothing here relies on finalisers; the one collection at the end
    frees whatever cycles the compile left.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
            gc.collect()


def analyse(loaded: LoadedPlan) -> Analysis:
    """Partition, lower, schedule (or cut) the plan's circuit; pure and deterministic."""
    with _no_cycle_collection():
        return _analyse(loaded)


def _analyse(loaded: LoadedPlan) -> Analysis:
    from qorch.workloads.distributed.hypergraph import CircuitNotDistributableError
    from qorch.workloads.distributed.partition import (
        CommQubitsError,
        NoQuantumPathError,
        partition_circuit,
    )
    from qorch.workloads.sources.build import build_spec

    plan = distributed_plan(loaded)
    circuit = build_spec(loaded, plan.circuit, ("circuit",))
    network = load_network(loaded)
    links = pair_links(loaded, network)
    check_size(loaded, circuit)
    names = plan.node_names
    cutting = plan.execute.mode == "cut"
    objective = "pairs" if cutting else plan.strategy.objective
    timings = node_timings(loaded)
    costs = pair_costs(names, links, objective, timings)
    if cutting:  # every pair may be cut, whatever its link
        costs = [[0.0 if i == j else 1.0 for j in range(len(names))] for i in range(len(names))]
    try:
        partition = partition_circuit(
            circuit,
            [node.data_qubits for node in plan.nodes],
            costs,
            comm_qubits=None if cutting else [node.comm_qubits for node in plan.nodes],
            seed=plan.strategy.seed,
            method=plan.strategy.method,
            node_names=names,
            effort=plan.strategy.effort,
            progress=compile_progress(),
        )
    except CircuitNotDistributableError as error:  # the circuit is at fault, not the nodes
        raise loaded.error(("circuit",), error.message, CapabilityError) from None
    except CommQubitsError as error:
        message = f"{error.message}: give it comm_qubits ≥ 1"
        raise loaded.error(("nodes", error.node, "comm_qubits"), message, CapabilityError) from None
    except NoQuantumPathError as error:
        raise loaded.error(("nodes",), _classical_hint(error.message, cutting)) from None
    except CapabilityError as error:
        raise loaded.error(("nodes",), error.message) from None
    if cutting:
        return Analysis(
            plan,
            circuit,
            network,
            links,
            partition,
            None,
            None,
            timings,
            _cut(loaded, circuit, partition),
        )
    from qorch.workloads.distributed.estimate import estimate_fidelity, perfect_estimate
    from qorch.workloads.distributed.lower import lower
    from qorch.workloads.distributed.schedule import schedule_program

    program = lower(circuit, partition, names, [node.comm_qubits for node in plan.nodes])
    schedule = schedule_program(program, timings, links)
    if plan.execute.perfect_links:  # ideal pairs, gates and memories: nothing can fail
        schedule = dataclasses.replace(
            schedule, gate_fidelity=1.0, link_fidelity=1.0, idle_fidelity=1.0
        )
        estimate = perfect_estimate()
    else:
        estimate = estimate_fidelity(program, schedule, timings, links)
    return Analysis(
        plan, circuit, network, links, partition, program, schedule, timings, None, estimate
    )


def _classical_hint(message: str, cutting: bool) -> str:
    if cutting:
        return message
    return (
        f"{message} (a pair of nodes has no usable quantum path: joined only by classical "
        "links, or its Bell pairs decohere below F = 0.5 before use; use 'execute: {mode: "
        "cut}', shorter links or longer-lived memories)"
    )


def _cut(loaded: LoadedPlan, circuit: QuantumCircuit, partition: Partition) -> CutPlan:
    from qorch.workloads.distributed.cut import plan_cut

    plan = distributed_plan(loaded)
    names = plan.node_names
    labels = [names[node] for node in partition.assignment]
    observables = plan.execute.observables
    if not observables:
        raise loaded.error(("execute", "observables"), "cut mode needs at least one observable")
    try:
        return plan_cut(
            _without_measurements(circuit),
            labels,
            observables,
            max_sampling_overhead=plan.budget.max_sampling_overhead,
        )
    except QorchError as error:
        budget = isinstance(error, BudgetError)
        key = ("budget", "max_sampling_overhead") if budget else ("execute",)
        raise loaded.error(key, error.message, type(error)) from None


def _without_measurements(circuit: QuantumCircuit) -> QuantumCircuit:
    bare = circuit.remove_final_measurements(inplace=False)
    assert bare is not None
    return bare


def node_timings(loaded: LoadedPlan) -> dict[str, NodeTiming]:
    """Gate durations and errors per node: from its backend's target, else defaults."""
    from qorch.workloads.distributed.timing import NodeTiming, timing_from_target

    plan = distributed_plan(loaded)
    timings: dict[str, NodeTiming] = {}
    for index, node in enumerate(plan.nodes):
        provider_name, device = node.target.split(":", 1)
        try:  # IBM fake backends have one; local and Braket devices raise UnknownDeviceError
            target = registry.load(provider_name).qiskit_backend(device).target
        except UnknownDeviceError:
            target = None
        base = timing_from_target(target) if target is not None else NodeTiming()
        try:
            timings[node.name] = dataclasses.replace(base, **node.timing.overrides())
        except PlanError as error:
            raise loaded.error(("nodes", index, "timing"), error.message) from None
    return timings


def plan_digest(loaded: LoadedPlan) -> str:
    """Hash of the plan and the QASM file it reads."""
    plan = distributed_plan(loaded)
    digest = hashlib.sha256(loaded.canonical_hash().encode())
    qasm = getattr(plan.circuit, "qasm", None)
    if qasm:
        digest.update((loaded.base_dir / qasm).read_bytes())
    return digest.hexdigest()
