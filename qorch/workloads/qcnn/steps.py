"""The steps of a qcnn run (see :mod:`~qorch.workloads.qcnn.pipeline`), each one recorded."""

from __future__ import annotations

from typing import Any

import numpy as np

from qorch.contract.errors import BudgetError, CapabilityError, ProviderError, QorchError
from qorch.engine.planfile import LoadedPlan
from qorch.engine.runner import RunContext
from qorch.store.state import JobRecord
from qorch.workloads.qcnn import prepare as prep
from qorch.workloads.qcnn.pipeline import (
    Progress,
    QCNNOptions,
    artifacts_dir,
    checkpoint_file,
    default_workers,
    load_checkpoint,
    write_json,
)
from qorch.workloads.qcnn.plan import QCNNPlan
from qorch.workloads.qcnn.resources import OutOfMemoryError

SWEEP_KEYS = ("ansatz", "encoding", "loss", "optimizer")


def train_main(
    ctx: RunContext, plan: QCNNPlan, prepared: prep.Prepared, progress: Progress
) -> dict[str, Any]:
    """Train the plan's own configuration (or return the stored result)."""
    from qorch.workloads.qcnn.task import run_task

    stored = ctx.store.tasks(ctx.run.run_id).get("train")
    if stored is not None and stored.status == "done" and stored.result:
        return stored.result
    checkpoint = checkpoint_file(ctx, "train")
    resume = load_checkpoint(checkpoint)
    if resume is not None:
        ctx.notify(f"resuming training from the checkpoint at step {resume.get('step')}")
    ctx.store.set_task(ctx.run.run_id, "train", "running")
    progress("train", 0, 1)
    task = {
        "config": prep.base_config(plan), "split": prepared.split,
        "checkpoint_file": str(checkpoint), "resume": resume,
    }  # fmt: skip
    try:
        result = run_task(task)
    except MemoryError as error:
        doing = f"training the {plan.model.qubits}-qubit QCNN"
        raise out_of_memory(ctx, "train", doing, error) from None
    write_training_artifacts(ctx, result)
    ctx.store.set_task(ctx.run.run_id, "train", "done", result)
    progress("train", 1, 1)
    metrics = result["metrics"]
    ctx.notify(
        f"trained {metrics['n_params']} parameters in {metrics['train_seconds']:.2f} s: "
        f"test accuracy {metrics['test_accuracy']:.4f}"
    )
    return result


def out_of_memory(
    ctx: RunContext, task: str | None, doing: str, error: MemoryError
) -> OutOfMemoryError:
    """The one-line error for a MemoryError while ``doing``; records the task (if any) and
    the run as failed (the same command resumes it)."""
    reason = str(error) or "no memory left"
    message = (
        f"out of memory {doing}: {reason}; free memory or use fewer qubits, then run the "
        "same command again to resume"
    )
    if task is not None:
        ctx.store.set_task(ctx.run.run_id, task, "failed", {"error": message})
    ctx.store.set_run_status(ctx.run.run_id, "failed")
    return OutOfMemoryError(message)


def write_training_artifacts(ctx: RunContext, result: dict[str, Any]) -> None:
    """metrics.json, model.json, training_curve.png, baselines.md, circuit.qasm, circuit.qpy."""
    from qiskit import qasm3

    from qorch.contract.payload import to_qpy
    from qorch.store.fsutil import write_bytes_atomic, write_text_atomic
    from qorch.workloads.qcnn.artifacts import markdown_table, plot_training_curve
    from qorch.workloads.qcnn.evaluate import trained_circuit
    from qorch.workloads.qcnn.model import QCNN

    out = artifacts_dir(ctx)
    write_json(out / "metrics.json", {k: result[k] for k in ("metrics", "baselines", "features")})
    write_json(out / "model.json", result["model"])
    config = result["config"]
    title = f"{config['ansatz']} · {config['encoding']} · {config['loss']} · {config['optimizer']}"
    plot_training_curve(result["loss_history"], out / "training_curve.png", title)
    rows = [("qcnn", result["metrics"]["n_params"], result["metrics"]["test_accuracy"],
             result["metrics"]["train_accuracy"])]  # fmt: skip
    for name, base in sorted(result["baselines"].items()):
        rows.append((name, base.get("n_params"), base.get("test_accuracy"),
                     base.get("train_accuracy")))  # fmt: skip
    table = markdown_table(rows, ("model", "params", "test accuracy", "train accuracy"))
    write_text_atomic(out / "baselines.md", table)
    model, params = QCNN.from_dict(result["model"])
    circuit = trained_circuit(model, params)
    write_text_atomic(out / "circuit.qasm", qasm3.dumps(circuit) + "\n")
    write_bytes_atomic(out / "circuit.qpy", to_qpy(circuit))


