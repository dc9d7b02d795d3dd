"""Feature compression and scaling for QCNN inputs, fitted on the training set only.

Compression (``none``, ``pca``, ``resize``, ``autoencoder``) reduces each sample to
``width`` features; scaling then prepares them for an encoding: ``angle`` maps each
feature to [0, π] by the training set's min and max (test values outside that range
are clipped), ``amplitude`` leaves them as they are (the encoding normalises), and
``standard`` z-scores them for the classical baselines. Hur, Kim & Park fitted the
angle rescaling on the test set separately; here every statistic comes from training.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import numpy as np

from qorch.workloads.qcnn.data import DataError

Method = Literal["none", "pca", "resize", "autoencoder"]
Scaling = Literal["none", "angle", "amplitude", "standard"]
METHODS: tuple[str, ...] = ("none", "pca", "resize", "autoencoder")
SCALINGS: tuple[str, ...] = ("none", "angle", "angle-global", "amplitude", "standard")
"""``angle``: each feature to [0, π] by its own training range; ``angle-global``: every
feature by one range (the reference code's single minimum and maximum)."""
AUTOENCODER_STEPS = 4000  # Adam steps (batch 32) to aim for; the reference: 10 epochs of MNIST
AUTOENCODER_EPOCHS = (10, 500)  # bounds on the passes over the training set


class Compressor(Protocol):
    """Fitted on training samples (n, d), then maps any samples to (n, width)."""

    def fit(self, X_train: np.ndarray) -> Compressor: ...

    def transform(self, X: np.ndarray) -> np.ndarray: ...

    def info(self) -> dict[str, Any]: ...


def check_width(
    method: str,
    width: int | None,
    image_shape: tuple[int, int] | None,
    n_features: int,
    n_samples: int | None = None,
) -> int:
    """The compressed width ``method`` produces (``width``, or all features for ``none``).

    ``n_samples`` is the training-set size (bounds PCA). Raises DataError when the width
    cannot be produced: PCA wider than the features or samples, a resize width that is not
    a perfect square or is larger than the images, a resize of non-image data.
    """
    if method not in METHODS:
        raise DataError(f"unknown compression {method!r}; choose {', '.join(METHODS)}")
    if method == "none":
        if width is not None and width != n_features:
            raise DataError(
                f"compression none keeps all {n_features} features, not {width}; "
                "use pca, resize or autoencoder to reduce them"
            )
        return n_features
    if width is None or width < 1:
        raise DataError(f"compression {method} needs a width of at least 1, got {width}")
    if method == "pca" and width > min(n_features, n_samples or n_features):
        limit = min(n_features, n_samples or n_features)
        raise DataError(
            f"pca width {width} is more than the {n_features} features or "
            f"{n_samples if n_samples is not None else 'any'} training samples allow ({limit})"
        )
    if method == "autoencoder" and width > n_features:
        raise DataError(f"autoencoder width {width} is more than the {n_features} input features")
    if method == "resize":
        _check_resize(width, image_shape)
    return width


def _check_resize(width: int, image_shape: tuple[int, int] | None) -> None:
    side = math.isqrt(width)
    if side * side != width:
        raise DataError(
            f"resize width {width} is not a perfect square (e.g. 16 = 4×4, 64 = 8×8, 256 = 16×16)"
        )
    if image_shape is None:
        raise DataError("resize needs image data (8×8 digits, 28×28 MNIST); use pca or autoencoder")
    # a side larger than the images upsamples bilinearly (e.g. 8×8 digits to the 16×16 = 256
    # amplitudes an 8-qubit amplitude encoding takes), as tf.image.resize does


def bilinear_weights(n_in: int, n_out: int) -> np.ndarray:
    """The (n_out, n_in) matrix of 1-D bilinear resampling with half-pixel centres.

    Output pixel ``i`` samples the input at ``(i + 0.5) * n_in / n_out - 0.5``, clamped to
    the edge pixels, without antialiasing: TensorFlow 2's ``tf.image.resize`` default.
    """
    position = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    lower = np.floor(position)
    fraction = position - lower
    below = np.clip(lower, 0, n_in - 1).astype(int)
    above = np.clip(lower + 1, 0, n_in - 1).astype(int)
    weights = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(weights, (rows, below), 1.0 - fraction)
    np.add.at(weights, (rows, above), fraction)
    return weights


def resize_images(X: np.ndarray, image_shape: tuple[int, int], side: int) -> np.ndarray:
    """Resize the flattened ``image_shape`` images in ``X`` bilinearly to side×side, flattened."""
    images = X.reshape(len(X), *image_shape)
    rows = bilinear_weights(image_shape[0], side)
    cols = bilinear_weights(image_shape[1], side)
    return (rows @ images @ cols.T).reshape(len(X), side * side)


@dataclass
class Identity:
    """Keep every feature."""

    def fit(self, X_train: np.ndarray) -> Identity:
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)

    def info(self) -> dict[str, Any]:
        return {"method": "none"}


