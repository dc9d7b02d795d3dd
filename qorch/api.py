"""qorch as a library: load, validate, compile, run, attach, results, status, cancel.

Each function is what one ``qorch`` command does, minus the terminal: the
command parses its arguments, calls one of these and renders what it returns.
Errors are :class:`~qorch.contract.errors.QorchError` subclasses carrying their
one-line message and exit code.

Example::

    import qorch

    got = qorch.run("plans/ghz.yaml", qorch.RunOptions(timeout_s=60))
    print(got.data["status"], [(m.name, m.value, m.target) for m in got.result.metrics])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qorch.contract.errors import PlanError, QorchError
from qorch.engine import kinds, locate
from qorch.engine import results as run_results
from qorch.engine.loadedplan import LoadedPlan
from qorch.engine.planfile import PlanErrors, load_plan
from qorch.engine.results import RunResults
from qorch.engine.runner import RunContext
from qorch.engine.session import Compiled
from qorch.engine.workload import RunObserver, RunOptions

PathLike = str | Path


def load(path: PathLike) -> LoadedPlan:
    """Read and validate a plan file (schema only). Raises PlanErrors, located."""
    return load_plan(Path(path), str(path))


@dataclass(frozen=True)
class PlanReport:
    """What ``qorch validate`` says about one plan."""

    plan: str
    valid: bool
    errors: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)  # jobs, tasks, qubits, nodes …
    summary: str = ""  # e.g. "4 jobs"

    def to_json(self) -> dict[str, Any]:
        """The report as ``qorch validate --json`` prints it."""
        return {"plan": self.plan, "valid": self.valid, "errors": self.errors, **self.fields}


def validate(paths: list[PathLike]) -> list[PlanReport]:
    """Check plans: schema, targets (providers, devices, options) and the kind's own
    semantic checks. Fast: no vendor SDK is imported. Never raises for a bad plan: its
    report lists every problem found."""
    from qorch.engine.targets import check_targets

    reports: list[PlanReport] = []
    for path in paths:
        shown = str(path)
        try:
            loaded = load(path)
            workload = kinds.load(loaded.kind)
            check_targets(loaded, workload.targets(loaded.plan))
            workload.check_checks(loaded)
            found = workload.check(loaded)
        except PlanErrors as error:
            reports.append(PlanReport(shown, False, error.lines()))
            continue
        except QorchError as error:
            reports.append(PlanReport(shown, False, [str(error)]))
            continue
        reports.append(PlanReport(shown, True, [], dict(found.fields), found.summary))
    return reports


def compile(plan: PathLike, output: PathLike | None = None) -> Compiled:
    """Compile a plan and write its bundle (default: ``.qorch/bundles/STEM-HASH``).

    Checks capabilities and the budget first. The same plan always gives a
    byte-identical bundle. ``.view()`` of the result is what ``qorch compile`` shows.
    """
    from qorch.engine import session

    return session.compile_to_dir(Path(plan), None if output is None else Path(output))


def run(
    source: PathLike, options: RunOptions | None = None, observer: RunObserver | None = None
) -> RunResults:
    """Compile (or read a bundle directory), submit, wait and collect; resumable.

    The same plan (or ``options.idempotency_key``) resumes its run and never
    submits a job twice. ``results.json`` is written once every job is finished.
    ``observer`` is told what happens (messages, progress).
    """
    from qorch.engine import session

    chosen = options or RunOptions()
    watcher = observer or RunObserver()
    began = session.start(Path(source), chosen, watcher)
    began.workload.execute(began, chosen, watcher)
    collected = run_results.collect(began.ctx)
    if collected.finished and chosen.wait:
        collected = run_results.write(began.ctx, collected)
    return collected


def submit(
    source: PathLike, options: RunOptions | None = None, observer: RunObserver | None = None
) -> RunResults:
    """:func:`run` without waiting: submit what is not submitted yet and return."""
    base = options or RunOptions()
    chosen = RunOptions(
        idempotency_key=base.idempotency_key, new=base.new, wait=False, timeout_s=None,
        poll_s=base.poll_s, cluster=base.cluster, workers=base.workers,
    )  # fmt: skip
    return run(source, chosen, observer)


def attach(
    run_id: str, state_dir: PathLike | None = None, observer: RunObserver | None = None
) -> RunContext:
    """Re-open a run by id, unique id prefix or ``latest`` (never creates a store)."""
    notify = (observer or RunObserver()).notify
    return locate.attach(run_id, None if state_dir is None else Path(state_dir), notify)


def results(
    run_id: str, state_dir: PathLike | None = None, observer: RunObserver | None = None
) -> RunResults:
    """A run's results, asking providers about unfinished jobs first; writes
    ``results.json`` once every job is finished."""
    from qorch.engine import runner

    ctx = attach(run_id, state_dir, observer)
    runner.refresh(ctx)
    collected = run_results.collect(ctx)
    return run_results.write(ctx, collected) if collected.finished else collected


def status(
    run_id: str, state_dir: PathLike | None = None, observer: RunObserver | None = None
) -> RunResults:
    """A run's jobs and results so far, asking providers about unfinished jobs."""
    from qorch.engine import runner

    ctx = attach(run_id, state_dir, observer)
    runner.refresh(ctx)
    return run_results.collect(ctx)


