"""The qcnn side of ``qorch run``, ``submit``, ``results`` and ``compile``: render and exit."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from qorch.cli.output import emit_json, emit_table, is_tty, message
from qorch.contract.errors import ExitCode

if TYPE_CHECKING:
    from qorch.engine.planfile import LoadedPlan
    from qorch.engine.runner import RunContext


def plan_kind(source: Path) -> str | None:
    """The ``kind`` of a plan file (None for a bundle directory or a plan that does not load:
    the caller's own loading then reports why, with the same bounded, located checks)."""
    if source.is_dir():
        return None
    from qorch.contract.errors import QorchError
    from qorch.engine.planfile import load_plan

    try:
        return load_plan(source).plan.kind
    except QorchError:
        return None


def run_plan(
    source: Path,
    *,
    idem_key: str | None,
    new: bool,
    wait: bool,
    timeout: float | None,
    poll: float,
    cluster: str | None,
    workers: int | None,
    json_out: bool,
) -> None:
    """Train, sweep, evaluate (resuming whatever a previous invocation finished)."""
    from qorch.engine.planfile import load_plan
    from qorch.store.state import default_state_dir
    from qorch.workloads.qcnn import pipeline

    loaded = load_plan(source, str(source))
    ctx, created, prepared = pipeline.start(
        loaded, default_state_dir(source), idem_key=idem_key, new=new, notify=message
    )
    counts = prepared.counts()
    if created:
        message(f"run {ctx.run.run_id}: {counts['train']} training and {counts['test']} test "
                f"samples (state in {ctx.state_dir})")  # fmt: skip
    else:
        message(f"run {ctx.run.run_id} exists for this plan ({ctx.run.status}); resuming it")
    options = pipeline.QCNNOptions(cluster=cluster, workers=workers, timeout_s=timeout,
                                   poll_s=poll, wait=wait)  # fmt: skip
    finished = pipeline.execute(loaded, ctx, prepared, options, _progress())
    finish(ctx, finished, json_out, loaded)


def finish(ctx: RunContext, finished: bool, json_out: bool, loaded: LoadedPlan | None) -> None:
    """Write results.json, print the summary, exit with the contract's code."""
    from qorch.store.fsutil import write_json_atomic
    from qorch.workloads.qcnn import pipeline

    data = pipeline.summary(ctx)
    data["status"] = _status(data, finished)
    if finished:
        path = ctx.state_dir / "runs" / ctx.run.run_id / "results.json"
        write_json_atomic(path, data)
        message(f"results: {path}; artifacts: {data['artifacts']}")
    if json_out:
        emit_json(data)
    else:
        render(data)
    if not finished:
        message(f"run {data['run_id']}: evaluation jobs not finished; run the same command "
                "again to collect them")  # fmt: skip
        raise typer.Exit(int(ExitCode.PENDING))
    if data["status"] != "completed":
        raise typer.Exit(int(ExitCode.JOBS_FAILED))


def _status(data: dict[str, Any], finished: bool) -> str:
    if not finished:
        return "running"
    failed_jobs = any(job["status"] != "done" for job in data["jobs"])
    failed_sweep = bool(data.get("sweep") is not None and data.get("sweep_failed"))
    return "failed" if failed_jobs or failed_sweep else "completed"


def render(data: dict[str, Any]) -> None:
    """Metrics and baselines, the sweep table and the evaluation, as tables on stdout."""
    metrics = data.get("metrics") or {}
    rows = [("qcnn", metrics.get("n_params"), metrics.get("test_accuracy"),
             metrics.get("train_accuracy"), metrics.get("train_seconds"))]  # fmt: skip
    for name, base in sorted((data.get("baselines") or {}).items()):
        if base.get("skipped"):
            rows.append((name, "-", "skipped", "-", "-"))
        else:
            rows.append(
                (name, base["n_params"], base["test_accuracy"], base["train_accuracy"], "-")
            )
    emit_table(("model", "params", "test acc", "train acc", "train s"), rows,
               title=f"run {data['run_id']} ({data['status']}) — {data['plan']}")  # fmt: skip
    if data.get("sweep"):
        emit_table(
            ("ansatz", "encoding", "loss", "optimizer", "params", "test acc (mean ± std)", "seeds"),
            [(r["ansatz"], r["encoding"], r["loss"], r["optimizer"], r["n_params"],
              f"{r['test_accuracy_mean']:.4f} ± {r['test_accuracy_std']:.4f}", r["seeds"])
             for r in data["sweep"]],
            title="sweep",
        )  # fmt: skip
        emit_table(
            ("baseline [features]", "params", "test acc (mean ± std)", "seeds"),
            [(name, b["n_params"], f"{b['test_accuracy_mean']:.4f} ± {b['test_accuracy_std']:.4f}",
              b["seeds"]) for name, b in sorted((data.get("sweep_baselines") or {}).items())],
        )  # fmt: skip
    evaluation = data.get("evaluation") or {}
    if evaluation:
        emit_table(
            ("target", "accuracy", "95% CI", "exact", "gap (pts)", "jobs", "shots", "cost"),
            [(t, e.get("accuracy"), _ci(e.get("ci95")), e.get("exact_accuracy"),
              e.get("gap_points"), e["jobs"], e["total_shots"], f"${e['cost_usd']:.2f}")
             for t, e in evaluation.items()],
            title="evaluation (test set, with shots)",
        )  # fmt: skip


def _ci(interval: list[float] | None) -> str:
    return "-" if interval is None else f"[{interval[0]:.3f}, {interval[1]:.3f}]"


def _progress() -> Any:
    """A ``progress(step, done, total)`` that reports milestones on stderr."""
    last: dict[str, int] = {}
    tty = is_tty(sys.stderr)

    def report(step: str, done: int, total: int) -> None:
        if total <= 0:
            return
        tenth = (10 * done) // total
        if step == "sweep" and (tty or last.get(step) != tenth or done == total):
            if last.get(step) != tenth or done == total:
                message(f"{step}: {done}/{total} tasks")
            last[step] = tenth

    return report
