"""A run's results: the documented JSON object, its workload's typed result, what to show.

The JSON object is the runner's summary (``run_id``, ``plan``, ``status``,
``jobs``, …) with the workload's own fields added and every metric in
``metric_values``. Pure apart from reading the run's stored results (and
:func:`write` for ``results.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qorch.contract.errors import ExitCode
from qorch.engine import kinds, runner
from qorch.engine.runner import RunContext
from qorch.engine.views import FINAL, View
from qorch.engine.workload import WorkloadResult
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
        steps failed (or a job was cancelled), else 0."""
        if not self.finished:
            return int(ExitCode.PENDING)
        statuses = {job["status"] for job in self.data["jobs"]}
        if statuses - {"done"} or self.result.failed:
            return int(ExitCode.JOBS_FAILED)
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
    return RunResults(data, result, workload.results_view(data, result))


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
    return RunResults(results.data, results.result, results.view, path)
