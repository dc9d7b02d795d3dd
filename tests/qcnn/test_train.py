"""QCNN training: the reference configuration, resume, early stopping, optimisers,
shot-based gradients."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from qorch.workloads.qcnn.gradients import parameter_shift, sampling_estimator, spsa_gradient
from qorch.workloads.qcnn.model import QCNNSpec, build
from qorch.workloads.qcnn.train import TrainConfig, train


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits 0 vs 1, stratified 70/30, 8 PCA features scaled to [0, π] on the training set."""
    data = load_digits()
    keep = data.target < 2
    X_train, X_test, y_train, y_test = train_test_split(
        data.data[keep],
        data.target[keep],
        test_size=0.3,
        stratify=data.target[keep],
        random_state=0,
    )
    pca = PCA(8).fit(X_train)
    Z_train, Z_test = pca.transform(X_train), pca.transform(X_test)
    low, high = Z_train.min(), Z_train.max()
    scale = np.pi / (high - low)
    return (Z_train - low) * scale, np.clip((Z_test - low) * scale, 0, np.pi), y_train, y_test


def test_reference_configuration_learns_digits(digits) -> None:
    X_train, X_test, y_train, y_test = digits
    model = build(QCNNSpec())
    result = train(model, X_train, y_train, TrainConfig(), np.random.default_rng(0))
    assert result.steps == 200 and len(result.loss_history) == 200
    assert np.mean(result.loss_history[-20:]) < np.mean(result.loss_history[:20])
    assert np.mean(model.predict(result.params, X_test) == y_test) >= 0.98


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(steps=40, checkpoint_every=15),
        TrainConfig(steps=40, checkpoint_every=15, optimizer="adam", replacement=False, loss="mse"),
        TrainConfig(steps=12, checkpoint_every=5, optimizer="spsa", learning_rate=0.1),
        TrainConfig(steps=30, checkpoint_every=10, patience=50, gradient="spsa"),
    ],
)
def test_resume_from_checkpoint_is_identical(digits, config: TrainConfig) -> None:
    X_train, _, y_train, _ = digits
    model = build(QCNNSpec())
    saved: dict[int, dict] = {}

    def keep(state: dict) -> None:
        saved[state["step"]] = json.loads(json.dumps(state))  # what a file would hold

    full = train(model, X_train, y_train, config, np.random.default_rng(3), checkpoint=keep)
    middle = sorted(saved)[len(saved) // 2]
    resumed = train(
        model, X_train, y_train, config, np.random.default_rng(999), resume=saved[middle]
    )
    assert np.array_equal(full.params, resumed.params)
    assert full.loss_history == resumed.loss_history and resumed.steps == config.steps


def test_early_stopping_stops(digits) -> None:
    X_train, X_test, y_train, y_test = digits
    model = build(QCNNSpec())
    flat = TrainConfig(steps=200, learning_rate=1e-6, momentum=0.0, patience=5, min_delta=0.01)
    on_train = train(model, X_train, y_train, flat, np.random.default_rng(1))
    assert on_train.stopped_early and on_train.steps < 200
    on_validation = train(
        model, X_train, y_train, flat, np.random.default_rng(1), X_val=X_test, y_val=y_test
    )
    assert on_validation.stopped_early and on_validation.steps == 6
    assert len(on_validation.monitor_history) == on_validation.steps


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(steps=60, optimizer="adam", learning_rate=0.05),
        TrainConfig(steps=60, optimizer="sgd", learning_rate=0.01),
        TrainConfig(steps=60, optimizer="spsa", learning_rate=0.01),
        TrainConfig(steps=6, optimizer="cobyla", learning_rate=0.5, cobyla_maxiter=60),
        TrainConfig(steps=60, optimizer="nesterov", gradient="spsa", learning_rate=0.0005),
    ],
    ids=["adam", "sgd", "spsa", "cobyla", "nesterov-spsa-gradient"],
)
def test_optimisers_decrease_the_loss(digits, config: TrainConfig) -> None:
    X_train, _, y_train, _ = digits
    model = build(QCNNSpec())
    rng = np.random.default_rng(2)
    start = model.init_params(rng)
    result = train(model, X_train, y_train, config, rng, init_params=start)
    before = model.loss(start, X_train, y_train, config.loss, "mean")
    after = model.loss(result.params, X_train, y_train, config.loss, "mean")
    assert after < before - 0.02