def sweep(
    ctx: RunContext,
    plan: QCNNPlan,
    prepared: prep.Prepared,
    trained: dict[str, Any],
    options: QCNNOptions,
    progress: Progress,
) -> None:
    """Run every sweep task not yet done, in parallel; aggregate and write the artifacts."""
    from qorch.workloads.qcnn.executor import run_all, task_executor
    from qorch.workloads.qcnn.task import run_any

    assert plan.sweep is not None
    run_id = ctx.run.run_id
    tasks = ctx.store.tasks(run_id)
    if "sweep" in tasks and tasks["sweep"].status == "done":
        return
    n_params = trained["metrics"]["n_params"]
    configs = prep.sweep_configs(plan) + prep.baseline_configs(plan, n_params)
    pending = [(name, config) for name, config in configs
               if name not in tasks or tasks[name].status != "done"]  # fmt: skip
    total, finished = len(configs), len(configs) - len(pending)
    if pending:
        ctx.notify(f"sweep: {len(pending)} of {total} tasks to run")
    progress("sweep", finished, total)

    def done(task: dict[str, Any], result: dict[str, Any] | None, error: Any) -> None:
        nonlocal finished
        finished += 1
        if error is not None:
            text = f"out of memory: {error}" if isinstance(error, MemoryError) else str(error)
            ctx.store.set_task(run_id, task["name"], "failed", {"error": text})
            ctx.notify(f"sweep task {task['name']} failed: {text}")
        else:
            assert result is not None
            result.pop("model", None)
            result["loss_history"] = result.get("loss_history", [])[-1:]
            ctx.store.set_task(run_id, task["name"], "done", result)
        progress("sweep", finished, total)

    work = [
        {"kind": "baselines" if name.startswith("sweep-baselines/") else "train",
         "name": name, "config": config, "split": prepared.split}
        for name, config in pending
    ]  # fmt: skip
    if work:
        workers = default_workers(options.workers or plan.sweep.workers)
        with task_executor(min(workers, len(work)), options.cluster, ctx.notify) as executor:
            run_all(executor, run_any, work, done)
    finish_sweep(ctx)


def finish_sweep(ctx: RunContext) -> None:
    """Aggregate the stored sweep tasks (mean ± std over seeds); write table, CSV, plot."""
    from qorch.store.fsutil import write_text_atomic
    from qorch.workloads.qcnn.artifacts import SWEEP_COLUMNS, plot_sweep, sweep_markdown, write_csv

    tasks = ctx.store.tasks(ctx.run.run_id)
    runs = [t.result for n, t in tasks.items() if n.startswith("sweep/") and t.status == "done"]
    bases = [t.result for n, t in tasks.items()
             if n.startswith("sweep-baselines/") and t.status == "done"]  # fmt: skip
    failed = sorted(n for n, t in tasks.items() if n.startswith("sweep") and t.status == "failed")
    rows = aggregate([r for r in runs if r])
    baselines = aggregate_baselines([b for b in bases if b])
    out = artifacts_dir(ctx)
    write_csv(rows, SWEEP_COLUMNS, out / "sweep.csv")
    write_text_atomic(out / "sweep.md", sweep_markdown(rows, baselines))
    lines = {name: b["test_accuracy_mean"] for name, b in baselines.items()}
    if rows:
        plot_sweep(rows, lines, out / "sweep.png")
    result = {"rows": rows, "baselines": baselines, "failed": failed}
    ctx.store.set_task(ctx.run.run_id, "sweep", "failed" if failed else "done", result)


