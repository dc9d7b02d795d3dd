"""A circuits plan's circuits, built in plan order with every problem located."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qorch.contract.errors import CircuitError, PlanError, QorchError
from qorch.engine.loadedplan import LoadedPlan, raise_all
from qorch.engine.plan_base import TargetSpec
from qorch.workloads.circuits.plan import CircuitsPlan
from qorch.workloads.circuits.sweep import parameter_sets, sweep_problems
from qorch.workloads.sources.build import build_spec

if TYPE_CHECKING:
    from qiskit import QuantumCircuit


def circuits_plan(loaded: LoadedPlan) -> CircuitsPlan:
    """The plan, which must be of kind ``circuits``."""
    if not isinstance(loaded.plan, CircuitsPlan):
        kind = loaded.plan.kind
        raise PlanError(f"{loaded.display}: expected a plan of kind circuits, not {kind}")
    return loaded.plan


def target_keys(plan: CircuitsPlan) -> list[tuple[tuple[str | int, ...], TargetSpec]]:
    """The plan's targets, each with the path of its mapping (``targets[i]``)."""
    return [(("targets", i), spec) for i, spec in enumerate(plan.targets)]


def build_circuits(loaded: LoadedPlan) -> list[QuantumCircuit]:
    """Every circuit of the plan, in plan order, named by its plan name.

    Raises CircuitError located at the offending circuit's field, or PlanErrors
    listing every circuit's problem when more than one circuit has one.
    """
    circuits: list[QuantumCircuit] = []
    problems: list[QorchError] = []
    for index in range(len(circuits_plan(loaded).circuits)):
        try:
            circuits.append(build_circuit(loaded, index))
        except CircuitError as error:
            problems.append(error)
    raise_all(loaded.display, problems)
    return circuits


def build_circuit(loaded: LoadedPlan, index: int) -> QuantumCircuit:
    """The plan's circuit number ``index``; its parameters left symbolic when it sweeps them,
    and then the sweep's names checked against them (CircuitError at the first problem)."""
    spec = circuits_plan(loaded).circuits[index]
    key = ("circuits", index)
    circuit = build_spec(loaded, spec, key, symbolic=spec.parameters is not None)
    if spec.parameters is None:
        return circuit
    if not circuit.parameters:
        message = "'parameters:' given, but the circuit has no symbolic parameters to sweep"
        raise loaded.error((*key, "parameters"), message, CircuitError)
    names = [parameter.name for parameter in circuit.parameters]
    for where, problem in sweep_problems(spec.parameters, names):
        raise loaded.error((*key, "parameters", *where), problem, CircuitError)
    return circuit


def sweeps(loaded: LoadedPlan) -> dict[str, list[dict[str, float]]]:
    """Circuit name → its parameter sets in plan order, for every circuit that sweeps."""
    return {spec.name: parameter_sets(spec.parameters)
            for spec in circuits_plan(loaded).circuits if spec.parameters is not None}  # fmt: skip
