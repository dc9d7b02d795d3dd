"""The ``circuits`` plan kind as a registered workload: its run is its bundle's jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qorch.engine.plan_base import TargetSpec
from qorch.engine.wording import counted
from qorch.engine.workload import FieldKey, Metric, PlanCheck, Reported, Workload, WorkloadResult
from qorch.workloads.circuits.plan import CircuitsPlan

if TYPE_CHECKING:
    from qorch.engine.compile import CompiledBundle
    from qorch.engine.loadedplan import LoadedPlan
    from qorch.engine.runner import RunContext


class CircuitsResult(WorkloadResult):
    """A circuits run's results: the counts are in its jobs; metrics per job."""


class CircuitsWorkload(Workload):
    """Circuits (generators, OpenQASM files) compiled for every target and run there."""

    kind = "circuits"
    plan_model = CircuitsPlan

    def targets(self, plan: Any) -> list[tuple[FieldKey, TargetSpec]]:
        from qorch.workloads.circuits.build import target_keys

        return target_keys(plan)

    def check(self, loaded: LoadedPlan) -> PlanCheck:
        from qorch.workloads.circuits.build import build_circuits, circuits_plan

        jobs = len(build_circuits(loaded)) * len(circuits_plan(loaded).targets)
        return PlanCheck({"jobs": jobs}, counted(jobs, "job"))

    def reported(self, loaded: LoadedPlan) -> Reported:
        from qorch.workloads.circuits.build import circuits_plan
        from qorch.workloads.circuits.compile import REFERENCE_METRICS

        plan = circuits_plan(loaded)  # names from the specs: no circuit is built twice
        return Reported(frozenset({"shots", *REFERENCE_METRICS}),
                        tuple(spec.name for spec in plan.circuits),
                        tuple(spec.target for spec in plan.targets))  # fmt: skip

    def compile(self, loaded: LoadedPlan) -> CompiledBundle:
        from qorch.workloads.circuits.compile import compile_plan

        return compile_plan(loaded)

    def results(self, ctx: RunContext, run: dict[str, Any]) -> CircuitsResult:
        references = ctx.bundle.manifest.extension.get("references") or {}
        return CircuitsResult(metrics=job_metrics(run["jobs"], references))


def job_metrics(
    jobs: list[dict[str, Any]], references: dict[str, dict[str, float] | None] | None = None
) -> list[Metric]:
    """Per finished job, labelled with its circuit and target: ``shots`` collected; and,
    where the bundle holds the circuit's exact distribution, ``hellinger_fidelity`` and
    ``tvd`` to it and ``success_probability`` (shots on an ideal outcome), each with its
    95 % interval."""
    from qorch.engine.stats import hellinger_estimate, success_estimate, tvd_estimate
    from qorch.sim.reference import ideal_outcomes

    metrics = []
    for job in jobs:
        counts = job.get("counts")
        if counts is None:
            continue
        labels = {"circuit": job["circuit"], "target": job["target"]}
        sets = counts if isinstance(counts, list) else [counts]
        shots = sum(sum(entry.values()) for entry in sets)
        metrics.append(Metric(name="shots", value=shots, **labels))
        ideal = (references or {}).get(job["circuit"])
        if ideal is None or isinstance(counts, list) or not shots:
            continue
        for name, estimate in (
            ("hellinger_fidelity", hellinger_estimate(counts, ideal)),
            ("tvd", tvd_estimate(counts, ideal)),
            ("success_probability", success_estimate(counts, ideal_outcomes(ideal))),
        ):
            metrics.append(Metric(name=name, value=estimate.value, std_error=estimate.std_error,
                                  low=estimate.low, high=estimate.high, level=estimate.level,
                                  **labels))  # fmt: skip
    return metrics
