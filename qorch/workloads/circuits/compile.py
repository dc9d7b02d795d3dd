"""Compile a circuits plan: one payload per (circuit, target), checked before anything runs."""

from __future__ import annotations

import hashlib
from typing import Any

from qorch.contract.errors import CapabilityError, OptionError, ProviderError
from qorch.engine import registry
from qorch.engine.compile import CompiledBundle, check_budget, derive_seed
from qorch.engine.loadedplan import LoadedPlan
from qorch.engine.manifest import ManifestJob, PlanInfo, build_manifest, job_record, payload_name
from qorch.engine.targets import check_targets, target_options
from qorch.workloads.circuits.build import build_circuits, circuits_plan, target_keys
from qorch.workloads.circuits.obsjobs import BLOCK as OBSERVABLES_BLOCK
from qorch.workloads.circuits.obsjobs import exact_block, observable_jobs, plan_observables
from qorch.workloads.circuits.plan import REFERENCE_METRICS
from qorch.workloads.sources.spec import QasmCircuit

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
    jobs: list[ManifestJob] = []
    payloads: dict[str, bytes] = {}
    for t_index, (spec, provider) in enumerate(zip(plan.targets, providers, strict=True)):
        options = target_options(spec)
        shots = plan.target_shots(spec)
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
            jobs.append(job_record(index=index, circuit=circuit.name, target=spec.target,
                                   target_index=t_index, options=options, shots=shots, seed=seed,
                                   payload_file=file, payload=payload, cost=cost))  # fmt: skip
            if circuit.name in observed:
                where = (t_index, spec, provider, options, shots)
                jobs += observable_jobs(loaded, observed[circuit.name], where, len(jobs), payloads)
    info = PlanInfo.of(loaded.path, plan, plan_hash(loaded))
    providers_used = sorted({job.provider for job in jobs})
    blocks: dict[str, Any] = {}
    if observed:
        blocks[OBSERVABLES_BLOCK] = exact_block(list(observed.values()))
    if any(check.metric in REFERENCE_METRICS for check in plan.checks):
        from qorch.sim.reference import ideal_distribution

        blocks["references"] = {circuit.name: ideal_distribution(circuit) for circuit in circuits}
    manifest = build_manifest(info, jobs, registry.versions(providers_used), blocks)
    check_budget(loaded, manifest)
    return CompiledBundle(manifest=manifest, payloads=payloads)
