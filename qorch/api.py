"""qorch as a library: load, validate, compile, run, attach, results, status, show, gc, cancel.

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
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import PlanError, QorchError, UsageError
from qorch.engine.loadedplan import Issue, LoadedPlan, issue_of
from qorch.engine.runoptions import PlanCheck, RunObserver, RunOptions

# The plan registry and loader (pydantic, yaml) are imported where used: commands that
# answer from the store (``qorch status``, ``results``, ``show``) never load a plan model.
if TYPE_CHECKING:
    from qorch.engine.prune import GcPlan
    from qorch.engine.results import RunResults
    from qorch.engine.runner import RunContext
    from qorch.engine.session import Compiled

_LAZY = {
    "Compiled": "qorch.engine.session",
    "GcPlan": "qorch.engine.prune",
    "RunResults": "qorch.engine.results",
    "RunContext": "qorch.engine.runner",
}


def __getattr__(name: str) -> Any:
    """The result types, imported on first use: ``qorch validate`` needs none of them."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'qorch.api' has no attribute {name!r}")


PathLike = str | Path


def load(path: PathLike) -> LoadedPlan:
    """Read and validate a plan file (schema only). Raises PlanErrors, located."""
    from qorch.engine.planfile import load_plan

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
    from qorch.engine.planfile import PlanErrors

    reports: list[PlanReport] = []
    for path in paths:
        shown = str(path)
        try:
            loaded = load(path)
        except PlanErrors as error:
            reports.append(PlanReport(shown, False, error.lines()))
            continue
        except QorchError as error:
            reports.append(PlanReport(shown, False, [str(error)]))
            continue
        reports.append(_checked(shown, loaded))
    return reports


def _checked(shown: str, loaded: LoadedPlan) -> PlanReport:
    """The report of a loaded plan: each stage runs, so every problem is listed at once."""
    from qorch.engine import kinds
    from qorch.engine.planfile import PlanErrors
    from qorch.engine.targets import check_targets

    workload = kinds.load(loaded.kind)
    issues: list[Issue] = []
    stages = (
        lambda: check_targets(loaded, workload.targets(loaded.plan)),
        lambda: workload.check_checks(loaded),
        lambda: workload.check(loaded),
    )
    found = None
    for stage in stages:
        try:
            found = stage()
        except PlanErrors as error:
            issues += error.issues
        except QorchError as error:
            issues.append(issue_of(error, loaded.display))
    if issues:
        return PlanReport(shown, False, PlanErrors(loaded.display, issues).lines())
    assert isinstance(found, PlanCheck)
    return PlanReport(shown, True, [], dict(found.fields), found.summary)


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
    from qorch.engine import results as run_results
    from qorch.engine import session, warmpool

    chosen = options or RunOptions()
    watcher = observer or RunObserver()
    with warmpool.scope():  # local workers started during the compile, if any
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
    from qorch.engine import locate

    notify = (observer or RunObserver()).notify
    return locate.attach(run_id, None if state_dir is None else Path(state_dir), notify)


def results(
    run_id: str, state_dir: PathLike | None = None, observer: RunObserver | None = None
) -> RunResults:
    """A run's results, asking providers about unfinished jobs first; writes
    ``results.json`` once every job is finished."""
    from qorch.engine import results as run_results
    from qorch.engine import runner

    ctx = attach(run_id, state_dir, observer)
    runner.refresh(ctx)
    collected = run_results.collect(ctx)
    return run_results.write(ctx, collected) if collected.finished else collected


def status(
    run_id: str, state_dir: PathLike | None = None, observer: RunObserver | None = None
) -> RunResults:
    """A run's jobs and results so far, asking providers about unfinished jobs."""
    from qorch.engine import results as run_results
    from qorch.engine import runner

    ctx = attach(run_id, state_dir, observer)
    runner.refresh(ctx)
    return run_results.collect(ctx)


def runs(state_dir: PathLike | None = None) -> list[dict[str, Any]]:
    """Every run found (``--state-dir``, ``$QORCH_STATE_DIR``, or near the current
    directory), newest first."""
    from qorch.engine import locate

    return locate.list_runs(None if state_dir is None else Path(state_dir))


