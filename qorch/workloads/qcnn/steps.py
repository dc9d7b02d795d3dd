"""Training and the sweep: the in-process steps of a qcnn run, each one recorded.

See :mod:`~qorch.workloads.qcnn.pipeline` for the order of the steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from qorch.engine.runner import RunContext
from qorch.workloads.qcnn import prepare as prep
from qorch.workloads.qcnn.plan import QCNNPlan
from qorch.workloads.qcnn.resources import OutOfMemoryError
from qorch.workloads.qcnn.runfiles import (
    Progress,
    artifacts_dir,
    checkpoint_file,
    default_workers,
    load_checkpoint,
    write_json,
)

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
    total = plan.train.steps
    progress("train", 0, total)
    task = {
        "config": prep.base_config(plan), "split": prepared.split,
        "checkpoint_file": str(checkpoint), "resume": resume,
        "on_step": lambda step, _loss: progress("train", step + 1, total),
    }  # fmt: skip
    try:
        result = run_task(task)
    except MemoryError as error:
        doing = f"training the {plan.model.qubits}-qubit QCNN"
        raise out_of_memory(ctx, "train", doing, error) from None
    write_training_artifacts(ctx, result)
    ctx.store.set_task(ctx.run.run_id, "train", "done", result)
    progress("train", total, total)
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
    from qorch.workloads.qcnn.artifacts import loss_label, markdown_table, plot_training_curve
    from qorch.workloads.qcnn.evaluate import trained_circuit
    from qorch.workloads.qcnn.model import QCNN

    out = artifacts_dir(ctx)
    write_json(out / "metrics.json", {k: result[k] for k in ("metrics", "baselines", "features")})
    write_json(out / "model.json", result["model"])
    config = result["config"]
    data = data_label(ctx)
    title = (f"{data}: {config['ansatz']} · {config['encoding']} · {config['loss']} · "
             f"{config['optimizer']}")  # fmt: skip
    plot_training_curve(result["loss_history"], out / "training_curve.png", title,
                        loss_label(config["loss"], config["reduction"]))  # fmt: skip
    rows = [("qcnn", result["metrics"]["n_params"], result["metrics"]["test_accuracy"],
             result["metrics"]["train_accuracy"])]  # fmt: skip
    for name, base in sorted(result["baselines"].items()):
        if base.get("skipped"):
            rows.append((name, "-", f"skipped: {base.get('reason') or 'no reason given'}", "-"))
            continue
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
    placement: tuple[str | None, int | None],
    progress: Progress,
) -> None:
    """Run every sweep task not yet done, in parallel; aggregate and write the artifacts.

    ``placement``: (a Dask scheduler address or None, the worker processes asked for).
    """
    from qorch.workloads.qcnn.executor import run_all, task_executor
    from qorch.workloads.qcnn.task import run_any

    assert plan.sweep is not None
    run_id = ctx.run.run_id
    tasks = ctx.store.tasks(run_id)
    if "sweep" in tasks and tasks["sweep"].status == "done":
        return
    n_params = trained["metrics"]["n_params"]
    configs = prep.sweep_tasks(plan, n_params)
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
        cluster, asked = placement
        workers = default_workers(asked or plan.sweep.workers)
        with task_executor(min(workers, len(work)), cluster, ctx.notify) as executor:
            run_all(executor, run_any, work, done)
    order = [tuple(str(config[k]) for k in SWEEP_KEYS) for _, config in prep.sweep_configs(plan)]
    finish_sweep(ctx, order)


def finish_sweep(ctx: RunContext, order: list[tuple[str, ...]] | None = None) -> None:
    """Aggregate the stored sweep tasks (mean ± std over seeds, rows in the plan's
    ``order`` of configurations); write table, CSV, plot."""
    from qorch.store.fsutil import write_text_atomic
    from qorch.workloads.qcnn.artifacts import SWEEP_COLUMNS, plot_sweep, sweep_markdown, write_csv

    tasks = ctx.store.tasks(ctx.run.run_id)
    runs = [t.result for n, t in tasks.items() if n.startswith("sweep/") and t.status == "done"]
    bases = [t.result for n, t in tasks.items()
             if n.startswith("sweep-baselines/") and t.status == "done"]  # fmt: skip
    failed = sorted(n for n, t in tasks.items() if n.startswith("sweep") and t.status == "failed")
    rows = aggregate([r for r in runs if r], order)
    baselines = aggregate_baselines([b for b in bases if b])
    out = artifacts_dir(ctx)
    write_csv(rows, SWEEP_COLUMNS, out / "sweep.csv")
    write_text_atomic(out / "sweep.md", sweep_markdown(rows, baselines))
    lines = {name: b["test_accuracy_mean"] for name, b in baselines.items()}
    if rows:
        plot_sweep(rows, lines, out / "sweep.png", f"sweep on {data_label(ctx)}")
    result = {"rows": rows, "baselines": baselines, "failed": failed}
    ctx.store.set_task(ctx.run.run_id, "sweep", "failed" if failed else "done", result)


def data_label(ctx: RunContext) -> str:
    """The data set and its classes, for plot titles: ``digits, 0 vs 1``."""
    block = ctx.bundle.manifest.extension.get("qcnn", {})
    return f"{block.get('source', 'data')}, {' vs '.join(map(str, block.get('classes', [])))}"


def aggregate(
    results: list[dict[str, Any]], order: list[tuple[str, ...]] | None = None
) -> list[dict[str, Any]]:
    """One row per configuration: mean and (sample) std of accuracies over its seeds, and
    each seed's test accuracy (in seed order). Rows follow ``order`` (the plan's); others
    (none, or configurations no longer in the plan) sorted after them."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for result in results:
        key = tuple(str(result["config"][k]) for k in SWEEP_KEYS)
        groups.setdefault(key, []).append(result)
    rank = {key: position for position, key in enumerate(dict.fromkeys(order or []))}
    rows = []
    for key in sorted(groups, key=lambda k: (rank.get(k, len(rank)), k)):
        members = sorted(groups[key], key=lambda m: m["config"]["seed"])
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
            "seed_values": [int(m["config"]["seed"]) for m in members],
            "test_accuracies": [round(float(v), 6) for v in test],
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
