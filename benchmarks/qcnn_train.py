"""Benchmark: train the reference QCNN in-process and with ``qorch run``; print one JSON line.

Reference configuration (Hur, Kim & Park 2022): 8 qubits, reference layout, SU(4)
convolutions + reference pooling, RY angle encoding of 8 PCA features scaled to [0, π]
(fitted on the training set), cross-entropy summed over the batch, Nesterov (lr 0.01,
momentum 0.9), 200 steps of batch 25 drawn with replacement, standard-normal start;
sklearn digits 0 vs 1, stratified 70/30 split.

``scaling``: the same QCNN (``general`` layout, SU(4), shared parameters) at 12 and 16
qubits on angle encodings of 12/16 PCA features of the same digits: seconds per training
step (batch 25, adjoint gradients; a few steps after one untimed step) and the peak RSS of
the whole measuring process (imports, data, training), each in a fresh process.

``blas_threads``: ``qorch run`` of a 12-qubit plan (digits 0 vs 1, 200 steps) with the
environment's BLAS threads (``OPENBLAS_NUM_THREADS`` unset: one per core) and with
``OPENBLAS_NUM_THREADS=1``: wall seconds of each, their ratio, and whether both runs gave
the same accuracy and final loss. qorch limits BLAS to one thread itself while it trains
and predicts, so the ratio should be close to 1.

``memory``: ``qorch run`` of a 16-qubit QCNN on 1000 digit images (even vs odd, 700
training and 300 test samples, 10 steps): wall seconds and the peak RSS of the whole
``qorch run`` process (``wait4`` resource usage), which includes the accuracy evaluation
of all 1000 samples.

Progress goes to stderr. Timings depend on the machine's load: run on a quiet machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

SEED = 0
SCALING = ((12, 10), (16, 3))  # (qubits, timed steps)
REPO = Path(__file__).resolve().parent.parent


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


def reference() -> dict[str, Any]:
    from qorch.workloads.qcnn.model import QCNNSpec, build
    from qorch.workloads.qcnn.train import TrainConfig, train

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


def scaling_in_this_process(qubits: int, steps: int) -> dict[str, Any]:
    """Seconds per step at ``qubits`` (run by :func:`scaling` in a child process)."""
    from qorch.workloads.qcnn.model import QCNNSpec, build
    from qorch.workloads.qcnn.train import TrainConfig, train

    X_train, _, y_train, _ = digits(qubits)
    model = build(QCNNSpec(num_qubits=qubits, layout="general"))
    rng = np.random.default_rng(SEED)
    params = model.init_params(rng)
    train(model, X_train, y_train, TrainConfig(steps=1), rng, init_params=params)  # warm-up
    timed = train(model, X_train, y_train, TrainConfig(steps=steps), rng, init_params=params)
    return {
        "qubits": qubits,
        "n_params": model.n_params,
        "batch": 25,
        "features": f"{qubits} PCA features of digits 0/1, angle encoding",
        "seconds_per_step": round(timed.seconds / steps, 4),
    }


def measured(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, int, str, str]:
    """Run ``command``; its wall seconds, peak RSS in bytes (``wait4``), stdout, stderr."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{stderr}")
    return wall, usage.ru_maxrss * 1024, stdout, stderr


def scaling(qubits: int, steps: int) -> dict[str, Any]:
    """:func:`scaling_in_this_process` in a fresh process, with that process's peak RSS."""
    command = [sys.executable, __file__, "--scaling", str(qubits), str(steps)]
    _, peak, stdout, _ = measured(command, dict(os.environ), REPO)
    figures = json.loads(stdout)
    figures["peak_rss_mib"] = round(peak / 2**20, 1)
    print(f"{qubits} qubits: {figures['seconds_per_step']:.3f} s/step, peak RSS "
          f"{figures['peak_rss_mib']:.0f} MiB", file=sys.stderr)  # fmt: skip
    return figures


def qorch_run(plan_text: str, work: Path, env_changes: dict[str, str | None]) -> dict[str, Any]:
    """``qorch run PLAN --json`` in a fresh state directory: seconds, peak RSS, metrics."""
    plan = work / "plan.yaml"
    plan.write_text(plan_text)
    state = Path(tempfile.mkdtemp(dir=work))
    env = {**os.environ, "QORCH_STATE_DIR": str(state)}
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    command = [sys.executable, "-m", "qorch", "run", str(plan), "--json"]
    wall, peak, stdout, _ = measured(command, env, work)
    metrics = json.loads(stdout)["metrics"]
    return {
        "seconds": round(wall, 2),
        "peak_rss_mib": round(peak / 2**20, 1),
        "test_accuracy": metrics["test_accuracy"],
        "final_loss": metrics["final_loss"],
    }


