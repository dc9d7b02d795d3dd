"""A circuits plan's circuits, built in plan order with every problem located."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qorch.contract.errors import CircuitError, PlanError, QorchError
from qorch.engine.loadedplan import LoadedPlan, raise_all
from qorch.engine.plan_base import TargetSpec
from qorch.workloads.circuits.plan import CircuitsPlan
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
    """The plan's circuit number ``index``."""
    spec = circuits_plan(loaded).circuits[index]
    return build_spec(loaded, spec, ("circuits", index))
