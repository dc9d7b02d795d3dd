"""A circuits plan's observables: checked against the built circuits, compiled into jobs.

Each circuit with ``observables:`` gets, per target, one job that asks the
device's native estimator for them (where its provider ``estimates``: exact on
local:statevector and ideal local:aer, IBM's Estimator on fake backends), or
else jobs that measure its state in every basis of
:func:`~qorch.workloads.circuits.observables.measurement_bases`: one
parameterised payload with a parameter set per basis, as many bases per job as
the device takes (``Device.sets_per_job``). They are ordinary jobs of the run
(``role: observables``), so they resume and never run twice.
The manifest's ``observables`` block keeps, per circuit, the observables, the
bases and the exact values, from which results are computed offline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import CapabilityError, CircuitError, OptionError, ProviderError
from qorch.contract.provider import Payload, Provider, TargetOptions
from qorch.engine.compile import derive_seed
from qorch.engine.loadedplan import LoadedPlan, raise_all
from qorch.engine.manifest import ManifestJob, job_record, payload_name
from qorch.workloads.circuits.build import circuits_plan, sweeps
from qorch.workloads.circuits.observables import (
    Observable,
    basis_circuit,
    basis_rows,
    exact_values,
    measurement_bases,
    swept_basis_rows,
    unitary_body,
    width_problems,
)

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from qorch.contract.errors import QorchError
    from qorch.engine.plan_base import TargetSpec

ROLE = "observables"  # the ``role`` of a job that measures observables
BLOCK = "observables"  # the manifest's block: circuit name → observables, bases, exact values


@dataclass(frozen=True)
class CircuitObservables:
    """One circuit's observables and the measurement circuit shared by every target."""

    circuit: str
    observables: list[Observable]
    bases: list[str]
    measured: QuantumCircuit  # rotated into each basis (parameters) and measured
    body: QuantumCircuit  # without measurements, for a native estimator
    sets: list[dict[str, float]] | None = None  # a sweep's parameter sets, in plan order

    def terms(self) -> list[list[tuple[str, float]]]:
        """The observables as a job's ``observables``: (Pauli string, coefficient) lists."""
        return [list(o.terms.items()) for o in self.observables]

    def block(self, exact: list[float] | None) -> dict[str, Any]:
        """The circuit's entry in the manifest's ``observables`` block."""
        block = {"observables": [o.to_json() for o in self.observables],
                 "bases": self.bases, "exact": exact}  # fmt: skip
        if self.sets is not None:
            block["sets"] = self.sets
        return block

    def exact(self) -> Any:
        """The exact values: per observable, or per parameter set a list per observable."""
        if self.sets is None:
            return exact_values(self.body, self.observables)
        return [exact_values(self.body, self.observables, entry) for entry in self.sets]

    def rows(self) -> list[list[float]]:
        """The measurement job's parameter rows: per basis, or per (set, basis) when swept."""
        if self.sets is None:
            return basis_rows(self.bases)
        return swept_basis_rows(self.measured, self.bases, self.sets)


def plan_observables(
    loaded: LoadedPlan, circuits: list[QuantumCircuit]
) -> list[CircuitObservables]:
    """Every circuit's observables, checked against the circuit: each Pauli string as wide
    as the circuit, and no measurement before the end. Raises a located PlanError (or
    PlanErrors listing every problem)."""
    plan = circuits_plan(loaded)
    swept = sweeps(loaded)
    problems: list[QorchError] = []
    found = []
    for index, (spec, circuit) in enumerate(zip(plan.circuits, circuits, strict=True)):
        if not spec.observables:
            continue
        observables = [Observable(o.name, dict(o.terms)) for o in spec.observables]
        key = ("circuits", index, "observables")
        for which, label, problem in width_problems(observables, circuit.num_qubits):
            problems.append(loaded.error((*key, which, "terms", label), problem))
        if problems:
            continue
        bases = measurement_bases(observables)
        try:
            measured = basis_circuit(circuit, bases)
        except ValueError as error:
            problems.append(loaded.error(key, str(error), CircuitError))
            continue
        body = unitary_body(circuit)
        found.append(CircuitObservables(circuit.name, observables, bases, measured, body,
                                        swept.get(circuit.name)))  # fmt: skip
    raise_all(loaded.display, problems)
    return found