@pytest.mark.parametrize(
    "spec",
    [QCNNSpec(), QCNNSpec(ansatz="sim5", pooling="measured", encoding="hae"),
     QCNNSpec(num_qubits=5, layout="general", ansatz="sim14", num_classes=3)],
    ids=["reference", "sim5-measured", "multiclass"],
)  # fmt: skip
def test_parameter_shift_equals_adjoint(spec: QCNNSpec) -> None:
    model = build(spec)
    rng = np.random.default_rng(4)
    params = model.init_params(rng)
    from qorch.workloads.qcnn.encoding import required_features

    X = rng.uniform(0, np.pi, size=(4, required_features(spec.encoding, spec.num_qubits)))
    y = rng.integers(0, spec.num_classes, size=4)
    for kind in ("cross-entropy", "mse"):
        value, grad = parameter_shift(model, params, X, y, kind)
        exact_value, exact = model.loss_and_grad(params, X, y, kind)
        assert abs(value - exact_value) < 1e-12
        np.testing.assert_allclose(grad, exact, atol=1e-8)


def test_shot_based_gradients_are_close() -> None:
    model = build(QCNNSpec(num_qubits=4, layout="general", ansatz="sim15"))
    rng = np.random.default_rng(5)
    params = model.init_params(rng)
    X, y = rng.uniform(0, np.pi, size=(6, 4)), rng.integers(0, 2, size=6)
    exact = model.loss_and_grad(params, X, y, "mse")[1]
    sampled = parameter_shift(model, params, X, y, "mse", sampling_estimator(20000, rng))[1]
    np.testing.assert_allclose(sampled, exact, atol=0.05)
    spsa = np.mean([spsa_gradient(model, params, X, y, "mse", rng, 0.05)[1] for _ in range(300)], 0)
    assert np.dot(spsa, exact) > 0.5 * np.dot(exact, exact)  # unbiased to first order
    with pytest.raises(ValueError, match="parameter shift needs rotation gates"):
        exp = build(QCNNSpec(ansatz="su4-exp"))
        parameter_shift(exp, exp.init_params(rng), np.zeros((1, 8)), np.array([0]), "mse")


def test_parameter_shift_training_with_a_sampling_estimator() -> None:
    model = build(QCNNSpec(num_qubits=4, layout="general", ansatz="ttn"))
    rng = np.random.default_rng(6)
    X = rng.uniform(0, np.pi, size=(40, 4))
    y = (X[:, 0] > np.pi / 2).astype(np.int64)
    start = model.init_params(rng)
    config = TrainConfig(steps=25, batch_size=10, gradient="parameter-shift", optimizer="adam",
                         learning_rate=0.1, loss="mse")  # fmt: skip
    estimate = sampling_estimator(4000, np.random.default_rng(7))
    result = train(model, X, y, config, rng, init_params=start, estimate_probabilities=estimate)
    assert model.loss(result.params, X, y, "mse") < model.loss(start, X, y, "mse")


def test_bad_inputs_raise(digits) -> None:
    X_train, _, y_train, _ = digits
    model = build(QCNNSpec())
    with pytest.raises(ValueError, match="unknown gradient"):
        train(model, X_train, y_train, TrainConfig(gradient="magic"), np.random.default_rng(0))
    with pytest.raises(ValueError, match="unknown optimizer"):
        train(model, X_train, y_train, TrainConfig(optimizer="lbfgs"), np.random.default_rng(0))
    with pytest.raises(ValueError, match="not a training checkpoint"):
        train(model, X_train, y_train, TrainConfig(), np.random.default_rng(0), resume={})
