"""Optimisers with one small interface: ``step(params, objective, rng) -> (params, loss)``.

``objective`` has ``value(params) -> float`` and ``value_and_grad(params) -> (float, grad)``.
Each optimiser's state round-trips through JSON (``state_dict`` / ``load_state_dict``), so a
checkpointed run resumes exactly.

- ``nesterov``: PennyLane's ``NesterovMomentumOptimizer`` (used by github.com/takh04/QCNN
  ``QCNN/Training.py``): ``a ← m·a + η·∇f(x - m·a)``, ``x ← x - a``; the reported loss is
  ``f(x - m·a)``, as ``step_and_cost`` reports it.
- ``adam`` (Kingma & Ba; bias-corrected step size), ``sgd`` (``x ← x - η·∇f(x)``).
- ``spsa`` (Spall): ``a_k = a/(k+1+A)^0.602``, ``c_k = c/(k+1)^0.101``, Rademacher
  perturbations from the run's generator; ``a`` is the learning rate, ``A`` 10% of the steps.
- ``cobyla``: each step is one ``scipy.optimize.minimize(method="COBYLA")`` run on the
  step's batch from the current parameters (``rhobeg`` = learning rate, radians; ``maxiter``
  default ``2·(n_params+1)`` evaluations). Stateless between steps.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Protocol

import numpy as np

__all__ = ["OPTIMIZER_NAMES", "Objective", "Optimizer", "make_optimizer"]

Array = np.ndarray
Generator = np.random.Generator

OPTIMIZER_NAMES = ("nesterov", "adam", "sgd", "spsa", "cobyla")


class Objective(Protocol):
    """A loss of the parameters (radians)."""

    def value(self, params: np.ndarray) -> float: ...

    def value_and_grad(self, params: np.ndarray) -> tuple[float, np.ndarray]: ...


class Optimizer(ABC):
    """Base class: subclasses implement :meth:`step` and list their state in ``_state``."""

    name = "optimizer"
    _state: tuple[str, ...] = ()

    @abstractmethod
    def step(self, params: Array, objective: Objective, rng: Generator) -> tuple[Array, float]:
        """One update: new parameters and the loss evaluated on the way."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (arrays as lists of floats)."""
        out: dict[str, Any] = {"name": self.name}
        for key in self._state:
            value = getattr(self, key)
            out[key] = value.tolist() if isinstance(value, np.ndarray) else value
        return out

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output; raises ValueError for another optimiser's."""
        if state.get("name") != self.name:
            raise ValueError(f"state of optimiser {state.get('name')!r}, not {self.name!r}")
        for key in self._state:
            value = state[key]
            setattr(
                self, key, np.asarray(value, dtype=np.float64) if isinstance(value, list) else value
            )


class Nesterov(Optimizer):
    name = "nesterov"
    _state = ("accumulation",)

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.9) -> None:
        self.learning_rate, self.momentum = learning_rate, momentum
        self.accumulation: np.ndarray | None = None

    def step(self, params: Array, objective: Objective, rng: Generator) -> tuple[Array, float]:
        shifted = (
            params if self.accumulation is None else params - self.momentum * self.accumulation
        )
        loss, grad = objective.value_and_grad(shifted)
        previous = 0.0 if self.accumulation is None else self.momentum * self.accumulation
        self.accumulation = previous + self.learning_rate * grad
        return params - self.accumulation, loss


class SGD(Optimizer):
    name = "sgd"

    def __init__(self, learning_rate: float = 0.01) -> None:
        self.learning_rate = learning_rate

    def step(self, params: Array, objective: Objective, rng: Generator) -> tuple[Array, float]:
        loss, grad = objective.value_and_grad(params)
        return params - self.learning_rate * grad, loss


class Adam(Optimizer):
    name = "adam"
    _state = ("first", "second", "t")

    def __init__(
        self,
        learning_rate: float = 0.01,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
    ) -> None:
        self.learning_rate, self.beta1, self.beta2, self.eps = learning_rate, beta1, beta2, eps
        self.first: np.ndarray | float = 0.0
        self.second: np.ndarray | float = 0.0
        self.t = 0

    def step(self, params: Array, objective: Objective, rng: Generator) -> tuple[Array, float]:
        loss, grad = objective.value_and_grad(params)
        self.t += 1
        self.first = self.beta1 * self.first + (1 - self.beta1) * grad
        self.second = self.beta2 * self.second + (1 - self.beta2) * grad**2
        rate = self.learning_rate * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        return params - rate * self.first / (np.sqrt(self.second) + self.eps), loss


class SPSA(Optimizer):
    name = "spsa"
    _state = ("k",)

    def __init__(
        self, learning_rate: float = 0.01, perturbation: float = 0.1, stability: float = 0.0
    ) -> None:
        self.a, self.c, self.stability = learning_rate, perturbation, stability
        self.k = 0

    def step(self, params: Array, objective: Objective, rng: Generator) -> tuple[Array, float]:
        a_k = self.a / (self.k + 1 + self.stability) ** 0.602
        c_k = self.c / (self.k + 1) ** 0.101
        delta = 2.0 * rng.integers(0, 2, size=params.shape) - 1.0
        plus, minus = objective.value(params + c_k * delta), objective.value(params - c_k * delta)
        self.k += 1
        return params - a_k * (plus - minus) / (2 * c_k) * delta, 0.5 * (plus + minus)


class Cobyla(Optimizer):
    name = "cobyla"

    def __init__(self, learning_rate: float = 0.5, maxiter: int | None = None) -> None:
        self.rhobeg, self.maxiter = learning_rate, maxiter

    def step(self, params: Array, objective: Objective, rng: Generator) -> tuple[Array, float]:
        from scipy.optimize import minimize

        maxiter = self.maxiter or 2 * (params.size + 1)
        options = {"rhobeg": self.rhobeg, "maxiter": maxiter}
        result = minimize(objective.value, params, method="COBYLA", options=options)
        return np.asarray(result.x, dtype=np.float64), float(result.fun)


def make_optimizer(
    name: str,
    learning_rate: float = 0.01,
    momentum: float = 0.9,
    steps: int = 200,
    perturbation: float = 0.1,
    maxiter: int | None = None,
) -> Optimizer:
    """The optimiser ``name`` (one of :data:`OPTIMIZER_NAMES`); raises ValueError if unknown.

    ``perturbation``: SPSA's ``c`` (radians); ``steps`` sets SPSA's ``A = 0.1·steps``;
    ``maxiter``: COBYLA's evaluations per step.
    """
    if name == "nesterov":
        return Nesterov(learning_rate, momentum)
    if name == "adam":
        return Adam(learning_rate)
    if name == "sgd":
        return SGD(learning_rate)
    if name == "spsa":
        return SPSA(learning_rate, perturbation, stability=0.1 * steps)
    if name == "cobyla":
        return Cobyla(learning_rate, maxiter)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_NAMES)}")
