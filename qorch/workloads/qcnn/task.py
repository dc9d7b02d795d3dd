"""One training task — features, QCNN training, metrics and baselines — as a picklable function.

A task is a plain dict (so it crosses process and Dask boundaries): the split
arrays, the configuration and, optionally, a checkpoint to resume from and a
file to write checkpoints to. :func:`run_task` returns a JSON-ready dict.
Every preprocessing statistic is fitted on the training set only.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from qorch.store.fsutil import write_json_atomic

ANGLE_LIKE = ("angle", "compact-angle", "hae", "iqp")


def scaling_for(encoding: str) -> str:
    """The input scaling an encoding expects: angles in [0, π], amplitudes as they are."""
    kind = encoding.split("-")[0] if not encoding.startswith("compact") else "compact-angle"
    return "angle" if kind in ANGLE_LIKE else "amplitude"


def features(
    config: dict[str, Any], split: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Compressed (train-fitted) features for the QCNN and the compression info."""
    from qorch.workloads.qcnn import compression
    from qorch.workloads.qcnn.encoding import required_features

    width = config["width"] or required_features(config["encoding"], config["qubits"])
    method = config["compression"]
    if method == "none":
        width = None
    raw_train, raw_test = split["X_train"], split["X_test"]
    if config.get("standardize"):  # zero mean, unit variance per feature before compression
        raw_train, raw_test, _ = compression.scale("standard", raw_train, raw_test)
    X_train, X_test, info = compression.fit_transform(
        method,
        width,
        raw_train,
        raw_test,
        split["image_shape"],
        seed=config["seed"],
        scaling="none",
    )
    kind = scaling_for(config["encoding"])
    if kind == "angle" and config.get("angle_scaling") == "global":
        kind = "angle-global"
    scaled_train, scaled_test, scaling = compression.scale(kind, X_train, X_test)
    info.update(scaling)
    info["standardized"] = bool(config.get("standardize"))
    info["unscaled"] = (X_train, X_test)
    return scaled_train, scaled_test, info


def model_spec(config: dict[str, Any], num_classes: int) -> Any:
    """The QCNNSpec of a task configuration."""
    from qorch.workloads.qcnn.model import QCNNSpec

    share = config["share"]
    return QCNNSpec(
        num_qubits=config["qubits"],
        layout=config["layout"],
        ansatz=config["ansatz"],
        pooling=config["pooling"],
        encoding=config["encoding"],
        share=share if isinstance(share, bool) else tuple(share),
        num_classes=num_classes,
    )


def train_config(config: dict[str, Any]) -> Any:
    """The TrainConfig of a task configuration."""
    from qorch.workloads.qcnn.train import TrainConfig

    stopping = config.get("early_stopping") or {}
    return TrainConfig(
        steps=config["steps"],
        batch_size=config["batch_size"],
        replacement=config["replacement"],
        loss=config["loss"],
        reduction=config["reduction"],
        optimizer=config["optimizer"],
        learning_rate=config["learning_rate"],
        momentum=config["momentum"],
        gradient=config["gradient"],
        patience=stopping.get("patience"),
        min_delta=stopping.get("min_delta", 1e-4),
        checkpoint_every=config["checkpoint_every"],
    )


def run_task(task: dict[str, Any]) -> dict[str, Any]:
    """Train one configuration on one split; returns metrics, parameters, history, baselines."""
    from qorch.workloads.qcnn.baselines import run_baselines
    from qorch.workloads.qcnn.compression import scale
    from qorch.workloads.qcnn.model import build
    from qorch.workloads.qcnn.train import train

    config, split = task["config"], task["split"]
    X_train, X_test, info = features(config, split)
    raw_train, raw_test = info.pop("unscaled")
    y_train, y_test = split["y_train"], split["y_test"]
    model = build(model_spec(config, split["num_classes"]))
    rng = np.random.default_rng(config["seed"])
    checkpoint_file = task.get("checkpoint_file")

    def save(state: dict[str, Any]) -> None:
        if checkpoint_file:
            write_json_atomic(Path(checkpoint_file), state)

    started = time.perf_counter()
    result = train(
        model, X_train, y_train, train_config(config), rng,
        checkpoint=save, resume=task.get("resume"), on_step=task.get("on_step"),
    )  # fmt: skip
    train_seconds = time.perf_counter() - started
    metrics = {
        "test_accuracy": _accuracy(model, result.params, X_test, y_test),
        "train_accuracy": _accuracy(model, result.params, X_train, y_train),
        "n_params": int(model.n_params),
        "train_seconds": round(train_seconds, 4),
        "steps": int(result.steps),
        "stopped_early": bool(result.stopped_early),
        "final_loss": float(result.loss_history[-1]) if result.loss_history else None,
    }
    base_train, base_test, _ = scale("standard", raw_train, raw_test)
    baselines = run_baselines(
        config["baselines"], base_train, y_train, base_test, y_test, model.n_params, config["seed"]
    )
    return {
        "config": {k: v for k, v in config.items() if k != "baselines"},
        "metrics": metrics,
        "baselines": baselines,
        "features": info,
        "model": model.to_dict(result.params),
        "loss_history": [float(v) for v in result.loss_history],
    }


def run_baselines_task(task: dict[str, Any]) -> dict[str, Any]:
    """Only the classical baselines, on the features one encoding's compression gives."""
    from qorch.workloads.qcnn.baselines import run_baselines
    from qorch.workloads.qcnn.compression import scale

    config, split = task["config"], task["split"]
    _, _, info = features(config, split)
    raw_train, raw_test = info.pop("unscaled")
    base_train, base_test, _ = scale("standard", raw_train, raw_test)
    baselines = run_baselines(
        config["baselines"], base_train, split["y_train"], base_test, split["y_test"],
        config["target_params"], config["seed"],
    )  # fmt: skip
    return {"config": {k: v for k, v in config.items() if k != "baselines"}, "baselines": baselines}


def run_any(task: dict[str, Any]) -> dict[str, Any]:
    """Dispatch a task by its ``kind`` (``train`` or ``baselines``)."""
    return run_baselines_task(task) if task.get("kind") == "baselines" else run_task(task)


def _accuracy(model: Any, params: Any, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(model.predict(params, X) == y))
