"""The ``circuits`` plan kind as a registered workload: its run is its bundle's jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qorch.engine.plan_base import TargetSpec
from qorch.engine.views import View, job_table
from qorch.engine.workload import FieldKey, Metric, PlanCheck, Reported, Workload, WorkloadResult
from qorch.workloads.circuits.plan import REFERENCE_METRICS, CircuitsPlan

if TYPE_CHECKING:
    from qorch.engine.compile import CompiledBundle
    from qorch.engine.loadedplan import LoadedPlan
    from qorch.engine.runner import RunContext


class CircuitsResult(WorkloadResult):
    """A circuits run's results: the counts are in its jobs; metrics per job. ``jobs`` are
    the run's jobs with their observables (None: the plan has none; the jobs stand)."""

    jobs: list[dict[str, Any]] | None = None

    def json_fields(self) -> dict[str, Any]:
        return {} if self.jobs is None else {"jobs": self.jobs}


class CircuitsWorkload(Workload):
    """Circuits (generators, OpenQASM files) compiled for every target and run there."""

    warm_workers = True

    kind = "circuits"
    plan_model = CircuitsPlan

    def targets(self, plan: Any) -> list[tuple[FieldKey, TargetSpec]]:
        from qorch.workloads.circuits.build import target_keys

        return target_keys(plan)

    def check(self, loaded: LoadedPlan) -> PlanCheck:
        from qorch.workloads.circuits.build import circuits_plan
        from qorch.workloads.circuits.planchecks import check_plan

        plan = circuits_plan(loaded)
        calibration = 2 * sum(1 for spec in plan.targets if _calibrates_checked(spec))  # M3
        observed = sum(1 for spec in plan.circuits if spec.observables)
        zne = [s.mitigation.zne for s in plan.targets if s.mitigation and _noisy_checked(s)]
        folded = sum(len(options.scale_factors) - 1 for options in zne if options)
        return check_plan(loaded, extra_jobs=calibration + observed * folded)

    def reported(self, loaded: LoadedPlan) -> Reported:
        from qorch.workloads.circuits.build import circuits_plan
        from qorch.workloads.circuits.observables import metric_name

        plan = circuits_plan(loaded)  # names from the specs: no circuit is built twice
        observables = {metric_name(o.name) for spec in plan.circuits for o in spec.observables}
        names = {o.name for spec in plan.circuits for o in spec.observables}
        for method in ("m3", "zne"):  # mitigated values and their gain
            if any(getattr(t.mitigation, _OPTION[method], None) for t in plan.targets):
                observables |= {f"{metric_name(n)}:{method}" for n in names}
                observables |= {f"mitigation_gain:{n}:{method}" for n in names}
        return Reported(frozenset({"shots", *REFERENCE_METRICS, *observables}),
                        tuple(spec.name for spec in plan.circuits),
                        tuple(spec.target for spec in plan.targets))  # fmt: skip

    def compile(self, loaded: LoadedPlan) -> CompiledBundle:
        from qorch.workloads.circuits.compile import compile_plan

        return compile_plan(loaded)

    def plan_hash(self, loaded: LoadedPlan) -> str | None:
        from qorch.workloads.circuits.compile import plan_hash

        return plan_hash(loaded)

    def results(self, ctx: RunContext, run: dict[str, Any]) -> CircuitsResult:
        from qorch.workloads.circuits.compile import MITIGATION_BLOCK, SWEEPS_BLOCK
        from qorch.workloads.circuits.mitresults import with_mitigated
        from qorch.workloads.circuits.obsjobs import BLOCK
        from qorch.workloads.circuits.obsresults import with_observables
        from qorch.workloads.circuits.readout import with_readout
        from qorch.workloads.circuits.sweepresults import with_parameter_sets
        from qorch.workloads.circuits.zneresults import with_zne

        extension = ctx.bundle.manifest.extension
        references = extension.get("references") or {}
        block = extension.get(BLOCK)
        swept = extension.get(SWEEPS_BLOCK)
        if not block and not swept and not extension.get(MITIGATION_BLOCK):
            return CircuitsResult(metrics=job_metrics(run["jobs"], references))
        specs = {job["index"]: ctx.job_spec(job["index"]) for job in run["jobs"]}
        jobs = with_parameter_sets(run["jobs"], specs, swept or {})
        jobs = with_readout(jobs, specs, extension.get(MITIGATION_BLOCK))
        if not block:
            return CircuitsResult(metrics=job_metrics(jobs, references), jobs=jobs)
        jobs, observed = with_observables(jobs, specs, block)
        jobs, mitigated = with_mitigated(jobs, specs, block)
        jobs, extrapolated = with_zne(jobs, specs, block, extension.get(MITIGATION_BLOCK))
        metrics = job_metrics(jobs, references) + observed + mitigated + extrapolated
        return CircuitsResult(metrics=metrics, jobs=jobs)

    def results_view(self, run: dict[str, Any], result: WorkloadResult) -> View:
        from qorch.workloads.circuits.obsresults import observables_table, shown_jobs
        from qorch.workloads.circuits.sweepresults import summarised, sweep_table

        tables = [t for t in (sweep_table(run["jobs"]), observables_table(run["jobs"])) if t]
        if not tables:
            return super().results_view(run, result)
        jobs = summarised(shown_jobs(run["jobs"]))
        return View([job_table({**run, "jobs": jobs}, counts=True), *tables])


_OPTION = {"m3": "readout", "zne": "zne"}  # a mitigated metric's suffix → its option


def _calibrates_checked(spec: Any) -> bool:
    """:func:`calibrates`, False for a target the target checks refuse (reported there)."""
    return bool(spec.mitigation and spec.mitigation.readout and _noisy_checked(spec))


def _noisy_checked(spec: Any) -> bool:
    """:func:`noisy`, False for a target the target checks refuse (reported there)."""
    from qorch.contract.errors import QorchError

    try:
        return noisy(spec)
    except QorchError:
        return False


def calibrates(spec: Any) -> bool:
    """True if the target runs M3 calibration jobs: it asks for readout mitigation and its
    device has readout errors (asked of its provider, offline for every known device)."""
    if spec.mitigation is None or not spec.mitigation.readout:
        return False
    return noisy(spec)


def noisy(spec: Any) -> bool:
    """True if the target's device is noisy, so mitigation has work (M3's calibration,
    ZNE's folded jobs): its provider's ``readout_noise``, asked offline."""
    from qorch.engine import registry
    from qorch.engine.targets import target_options

    return registry.load(spec.provider).readout_noise(spec.device, target_options(spec))


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
        if counts is None or job.get("role") is not None:  # a measurement job of observables
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
