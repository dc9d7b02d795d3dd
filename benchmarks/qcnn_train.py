"""Benchmark: train the reference QCNN in-process and time it; print one JSON line.

Reference configuration (Hur, Kim & Park 2022): 8 qubits, reference layout, SU(4)
convolutions + reference pooling, RY angle encoding of 8 PCA features scaled to [0, π]
(fitted on the training set), cross-entropy summed over the batch, Nesterov (lr 0.01,
momentum 0.9), 200 steps of batch 25 drawn with replacement, standard-normal start;
sklearn digits 0 vs 1, stratified 70/30 split.

``scaling``: the same QCNN (``general`` layout, SU(4), shared parameters) at 12 and 16
qubits on angle encodings of 12/16 PCA features of the same digits: seconds per training
step (batch 25, adjoint gradients; a few steps, timed without tracing) and the peak
memory traced by ``tracemalloc`` during one step. Progress goes to stderr.
"""

from __future__ import annotations

import json
import sys
import time
import tracemalloc

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from qorch.qcnn.model import QCNNSpec, build
from qorch.qcnn.train import TrainConfig, train

SEED = 0
SCALING = ((12, 10), (16, 3))  # (qubits, timed steps)


def digits(width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits 0 vs 1: ``width`` PCA features scaled to [0, π] by the training set's range."""
    data = load_digits()
    keep = data.target < 2
    X_train, X_test, y_train, y_test = train_test_split(
        data.data[keep], data.target[keep], test_size=0.3, stratify=data.target[keep],
        random_state=SEED,
    )  # fmt: skip
    pca = PCA(width).fit(X_train)
    Z_train, Z_test = pca.transform(X_train), pca.transform(X_test)
    low, scale = Z_train.min(), np.pi / (Z_train.max() - Z_train.min())
    return (Z_train - low) * scale, np.clip((Z_test - low) * scale, 0, np.pi), y_train, y_test


def reference() -> dict[str, object]:
    X_train, X_test, y_train, y_test = digits(8)
    model = build(QCNNSpec())
    train(model, X_train, y_train, TrainConfig(steps=5), np.random.default_rng(SEED))  # warm-up
    result = train(model, X_train, y_train, TrainConfig(), np.random.default_rng(SEED))
    accuracy = float(np.mean(model.predict(result.params, X_test) == y_test))
    print(f"reference: {result.seconds:.3f} s, test accuracy {accuracy:.4f}", file=sys.stderr)
    return {
        "steps": result.steps,
        "train_seconds": round(result.seconds, 4),
        "seconds_per_step": round(result.seconds / result.steps, 6),
        "test_accuracy": accuracy,
        "n_params": model.n_params,
    }


def scaling(qubits: int, steps: int) -> dict[str, object]:
    X_train, _, y_train, _ = digits(qubits)
    model = build(QCNNSpec(num_qubits=qubits, layout="general"))
    rng = np.random.default_rng(SEED)
    params = model.init_params(rng)
    timed = train(model, X_train, y_train, TrainConfig(steps=steps), rng, init_params=params)
    tracemalloc.start()
    train(model, X_train, y_train, TrainConfig(steps=1), rng, init_params=params)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    per_step = timed.seconds / steps
    print(f"{qubits} qubits: {per_step:.3f} s/step, peak {peak / 2**20:.1f} MiB", file=sys.stderr)
    return {
        "qubits": qubits,
        "n_params": model.n_params,
        "batch": 25,
        "features": f"{qubits} PCA features of digits 0/1, angle encoding",
        "seconds_per_step": round(per_step, 4),
        "peak_memory_mib": round(peak / 2**20, 1),
    }


END_TO_END_PLAN = """
version: 1
kind: qcnn
name: bench-reference
seed: 7
baselines: []
"""


def end_to_end() -> dict[str, float]:
    """Wall time of ``qorch run`` on the reference configuration (no evaluation, no
    baselines): process start, imports, data, training, artifacts, state store."""
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as work:
        plan = Path(work) / "reference.yaml"
        plan.write_text(END_TO_END_PLAN)
        env = {**os.environ, "QORCH_STATE_DIR": str(Path(work) / "state")}
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "qorch", "run", str(plan), "--json"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
    metrics = json.loads(result.stdout)["metrics"]
    return {
        "qorch_run_seconds": round(wall, 3),
        "qorch_run_test_accuracy": metrics["test_accuracy"],
    }


def main() -> None:
    started = time.perf_counter()
    figures = reference()
    figures.update(end_to_end())
    figures["scaling"] = [scaling(qubits, steps) for qubits, steps in SCALING]
    print(f"total {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