def runs(state_dir: PathLike | None = None) -> list[dict[str, Any]]:
    """Every run found (``--state-dir``, ``$QORCH_STATE_DIR``, or near the current
    directory), newest first."""
    return locate.list_runs(None if state_dir is None else Path(state_dir))


def diff(
    run_a: str, run_b: str, state_dir: PathLike | None = None, observer: RunObserver | None = None
) -> dict[str, Any]:
    """What changed from run ``run_a`` to run ``run_b`` beyond shot noise: each metric both
    report (change, z-score, significant at 99 %) and, per (circuit, target) both ran, the
    TVD between their counts with a chi-square test of homogeneity (see qorch.engine.drift)."""
    from dataclasses import asdict

    from qorch.engine import drift

    before = status(run_a, state_dir, observer)
    after = status(run_b, state_dir, observer)
    metrics = drift.metric_changes(run_results.metric_values(before.result.metrics),
                                   run_results.metric_values(after.result.metrics))  # fmt: skip
    # a job with a role (a circuit's observables measured in other bases) is not its counts
    earlier = {(job["circuit"], job["target"]): job.get("counts")
               for job in before.data["jobs"] if job.get("role") is None}  # fmt: skip
    counts = []
    for job in after.data["jobs"]:
        if job.get("role") is not None:
            continue
        old, new = earlier.get((job["circuit"], job["target"])), job.get("counts")
        if isinstance(old, dict) and isinstance(new, dict) and old and new:
            counts.append(drift.counts_change(job["circuit"], job["target"], old, new))
    return {
        "before": before.run_id,
        "after": after.run_id,
        "level": drift.DRIFT_LEVEL,
        "metrics": [asdict(change) for change in metrics],
        "counts": [asdict(change) for change in counts],
    }


def history(
    state_dir: PathLike | None = None,
    *,
    plan: str | None = None,
    metric: str | None = None,
    target: str | None = None,
    since: str | None = None,
) -> list[dict[str, Any]]:
    """The metric values of every judged run, oldest first, each with its run's verdicts on
    it: ``plan`` is a plan name, ``target`` a glob, ``since`` an ISO date or time."""
    from dataclasses import asdict

    from qorch.store import history as store_history
    from qorch.store.state import StateStore

    rows: list[dict[str, Any]] = []
    for directory in locate.state_dirs(None if state_dir is None else Path(state_dir)):
        with StateStore(directory, create=False) as store:
            verdicts: dict[tuple[str, str, str, str], list[str]] = {}
            for v in store_history.verdict_rows(store):
                verdicts.setdefault((v.run_id, v.metric, v.circuit, v.target), []).append(v.verdict)
            for row in store_history.metric_rows(store, plan_name=plan, metric=metric,
                                                 target=target, since=since):  # fmt: skip
                key = (row.run_id, row.name, row.circuit, row.target)
                rows.append({**asdict(row), "verdicts": verdicts.get(key, [])})
    rows.sort(key=lambda row: row["created"])
    return rows


def history_plot(
    metric: str, rows: list[dict[str, Any]], state_dir: PathLike | None = None
) -> bytes:
    """A PNG of ``metric`` over time in ``rows`` (from :func:`history`), with the bounds of
    the checks on it in the latest run's plan."""
    from qorch.engine.checks import Check
    from qorch.engine.historyplot import plot_png

    checks: list[Check] = []
    latest = [row for row in rows if row["name"] == metric]
    if latest:
        ctx = attach(latest[-1]["run_id"], state_dir)
        checks = [Check.model_validate(item) for item in ctx.bundle.manifest.plan.checks]
        ctx.store.close()
    return plot_png(metric, rows, checks)


@dataclass(frozen=True)
class Cancelled:
    """A cancelled run: one line per job that could not be cancelled, and the run after."""

    problems: list[str]
    results: RunResults


def cancel(
    run_id: str, state_dir: PathLike | None = None, observer: RunObserver | None = None
) -> Cancelled:
    """Cancel a run's unfinished jobs (finished ones keep their results)."""
    from qorch.engine import runner

    ctx = attach(run_id, state_dir, observer)
    problems = runner.cancel(ctx)
    return Cancelled(problems, run_results.collect(ctx))


def plan_kinds() -> tuple[str, ...]:
    """The plan kinds installed (entry-point group ``qorch.workloads``)."""
    return kinds.names()


def template(kind: str) -> str:
    """The commented starter plan of ``kind``. Raises PlanError for an unknown kind."""
    if kind not in kinds.names():
        raise PlanError(f"unknown plan kind '{kind}' (available: {', '.join(kinds.names())})")
    return kinds.load(kind).template()


def schema() -> dict[str, Any]:
    """The JSON Schema of the plan format (every installed kind)."""
    return kinds.plan_json_schema()


__all__ = [
    "Cancelled",
    "Compiled",
    "PlanReport",
    "RunObserver",
    "RunOptions",
    "RunResults",
    "attach",
    "cancel",
    "compile",
    "diff",
    "history",
    "history_plot",
    "load",
    "plan_kinds",
    "results",
    "run",
    "runs",
    "schema",
    "status",
    "submit",
    "template",
    "validate",
]