@dataclass
class PCACompressor:
    """The first ``width`` principal components of the training set (scikit-learn PCA)."""

    width: int
    seed: int = 0
    _pca: Any = field(default=None, init=False, repr=False)

    def fit(self, X_train: np.ndarray) -> PCACompressor:
        from sklearn.decomposition import PCA

        self._pca = PCA(n_components=self.width, random_state=self.seed).fit(X_train)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self._pca.transform(X), dtype=np.float64)

    def info(self) -> dict[str, Any]:
        ratios = [float(r) for r in self._pca.explained_variance_ratio_]
        return {
            "method": "pca",
            "explained_variance_ratio": ratios,
            "explained_variance_total": float(sum(ratios)),
        }


@dataclass
class ResizeCompressor:
    """Images resized bilinearly to a side×side square (``width`` = side²); nothing to fit."""

    width: int
    image_shape: tuple[int, int]

    def fit(self, X_train: np.ndarray) -> ResizeCompressor:
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        return resize_images(np.asarray(X, np.float64), self.image_shape, math.isqrt(self.width))

    def info(self) -> dict[str, Any]:
        side = math.isqrt(self.width)
        return {
            "method": "resize",
            "image_shape": list(self.image_shape),
            "resized_shape": [side, side],
            "interpolation": "bilinear, half-pixel centres, no antialiasing (tf.image.resize)",
        }


@dataclass
class AutoencoderCompressor:
    """The encoder half of a dense autoencoder with a ``width`` bottleneck (scikit-learn MLP).

    Inputs are min-max scaled per feature to [0, 1] by the training set (like the reference's
    pixels / 255); the encoder is activation(x W + b) of the first layer. The
    reference uses relu; tanh is the default here because relu leaves bottleneck units dead
    (constant features) on small sets such as digits.
    """

    width: int
    seed: int = 0
    activation: Literal["relu", "tanh", "logistic"] = "tanh"
    _state: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def fit(self, X_train: np.ndarray) -> AutoencoderCompressor:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor

        span = np.ptp(X_train, axis=0)
        scale = np.divide(1.0, span, out=np.zeros_like(span, dtype=np.float64), where=span > 0)
        self._state = {"low": X_train.min(axis=0), "scale": scale}
        inputs = self._unit(X_train)
        batch = min(32, len(inputs))
        epochs = math.ceil(AUTOENCODER_STEPS / math.ceil(len(inputs) / batch))
        model = MLPRegressor(
            hidden_layer_sizes=(self.width,), activation=self.activation, solver="adam",
            batch_size=batch, max_iter=int(np.clip(epochs, *AUTOENCODER_EPOCHS)),
            tol=1e-6, n_iter_no_change=20, random_state=self.seed,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(inputs, inputs)
        self._state.update(weights=model.coefs_[0], bias=model.intercepts_[0])
        codes = self.transform(X_train)
        self._state.update(
            epochs=int(model.n_iter_),
            reconstruction_mse=float(np.mean((model.predict(inputs) - inputs) ** 2)),
            inactive_units=int(np.sum(np.ptp(codes, axis=0) == 0)),
        )
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        hidden = self._unit(X) @ self._state["weights"] + self._state["bias"]
        if self.activation == "relu":
            return np.maximum(hidden, 0.0)
        return np.tanh(hidden) if self.activation == "tanh" else 1.0 / (1.0 + np.exp(-hidden))

    def info(self) -> dict[str, Any]:
        figures = {k: self._state[k] for k in ("epochs", "reconstruction_mse", "inactive_units")}
        return {"method": "autoencoder", "activation": self.activation, **figures}

    def _unit(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, np.float64) - self._state["low"]) * self._state["scale"]


def make_compressor(
    method: str, width: int, image_shape: tuple[int, int] | None = None, seed: int = 0
) -> Compressor:
    """An unfitted compressor; call :func:`check_width` first for a one-line error."""
    if method == "pca":
        return PCACompressor(width, seed)
    if method == "resize":
        if image_shape is None:
            raise DataError("resize needs image data; use pca or autoencoder")
        return ResizeCompressor(width, image_shape)
    if method == "autoencoder":
        return AutoencoderCompressor(width, seed)
    if method == "none":
        return Identity()
    raise DataError(f"unknown compression {method!r}; choose {', '.join(METHODS)}")


