"""Training loop: seeded mini-batches, an optimiser, early stopping, checkpoints, resume.

As github.com/takh04/QCNN ``QCNN/Training.py`` (``circuit_training``) by default: standard
normal initial parameters, 200 steps, batches of 25 drawn *with replacement*
(``np.random.randint``), Nesterov momentum (lr 0.01, momentum 0.9). All randomness comes
from the ``numpy.random.Generator`` passed in: initial parameters, batches, SPSA
perturbations (a sampling estimator should own a separate generator).

Early stopping (``patience``): the monitored value is the validation loss per sample when
validation data is given (evaluated every step on the whole validation set, exactly),
otherwise an exponential moving average (weight 0.1) of the training batch loss per sample.
Training stops after ``patience`` steps without an improvement of more than ``min_delta``;
the last parameters are returned.

Checkpoints: every ``checkpoint_every`` steps ``checkpoint(state)`` is called with a
JSON-serialisable dict (parameters, optimiser state, step, generator state, histories);
``train(..., resume=state)`` continues from it and gives the same final parameters as an
uninterrupted run (the same generator object state is restored into ``rng``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qorch.engine import interrupt
from qorch.workloads.qcnn.gradients import Estimator, parameter_shift, spsa_gradient
from qorch.workloads.qcnn.model import QCNN
from qorch.workloads.qcnn.optimizers import Optimizer, make_optimizer
from qorch.workloads.qcnn.resources import blas_single_threaded, state_bytes

__all__ = ["CHECKPOINT_FORMAT", "GRADIENTS", "TrainConfig", "TrainResult", "train"]

GRADIENTS = ("adjoint", "parameter-shift", "spsa")
CHECKPOINT_FORMAT = "qorch.workloads.qcnn.checkpoint/1"
_EMA = 0.1
ENCODE_ONCE_BYTES = 64 << 20


@dataclass(frozen=True)
class TrainConfig:
    """How to train (defaults: the reference's). Angles and rates in radians."""

    steps: int = 200
    batch_size: int = 25
    replacement: bool = True
    loss: str = "cross-entropy"
    reduction: str = "reference"
    optimizer: str = "nesterov"
    learning_rate: float = 0.01
    momentum: float = 0.9
    gradient: str = "adjoint"
    spsa_perturbation: float = 0.1
    patience: int | None = None
    min_delta: float = 1e-4
    checkpoint_every: int = 50
    cobyla_maxiter: int | None = None


@dataclass
class TrainResult:
    """Trained parameters, the loss of every step, wall time of this call (seconds)."""

    params: np.ndarray
    loss_history: list[float]
    seconds: float
    steps: int
    stopped_early: bool = False
    monitor_history: list[float] = field(default_factory=list)


@dataclass
class _Batch:
    """The loss on one mini-batch, by the configured gradient method. ``states``: the
    batch's encoded states, or None to encode them chunk by chunk from ``X``."""

    model: QCNN
    states: np.ndarray | None
    X: np.ndarray
    y: np.ndarray
    config: TrainConfig
    rng: np.random.Generator
    estimate: Estimator | None

    def value(self, params: np.ndarray) -> float:
        if self.estimate is not None:
            outcomes = self.estimate(self.model, params, self.X)
        elif self.states is None:
            outcomes = self.model.probabilities(params, self.X)
        else:
            outcomes = self.model.outcome_probabilities(params, self.states)
        return self.model.loss_from_outcomes(
            outcomes, self.y, self.config.loss, self.config.reduction
        )[0]

    def value_and_grad(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        cfg, model = self.config, self.model
        if cfg.gradient == "adjoint":
            if self.states is None:
                return model.loss_and_grad(params, self.X, self.y, cfg.loss, cfg.reduction)
            return model.loss_and_grad_states(params, self.states, self.y, cfg.loss, cfg.reduction)
        kwargs: dict[str, Any] = {"reduction": cfg.reduction}
        if self.estimate is not None:
            kwargs["estimate"] = self.estimate
        if cfg.gradient == "parameter-shift":
            return parameter_shift(model, params, self.X, self.y, cfg.loss, **kwargs)
        return spsa_gradient(
            model, params, self.X, self.y, cfg.loss, self.rng, cfg.spsa_perturbation, **kwargs
        )


class _Encoded:
    """Encoded states of a data set: all encoded once if they fit :data:`ENCODE_ONCE_BYTES`,
    else none: the model encodes each batch chunk by chunk as it simulates it (encodings
    are direct, so this costs one state per sample)."""

    def __init__(self, model: QCNN, X: np.ndarray) -> None:
        self.model, self.X = model, X
        size = len(X) * state_bytes(model.spec.num_qubits)
        self.states = model.encode(X) if size <= ENCODE_ONCE_BYTES else None

    def rows(self, index: np.ndarray) -> np.ndarray | None:
        """The encoded states of the samples ``index`` (None: not kept, encode from X)."""
        return None if self.states is None else self.states[index]

    def probabilities(self, params: np.ndarray) -> np.ndarray:
        """The read-out distribution of every sample."""
        if self.states is None:
            return self.model.probabilities(params, self.X)
        return self.model.outcome_probabilities(params, self.states)


class _Sampler:
    """Seeded mini-batch indices, with or without replacement (epochs of a permutation)."""

    def __init__(self, size: int, batch: int, replacement: bool) -> None:
        self.size, self.batch, self.replacement = size, batch, replacement
        self.order: list[int] = []
        self.cursor = 0

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        if self.replacement:
            return rng.integers(0, self.size, size=self.batch)
        picked: list[int] = []
        while len(picked) < min(self.batch, self.size):
            if self.cursor >= len(self.order):
                self.order, self.cursor = rng.permutation(self.size).tolist(), 0
            take = min(self.batch - len(picked), len(self.order) - self.cursor)
            picked += self.order[self.cursor : self.cursor + take]
            self.cursor += take
        return np.asarray(picked, dtype=np.intp)


def _per_sample(config: TrainConfig, value: float, batch: int) -> float:
    summed = config.reduction == "sum" or (
        config.reduction == "reference" and config.loss == "cross-entropy"
    )
    return value / batch if summed else value


def _validate(config: TrainConfig, X: np.ndarray, y: np.ndarray) -> None:
    if config.gradient not in GRADIENTS:
        raise ValueError(f"unknown gradient {config.gradient!r}; choose one of {GRADIENTS}")
    if config.steps < 0 or config.batch_size <= 0 or config.checkpoint_every <= 0:
        raise ValueError("steps must be >= 0, batch_size and checkpoint_every > 0")
    if X.ndim != 2 or y.shape != (X.shape[0],) or X.shape[0] == 0:
        raise ValueError(f"need X (n, features) and y (n,), got {X.shape} and {y.shape}")


@blas_single_threaded
def train(
    model: QCNN,
    X: Any,
    y: Any,
    config: TrainConfig,
    rng: np.random.Generator,
    on_step: Callable[[int, float], None] | None = None,
    checkpoint: Callable[[dict[str, Any]], None] | None = None,
    *,
    init_params: Any = None,
    resume: Mapping[str, Any] | None = None,
    X_val: Any = None,
    y_val: Any = None,
    estimate_probabilities: Estimator | None = None,
) -> TrainResult:
    """Train ``model`` on features ``X (n, f)`` and class indices ``y (n,)``.

    ``on_step(step, loss)`` after each step (0-based); ``checkpoint(state)`` every
    ``config.checkpoint_every`` steps; ``resume``: such a state. ``init_params`` defaults to
    ``model.init_params(rng)``. ``estimate_probabilities(model, params, X)`` replaces exact
    probabilities in losses and shot-based gradients (see :mod:`qorch.workloads.qcnn.gradients`).
    Runs with one BLAS thread; checks for Ctrl-C before every step. Raises ValueError for
    bad data, config or checkpoint; KeyboardInterrupt on Ctrl-C (resume from the last
    checkpoint).
    """
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y)
    _validate(config, X, y)
    start = time.perf_counter()
    optimizer = make_optimizer(
        config.optimizer, config.learning_rate, config.momentum, config.steps,
        config.spsa_perturbation, config.cobyla_maxiter,
    )  # fmt: skip
    sampler = _Sampler(len(X), config.batch_size, config.replacement)
    states = _Encoded(model, X)
    val_states = None if X_val is None else _Encoded(model, np.asarray(X_val, dtype=np.float64))
    run = _Run(model, config, optimizer, sampler)
    if resume is not None:
        run.restore(resume, rng)
    else:
        run.params = model.check_params(
            model.init_params(rng) if init_params is None else init_params
        )
    while run.step < config.steps and not run.stopped:
        interrupt.raise_if_interrupted()
        index = sampler.draw(rng)
        batch = _Batch(
            model, states.rows(index), X[index], y[index], config, rng, estimate_probabilities
        )
        run.params, loss = optimizer.step(run.params, batch, rng)
        run.record(loss, len(index), val_states, y_val)
        if on_step is not None:
            on_step(run.step - 1, loss)
        if checkpoint is not None and run.step % config.checkpoint_every == 0:
            checkpoint(run.state(rng))
    return TrainResult(
        params=run.params, loss_history=list(run.losses), seconds=time.perf_counter() - start,
        steps=run.step, stopped_early=run.stopped, monitor_history=list(run.monitor),
    )  # fmt: skip


class _Run:
    """The mutable state of a run: what a checkpoint holds."""

    def __init__(self, model: QCNN, config: TrainConfig, optimizer: Optimizer, sampler: _Sampler):
        self.model, self.config, self.optimizer, self.sampler = model, config, optimizer, sampler
        self.params = np.zeros(model.n_params)
        self.step = 0
        self.losses: list[float] = []
        self.monitor: list[float] = []
        self.early: dict[str, Any] = {"best": None, "wait": 0, "ema": None, "stopped": False}

    @property
    def stopped(self) -> bool:
        return bool(self.early["stopped"])

    def record(self, loss: float, batch: int, val_states: _Encoded | None, y_val: Any) -> None:
        """Count a finished step and update the early-stopping monitor."""
        self.step += 1
        self.losses.append(float(loss))
        cfg, early = self.config, self.early
        if cfg.patience is None:
            return
        if val_states is not None:
            outcomes = val_states.probabilities(self.params)
            value = self.model.loss_from_outcomes(outcomes, y_val, cfg.loss, "mean")[0]
        else:
            per_sample = _per_sample(cfg, float(loss), batch)
            ema = early["ema"]
            value = per_sample if ema is None else (1 - _EMA) * ema + _EMA * per_sample
            early["ema"] = value
        self.monitor.append(float(value))
        if early["best"] is None or value < early["best"] - cfg.min_delta:
            early["best"], early["wait"] = float(value), 0
        else:
            early["wait"] += 1
            early["stopped"] = early["wait"] >= cfg.patience

    def state(self, rng: np.random.Generator) -> dict[str, Any]:
        """A JSON-serialisable checkpoint."""
        return {
            "format": CHECKPOINT_FORMAT,
            "step": self.step,
            "params": self.params.tolist(),
            "optimizer": self.optimizer.state_dict(),
            "rng": rng.bit_generator.state,
            "losses": list(self.losses),
            "monitor": list(self.monitor),
            "early": dict(self.early),
            "sampler": {"order": list(self.sampler.order), "cursor": self.sampler.cursor},
        }

    def restore(self, state: Mapping[str, Any], rng: np.random.Generator) -> None:
        """Continue from :meth:`state` output (also restores ``rng``)."""
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"not a training checkpoint: expected format {CHECKPOINT_FORMAT!r}")
        self.params = self.model.check_params(state["params"])
        self.optimizer.load_state_dict(dict(state["optimizer"]))
        rng.bit_generator.state = dict(state["rng"])
        self.step = int(state["step"])
        self.losses, self.monitor = list(state["losses"]), list(state["monitor"])
        self.early = dict(state["early"])
        self.sampler.order = list(state["sampler"]["order"])
        self.sampler.cursor = int(state["sampler"]["cursor"])