def diff(
    run_a: str, run_b: str, state_dir: PathLike | None = None, observer: RunObserver | None = None
) -> dict[str, Any]:
    """What changed from run ``run_a`` to run ``run_b`` beyond shot noise: each metric both
    report (change, z-score, significant at 99 %) and, per (circuit, target) both ran, the
    TVD between their counts with a chi-square test of homogeneity (see qorch.engine.drift)."""
    from dataclasses import asdict

    from qorch.engine import drift
    from qorch.engine import results as run_results

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
    it: ``plan`` is a plan name or a plan file (its name; its state directory unless
    ``state_dir`` is given), ``target`` a glob, ``since`` an ISO date or time."""
    from dataclasses import asdict

    from qorch.engine import locate
    from qorch.store import history as store_history
    from qorch.store.state import StateStore
    from qorch.store.statedir import default_state_dir

    if since is not None:
        try:
            since = store_history.utc_since(since)
        except ValueError as error:
            raise UsageError(str(error)) from None
    directories = locate.state_dirs(None if state_dir is None else Path(state_dir))
    if plan is not None and Path(plan).suffix in {".yaml", ".yml"} and Path(plan).is_file():
        plan_file = Path(plan)
        plan = load(plan_file).plan.name
        if state_dir is None:
            near_plan = default_state_dir(plan_file, create=False)
            directories = [near_plan] if (near_plan / "state.db").is_file() else directories
    rows: list[dict[str, Any]] = []
    for directory in directories:
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


def show(run_id: str, job: str | None = None, state_dir: PathLike | None = None) -> dict[str, Any]:
    """One job of a run (``job``: its index as ``qorch status`` numbers it, or its provider
    job id): target, provider job id, transpiled depth and two-qubit gates, timings, shots,
    cost, error text, payload path. Without ``job``: the run and one line per job.
    Read-only: asks no provider. Raises StateError for an unknown run or job."""
    from qorch.engine import jobinfo, locate

    store, record = locate.find(run_id, None if state_dir is None else Path(state_dir))
    with store:
        if job is None:
            return jobinfo.brief(store, record)
        return jobinfo.detail(store, record, jobinfo.pick_job(store, record, job))


@dataclass(frozen=True)
class CountsPlot:
    """``qorch results --plot``: the PNG, and one note per job it leaves out."""

    png: bytes
    notes: list[str]


def counts_plot(got: RunResults, top_k: int = 8) -> CountsPlot:
    """A PNG of a run's counts (from :func:`results`): a panel per circuit, its ``top_k``
    outcomes as bars per target side by side, the ideal distribution overlaid where the
    bundle's references or a small payload give it. Raises QorchError if nothing has counts."""
    from qorch.engine import countsplot, ideals, jobinfo, locate, sweepplot

    title = f"run {got.run_id} — {got.data['plan']} ({got.data['status']})"
    swept = sweepplot.sweep_panels(got.data)
    if swept:  # observables over parameter sets: drawn against the swept parameter
        notes = [f"{len(swept)} swept observables: the first {sweepplot.MAX_PANELS} are plotted"
                 ] if len(swept) > sweepplot.MAX_PANELS else []  # fmt: skip
        return CountsPlot(sweepplot.sweep_png(title, swept), notes)
    store, record = locate.find(got.run_id, Path(got.data["state_dir"]))
    with store:
        jobs = jobinfo.manifest_jobs(store, record)
        references = jobinfo.references(store, record)
    circuits = list(dict.fromkeys(job["circuit"] for job in got.data["jobs"] if job.get("counts")))
    known = ideals.ideal_distributions(references, jobs, circuits)
    shown, notes = countsplot.panels(got.data, known, top_k)
    if not shown and notes:  # only parameter sets, without observables to draw
        raise QorchError(f"{title}: nothing to plot: {notes[0]}; name observables to draw "
                         "them against the swept parameter")  # fmt: skip
    if len(shown) > countsplot.MAX_PANELS:
        notes.append(f"{len(shown)} circuits: the first {countsplot.MAX_PANELS} are plotted")
    return CountsPlot(countsplot.plot_png(title, shown), notes)


