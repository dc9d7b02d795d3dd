"""A run's results: the documented JSON object, its workload's typed result, what to show.

The JSON object is the runner's summary (``run_id``, ``plan``, ``status``,
``jobs``, …) with the workload's own fields added and every metric in
``metric_values``. Pure apart from reading the run's stored results (and
:func:`write` for ``results.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from qorch.contract.errors import ExitCode
from qorch.engine import kinds, runner
from qorch.engine.checks import Check, CheckResult, MetricValue, Verdict, failed, judge_all
from qorch.engine.reports import TABLE_COLUMNS, table_rows
from qorch.engine.runner import RunContext
from qorch.engine.views import FINAL, Table, View
from qorch.engine.workload import Metric, WorkloadResult
from qorch.store.fsutil import dumps_json, write_text_atomic

METRICS_FIELD = "metric_values"


@dataclass(frozen=True)
class RunResults:
    """A run's results.

    ``data``: the JSON object of the README's contract; ``result``: the workload's
    typed result (``result.metrics`` is the flat metric list); ``view``: what a
    terminal shows; ``results_file``: ``results.json`` when it was written.
    """

    data: dict[str, Any]
    result: WorkloadResult
    view: View
    results_file: Path | None = None
    checks: list[CheckResult] = field(default_factory=list)  # judged once every job finished
    figures: list[Path] = field(default_factory=list)  # the bundle's and the run's PNG files

    @property
    def run_id(self) -> str:
        """The run's id."""
        return str(self.data["run_id"])

    @property
    def pending_jobs(self) -> int:
        """Jobs not yet finished (done, failed or cancelled)."""
        return sum(1 for job in self.data["jobs"] if job["status"] not in FINAL)

    @property
    def finished(self) -> bool:
        """True when every job is finished."""
        return self.pending_jobs == 0

    @property
    def exit_code(self) -> int:
        """The contract's exit code: 3 while jobs run, 4 if a job or the workload's own
        steps failed (or a job was cancelled), 5 if a check failed, else 0."""
        if not self.finished:
            return int(ExitCode.PENDING)
        statuses = {job["status"] for job in self.data["jobs"]}
        if statuses - {"done"} or self.result.failed:
            return int(ExitCode.JOBS_FAILED)
        if failed(self.checks):
            return int(ExitCode.CHECKS_FAILED)
        return int(ExitCode.OK)


def collect(ctx: RunContext) -> RunResults:
    """The run's results from its store, bundle and collected result files."""
    data = runner.summary(ctx)
    workload = kinds.load(ctx.run.kind)
    result = workload.results(ctx, data)
    data.update(result.json_fields())
    data[METRICS_FIELD] = [metric.to_json() for metric in result.metrics]
    if result.failed and data["status"] == "completed":
        data["status"] = "failed"
    view = workload.results_view(data, result)
    judged: list[CheckResult] = []
    if all(job["status"] in FINAL for job in data["jobs"]):
        checks = [Check.model_validate(check) for check in ctx.bundle.manifest.plan.checks]
        judged = judge_checks(checks, result.metrics)
    if judged:
        data["checks"] = [check_json(item) for item in judged]
        rows = table_rows(judged)
        view = view + View([Table(TABLE_COLUMNS, list(rows), title="checks")])
    return RunResults(data, result, view, checks=judged, figures=figures(ctx))


def figures(ctx: RunContext) -> list[Path]:
    """The PNG files the bundle (e.g. the partition diagram) and the run (e.g. training
    curves, sweeps) hold, in a stable order: what a report links."""
    bundle = Path(ctx.run.bundle_dir)
    run_dir = ctx.state_dir / "runs" / ctx.run.run_id
    found = sorted(bundle.glob("*.png")) if bundle.is_dir() else []
    return found + (sorted(run_dir.rglob("*.png")) if run_dir.is_dir() else [])


def judge_checks(checks: list[Check], metrics: list[Metric]) -> list[CheckResult]:
    """Every check on every value it selects; a check that selects none is ``missing``
    (its job failed, or the metric does not exist for this plan)."""
    values = metric_values(metrics)
    judged = []
    for check in checks:
        found = judge_all([check], values)
        nothing = MetricValue(check.metric, None, circuit=check.circuit, target=check.target)
        judged += found or [CheckResult(check, nothing, Verdict.MISSING, None, None)]
    return judged


def metric_values(metrics: list[Metric]) -> list[MetricValue]:
    """A workload's metrics as the values checks judge (no level: an exact value)."""
    return [MetricValue(m.name, m.value, m.std_error, m.low, m.high,
                        m.level if m.level is not None else 1.0, m.circuit, m.target)
            for m in metrics]  # fmt: skip


def check_json(item: CheckResult) -> dict[str, Any]:
    """One judged check as the run's JSON shows it."""
    out: dict[str, Any] = {
        "check": item.check.label(),
        "metric": item.check.metric,
        "circuit": item.metric.circuit,
        "target": item.metric.target,
        "value": item.metric.value,
        "low": item.low,
        "high": item.high,
        "level": item.check.level,
        "bound": item.check.describe_bound(),
        "verdict": item.verdict.value,
    }
    return out


def write(ctx: RunContext, results: RunResults) -> RunResults:
    """Write ``results`` to ``runs/<run_id>/results.json`` atomically; the same results
    naming the file.

    Not rewritten when it holds the same; on a read-only file system left as it
    is (with a note), so a read-only store can still be read. Raises StateError.
    """
    from qorch.store.statedb import is_read_only_fs

    path = ctx.state_dir / "runs" / ctx.run.run_id / "results.json"
    text = dumps_json(results.data)
    try:
        unchanged = path.read_text(encoding="utf-8") == text
    except (OSError, ValueError):
        unchanged = False
    if not unchanged:
        if is_read_only_fs(ctx.state_dir):
            ctx.notify(f"{path} not updated: {ctx.state_dir} is on a read-only file system")
        else:
            write_text_atomic(path, text)
    if results.finished and not ctx.store.read_only:
        record_history(ctx, results)
    return replace(results, results_file=path)


def record_history(ctx: RunContext, results: RunResults) -> None:
    """Keep a finished run's metrics and verdicts in the store's history (``qorch history``);
    derived data, replaced each time the run is judged."""
    from qorch.store import history

    values = metric_values(results.result.metrics)
    judged = [history.Judged(item.check.label(), item.check.metric, item.metric.circuit,
                             item.metric.target, item.check.describe_bound(), item.verdict.value)
              for item in results.checks]  # fmt: skip
    history.record_metrics(ctx.store, ctx.run.run_id, values)
    history.record_verdicts(ctx.store, ctx.run.run_id, judged)