def exact_block(entries: list[CircuitObservables]) -> dict[str, Any]:
    """The manifest's ``observables`` block, with exact values where the circuit is small."""
    return {entry.circuit: entry.block(entry.exact()) for entry in entries}


def observable_jobs(
    loaded: LoadedPlan,
    entry: CircuitObservables,
    target: tuple[int, TargetSpec, Provider, TargetOptions, int],
    first_index: int,
    payloads: dict[str, bytes],
) -> list[ManifestJob]:
    """The jobs measuring ``entry``'s bases on one target (``target``: its index, spec,
    provider, options and shots per basis), indexed from ``first_index``; their payload
    is added to ``payloads``. Raises errors located at the target."""
    t_index, spec, provider, options, shots = target
    seed = derive_seed(loaded.plan.seed, entry.circuit, spec.target, str(t_index), ROLE)
    native = getattr(spec, "observables", "native") == "native" and entry.sets is None
    native = native and not mitigates_counts(spec, provider, options)
    if native and provider.estimates(spec.device, options):
        return [_estimator_job(loaded, entry, target, first_index, payloads, seed)]
    try:
        payload = provider.translate(entry.measured, spec.device, options, seed)
        per_job = provider.device(spec.device).sets_per_job(shots)
    except (CapabilityError, OptionError, ProviderError) as error:
        raise loaded.error(("targets", t_index, "target"), error.message, type(error)) from None
    rows = entry.rows()
    chunks: list[tuple[int, list[list[float]] | None]]
    if not entry.measured.parameters:  # Z only: one basis, a plain circuit
        chunks = [(0, None)]
    else:
        chunks = [(start, rows[start : start + per_job]) for start in range(0, len(rows), per_job)]
    file = payload_name(first_index, f"{entry.circuit}-{ROLE}", spec.target, payload.extension)
    payloads[file] = payload.data
    jobs: list[ManifestJob] = []
    for start, chunk in chunks:
        index = first_index + len(jobs)
        jobs.append(_job(provider, spec, options, payload, file, index, shots, t_index,
                         derive_seed(seed, str(start)), entry.circuit, start, chunk))  # fmt: skip
    return jobs


def mitigates_counts(spec: TargetSpec, provider: Provider, options: TargetOptions) -> bool:
    """True if the target's mitigation works on counts (so its observables are measured in
    bases): M3 on a device with readout errors (elsewhere M3 is a no-op)."""
    mitigation = getattr(spec, "mitigation", None)
    return mitigation is not None and provider.readout_noise(spec.device, options)


def _estimator_job(
    loaded: LoadedPlan,
    entry: CircuitObservables,
    target: tuple[int, TargetSpec, Provider, TargetOptions, int],
    index: int,
    payloads: dict[str, bytes],
    seed: int,
) -> ManifestJob:
    """One job that asks the device's native estimator for every observable."""
    t_index, spec, provider, options, shots = target
    try:
        payload = provider.translate_for_estimation(entry.body, spec.device, options, seed)
    except (CapabilityError, OptionError, ProviderError) as error:
        raise loaded.error(("targets", t_index, "target"), error.message, type(error)) from None
    file = payload_name(index, f"{entry.circuit}-{ROLE}", spec.target, payload.extension)
    payloads[file] = payload.data
    cost = provider.estimate_cost(spec.device, payload, shots)
    return job_record(index=index, circuit=entry.circuit, target=spec.target,
                      target_index=t_index, options=options, shots=shots, seed=seed,
                      payload_file=file, payload=payload, cost=cost, role=ROLE,
                      observables=entry.terms())  # fmt: skip


def _job(provider: Provider, spec: TargetSpec, options: TargetOptions, payload: Payload,
         file: str, index: int, shots: int, t_index: int, seed: int, circuit: str, start: int,
         rows: list[list[float]] | None) -> ManifestJob:  # fmt: skip
    cost = provider.estimate_cost(spec.device, payload, shots, len(rows or ()))
    return job_record(index=index, circuit=circuit, target=spec.target, target_index=t_index,
                      options=options, shots=shots, seed=seed, payload_file=file,
                      payload=payload, cost=cost, role=ROLE, first_basis=start,
                      parameter_values=rows)  # fmt: skip