def counts_csv(got: RunResults) -> str:
    """A run's counts (from :func:`results`) as CSV: run, job, circuit, target, outcome,
    count, probability, parameter_set; jobs by index, outcomes by bit string."""
    from qorch.engine.countsexport import counts_csv as as_csv

    return as_csv(got.data)


def gc(
    state_dir: PathLike | None = None,
    *,
    runs: list[str] | None = None,
    older_than_days: float | None = None,
    include_results: bool = False,
    apply: bool = False,
) -> list[GcPlan]:
    """What ``qorch gc`` removes from each state directory, removed when ``apply``.

    Finished runs only (``runs``: ids, prefixes or ``latest``; ``older_than_days``: whose
    last job finished longer ago): their local job directories and bundle payloads, and
    with ``include_results`` their result files, artifacts and bundles; bundles no run uses.
    Applying holds each store's lock exclusively. Raises StateError (a store in use, an
    unknown run)."""
    from qorch.engine import locate, prune
    from qorch.store.state import StateStore

    if older_than_days is not None and not older_than_days >= 0:
        raise UsageError(f"--older-than must be a number of days ≥ 0, not {older_than_days}")
    where = None if state_dir is None else Path(state_dir)
    chosen: dict[Path, set[str] | None] = {}
    for run_id in runs or []:  # each run in the state directory that holds it
        store, record = locate.find(run_id, where)
        store.close()
        chosen[store.directory] = (chosen.get(store.directory) or set()) | {record.run_id}
    if not runs:
        chosen = {directory: None for directory in locate.state_dirs(where)}
    plans = []
    for directory, run_ids in chosen.items():
        selection = prune.Selection(run_ids, older_than_days, include_results)
        with StateStore(directory, create=False) as store:
            plans.append(prune.apply(store, selection) if apply else prune.plan(store, selection))
    return plans


@dataclass(frozen=True)
class Cancelled:
    """A cancelled run: one line per job that could not be cancelled, the run after, and
    how many jobs were unfinished before (0: there was nothing to cancel)."""

    problems: list[str]
    results: RunResults
    unfinished_before: int = 0


def cancel(
    run_id: str, state_dir: PathLike | None = None, observer: RunObserver | None = None
) -> Cancelled:
    """Cancel a run's unfinished jobs (finished ones keep their results)."""
    from qorch.engine import results as run_results
    from qorch.engine import runner
    from qorch.engine.views import FINAL

    ctx = attach(run_id, state_dir, observer)
    unfinished = sum(1 for job in ctx.store.jobs(ctx.run.run_id) if job.status not in FINAL)
    problems = runner.cancel(ctx)
    return Cancelled(problems, run_results.collect(ctx), unfinished)


def plan_kinds() -> tuple[str, ...]:
    """The plan kinds installed (entry-point group ``qorch.workloads``)."""
    from qorch.engine import kinds

    return kinds.names()


def template(kind: str) -> str:
    """The commented starter plan of ``kind``. Raises PlanError for an unknown kind."""
    from qorch.engine import kinds

    if kind not in kinds.names():
        raise PlanError(f"unknown plan kind '{kind}' (available: {', '.join(kinds.names())})")
    return kinds.load(kind).template()


def schema() -> dict[str, Any]:
    """The JSON Schema of the plan format (every installed kind)."""
    from qorch.engine import kinds

    return kinds.plan_json_schema()


__all__ = [
    "Cancelled",
    "Compiled",
    "CountsPlot",
    "GcPlan",
    "PlanReport",
    "RunObserver",
    "RunOptions",
    "RunResults",
    "attach",
    "cancel",
    "compile",
    "counts_csv",
    "counts_plot",
    "diff",
    "gc",
    "history",
    "history_plot",
    "load",
    "plan_kinds",
    "results",
    "run",
    "runs",
    "schema",
    "show",
    "status",
    "submit",
    "template",
    "validate",
]
