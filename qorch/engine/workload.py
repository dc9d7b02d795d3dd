"""The workload contract: what a plan kind implements to be run by qorch.

A plan kind is a :class:`Workload` registered in the entry-point group
``qorch.workloads`` (see :mod:`qorch.engine.kinds`); the built-in kinds are
registered the same way. The core never branches on a kind: it loads the plan
with the registered models, and calls the workload for the rest.

=================  ==========================================================
``kind``           the plan's ``kind:`` value
``plan_model``     the pydantic model (a :class:`~qorch.engine.plan_base.PlanModel`
                   whose ``kind`` is ``Literal[kind]``)
``template()``     the commented starter plan of ``qorch init`` (``template.yaml``
                   beside the workload's module, read with importlib.resources)
``targets()``      every target the plan names, for the provider checks
``check()``        the semantic checks of ``qorch validate``; raises PlanErrors
                   (every problem found) or a located QorchError
``compile()``      plan → :class:`~qorch.engine.compile.CompiledBundle` (pure)
``execute()``      the run's steps (default: submit the bundle's jobs and wait)
``results()``      collected results → a typed :class:`WorkloadResult` (pure)
``*_view()``       what ``compile`` and ``results`` show: tables and lines
=================  ==========================================================
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from qorch.engine.plan_base import PlanModel, TargetSpec
from qorch.engine.runoptions import OnPoll as OnPoll
from qorch.engine.runoptions import PlanCheck as PlanCheck
from qorch.engine.runoptions import RunObserver as RunObserver
from qorch.engine.runoptions import RunOptions as RunOptions
from qorch.engine.views import Table, View, job_table, manifest_job_table
from qorch.engine.wording import counted, usd

if TYPE_CHECKING:
    from qorch.engine.compile import CompiledBundle
    from qorch.engine.loadedplan import LoadedPlan
    from qorch.engine.runner import RunContext

FieldKey = tuple[str | int, ...]


class Metric(BaseModel):
    """One number a run produced, with what it is about: the thing checks judge and charts plot.

    ``name`` says what was measured (``test_accuracy``, ``tvd_to_monolithic``);
    ``circuit`` and ``target`` label what it is about, where that applies.
    ``std_error``, or an interval ``[low, high]`` at confidence ``level``, says how
    well it is known (none: exact).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    value: float
    std_error: float | None = None
    low: float | None = None
    high: float | None = None
    level: float | None = None
    circuit: str | None = None
    target: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The metric as JSON: the labels it has, no nulls."""
        return self.model_dump(mode="json", exclude_none=True)


class WorkloadResult(BaseModel):
    """A kind's post-processed results.

    ``metrics`` is the flat list every kind fills (the run's JSON prints it as
    ``metric_values``: a qcnn run's ``metrics`` field predates it). A subclass
    adds the kind's own typed fields and prints them with :meth:`json_fields`.
    ``failed`` marks a run whose own steps failed though its jobs did not (a
    qcnn sweep task); ``artifacts`` is a directory of files the run wrote.
    """

    model_config = ConfigDict(frozen=True)

    metrics: list[Metric] = []
    failed: bool = False
    artifacts: str | None = None

    def json_fields(self) -> dict[str, Any]:
        """The kind's fields of the run's JSON object (beside ``run_id``, ``jobs``, …)."""
        return {}


@dataclass(frozen=True)
class Reported:
    """What a plan's run reports, so ``validate`` can refuse checks that would select
    nothing: metric names, and the circuit and target labels the metrics carry."""

    metrics: frozenset[str]
    circuits: tuple[str, ...] | None = ()  # None: labels not known before the run
    targets: tuple[str, ...] | None = ()


@dataclass
class RunStart:
    """A run opened for execution: its context, whether it is new, its workload, and the
    loaded plan (None when the run was started from a compiled bundle directory)."""

    ctx: RunContext
    created: bool
    workload: Workload
    loaded: LoadedPlan | None


class Workload(ABC):
    """A plan kind. Subclasses set ``kind`` and ``plan_model`` and implement the
    abstract methods; the defaults suit a kind whose run is its bundle's jobs."""

    kind: ClassVar[str]
    plan_model: ClassVar[type[PlanModel]]
    template_file: ClassVar[str] = "template.yaml"
    # True: ``qorch run`` starts the local workers before compiling, to translate the
    # plan and then run its local jobs (see :mod:`qorch.engine.warmpool`): for kinds
    # whose compile translates for the targets and whose run submits their jobs at once
    warm_workers: ClassVar[bool] = False

    def template(self) -> str:
        """The commented starter plan (``template_file`` beside the workload's module)."""
        package = type(self).__module__.rpartition(".")[0] or type(self).__module__
        return resources.files(package).joinpath(self.template_file).read_text("utf-8")

    @abstractmethod
    def targets(self, plan: Any) -> list[tuple[FieldKey, TargetSpec]]:
        """Every target the plan names, with the path of the mapping holding its fields."""

    @abstractmethod
    def check(self, loaded: LoadedPlan) -> PlanCheck:
        """The checks of ``qorch validate`` beyond the schema and the targets (fast: no
        vendor SDK). Raises PlanErrors listing every problem, or a located QorchError."""

    def reported(self, loaded: LoadedPlan) -> Reported | None:
        """The metrics this plan's run will report (None: not declared, checks unchecked)."""
        return None

    def check_checks(self, loaded: LoadedPlan) -> None:
        """Refuse, with the check's line, a check on a metric the run never reports or whose
        circuit or target pattern selects nothing (``validate`` and ``compile`` call it)."""
        from qorch.engine.checks import selector_problems

        reported = self.reported(loaded)
        checks = getattr(loaded.plan, "checks", [])
        if reported is None or not checks:
            return
        problems = selector_problems(checks, reported.metrics, reported.circuits,
                                     reported.targets)  # fmt: skip
        if problems:
            key, text = problems[0]
            raise loaded.error(key, text)

    @abstractmethod
    def compile(self, loaded: LoadedPlan) -> CompiledBundle:
        """The plan's bundle; capability and budget checks first. Raises located errors."""

    def plan_hash(self, loaded: LoadedPlan) -> str | None:
        """The hash ``compile`` gives this plan version (the plan and the files it reads),
        if it is cheap to know without compiling; None otherwise. A run of a plan version
        that already has a run is then re-opened without compiling it again."""
        return None

    def holds(self, bundle: CompiledBundle) -> str:
        """What a new run of ``bundle`` holds, for the line announcing it."""
        return counted(len(bundle.jobs), "job")

    def execute(self, start: RunStart, options: RunOptions, observer: RunObserver) -> bool:
        """Run the steps not yet done; True when everything finished.

        Default: submit the bundle's jobs, then (``options.wait``) wait for them.
        """
        from qorch.engine import runner

        ctx = start.ctx
        if not options.wait:
            runner.submit_pending(ctx)
            return False
        with observer.tracking(len(ctx.bundle.jobs), f"run {ctx.run.run_id}") as on_poll:
            runner.submit_pending(ctx)
            return runner.wait(
                ctx, timeout_s=options.timeout_s, poll_s=options.poll_s, on_poll=on_poll
            )

    @abstractmethod
    def results(self, ctx: RunContext, run: dict[str, Any]) -> WorkloadResult:
        """Post-process a run's stored results. ``run`` is its JSON object so far (``jobs``
        with their counts); pure apart from reading the run's stored results."""

    def compile_view(self, bundle: CompiledBundle, directory: Path) -> View:
        """What ``qorch compile`` shows. Default: the jobs and their totals."""
        totals = bundle.manifest.totals
        line = (
            f"{counted(totals.jobs, 'job')}, {counted(totals.shots, 'shot')}, "
            f"estimated {usd(totals.cost_usd)}"
        )
        return View([manifest_job_table(bundle.jobs)], [line])

    def results_view(self, run: dict[str, Any], result: WorkloadResult) -> View:
        """What ``qorch run`` and ``qorch results`` show. Default: the jobs' top outcomes."""
        return View([job_table(run, counts=True)])


__all__ = [
    "FieldKey",
    "Metric",
    "PlanCheck",
    "Reported",
    "RunObserver",
    "RunOptions",
    "RunStart",
    "Table",
    "View",
    "Workload",
    "WorkloadResult",
]
