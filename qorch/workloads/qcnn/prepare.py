"""From a qcnn plan to data and task configurations, with errors located in the plan."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from qorch.contract.errors import PlanError, QorchError
from qorch.engine.loadedplan import LoadedPlan
from qorch.workloads.qcnn.plan import QCNNPlan


@dataclass(frozen=True)
class Prepared:
    """The plan's data, selected and split (raw features: compression happens per task)."""

    split: dict[str, Any]
    class_names: list[Any]
    source_digest: str
    n_features: int

    def counts(self) -> dict[str, int]:
        """Training and test set sizes."""
        return {"train": len(self.split["y_train"]), "test": len(self.split["y_test"])}


def qcnn_plan(loaded: LoadedPlan) -> QCNNPlan:
    """The plan, which must be of kind ``qcnn``."""
    if not isinstance(loaded.plan, QCNNPlan):
        raise PlanError(f"{loaded.display}: expected a plan of kind qcnn, not {loaded.plan.kind}")
    return loaded.plan


def prepare(loaded: LoadedPlan) -> Prepared:
    """Load, select and split the plan's data. Raises PlanError located at ``data``."""
    from qorch.workloads.qcnn import data as datasets

    spec = qcnn_plan(loaded).data
    seed = qcnn_plan(loaded).seed
    try:
        dataset = datasets.load(spec.source, loaded.base_dir, spec.label_column)
    except QorchError as error:
        raise loaded.error(("data", "source"), error.message, type(error)) from None
    try:
        X, y, names = datasets.select_classes(dataset, spec.classes)
    except QorchError as error:
        raise loaded.error(("data", "classes"), error.message, type(error)) from None
    try:
        X_train, X_test, y_train, y_test = datasets.split(X, y, spec.test_size, seed, names)
    except QorchError as error:
        raise loaded.error(("data", "test_size"), error.message, type(error)) from None
    split = {
        "X_train": X_train, "X_test": X_test, "y_train": y_train, "y_test": y_test,
        "image_shape": dataset.image_shape, "num_classes": len(names),
    }  # fmt: skip
    digest = hashlib.sha256(np.ascontiguousarray(dataset.X).tobytes())
    digest.update(np.asarray([str(v) for v in dataset.y]).astype("U").tobytes())
    return Prepared(split, [_plain(n) for n in names], digest.hexdigest(), X.shape[1])


def base_config(plan: QCNNPlan) -> dict[str, Any]:
    """The plan's own training configuration as a plain dict (what a task runs)."""
    model, train = plan.model, plan.train
    return {
        "qubits": model.qubits, "layout": model.layout, "ansatz": model.ansatz,
        "pooling": model.pooling, "encoding": model.encoding, "share": model.share,
        "compression": plan.data.compression_of(model.encoding), "width": plan.data.width,
        "loss": train.loss, "optimizer": train.optimizer, "learning_rate": train.learning_rate,
        "momentum": train.momentum, "steps": train.steps, "batch_size": train.batch_size,
        "replacement": train.replacement, "gradient": train.gradient,
        "reduction": train.reduction, "checkpoint_every": train.checkpoint_every,
        "early_stopping": train.early_stopping.model_dump() if train.early_stopping else None,
        "seed": plan.seed, "baselines": list(plan.baselines),
        "standardize": plan.data.standardize, "angle_scaling": plan.data.angle_scaling,
    }  # fmt: skip


def sweep_configs(plan: QCNNPlan) -> list[tuple[str, dict[str, Any]]]:
    """Every (task name, config) of the sweep grid; training tasks carry no baselines."""
    if plan.sweep is None:
        return []
    sweep, base = plan.sweep, base_config(plan)
    axes: list[list[Any]] = [
        sweep.ansatz or [base["ansatz"]], sweep.encoding or [base["encoding"]],
        sweep.loss or [base["loss"]], sweep.optimizer or [base["optimizer"]],
        sweep.seed_list(plan.seed),
    ]  # fmt: skip
    tasks = []
    for ansatz, encoding, loss, optimizer, seed in itertools.product(*axes):
        config = {**base, "ansatz": ansatz, "encoding": encoding, "loss": loss,
                  "optimizer": optimizer, "seed": seed, "baselines": [],
                  "compression": plan.data.compression_of(encoding)}  # fmt: skip
        tasks.append((f"sweep/{ansatz}/{encoding}/{loss}/{optimizer}/seed{seed}", config))
    return tasks


