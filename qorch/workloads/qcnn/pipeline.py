"""A qcnn run, step by step, each step recorded so a killed run resumes where it stopped.

1. ``train``: the plan's configuration, in-process, checkpointed; baselines beside it.
2. ``sweep``: the grid, over local processes or a Dask cluster; each finished
   task is stored at once, so a restart only runs what is missing.
3. ``evaluate``: the trained circuit on provider targets, through the bundle,
   state store and runner like every other job (:mod:`.evaljobs`).
4. ``fine_tune``: hardware-in-the-loop training against a target (see
   :mod:`qorch.workloads.qcnn.finetune`).
"""

from __future__ import annotations

from qorch.engine import runner
from qorch.engine.bundle import read_bundle
from qorch.engine.loadedplan import LoadedPlan
from qorch.engine.runner import RunContext
from qorch.engine.workload import RunOptions
from qorch.store.lock import file_lock
from qorch.workloads.qcnn import evaljobs, steps
from qorch.workloads.qcnn import prepare as prep
from qorch.workloads.qcnn.runfiles import Progress


def execute(
    loaded: LoadedPlan,
    ctx: RunContext,
    prepared: prep.Prepared,
    options: RunOptions,
    progress: Progress,
) -> bool:
    """Run every step not yet done; True when everything (incl. evaluation jobs) finished."""
    plan = prep.qcnn_plan(loaded)
    late = runner.run_bundle_dir(ctx.state_dir, ctx.run.run_id)
    if (late / "manifest.json").exists() and not ctx.bundle.jobs:
        ctx.add_bundle(read_bundle(late, ctx.bundle.manifest.plan))
    lock = ctx.state_dir / "locks" / f"{ctx.run.run_id}.qcnn.lock"
    try:
        with file_lock(lock, on_wait=lambda pid: ctx.notify(f"run busy in process {pid}; waiting")):
            trained = steps.train_main(ctx, plan, prepared, progress)
            if plan.sweep is not None:
                placement = (options.cluster, options.workers)
                steps.sweep(ctx, plan, prepared, trained, placement, progress)
            if plan.evaluate is not None or plan.fine_tune is not None:
                evaljobs.add_evaluation(loaded, ctx, plan, prepared, trained)
            if plan.fine_tune is not None:
                from qorch.workloads.qcnn.finetune import run_fine_tune

                run_fine_tune(loaded, ctx, plan, prepared, trained, progress)
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