def aggregate(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per configuration: mean and (sample) std of accuracies over its seeds."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for result in results:
        key = tuple(str(result["config"][k]) for k in SWEEP_KEYS)
        groups.setdefault(key, []).append(result)
    rows = []
    for key, members in sorted(groups.items()):
        test = np.array([m["metrics"]["test_accuracy"] for m in members])
        train = np.array([m["metrics"]["train_accuracy"] for m in members])
        seconds = np.array([m["metrics"]["train_seconds"] for m in members])
        rows.append({
            **dict(zip(SWEEP_KEYS, key, strict=True)),
            "n_params": members[0]["metrics"]["n_params"], "seeds": len(members),
            "test_accuracy_mean": round(float(test.mean()), 6),
            "test_accuracy_std": round(float(test.std(ddof=1)) if len(test) > 1 else 0.0, 6),
            "train_accuracy_mean": round(float(train.mean()), 6),
            "train_seconds_mean": round(float(seconds.mean()), 4),
        })  # fmt: skip
    return rows


def aggregate_baselines(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Baselines per (name, encoding's features): mean ± std over seeds, parameter count."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        for name, base in result["baselines"].items():
            if not base.get("skipped"):
                groups.setdefault(f"{name} [{result['config']['encoding']}]", []).append(base)
    out = {}
    for label, members in sorted(groups.items()):
        acc = np.array([m["test_accuracy"] for m in members])
        out[label] = {
            "n_params": members[0]["n_params"], "seeds": len(members),
            "test_accuracy_mean": round(float(acc.mean()), 6),
            "test_accuracy_std": round(float(acc.std(ddof=1)) if len(acc) > 1 else 0.0, 6),
        }  # fmt: skip
    return out


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
    from qorch.store.state import NewJob
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
        bundle = build_jobs(
            model, params, rows, plan.evaluate.targets, plan.evaluate.shots, plan.seed, first
        )
    except (CapabilityError, ProviderError) as error:
        raise loaded.error(("evaluate", "targets"), error.message, type(error)) from None
    check_budget(loaded, plan, bundle)
    exact = float(np.mean(model.predict(params, X_test) == y_test))
    meta = {"y_test": [int(v) for v in y_test], "exact_accuracy": exact, "samples": int(limit)}
    ctx.store.set_task(ctx.run.run_id, "evaluate-meta", "done", meta)
    write_bundle(bundle, run_bundle_dir(ctx.state_dir, ctx.run.run_id))
    jobs = [NewJob(j["circuit"], j["target"], j["shots"], j["payload"]) for j in bundle.jobs]
    ctx.store.add_jobs_once(ctx.run.run_id, "evaluate", jobs)
    ctx.add_bundle(bundle)
    ctx.notify(f"evaluation: {len(jobs)} jobs on {len(plan.evaluate.targets)} targets, "
               f"{len(rows)} test samples at {plan.evaluate.shots} shots each")  # fmt: skip


def check_budget(loaded: LoadedPlan, plan: QCNNPlan, bundle: Any) -> None:
    """Refuse evaluation jobs beyond the plan's shot or cost budget (nothing submitted)."""
    shots = sum(j["shots"] * max(1, len(j["parameter_values"])) for j in bundle.jobs)
    cost = sum(j["cost_usd"] for j in bundle.jobs)
    budget = plan.budget
    if budget.max_total_shots is not None and shots > budget.max_total_shots:
        message = f"evaluation needs {shots} shots, budget allows {budget.max_total_shots}"
        raise loaded.error(("budget", "max_total_shots"), message, BudgetError)
    if budget.max_cost_usd is not None and cost > budget.max_cost_usd:
        message = (
            f"evaluation costs an estimated ${cost:.2f}, budget allows ${budget.max_cost_usd:.2f}"
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
        if spec.get("circuit") == "qcnn" and "first_row" in spec:
            by_target.setdefault(job.target, []).append((spec, job))
    for target, entries in by_target.items():
        sets = sum(len(spec["parameter_values"]) for spec, _ in entries)
        shots = sum(spec["shots"] * len(spec["parameter_values"]) for spec, _ in entries)
        entry: dict[str, Any] = {
            "jobs": len(entries), "shots_per_sample": entries[0][0]["shots"],
            "total_shots": shots, "samples": sets,
            "cost_usd": round(sum(spec["cost_usd"] for spec, _ in entries), 6),
            "status": "done" if all(job.status == "done" for _, job in entries) else "pending",
        }  # fmt: skip
        if entry["status"] == "done":
            counts: list[dict[str, int]] = []
            for _, job in sorted(entries, key=lambda e: e[0]["first_row"]):
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


def fine_tune(
    loaded: LoadedPlan,
    ctx: RunContext,
    plan: QCNNPlan,
    prepared: prep.Prepared,
    trained: dict[str, Any],
    progress: Progress,
) -> None:
    """Hardware-in-the-loop fine-tuning (see :mod:`qorch.workloads.qcnn.finetune`)."""
    from qorch.workloads.qcnn.finetune import run_fine_tune

    run_fine_tune(loaded, ctx, plan, prepared, trained, progress)