END_TO_END_PLAN = """
version: 1
kind: qcnn
name: bench-reference
seed: 7
baselines: []
"""

TWELVE_QUBITS_PLAN = """
version: 1
kind: qcnn
name: bench-12-qubits
seed: 7
data: {source: 'sklearn:digits', classes: [0, 1]}
model: {qubits: 12, layout: general, ansatz: su4, encoding: angle}
train: {steps: 200, batch_size: 25}
baselines: []
"""

SIXTEEN_QUBITS_PLAN = """
version: 1
kind: qcnn
name: bench-16-qubits-1000
seed: 7
data: {source: 'npz:digits1000.npz', classes: [0, 1]}
model: {qubits: 16, layout: general, ansatz: su4, encoding: angle}
train: {steps: 10, batch_size: 25}
baselines: []
"""

BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def end_to_end() -> dict[str, Any]:
    """Wall time of ``qorch run`` on the reference configuration (no evaluation, no
    baselines): process start, imports, data, training, artifacts, state store."""
    with tempfile.TemporaryDirectory() as work:
        run = qorch_run(END_TO_END_PLAN, Path(work), {})
    print(f"qorch run (reference): {run['seconds']:.2f} s", file=sys.stderr)
    return {"qorch_run_seconds": run["seconds"], "qorch_run_test_accuracy": run["test_accuracy"],
            "qorch_run_peak_rss_mib": run["peak_rss_mib"]}  # fmt: skip


def blas_threads() -> dict[str, Any]:
    """The 12-qubit ``qorch run`` with the default BLAS threads and with one."""
    unset: dict[str, str | None] = dict.fromkeys(BLAS_VARIABLES)
    with tempfile.TemporaryDirectory() as work:
        default = qorch_run(TWELVE_QUBITS_PLAN, Path(work), unset)
        single = qorch_run(TWELVE_QUBITS_PLAN, Path(work), {**unset, "OPENBLAS_NUM_THREADS": "1"})
    ratio = default["seconds"] / single["seconds"]
    print(f"12 qubits, qorch run: {default['seconds']:.1f} s (BLAS threads unset), "
          f"{single['seconds']:.1f} s (OPENBLAS_NUM_THREADS=1), ratio {ratio:.2f}",
          file=sys.stderr)  # fmt: skip
    outcome = ("test_accuracy", "final_loss")
    same = [default[key] for key in outcome] == [single[key] for key in outcome]
    return {
        "qubits": 12, "steps": 200, "cpus": os.cpu_count(),
        "seconds_threads_unset": default["seconds"], "seconds_one_thread": single["seconds"],
        "ratio": round(ratio, 2), "identical_results": same,
    }  # fmt: skip


def memory() -> dict[str, Any]:
    """The 16-qubit ``qorch run`` on 1000 images: seconds and the whole run's peak RSS."""
    data = load_digits()
    with tempfile.TemporaryDirectory() as work:
        np.savez(Path(work) / "digits1000.npz", X=data.images[:1000], y=data.target[:1000] % 2)
        run = qorch_run(SIXTEEN_QUBITS_PLAN, Path(work), {})
    print(f"16 qubits, 1000 samples, qorch run: {run['seconds']:.1f} s, peak RSS "
          f"{run['peak_rss_mib']:.0f} MiB", file=sys.stderr)  # fmt: skip
    return {"qubits": 16, "samples": 1000, "train": 700, "test": 300, "steps": 10,
            "seconds": run["seconds"], "peak_rss_mib": run["peak_rss_mib"],
            "test_accuracy": run["test_accuracy"]}  # fmt: skip


def main() -> None:
    if sys.argv[1:2] == ["--scaling"]:
        print(json.dumps(scaling_in_this_process(int(sys.argv[2]), int(sys.argv[3]))))
        return
    started = time.perf_counter()
    figures: dict[str, Any] = {"benchmark": "qcnn_train", **reference()}
    figures.update(end_to_end())
    figures["scaling"] = [scaling(qubits, steps) for qubits, steps in SCALING]
    figures["blas_threads"] = blas_threads()
    figures["memory"] = memory()
    print(f"total {time.perf_counter() - started:.1f} s", file=sys.stderr)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
