"""Evaluation jobs of a qcnn run: the trained circuit on provider targets, then scored.

The jobs are added to the run once the model is trained (in a bundle of their
own, :func:`qorch.engine.runner.run_bundle_dir`), and go through the state store
and runner like every other job.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qorch.contract.errors import BudgetError, CapabilityError, ProviderError, QorchError
from qorch.engine.compile import CompiledBundle
from qorch.engine.loadedplan import LoadedPlan
from qorch.engine.runner import RunContext
from qorch.engine.wording import counted, usd
from qorch.store.state import JobRecord
from qorch.workloads.qcnn import prepare as prep
from qorch.workloads.qcnn.plan import QCNNPlan


def add_evaluation(
    loaded: LoadedPlan,
    ctx: RunContext,
    plan: QCNNPlan,
    prepared: prep.Prepared,
    trained: dict[str, Any],
) -> None:
    """Translate the trained circuit for every evaluate target and add its jobs (once)."""
    from qorch.engine.bundle import write_bundle
    from qorch.engine.runner import run_bundle_dir
    from qorch.workloads.qcnn.encoding import input_values
    from qorch.workloads.qcnn.evaluate import build_jobs
    from qorch.workloads.qcnn.model import QCNN
    from qorch.workloads.qcnn.task import features

    if plan.evaluate is None:
        return
    if "jobs:evaluate" in ctx.store.tasks(ctx.run.run_id):
        return
    model, params = QCNN.from_dict(trained["model"])
    _, X_test, _ = features(trained["config"], prepared.split)
    y_test = prepared.split["y_test"]
    limit = plan.evaluate.max_samples or len(y_test)
    X_test, y_test = X_test[:limit], y_test[:limit]
    rows = input_values(model.spec.encoding, X_test, model.spec.num_qubits)
    first = len(ctx.store.jobs(ctx.run.run_id))
    try:
        bundle = build_jobs(model, params, rows, plan.evaluate.targets, plan.evaluate.shots,
                            plan.seed, first, ctx.bundle.manifest.plan)  # fmt: skip
    except (CapabilityError, ProviderError) as error:
        raise loaded.error(("evaluate", "targets"), error.message, type(error)) from None
    check_budget(loaded, plan, bundle)
    exact = float(np.mean(model.predict(params, X_test) == y_test))
    meta = {"y_test": [int(v) for v in y_test], "exact_accuracy": exact, "samples": int(limit)}
    write_test_inputs(ctx, rows, y_test)
    ctx.store.set_task(ctx.run.run_id, "evaluate-meta", "done", meta)
    write_bundle(bundle, run_bundle_dir(ctx.state_dir, ctx.run.run_id))
    jobs = bundle.new_jobs()
    ctx.store.add_jobs_once(ctx.run.run_id, "evaluate", jobs)
    ctx.add_bundle(bundle)
    targets, samples = len(plan.evaluate.targets), len(rows)
    shots = counted(plan.evaluate.shots, "shot")
    ctx.notify(f"evaluation: {counted(len(jobs), 'job')} on {counted(targets, 'target')}, "
               f"{counted(samples, 'test sample')} at {shots} each")  # fmt: skip


def write_test_inputs(ctx: RunContext, rows: np.ndarray, y_test: np.ndarray) -> None:
    """``test_inputs.npz`` in the artifacts: ``x`` (one row of the circuit's input
    parameters per evaluated sample) and ``y`` (its label), so anyone can score
    ``circuit.qpy`` again without qorch."""
    import io

    from qorch.store.fsutil import write_bytes_atomic
    from qorch.workloads.qcnn.runfiles import artifacts_dir

    buffer = io.BytesIO()
    np.savez(buffer, x=np.asarray(rows, dtype=float), y=np.asarray(y_test, dtype=int))
    out = artifacts_dir(ctx)
    out.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(out / "test_inputs.npz", buffer.getvalue())


def check_budget(loaded: LoadedPlan, plan: QCNNPlan, bundle: CompiledBundle) -> None:
    """Refuse evaluation jobs beyond the plan's shot or cost budget (nothing submitted)."""
    shots = bundle.manifest.totals.shots  # every parameter set's shots
    cost = bundle.manifest.totals.cost_usd
    budget = plan.budget
    if budget.max_total_shots is not None and shots > budget.max_total_shots:
        message = f"evaluation needs {shots} shots, budget allows {budget.max_total_shots}"
        raise loaded.error(("budget", "max_total_shots"), message, BudgetError)
    if budget.max_cost_usd is not None and cost > budget.max_cost_usd:
        message = (
            f"evaluation costs an estimated {usd(cost)}, budget allows {usd(budget.max_cost_usd)}"
        )
        raise loaded.error(("budget", "max_cost_usd"), message, BudgetError)


def evaluation_report(ctx: RunContext) -> dict[str, Any] | None:
    """Accuracy per evaluate target from the collected counts (None before evaluation)."""
    from qorch.workloads.qcnn.evaluate import score
    from qorch.workloads.qcnn.model import QCNN

    tasks = ctx.store.tasks(ctx.run.run_id)
    meta, train = tasks.get("evaluate-meta"), tasks.get("train")
    if meta is None or meta.result is None or train is None or train.result is None:
        return None
    model, _ = QCNN.from_dict(train.result["model"])
    y = np.array(meta.result["y_test"])
    report: dict[str, Any] = {}
    by_target: dict[str, list[Any]] = {}
    for job in ctx.store.jobs(ctx.run.run_id):
        spec = ctx.job_spec(job.idx)
        if spec.circuit == "qcnn" and spec.extra("first_row") is not None:
            by_target.setdefault(job.target, []).append((spec, job))
    for target, entries in by_target.items():
        sets = sum(len(spec.parameter_values or ()) for spec, _ in entries)
        shots = sum(spec.shots * len(spec.parameter_values or ()) for spec, _ in entries)
        entry: dict[str, Any] = {
            "jobs": len(entries), "shots_per_sample": entries[0][0].shots,
            "total_shots": shots, "samples": sets,
            "cost_usd": round(sum(spec.cost_usd for spec, _ in entries), 6),
            "status": "done" if all(job.status == "done" for _, job in entries) else "pending",
        }  # fmt: skip
        if entry["status"] == "done":
            counts: list[dict[str, int]] = []
            for _, job in sorted(entries, key=lambda e: int(e[0].extra("first_row"))):
                counts.extend(read_json_counts(ctx, job))
            entry.update(score(model, y, counts, meta.result["exact_accuracy"]))
        report[target] = entry
    return report


def read_json_counts(ctx: RunContext, job: JobRecord) -> list[dict[str, int]]:
    """The per-parameter-set counts of a finished evaluation job (a lost result file is
    fetched again from the provider, see :func:`qorch.engine.runner.job_counts`)."""
    from qorch.engine.runner import job_counts

    counts = job_counts(ctx, job)
    if counts is None:
        raise QorchError(f"evaluation job {job.idx} on {job.target} finished without a result file")
    return counts if isinstance(counts, list) else [counts]
