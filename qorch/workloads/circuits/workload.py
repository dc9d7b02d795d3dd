"""The ``circuits`` plan kind as a registered workload: its run is its bundle's jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qorch.engine.plan_base import TargetSpec
from qorch.engine.workload import FieldKey, Metric, PlanCheck, Workload, WorkloadResult
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
        return PlanCheck({"jobs": jobs}, f"{jobs} jobs")

    def compile(self, loaded: LoadedPlan) -> CompiledBundle:
        from qorch.workloads.circuits.compile import compile_plan

        return compile_plan(loaded)

    def results(self, ctx: RunContext, run: dict[str, Any]) -> CircuitsResult:
        return CircuitsResult(metrics=job_metrics(run["jobs"]))


def job_metrics(jobs: list[dict[str, Any]]) -> list[Metric]:
    """``shots`` collected by each finished job, labelled with its circuit and target."""
    metrics = []
    for job in jobs:
        counts = job.get("counts")
        if counts is None:
            continue
        sets = counts if isinstance(counts, list) else [counts]
        shots = sum(sum(entry.values()) for entry in sets)
        metrics.append(Metric(name="shots", value=shots, circuit=job["circuit"],
                              target=job["target"]))  # fmt: skip
    return metrics
