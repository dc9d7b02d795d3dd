"""The provider jobs of a distributed plan, and what collecting them needs later.

Every job is an ordinary qorch job (payload, target, shots, seed), so a
distributed run is submitted, resumed and collected like any other run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import CapabilityError, OptionError, ProviderError
from qorch.contract.provider import Cost, Payload, TargetOptions
from qorch.engine import registry
from qorch.engine.loadedplan import LoadedPlan
from qorch.local import NOISE_MODEL_KEY
from qorch.workloads.distributed.plan import DistributedPlan

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from qorch.workloads.distributed.analysis import Analysis

SIMULATOR = "local:aer"


@dataclass(frozen=True)
class JobSpec:
    """One job before translation: what runs where, and which clbits hold the answer."""

    name: str
    role: str  # "distributed", "monolithic" or "cut"
    target: str
    node_index: int
    circuit: QuantumCircuit
    meas_clbits: tuple[int, ...]
    optimization_level: int = 0
    label: str = ""
    extra: tuple[tuple[str, Any], ...] = ()


def job_specs(analysis: Analysis) -> list[JobSpec]:
    """The jobs of the plan's execute mode (none for ``estimate``)."""
    mode = analysis.plan.execute.mode
    if mode == "simulate":
        return _simulate_specs(analysis)
    if mode == "cut":
        return _cut_specs(analysis)
    return []


def _simulate_specs(analysis: Analysis) -> list[JobSpec]:
    from qorch.contract.device_noise import stable_noise_dict
    from qorch.workloads.distributed.simulate import ideal_circuit, noisy_program

    program, schedule = analysis.program, analysis.schedule
    assert program is not None and schedule is not None
    if analysis.plan.execute.perfect_links:
        noisy = ideal_circuit(program)
        noisy.metadata = {}
    else:
        noisy, noise = noisy_program(program, schedule, analysis.timings, analysis.links)
        noisy.metadata = {NOISE_MODEL_KEY: stable_noise_dict(noise)}
    noisy.name = "distributed"
    monolithic = analysis.circuit.copy(name="monolithic")
    return [
        # Matrix-product states: dynamic circuits run shot by shot, and a distributed
        # program's many mid-circuit measurements make a full statevector far slower.
        JobSpec(
            "distributed",
            "distributed",
            SIMULATOR,
            -1,
            noisy,
            _register_clbits(noisy),
            extra=(("method", "matrix_product_state"),),
        ),
        JobSpec(
            "monolithic",
            "monolithic",
            SIMULATOR,
            -1,
            monolithic,
            tuple(range(monolithic.num_clbits)),
            optimization_level=1,
        ),
    ]


def _register_clbits(circuit: QuantumCircuit, name: str = "meas") -> tuple[int, ...]:
    for register in circuit.cregs:
        if register.name == name:
            return tuple(circuit.find_bit(bit).index for bit in register)
    raise ValueError(f"circuit '{circuit.name}' has no '{name}' register")


def _cut_specs(analysis: Analysis) -> list[JobSpec]:
    cut = analysis.cut
    assert cut is not None
    nodes = {node.name: (index, node) for index, node in enumerate(analysis.plan.nodes)}
    specs: list[JobSpec] = []
    for label in cut.labels:
        index, node = nodes[label]
        for k, circuit in enumerate(cut.subexperiments[label]):
            name = f"cut-{label}-{k:03d}"
            specs.append(
                JobSpec(
                    name,
                    "cut",
                    node.target,
                    index,
                    circuit.copy(name=name),
                    tuple(range(circuit.num_clbits)),
                    optimization_level=1,
                    label=label,
                    extra=tuple(sorted((k, v) for k, v in node.options.items())),
                )
            )
    return specs


def translate(loaded: LoadedPlan, spec: JobSpec, seed: int) -> tuple[Payload, Cost, TargetOptions]:
    """Translate one job for its target and estimate its cost; errors located at the node."""
    provider_name, device = spec.target.split(":", 1)
    provider = registry.load(provider_name)
    options = TargetOptions(optimization_level=spec.optimization_level, extra=dict(spec.extra))
    plan = loaded.plan
    assert isinstance(plan, DistributedPlan)
    shots = plan.execute.shots
    try:
        payload = provider.translate(spec.circuit, device, options, seed)
        cost = provider.estimate_cost(device, payload, shots)
    except (CapabilityError, OptionError, ProviderError) as error:
        key: tuple[str | int, ...] = ("nodes", spec.node_index, "target")
        if spec.node_index < 0:
            key = ("execute", "mode")
        raise loaded.error(key, error.message, type(error)) from None
    return payload, cost, options


def post_processing(analysis: Analysis) -> dict[str, Any]:
    """What turning the collected counts into results needs, stored in the manifest."""
    mode = analysis.plan.execute.mode
    out: dict[str, Any] = {
        "mode": mode,
        "shots": analysis.plan.execute.shots,
        "circuit": analysis.circuit.name,
    }
    if mode == "cut":
        from qorch.workloads.distributed.cut import exact_expectations
        from qorch.workloads.distributed.cutrecord import MAX_EXACT_QUBITS, reconstruction_record

        cut = analysis.cut
        assert cut is not None
        small = analysis.circuit.num_qubits <= MAX_EXACT_QUBITS
        exact = exact_expectations(analysis.circuit, cut.observables) if small else None
        out["cut"] = reconstruction_record(cut, exact)
    if analysis.schedule is not None:
        from qorch.workloads.distributed.report import estimate_fields

        out.update(estimate_fields(analysis))
    out["perfect_links"] = analysis.plan.execute.perfect_links
    return out
