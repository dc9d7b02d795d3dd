"""A qcnn run's results: metrics and baselines, the sweep, evaluation and fine-tuning."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from qorch.engine.runner import RunContext
from qorch.engine.workload import Metric, WorkloadResult
from qorch.workloads.qcnn.comparison import comparison
from qorch.workloads.qcnn.evaljobs import evaluation_report
from qorch.workloads.qcnn.runfiles import artifacts_dir


class QCNNResult(WorkloadResult):
    """The qcnn fields of a run's JSON object (see the README's "QCNN plans").

    ``summary`` is the trained model's ``metrics`` object of the JSON contract
    (``test_accuracy``, ``train_accuracy``, ``n_params``, ``train_seconds``, …).
    """

    summary: dict[str, Any] | None = None
    baselines: dict[str, dict[str, Any]] = Field(default_factory=dict)
    features: dict[str, Any] | None = None
    sweep: dict[str, Any] | None = None  # rows, baselines, failed (None: no sweep ran)
    evaluation: dict[str, Any] | None = None
    fine_tune: dict[str, Any] | None = None

    def json_fields(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metrics": self.summary,
            "baselines": self.baselines,
            "features": self.features,
        }
        if self.sweep is not None:
            data["sweep"] = self.sweep["rows"]
            data["sweep_baselines"] = self.sweep["baselines"]
            data["sweep_failed"] = self.sweep.get("failed", [])
        data["evaluation"] = self.evaluation
        if self.fine_tune is not None:
            data["fine_tune"] = self.fine_tune
        data["artifacts"] = self.artifacts
        data["comparison"] = comparison(data)
        return data


def collect(ctx: RunContext) -> QCNNResult:
    """The run's qcnn results from its stored tasks and collected evaluation jobs."""
    tasks = ctx.store.tasks(ctx.run.run_id)
    main = tasks.get("train")
    trained = main.result if main is not None and main.result else {}
    baselines = {
        name: {"test_accuracy": b.get("test_accuracy"), "n_params": b.get("n_params"),
               "train_accuracy": b.get("train_accuracy"), "skipped": b.get("skipped", False),
               **({"target_params": b["target_params"]} if b.get("target_params") else {}),
               **({"reason": b["reason"]} if b.get("skipped") and b.get("reason") else {})}
        for name, b in (trained.get("baselines") or {}).items()
    }  # fmt: skip
    sweep_task = tasks.get("sweep")
    sweep = sweep_task.result if sweep_task is not None and sweep_task.result else None
    tune_task = tasks.get("fine_tune")
    fine_tune = tune_task.result if tune_task is not None and tune_task.result else None
    evaluation = evaluation_report(ctx)
    summary = trained.get("metrics")
    return QCNNResult(
        summary=summary,
        baselines=baselines,
        features=trained.get("features"),
        sweep=sweep,
        evaluation=evaluation,
        fine_tune=fine_tune,
        artifacts=str(artifacts_dir(ctx)),
        failed=bool(sweep is not None and sweep.get("failed")),
        metrics=metrics(summary, baselines, evaluation, fine_tune),
    )


def metrics(
    summary: dict[str, Any] | None,
    baselines: dict[str, dict[str, Any]],
    evaluation: dict[str, Any] | None,
    fine_tune: dict[str, Any] | None,
) -> list[Metric]:
    """Test and train accuracy of the trained model and of each baseline, accuracy with
    shots on each evaluation target (standard error of a proportion, Wilson 95% interval),
    and the exact test accuracy after fine-tuning."""
    found: list[Metric] = []
    for name in ("test_accuracy", "train_accuracy"):
        if summary and summary.get(name) is not None:
            found.append(Metric(name=name, value=summary[name]))
    for baseline, figures in sorted(baselines.items()):
        if figures.get("test_accuracy") is not None and not figures.get("skipped"):
            found.append(Metric(name=f"{baseline}_test_accuracy", value=figures["test_accuracy"]))
    for target, entry in sorted((evaluation or {}).items()):
        accuracy, samples = entry.get("accuracy"), entry.get("samples") or 0
        if accuracy is None:
            continue
        error = math.sqrt(accuracy * (1 - accuracy) / samples) if samples else None
        low, high = entry.get("ci95") or (None, None)
        found.append(Metric(name="evaluation_accuracy", value=accuracy, std_error=error,
                            low=low, high=high, level=0.95 if low is not None else None,
                            target=target))  # fmt: skip
    if fine_tune and fine_tune.get("exact_test_accuracy_after") is not None:
        found.append(Metric(name="fine_tune_test_accuracy",
                            value=fine_tune["exact_test_accuracy_after"],
                            target=fine_tune.get("target")))  # fmt: skip
    return found
