"""Compile a circuits plan: one payload per (circuit, target), checked before anything runs."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import CapabilityError, OptionError, ProviderError
from qorch.engine import registry
from qorch.engine.compile import CompiledBundle, check_budget, derive_seed
from qorch.engine.loadedplan import LoadedPlan
from qorch.engine.manifest import ManifestJob, PlanInfo, build_manifest, job_record, payload_name
from qorch.engine.targets import check_targets, target_options
from qorch.workloads.circuits.build import build_circuits, circuits_plan, sweeps, target_keys
from qorch.workloads.circuits.obsjobs import BLOCK as OBSERVABLES_BLOCK
from qorch.workloads.circuits.obsjobs import exact_block, observable_jobs, plan_observables
from qorch.workloads.circuits.plan import REFERENCE_METRICS
from qorch.workloads.circuits.readout import mitigate_readout
from qorch.workloads.circuits.sweep import rows_of
from qorch.workloads.circuits.znejobs import zne_jobs
from qorch.workloads.sources.spec import QasmCircuit

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from qorch.contract.provider import Payload, Provider, TargetOptions
    from qorch.engine.plan_base import TargetSpec

MITIGATION_BLOCK = "mitigation"  # target index → its mitigation options
SWEEPS_BLOCK = "sweeps"  # the manifest's block: circuit name → its parameter sets, in order
# Metrics judged against a circuit's exact distribution, computed at compile time for plans
# whose checks name one (a statevector of up to 24 qubits costs time a plan without checks
# should not pay).


def plan_hash(loaded: LoadedPlan) -> str:
    """SHA-256 of the validated plan and the contents of the QASM files it reads."""
    digest = hashlib.sha256(loaded.canonical_hash().encode())
    for spec in circuits_plan(loaded).circuits:
        if isinstance(spec, QasmCircuit):
            path = loaded.base_dir / spec.qasm
            digest.update(spec.qasm.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def compile_plan(loaded: LoadedPlan) -> CompiledBundle:
    """Translate every circuit for every target and check capabilities and budget.

    Raises PlanError, CircuitError, CapabilityError, ProviderError or
    BudgetError, located at the plan field responsible.
    """
    plan = circuits_plan(loaded)
    providers = check_targets(loaded, target_keys(plan))
    circuits = build_circuits(loaded)
    observed = {entry.circuit: entry for entry in plan_observables(loaded, circuits)}
    swept = sweeps(loaded)
    jobs: list[ManifestJob] = []
    payloads: dict[str, bytes] = {}
    for t_index, (spec, provider) in enumerate(zip(plan.targets, providers, strict=True)):
        options = target_options(spec)
        shots = plan.target_shots(spec)
        first_of_target = len(jobs)
        for circuit in circuits:
            index = len(jobs)
            seed = derive_seed(plan.seed, circuit.name, spec.target, str(t_index))
            try:
                payload = provider.translate(circuit, spec.device, options, seed)
                cost = provider.estimate_cost(spec.device, payload, shots)
            except (CapabilityError, OptionError, ProviderError) as error:
                key = ("targets", t_index, "target")
                raise loaded.error(key, error.message, type(error)) from None
            file = payload_name(index, circuit.name, spec.target, payload.extension)
            payloads[file] = payload.data
            if circuit.name in swept:
                jobs += sweep_jobs(loaded, circuit, swept[circuit.name],
                                   (t_index, spec, provider, shots), payload, file, options,
                                   index, seed)  # fmt: skip
            else:
                jobs.append(job_record(index=index, circuit=circuit.name, target=spec.target,
                                       target_index=t_index, options=options, shots=shots,
                                       seed=seed, payload_file=file, payload=payload,
                                       cost=cost))  # fmt: skip
            if circuit.name in observed:
                where = (t_index, spec, provider, options, shots)
                jobs += observable_jobs(loaded, observed[circuit.name], where, len(jobs), payloads)
                zne = spec.mitigation.zne if spec.mitigation else None
                if zne and provider.readout_noise(spec.device, options):  # else a no-op
                    jobs += zne_jobs(loaded, observed[circuit.name], where, zne, len(jobs),
                                     payloads)  # fmt: skip
        mitigation = spec.mitigation
        if mitigation and mitigation.readout and provider.readout_noise(spec.device, options):
            where = (t_index, spec, provider, options, shots)
            jobs[first_of_target:] = mitigate_readout(loaded, where, jobs[first_of_target:],
                                                      payloads)  # fmt: skip
    info = PlanInfo.of(loaded.path, plan, plan_hash(loaded))
    providers_used = sorted({job.provider for job in jobs})
    blocks: dict[str, Any] = {}
    if observed:
        blocks[OBSERVABLES_BLOCK] = exact_block(list(observed.values()))
    if any(check.metric in REFERENCE_METRICS for check in plan.checks):
        from qorch.sim.reference import ideal_distribution

        blocks["references"] = {
            c.name: None if c.parameters else ideal_distribution(c) for c in circuits
        }
    if swept:
        blocks[SWEEPS_BLOCK] = swept
    mitigated = {str(i): t.mitigation.model_dump(mode="json", exclude_none=True)
                 for i, t in enumerate(plan.targets) if t.mitigation}  # fmt: skip
    if mitigated:
        blocks[MITIGATION_BLOCK] = mitigated
    manifest = build_manifest(info, jobs, registry.versions(providers_used), blocks)
    check_budget(loaded, manifest)
    return CompiledBundle(manifest=manifest, payloads=payloads)


def sweep_jobs(
    loaded: LoadedPlan,
    circuit: QuantumCircuit,
    sets: list[dict[str, float]],
    target: tuple[int, TargetSpec, Provider, int],
    payload: Payload,
    file: str,
    options: TargetOptions,
    first_index: int,
    seed: int,
) -> list[ManifestJob]:
    """The jobs running ``circuit``'s parameter sets on one target (its index, spec,
    provider and shots per set): as many sets per job as the device takes, in plan
    order; each job's ``first_set`` says where its rows start."""
    t_index, spec, provider, shots = target
    rows = rows_of(sets, [parameter.name for parameter in circuit.parameters])
    try:
        per_job = provider.device(spec.device).sets_per_job(shots)
    except (CapabilityError, OptionError, ProviderError) as error:
        raise loaded.error(("targets", t_index, "target"), error.message, type(error)) from None
    jobs: list[ManifestJob] = []
    for start in range(0, len(rows), per_job):
        chunk = rows[start : start + per_job]
        cost = provider.estimate_cost(spec.device, payload, shots, len(chunk))
        jobs.append(job_record(index=first_index + len(jobs), circuit=circuit.name,
                               target=spec.target, target_index=t_index, options=options,
                               shots=shots, seed=derive_seed(seed, str(start)),
                               payload_file=file, payload=payload, cost=cost,
                               parameter_values=chunk, first_set=start))  # fmt: skip
    return jobs
