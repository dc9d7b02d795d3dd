"""What ``qorch validate`` checks of a circuits plan, fast and all at once.

A generator's circuit is described by its spec (``qubits``), so a plan of
generators is checked without importing qiskit; an OpenQASM file, and a
circuit that sweeps parameters, is built (syntax errors and the sweep's names
are found now, not at compile). Every circuit is then
checked against every target's device whose size its provider knows without
a vendor SDK (:meth:`Provider.known_qubits`): a circuit wider than a device
is refused here, not first at compile. Every problem is reported, located.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qorch.contract.errors import CircuitError, QorchError
from qorch.engine import registry
from qorch.engine.loadedplan import LoadedPlan, raise_all
from qorch.engine.wording import counted
from qorch.engine.workload import PlanCheck
from qorch.workloads.circuits.build import build_circuit, circuits_plan
from qorch.workloads.circuits.observables import Observable, width_problems
from qorch.workloads.sources.spec import QasmCircuit

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from qorch.engine.plan_base import TargetSpec


def check_plan(loaded: LoadedPlan, extra_jobs: int = 0) -> PlanCheck:
    """Every circuit, its observables and its fit on every device; the job count (with
    ``extra_jobs``: the workload's calibration jobs).

    Raises a located error, or PlanErrors listing every problem.
    """
    plan = circuits_plan(loaded)
    problems: list[QorchError] = []
    widths: list[int | None] = []
    parsed: dict[int, QuantumCircuit] = {}
    for index, spec in enumerate(plan.circuits):
        if not isinstance(spec, QasmCircuit) and _described_by_spec(spec):
            widths.append(spec.qubits)
            continue
        try:
            parsed[index] = build_circuit(loaded, index)
        except CircuitError as error:
            problems.append(error)
            widths.append(None)
            continue
        widths.append(parsed[index].num_qubits)
    problems += _observable_problems(loaded, widths, parsed)
    problems += _capacity_problems(loaded, widths)
    raise_all(loaded.display, problems)
    observed = sum(1 for spec in plan.circuits if spec.observables)
    jobs = (len(plan.circuits) + observed) * len(plan.targets) + extra_jobs  # one basis job
    return PlanCheck({"jobs": jobs}, counted(jobs, "job"))


def _described_by_spec(spec: Any) -> bool:
    """True for a generator with numbers only: its width is its ``qubits``, nothing else can
    be wrong. A file, a sweep or a named angle (``gammas: [gamma]``) is built and checked."""
    if isinstance(spec, QasmCircuit) or spec.parameters is not None:
        return False
    values = spec.model_dump().values()
    return not any(isinstance(v, str) for value in values if isinstance(value, list) for v in value)


def _observable_problems(
    loaded: LoadedPlan, widths: list[int | None], parsed: dict[int, QuantumCircuit]
) -> list[QorchError]:
    """Pauli strings as wide as their circuit; no measurement before a parsed file's end
    (a generator's circuits measure only at the end)."""
    problems: list[QorchError] = []
    for index, spec in enumerate(circuits_plan(loaded).circuits):
        if not spec.observables or widths[index] is None:
            continue
        observables = [Observable(o.name, dict(o.terms)) for o in spec.observables]
        key = ("circuits", index, "observables")
        found = width_problems(observables, int(widths[index] or 0))
        for which, label, problem in found:
            problems.append(loaded.error((*key, which, "terms", label), problem))
        if found or index not in parsed:
            continue
        from qorch.workloads.circuits.observables import basis_circuit, measurement_bases

        try:
            basis_circuit(parsed[index], measurement_bases(observables))
        except ValueError as error:
            problems.append(loaded.error(key, str(error), CircuitError))
    return problems


def _capacity_problems(loaded: LoadedPlan, widths: list[int | None]) -> list[QorchError]:
    """One located error per circuit wider than some target's device, naming them all."""
    plan = circuits_plan(loaded)
    sizes = [(_shown(spec), _known_qubits(spec)) for spec in plan.targets]
    problems: list[QorchError] = []
    for index, (spec, width) in enumerate(zip(plan.circuits, widths, strict=True)):
        if width is None:
            continue
        small = [
            f"{target} has {size}" for target, size in sizes if size is not None and width > size
        ]
        if small:
            message = f"circuit '{spec.name}' needs {width} qubits but {', '.join(small)}"
            problems.append(loaded.error(("circuits", index), message, CircuitError))
    return problems


def _shown(spec: TargetSpec) -> str:
    return f"{spec.target} (noise {spec.noise})" if spec.noise else spec.target


def _known_qubits(spec: TargetSpec) -> int | None:
    """The qubits of the target's device (of its noise device, whose layout a noisy
    simulation takes), where its provider knows them offline; None otherwise."""
    try:
        provider_name, device = (
            registry.split_target(spec.noise) if spec.noise else (spec.provider, spec.device)
        )
        return registry.load(provider_name).known_qubits(device)
    except QorchError:  # a bad target: reported by the target checks
        return None
