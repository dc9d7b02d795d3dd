"""A qcnn run, step by step, each step recorded so a killed run resumes where it stopped.

1. ``train``: the plan's configuration, in-process, checkpointed; baselines beside it.
2. ``sweep``: the grid, over local processes or a Dask cluster; each finished
   task is stored at once, so a restart only runs what is missing.
3. ``evaluate``: the trained circuit on provider targets, through the bundle,
   state store and runner like every other job.
4. ``fine_tune``: hardware-in-the-loop training against a target (see
   :mod:`qorch.workloads.qcnn.finetune`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qorch.engine.bundle import read_bundle, write_bundle
from qorch.engine.compile import BUNDLE_FORMAT, CompiledBundle
from qorch.engine.planfile import LoadedPlan
from qorch.engine.registry import versions
from qorch.engine.runner import Notify, RunContext, open_run
from qorch.store.fsutil import read_json, write_json_atomic
from qorch.store.lock import file_lock
from qorch.store.state import StateStore
from qorch.workloads.qcnn import prepare as prep

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class QCNNOptions:
    """How to run: where sweep tasks go and how long to wait for evaluation jobs."""

    cluster: str | None = None
    workers: int | None = None
    timeout_s: float | None = None
    poll_s: float = 0.5
    wait: bool = True


def compile_qcnn(loaded: LoadedPlan) -> tuple[CompiledBundle, prep.Prepared, int]:
    """Check data, features and model; the run's bundle (manifest only) and figures."""
    prep.check_memory(loaded)
    prepared = prep.prepare(loaded)
    prep.check_features(loaded, prepared)
    n_params = prep.check_model(loaded, prepared)
    from qorch.engine.targets import check_targets

    check_targets(loaded)
    plan = prep.qcnn_plan(loaded)
    digest = hashlib.sha256(loaded.canonical_hash().encode() + prepared.source_digest.encode())
    manifest = {
        "format": BUNDLE_FORMAT,
        "plan": {"file": loaded.path.name, "name": plan.name or loaded.path.stem,
                 "kind": "qcnn", "hash": digest.hexdigest(), "seed": plan.seed},
        "versions": versions(sorted({spec.provider for _, spec in _targets(loaded)})),
        "qcnn": {"n_params": n_params, "data": prepared.counts(),
                 "classes": prepared.class_names, "features_in": prepared.n_features,
                 "sweep_tasks": len(prep.sweep_configs(plan))},
        "totals": {"jobs": 0, "shots": 0, "cost_usd": 0.0},
        "jobs": [],
    }  # fmt: skip
    return CompiledBundle(manifest=manifest, payloads={}), prepared, n_params


def _targets(loaded: LoadedPlan) -> list[Any]:
    from qorch.engine.targets import plan_targets

    return plan_targets(loaded.plan)


def start(
    loaded: LoadedPlan, state_dir: Path, *, idem_key: str | None, new: bool, notify: Notify
) -> tuple[RunContext, bool, prep.Prepared]:
    """Compile, write the bundle and open (or resume) the run."""
    from qorch.engine.session import bundle_dir_for

    bundle, prepared, _ = compile_qcnn(loaded)
    directory = bundle_dir_for(state_dir, loaded.path, bundle.plan_hash)
    write_bundle(bundle, directory)
    store = StateStore(state_dir)
    ctx, created = open_run(
        store, bundle, directory, plan_path=loaded.display, idem_key=idem_key, new=new,
        notify=notify,
    )  # fmt: skip
    return ctx, created, prepared


def execute(
    loaded: LoadedPlan,
    ctx: RunContext,
    prepared: prep.Prepared,
    options: QCNNOptions,
    progress: Progress,
) -> bool:
    """Run every step not yet done; True when everything (incl. evaluation jobs) finished."""
    from qorch.engine import runner
    from qorch.workloads.qcnn import steps

    plan = prep.qcnn_plan(loaded)
    late = runner.run_bundle_dir(ctx.state_dir, ctx.run.run_id)
    if (late / "manifest.json").exists() and not ctx.bundle.manifest["jobs"]:
        ctx.add_bundle(read_bundle(late))
    lock = ctx.state_dir / "locks" / f"{ctx.run.run_id}.qcnn.lock"
    try:
        with file_lock(lock, on_wait=lambda pid: ctx.notify(f"run busy in process {pid}; waiting")):
            trained = steps.train_main(ctx, plan, prepared, progress)
            if plan.sweep is not None:
                steps.sweep(ctx, plan, prepared, trained, options, progress)
            if plan.evaluate is not None or plan.fine_tune is not None:
                steps.add_evaluation(loaded, ctx, plan, prepared, trained)
            if plan.fine_tune is not None:
                steps.fine_tune(loaded, ctx, plan, prepared, trained, progress)
    except MemoryError as error:
        raise steps.out_of_memory(ctx, None, "in the QCNN run", error) from None
    if ctx.store.jobs(ctx.run.run_id):
        runner.submit_pending(ctx)
        if not options.wait:
            return False
        done = runner.wait(ctx, timeout_s=options.timeout_s, poll_s=options.poll_s)
        if not done:
            return False
    runner.refresh(ctx)
    return True


def summary(ctx: RunContext, loaded_plan: Any = None) -> dict[str, Any]:
    """The qcnn JSON contract: run, metrics, baselines, sweep, evaluation, jobs, artifacts."""
    from qorch.engine import runner
    from qorch.workloads.qcnn import steps

    data = runner.summary(ctx)
    tasks = ctx.store.tasks(ctx.run.run_id)
    main = tasks.get("train")
    result = main.result if main is not None and main.result else {}
    data["metrics"] = result.get("metrics")
    data["baselines"] = {
        name: {"test_accuracy": b.get("test_accuracy"), "n_params": b.get("n_params"),
               "train_accuracy": b.get("train_accuracy"), "skipped": b.get("skipped", False)}
        for name, b in (result.get("baselines") or {}).items()
    }  # fmt: skip
    data["features"] = result.get("features")
    sweep = tasks.get("sweep")
    if sweep is not None and sweep.result:
        data["sweep"] = sweep.result["rows"]
        data["sweep_baselines"] = sweep.result["baselines"]
        data["sweep_failed"] = sweep.result.get("failed", [])
    data["evaluation"] = steps.evaluation_report(ctx)
    tune = tasks.get("fine_tune")
    if tune is not None and tune.result:
        data["fine_tune"] = tune.result
    data["artifacts"] = str(artifacts_dir(ctx))
    return data


def artifacts_dir(ctx: RunContext) -> Path:
    """Where a run's files go: metrics, model, plots, tables, circuits."""
    return ctx.state_dir / "runs" / ctx.run.run_id / "artifacts"


def checkpoint_file(ctx: RunContext, name: str) -> Path:
    """The checkpoint file of a task."""
    safe = name.replace("/", "__")
    return ctx.state_dir / "runs" / ctx.run.run_id / "checkpoints" / f"{safe}.json"


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """A task's last checkpoint, if any."""
    return read_json(path) if path.exists() else None


def default_workers(requested: int | None) -> int:
    """Worker processes for a sweep: the requested number, else the CPU count."""
    return max(1, requested or os.cpu_count() or 1)


def write_json(path: Path, data: Any) -> None:
    """Write an artifact as JSON atomically."""
    write_json_atomic(path, data)