@dataclass
class Scaler:
    """Per-feature scaling fitted on the training set: ``angle``, ``amplitude``, ``standard``."""

    kind: str = "angle"
    _offset: np.ndarray | None = field(default=None, init=False, repr=False)
    _factor: np.ndarray | None = field(default=None, init=False, repr=False)

    def fit(self, X_train: np.ndarray) -> Scaler:
        """Learn the per-feature offset and factor from the training samples."""
        if self.kind not in SCALINGS:
            raise DataError(f"unknown scaling {self.kind!r}; choose {', '.join(SCALINGS)}")
        d = X_train.shape[1]
        self._offset, self._factor = np.zeros(d), np.ones(d)
        if self.kind == "angle":
            low, span = X_train.min(axis=0), np.ptp(X_train, axis=0)
            self._offset = low
            self._factor = np.divide(np.pi, span, out=np.zeros(d), where=span > 0)
        elif self.kind == "angle-global":
            low, span = float(X_train.min()), float(np.ptp(X_train))
            self._offset = np.full(d, low)
            self._factor = np.full(d, np.pi / span if span > 0 else 0.0)
        elif self.kind == "standard":
            std = X_train.std(axis=0)
            self._offset, self._factor = X_train.mean(axis=0), 1.0 / np.where(std > 0, std, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Scale ``X``; angle values are clipped to [0, π] (the training range)."""
        assert self._offset is not None and self._factor is not None, "fit the scaler first"
        scaled = (np.asarray(X, np.float64) - self._offset) * self._factor
        return np.clip(scaled, 0.0, np.pi) if self.kind.startswith("angle") else scaled

    def out_of_range(self, X: np.ndarray) -> float:
        """The fraction of angle values of ``X`` outside [0, π] before clipping (0 otherwise)."""
        if not self.kind.startswith("angle") or not np.size(X):
            return 0.0
        assert self._offset is not None and self._factor is not None, "fit the scaler first"
        scaled = (np.asarray(X, np.float64) - self._offset) * self._factor
        return float(np.mean((scaled < 0) | (scaled > np.pi)))


def scale(
    kind: str, X_train: np.ndarray, X_test: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Fit ``kind`` scaling on ``X_train``; return both sets scaled and a JSON-able info dict."""
    scaler = Scaler(kind).fit(X_train)
    info: dict[str, Any] = {"scaling": kind, "fitted_on": "training set"}
    if kind.startswith("angle"):
        info["range"] = [0.0, math.pi]
        info["clipped_test_fraction"] = scaler.out_of_range(X_test)
    return scaler.transform(X_train), scaler.transform(X_test), info


def fit_transform(
    method: str,
    width: int | None,
    X_train: np.ndarray,
    X_test: np.ndarray,
    image_shape: tuple[int, int] | None = None,
    seed: int = 0,
    scaling: str = "none",
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Compress (and optionally scale) both sets with statistics of ``X_train`` only.

    Returns ``(X_train', X_test', info)``; ``info`` is JSON-able: method, widths, the
    method's figures (explained variance, ...), scaling and a one-line ``notes``.
    Raises DataError when the width cannot be produced.
    """
    n_train, n_features = X_train.shape
    out = check_width(method, width, image_shape, n_features, n_train)
    compressor = make_compressor(method, out, image_shape, seed).fit(X_train)
    train, test = compressor.transform(X_train), compressor.transform(X_test)
    train, test, scaled = scale(scaling, train, test)
    info = {**compressor.info(), "input_width": n_features, "width": out, "n_train": n_train}
    info.update(scaled)
    info["notes"] = _notes(method, scaled, n_train)
    return train, test, info


def _notes(method: str, scaled: dict[str, Any], n_train: int) -> str:
    steps = [] if method in ("none", "resize") else [method]
    if scaled["scaling"] not in ("none", "amplitude"):
        steps.append(f"{scaled['scaling']} scaling")
    text = (
        f"{' and '.join(steps)} fitted on the {n_train} training samples only"
        if steps
        else "nothing fitted (no statistics used)"
    )
    if scaled["scaling"] == "angle":
        share = 100 * scaled["clipped_test_fraction"]
        text += f"; {share:.2f}% of test values fell outside the training range, clipped to [0, π]"
    return text