def baseline_configs(plan: QCNNPlan, target_params: int) -> list[tuple[str, dict[str, Any]]]:
    """Baselines once per (encoding's features, seed) of the sweep."""
    if plan.sweep is None or not plan.baselines:
        return []
    base = base_config(plan)
    encodings = plan.sweep.encoding or [base["encoding"]]
    return [
        (f"sweep-baselines/{encoding}/seed{seed}",
         {**base, "encoding": encoding, "seed": seed, "target_params": target_params,
          "compression": plan.data.compression_of(encoding)})
        for encoding in encodings for seed in plan.sweep.seed_list(plan.seed)
    ]  # fmt: skip


def sweep_tasks(plan: QCNNPlan, target_params: int = 0) -> list[tuple[str, dict[str, Any]]]:
    """Every task of the sweep: its QCNN trainings, then its baseline sets. Validate,
    compile and run all count these, so they state one number."""
    return sweep_configs(plan) + baseline_configs(plan, target_params)


def check_features(loaded: LoadedPlan, prepared: Prepared) -> None:
    """Every encoding the plan uses can get the features it needs. Raises a located PlanError."""
    from qorch.workloads.qcnn.compression import check_width
    from qorch.workloads.qcnn.encoding import required_features

    plan = qcnn_plan(loaded)
    encodings = [plan.model.encoding, *(plan.sweep.encoding or [] if plan.sweep else [])]
    n_train = len(prepared.split["y_train"])
    for encoding in dict.fromkeys(encodings):
        need = required_features(encoding, plan.model.qubits)
        if plan.data.width is not None and plan.data.width != need:
            message = (
                f"compressed width {plan.data.width} does not fit encoding {encoding} on "
                f"{plan.model.qubits} qubits, which takes {need} features"
            )
            raise loaded.error(("data", "width"), message)
        method = plan.data.compression_of(encoding)
        key = (
            ("data", "compression_for", encoding)
            if encoding in plan.data.compression_for
            else ("data", "compression")
        )
        try:
            check_width(method, need if method != "none" else None, prepared.split["image_shape"],
                        prepared.n_features, n_train)  # fmt: skip
        except QorchError as error:
            raise loaded.error(key, f"encoding {encoding} needs {need} features: {error.message}",
                               PlanError) from None  # fmt: skip
        if method == "none" and prepared.n_features != need:
            message = (
                f"compression none keeps all {prepared.n_features} features, but encoding "
                f"{encoding} on {plan.model.qubits} qubits takes {need}; use pca, resize or "
                "autoencoder"
            )
            raise loaded.error(key, message)


def check_model(loaded: LoadedPlan, prepared: Prepared) -> int:
    """Build the model once (catches layouts that cannot read out C classes); returns n_params."""
    from qorch.workloads.qcnn.model import build
    from qorch.workloads.qcnn.task import model_spec

    plan = qcnn_plan(loaded)
    try:
        return int(build(model_spec(base_config(plan), prepared.split["num_classes"])).n_params)
    except ValueError as error:
        raise loaded.error(("model",), str(error)) from None


def check_memory(loaded: LoadedPlan) -> None:
    """The model's states fit in this machine's available memory, one sample at a time
    (batches and data sets are simulated in chunks). Raises a PlanError at model.qubits."""
    from qorch.workloads.qcnn.resources import memory_shortfall

    reason = memory_shortfall(qcnn_plan(loaded).model.qubits)
    if reason is not None:
        raise loaded.error(("model", "qubits"), reason)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
