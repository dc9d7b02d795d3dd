"""What compiling any plan kind produces, and the checks every kind's compile shares.

A workload's ``compile`` turns a loaded plan into a :class:`CompiledBundle`:
a typed manifest (:mod:`qorch.engine.manifest`) and the payload bytes. It is
deterministic: the same plan (and the files it reads) with the same qorch and
SDK versions gives byte-identical bundles. Capability and budget checks
happen here, before anything is submitted or paid for.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from qorch.contract.errors import BudgetError
from qorch.engine.loadedplan import LoadedPlan
from qorch.engine.manifest import Manifest, ManifestJob
from qorch.engine.wording import counted, usd
from qorch.store.state import NewJob


@dataclass(frozen=True)
class CompiledBundle:
    """A compiled plan in memory: the manifest and the payload bytes by file name.

    ``memo`` holds what compile found that a workload's run reuses (e.g. the
    qcnn kind's prepared data set); it is never written to the bundle.
    """

    manifest: Manifest
    payloads: dict[str, bytes]
    memo: Any = field(default=None, compare=False, repr=False)

    @property
    def plan_hash(self) -> str:
        """Hash of the plan and every file it reads."""
        return self.manifest.plan.hash

    @property
    def jobs(self) -> list[ManifestJob]:
        """The manifest's job records, in order."""
        return list(self.manifest.jobs)

    def new_jobs(self) -> list[NewJob]:
        """The state store's records of this bundle's jobs, before any is submitted."""
        return [NewJob(j.circuit, j.target, j.shots, j.payload) for j in self.manifest.jobs]


def derive_seed(plan_seed: int, *parts: str) -> int:
    """A job seed from the plan seed and the job's identity (31-bit, stable)."""
    text = "\x1f".join([str(plan_seed), *parts])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") & 0x7FFFFFFF


def check_budget(loaded: LoadedPlan, manifest: Manifest) -> None:
    """Raise BudgetError, located at the budget field, if the plan exceeds its budget."""
    budget = loaded.plan.budget
    totals = manifest.totals
    if budget.max_total_shots is not None and totals.shots > budget.max_total_shots:
        extra = sum(job.shots * max(1, len(job.parameter_values or ()))
                    for job in manifest.jobs if job.extra("mitigation"))  # fmt: skip
        mitigation = f" ({extra} of them for error mitigation)" if extra else ""
        message = (
            f"plan needs {counted(totals.shots, 'shot')}{mitigation} over "
            f"{counted(totals.jobs, 'job')}, budget allows {budget.max_total_shots}"
        )
        raise loaded.error(("budget", "max_total_shots"), message, BudgetError)
    if budget.max_cost_usd is not None and totals.cost_usd > budget.max_cost_usd:
        priciest = max(manifest.jobs, key=lambda job: job.cost_usd)
        message = (
            f"plan costs an estimated {usd(totals.cost_usd)}, budget allows "
            f"{usd(budget.max_cost_usd)} (largest: {priciest.circuit} on "
            f"{priciest.target}, {usd(priciest.cost_usd)})"
        )
        raise loaded.error(("budget", "max_cost_usd"), message, BudgetError)


def merge_bundles(first: CompiledBundle, second: CompiledBundle) -> CompiledBundle:
    """One bundle holding both bundles' jobs and payloads (the first's manifest otherwise)."""
    manifest = first.manifest.with_jobs([*first.manifest.jobs, *second.manifest.jobs])
    return CompiledBundle(manifest=manifest, payloads={**first.payloads, **second.payloads})
