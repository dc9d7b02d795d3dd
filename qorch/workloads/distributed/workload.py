"""The ``distributed`` plan kind as a registered workload.

Its run is its bundle's jobs (the default execute); its results are the
simulation against the monolithic circuit, or the cut reconstruction.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qorch.engine.plan_base import TargetSpec
from qorch.engine.views import View
from qorch.engine.workload import FieldKey, Metric, PlanCheck, Reported, Workload, WorkloadResult
from qorch.workloads.distributed.plan import DistributedPlan, node_targets

if TYPE_CHECKING:
    from qorch.engine.compile import CompiledBundle
    from qorch.engine.loadedplan import LoadedPlan
    from qorch.engine.runner import RunContext

ESTIMATE_METRICS = (
    "estimated_fidelity",
    "estimated_classical_fidelity",
    "estimated_success_probability",
    "fidelity_lower_bound",
)
"""The estimate as metrics (see ``report.ESTIMATE_KEYS``): in checks, JSON and Markdown."""


class DistributedResult(WorkloadResult):
    """A distributed run's results: the ``distributed`` block (mode, partition, and the
    ``simulation`` or cut ``observables`` once the jobs are done)."""

    distributed: dict[str, Any] | None = None

    def json_fields(self) -> dict[str, Any]:
        return {} if self.distributed is None else {"distributed": self.distributed}


class DistributedWorkload(Workload):
    """One circuit partitioned over QPUs joined by modelled links: estimated, simulated or cut."""

    kind = "distributed"
    plan_model = DistributedPlan

    def targets(self, plan: Any) -> list[tuple[FieldKey, TargetSpec]]:
        return node_targets(plan)

    def check(self, loaded: LoadedPlan) -> PlanCheck:
        from qorch.workloads.distributed.pipeline import check_plan

        found = check_plan(loaded)
        return PlanCheck(found, f"{found['qubits']} qubits on {found['nodes']} nodes")

    def reported(self, loaded: LoadedPlan) -> Reported:
        plan: DistributedPlan = loaded.plan
        names = {"epr_pairs", "makespan_s", "sampling_overhead", *ESTIMATE_METRICS}
        if plan.execute.mode == "simulate":
            names |= {"tvd_to_monolithic", "measured_fidelity"}
        if plan.execute.mode == "cut":
            names |= {f"expectation_{observable}" for observable in plan.execute.observables}
        return Reported(frozenset(names), None, ())  # metrics carry the circuit, no target

    def compile(self, loaded: LoadedPlan) -> CompiledBundle:
        from qorch.workloads.distributed.compile import compile_distributed

        return compile_distributed(loaded)

    def plan_hash(self, loaded: LoadedPlan) -> str | None:
        from qorch.workloads.distributed.pipeline import plan_digest

        return plan_digest(loaded)

    def compile_view(self, bundle: CompiledBundle, directory: Path) -> View:
        from qorch.workloads.distributed.views import compile_view

        manifest = bundle.manifest
        return compile_view(manifest.plan.name, manifest.extension, manifest.totals, directory)

    def results(self, ctx: RunContext, run: dict[str, Any]) -> DistributedResult:
        from qorch.workloads.distributed.report import results

        blocks = ctx.bundle.manifest.extension
        if "distributed" not in blocks:
            return DistributedResult()
        info = results(blocks, ctx.bundle.jobs, run["jobs"])
        return DistributedResult(distributed=info, metrics=metrics(info, blocks["distributed"]))

    def results_view(self, run: dict[str, Any], result: WorkloadResult) -> View:
        from qorch.workloads.distributed.views import results_view

        return results_view(run, result.json_fields().get("distributed"))


def metrics(info: dict[str, Any], post: dict[str, Any]) -> list[Metric]:
    """The run's numbers: EPR pairs, makespan, estimated fidelity; the simulation's TVD and
    fidelity against the monolithic circuit; each cut observable with its standard error."""
    circuit = post.get("circuit")
    partition = info["partition"]
    found: list[Metric] = []
    for name in ("epr_pairs", "makespan_s", "sampling_overhead", *ESTIMATE_METRICS):
        if partition.get(name) is not None:
            found.append(Metric(name=name, value=partition[name], circuit=circuit))
    simulation = info.get("simulation") or {}
    for name in ("tvd_to_monolithic", "measured_fidelity"):
        if simulation.get(name) is not None:
            found.append(Metric(name=name, value=simulation[name], circuit=circuit))
    for observable in info.get("observables") or []:
        found.append(Metric(name=f"expectation_{observable['observable']}",
                            value=observable["value"], std_error=observable["std_error"],
                            circuit=circuit))  # fmt: skip
    return found
