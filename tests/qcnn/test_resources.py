"""What QCNN numerics take from the machine: one BLAS thread, memory bounded by chunks,
models that cannot fit refused at validate, out-of-memory as one line."""

from __future__ import annotations

import json
import textwrap
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from qorch.workloads.qcnn import resources
from qorch.workloads.qcnn import train as train_module
from qorch.workloads.qcnn.model import QCNN, QCNNSpec, build
from qorch.workloads.qcnn.train import TrainConfig, train

MiB = 1 << 20


def _blas_threads() -> set[int]:
    return set(_blas_pools().values())


def _blas_pools() -> dict[str, int]:
    return {p["filepath"]: p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}


def _data(qubits: int, samples: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, np.pi, (samples, qubits)), rng.integers(0, 2, samples)


def _peak(function: Callable[[], object]) -> tuple[object, int]:
    """``function()`` and the peak bytes it allocated (numpy arrays included)."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = function()
        return result, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


# --- item 18: BLAS threads ----------------------------------------------------------------


def test_training_and_prediction_run_with_one_blas_thread(monkeypatch) -> None:
    """Item 18: inside training and prediction every BLAS has one thread; the caller's
    limits are back afterwards."""
    model = build(QCNNSpec())
    X, y = _data(8, 40)
    seen: list[set[int]] = []
    forward = model.engine.forward

    def recording_forward(*args, **kwargs):
        seen.append(_blas_threads())
        return forward(*args, **kwargs)

    monkeypatch.setattr(model.engine, "forward", recording_forward)
    with threadpool_limits(4, user_api="blas"):
        before = _blas_pools()
        assert 4 in before.values()
        result = train(model, X, y, TrainConfig(steps=3), np.random.default_rng(0),
                       on_step=lambda step, loss: seen.append(_blas_threads()))  # fmt: skip
        model.predict(result.params, X)
        assert _blas_pools() == before
    assert seen and all(threads == {1} for threads in seen), seen


# --- item 19: memory ----------------------------------------------------------------------


@pytest.fixture
def small_chunks(monkeypatch) -> int:
    """Chunks of 2 MiB per pass (8 states of 12 qubits for prediction)."""
    monkeypatch.setattr(resources, "CHUNK_BYTES", 2 * MiB)
    monkeypatch.setattr(train_module, "ENCODE_ONCE_BYTES", 2 * MiB)
    return 2 * MiB


def test_prediction_of_a_large_set_is_chunked(small_chunks, monkeypatch) -> None:
    """Item 19: predicting 400 samples of 12 qubits (25 MiB of states) holds a few MiB, not
    the whole set's states several times over; the predictions are the same."""
    model = build(QCNNSpec(num_qubits=12, layout="general"))
    X, _ = _data(12, 400)
    params = model.init_params(np.random.default_rng(1))
    chunked, peak = _peak(lambda: model.probabilities(params, X))
    assert peak < 4 * small_chunks, f"peak {peak / MiB:.1f} MiB"
    monkeypatch.setattr(resources, "CHUNK_BYTES", 1 << 40)
    whole = model.probabilities(params, X)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-14)
    assert np.array_equal(model.predict(params, X), np.argmax(whole, axis=1))


def test_large_training_batches_are_chunked_with_the_same_gradient(
    small_chunks, monkeypatch
) -> None:
    """Item 19: a 200-sample batch of 12 qubits trains in chunks: bounded memory, the same
    loss and gradient as one pass."""
    model = build(QCNNSpec(num_qubits=12, layout="general"))
    X, y = _data(12, 200)
    params = model.init_params(np.random.default_rng(2))
    (value, grad), peak = _peak(lambda: model.loss_and_grad(params, X, y, "cross-entropy"))
    assert peak < 8 * small_chunks, f"peak {peak / MiB:.1f} MiB"
    monkeypatch.setattr(resources, "CHUNK_BYTES", 1 << 40)
    whole_value, whole_grad = model.loss_and_grad(params, X, y, "cross-entropy")
    assert value == pytest.approx(whole_value, rel=1e-12)
    np.testing.assert_allclose(grad, whole_grad, rtol=1e-10, atol=1e-12)


def test_training_with_a_large_batch_holds_chunks_not_the_batch(small_chunks) -> None:
    """Item 19: ``train`` with batches of 400 samples of 12 qubits (25 MiB of states each)."""
    model = build(QCNNSpec(num_qubits=12, layout="general"))
    X, y = _data(12, 400)
    config = TrainConfig(steps=2, batch_size=400, replacement=False)
    result, peak = _peak(lambda: train(model, X, y, config, np.random.default_rng(3)))
    assert peak < 8 * small_chunks, f"peak {peak / MiB:.1f} MiB"
    assert isinstance(result, train_module.TrainResult) and result.steps == 2


BIG = """
version: 1
kind: qcnn
seed: 1
data: {classes: [0, 1]}
model:
  qubits: 20
  layout: general
train: {steps: 5}
baselines: []
"""


def test_validate_refuses_a_model_that_cannot_fit_in_memory(
    cli, make_plan: Callable[..., Path], monkeypatch
) -> None:
    """Item 19: with 300 MiB available, a 20-qubit QCNN (16 MiB states, 9 per training
    sample, plus the process) is refused at validate with one located line; 8 qubits pass."""
    monkeypatch.setattr(resources, "available_memory", lambda: 300 * MiB)
    plan = make_plan(BIG)
    result = cli("validate", str(plan))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{plan}:6: model.qubits: a 20-qubit state takes 16 MiB"), lines
    assert "300 MiB of memory available" in lines[0]
    small = make_plan(BIG.replace("qubits: 20", "qubits: 8"), name="small.yaml")
    assert cli("validate", str(small)).returncode == 0


SMALL = textwrap.dedent("""
    version: 1
    kind: qcnn
    seed: 4
    data: {classes: [0, 1]}
    model: {ansatz: so4}
    train: {steps: 20}
    baselines: []
""")


def test_out_of_memory_in_training_is_one_line_and_the_run_resumes(
    cli, make_plan: Callable[..., Path], monkeypatch
) -> None:
    """Item 19: numpy running out of memory while training is one line (JSON under --json),
    the run is marked failed, and the same command later finishes it."""
    plan = make_plan(SMALL)
    numpy_error = "Unable to allocate 3.91 GiB for an array with shape (1000, 262144)"

    def exhausted(*args, **kwargs):
        from numpy._core._exceptions import _ArrayMemoryError  # what numpy raises

        raise _ArrayMemoryError((1000, 262144), np.dtype(np.complex128))

    with monkeypatch.context() as patch:
        patch.setattr(QCNN, "loss_and_grad_states", exhausted)
        failed = cli("run", str(plan))
        as_json = cli("run", str(plan), "--json")
    assert failed.returncode == 1
    lines = failed.stderr.strip().splitlines()
    assert "Traceback" not in failed.stderr
    assert lines[-1].startswith("qorch: error: out of memory training the 8-qubit QCNN"), lines
    assert numpy_error in lines[-1]
    assert as_json.returncode == 1
    assert "out of memory" in json.loads(as_json.stdout)["error"]["message"]
    status = cli("status", "--json")
    assert json.loads(status.stdout)[0]["status"] == "failed"
    again = cli("run", str(plan), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["metrics"]["steps"] == 20
