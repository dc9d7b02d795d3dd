"""Compile a plan into a bundle: one payload per (circuit, target) and a manifest.

Deterministic: the same plan (and QASM files) with the same qorch and SDK
versions gives byte-identical bundles. Capability and budget checks happen
here, before anything is submitted or paid for.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from qorch.contract.errors import BudgetError, CapabilityError, OptionError, ProviderError
from qorch.contract.provider import Cost, Payload, TargetOptions
from qorch.engine import registry
from qorch.engine.plan import QasmCircuit
from qorch.engine.planfile import LoadedPlan
from qorch.engine.targets import check_targets, options_record, target_options
from qorch.workloads.circuits.build import build_circuits

BUNDLE_FORMAT = "qorch-bundle/1"


@dataclass(frozen=True)
class CompiledBundle:
    """A compiled plan in memory: the manifest and the payload bytes by file name."""

    manifest: dict[str, Any]
    payloads: dict[str, bytes]

    @property
    def plan_hash(self) -> str:
        """Hash of the plan and every file it reads."""
        return str(self.manifest["plan"]["hash"])

    @property
    def jobs(self) -> list[dict[str, Any]]:
        """The manifest's job records, in order."""
        return list(self.manifest["jobs"])


def derive_seed(plan_seed: int, *parts: str) -> int:
    """A job seed from the plan seed and the job's identity (31-bit, stable)."""
    text = "\x1f".join([str(plan_seed), *parts])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


def plan_hash(loaded: LoadedPlan) -> str:
    """SHA-256 of the validated plan and the contents of the QASM files it reads."""
    digest = hashlib.sha256(loaded.canonical_hash().encode())
    for spec in loaded.circuits_plan.circuits:
        if isinstance(spec, QasmCircuit):
            path = loaded.base_dir / spec.qasm
            digest.update(spec.qasm.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def compile_plan(loaded: LoadedPlan) -> CompiledBundle:
    """Translate every circuit for every target and check capabilities and budget.

    Raises PlanError, CircuitError, CapabilityError, ProviderError or
    BudgetError, located at the plan field responsible.
    """
    plan = loaded.circuits_plan
    providers = check_targets(loaded)
    circuits = build_circuits(loaded)
    jobs: list[dict[str, Any]] = []
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
            jobs.append(job_record(index, circuit.name, spec.target, t_index, options, shots,
                                   seed, payload, cost, payloads))  # fmt: skip
    manifest = _manifest(loaded, jobs)
    check_budget(loaded, manifest)
    return CompiledBundle(manifest=manifest, payloads=payloads)


def job_record(
    index: int,
    circuit_name: str,
    target: str,
    target_index: int,
    options: TargetOptions,
    shots: int,
    seed: int,
    payload: Payload,
    cost: Cost,
    payloads: dict[str, bytes],
) -> dict[str, Any]:
    """The manifest record of one job; its payload is added to ``payloads``."""
    provider, device = target.split(":", 1)
    file = f"payloads/{index:03d}-{circuit_name}-{_slug(target)}.{payload.extension}"
    payloads[file] = payload.data
    return {
        "index": index,
        "circuit": circuit_name,
        "target": target,
        "target_index": target_index,
        "provider": provider,
        "device": device,
        "options": options_record(options),
        "shots": shots,
        "seed": seed,
        "payload": file,
        "payload_sha256": hashlib.sha256(payload.data).hexdigest(),
        "format": payload.format,
        "num_qubits": payload.num_qubits,
        "num_clbits": payload.num_clbits,
        "measured_clbits": list(payload.measured_clbits),
        "depth": payload.depth,
        "two_qubit_gates": payload.two_qubit_gates,
        "gate_counts": dict(payload.gate_counts),
        "cost_usd": cost.usd,
        "cost_basis": cost.basis,
    }


def _manifest(loaded: LoadedPlan, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    plan = loaded.circuits_plan
    providers = sorted({job["provider"] for job in jobs})
    return {
        "format": BUNDLE_FORMAT,
        "plan": {
            "file": loaded.path.name,
            "name": plan.name or loaded.path.stem,
            "kind": plan.kind,
            "hash": plan_hash(loaded),
            "seed": plan.seed,
        },
        "versions": registry.versions(providers),
        "totals": {
            "jobs": len(jobs),
            "shots": sum(job["shots"] for job in jobs),
            "cost_usd": round(sum(job["cost_usd"] for job in jobs), 6),
        },
        "jobs": jobs,
    }


def check_budget(loaded: LoadedPlan, manifest: dict[str, Any]) -> None:
    """Raise BudgetError, located at the budget field, if the plan exceeds its budget."""
    budget = loaded.plan.budget
    totals = manifest["totals"]
    if budget.max_total_shots is not None and totals["shots"] > budget.max_total_shots:
        message = (
            f"plan needs {totals['shots']} shots over {totals['jobs']} jobs, "
            f"budget allows {budget.max_total_shots}"
        )
        raise loaded.error(("budget", "max_total_shots"), message, BudgetError)
    if budget.max_cost_usd is not None and totals["cost_usd"] > budget.max_cost_usd:
        priciest = max(manifest["jobs"], key=lambda job: job["cost_usd"])
        message = (
            f"plan costs an estimated ${totals['cost_usd']:.2f}, budget allows "
            f"${budget.max_cost_usd:.2f} (largest: {priciest['circuit']} on "
            f"{priciest['target']}, ${priciest['cost_usd']:.2f})"
        )
        raise loaded.error(("budget", "max_cost_usd"), message, BudgetError)


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest's canonical JSON encoding."""
    return (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()


def _slug(target: str) -> str:
    keep = [char if char.isalnum() or char in "-_" else "-" for char in target]
    return "".join(keep).strip("-")[:60]
