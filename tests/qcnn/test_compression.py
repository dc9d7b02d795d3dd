"""QCNN compression and scaling: widths, bilinear resize, PCA, autoencoder, train-only fitting."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from qorch.contract.errors import PlanError
from qorch.workloads.qcnn import compression, data
from qorch.workloads.qcnn.compression import AUTOENCODER_EPOCHS, Scaler, check_width, fit_transform


def error_of(call, *args, **kwargs) -> str:
    with pytest.raises(PlanError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.fixture(scope="module")
def digits01() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y, _ = data.select_classes(data.load("sklearn:digits", Path(".")), [0, 1])
    return data.split(X, y, 0.3, seed=0)


# --- widths --------------------------------------------------------------------------------


def test_check_width_returns_the_width_or_all_features_for_none():
    assert check_width("none", None, None, 30) == 30
    assert check_width("none", 30, None, 30) == 30
    assert check_width("pca", 8, None, 64, 252) == 8
    assert check_width("resize", 16, (8, 8), 64) == 16
    assert check_width("resize", 64, (8, 8), 64) == 64
    assert check_width("autoencoder", 8, None, 64) == 8


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("pca", 40, None, 30, 100), "pca width 40 is more than the 30 features or 100 training"),
        (("pca", 20, None, 64, 12), "(12)"),
        (("pca", 0, None, 64, 12), "needs a width of at least 1, got 0"),
        (("pca", None, None, 64), "needs a width of at least 1, got None"),
        (("resize", 15, (8, 8), 64), "resize width 15 is not a perfect square"),
        (("resize", 16, None, 30), "resize needs image data"),
        (("none", 8, None, 30), "compression none keeps all 30 features, not 8"),
        (("autoencoder", 31, None, 30), "autoencoder width 31 is more than the 30 input"),
        (("zip", 8, None, 30), "unknown compression 'zip'"),
    ],
)
def test_check_width_errors_are_one_line(args, expected):
    assert expected in error_of(check_width, *args)


def test_fit_transform_checks_the_width_against_the_training_set(digits01):
    X_train, X_test, _, _ = digits01
    message = error_of(fit_transform, "pca", 20, X_train[:10], X_test)
    assert "10 training samples" in message


# --- resize --------------------------------------------------------------------------------


def test_bilinear_weights_follow_half_pixel_centres():
    np.testing.assert_allclose(
        compression.bilinear_weights(2, 4),
        [[1, 0], [0.75, 0.25], [0.25, 0.75], [0, 1]],
    )
    np.testing.assert_allclose(
        compression.bilinear_weights(4, 2), [[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]]
    )
    for n_in, n_out in [(28, 16), (8, 3), (5, 5)]:
        weights = compression.bilinear_weights(n_in, n_out)
        np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    np.testing.assert_allclose(compression.bilinear_weights(5, 5), np.eye(5))


def test_halving_an_image_averages_each_2x2_block():
    image = np.arange(16, dtype=np.float64).reshape(4, 4)
    out = compression.resize_images(image.reshape(1, 16), (4, 4), 2).reshape(2, 2)
    np.testing.assert_allclose(out, [[2.5, 4.5], [10.5, 12.5]])


@pytest.mark.parametrize(
    ("shape", "side"), [((8, 8), 4), ((8, 8), 3), ((28, 28), 16), ((28, 28), 4)]
)
def test_resize_matches_scipy_zoom_with_grid_mode(shape, side):
    images = np.random.default_rng(7).random((3, *shape))
    ours = compression.resize_images(images.reshape(3, -1), shape, side)
    for image, row in zip(images, ours, strict=True):
        expected = ndimage.zoom(image, side / shape[0], order=1, grid_mode=True, mode="nearest")
        np.testing.assert_allclose(row.reshape(side, side), expected, atol=1e-12)


def test_resize_compressor_on_digits(digits01):
    X_train, X_test, _, _ = digits01
    train, test, info = fit_transform("resize", 16, X_train, X_test, (8, 8), seed=0)
    assert train.shape == (len(X_train), 16) and test.shape == (len(X_test), 16)
    first = X_train[0].reshape(4, 2, 4, 2).mean(axis=(1, 3)).ravel()  # 8×8 → 4×4 = block means
    np.testing.assert_allclose(train[0], first)
    assert info["resized_shape"] == [4, 4] and "tf.image.resize" in info["interpolation"]


# --- PCA -----------------------------------------------------------------------------------


def test_pca_is_fitted_on_the_training_set_only(digits01):
    X_train, X_test, _, _ = digits01
    _, reference, _ = fit_transform("pca", 8, X_train, X_test, seed=0)
    shifted = X_test + 50.0  # a test set from a very different distribution
    train, test, info = fit_transform("pca", 8, X_train, shifted, seed=0)
    pca = compression.PCACompressor(8, seed=0).fit(X_train)
    np.testing.assert_allclose(pca._pca.mean_, X_train.mean(axis=0))
    np.testing.assert_allclose(test, pca.transform(shifted))
    np.testing.assert_allclose(test, reference + (50.0 * np.ones(64)) @ pca._pca.components_.T)
    assert train.shape == (len(X_train), 8)
    assert len(info["explained_variance_ratio"]) == 8
    assert 0.5 < info["explained_variance_total"] <= 1.0
    assert info["method"] == "pca" and info["width"] == 8 and info["input_width"] == 64


def test_none_keeps_the_features(digits01):
    X_train, X_test, _, _ = digits01
    train, _, info = fit_transform("none", None, X_train, X_test)
    np.testing.assert_array_equal(train, X_train)
    assert info["width"] == 64 and "nothing fitted" in info["notes"]


# --- autoencoder ----------------------------------------------------------------------------


def test_autoencoder_is_seeded_quick_and_has_the_bottleneck_width(digits01):
    X_train, X_test, _, _ = digits01
    train, test, info = fit_transform("autoencoder", 8, X_train, X_test, seed=5)
    assert info["epochs"] <= AUTOENCODER_EPOCHS[1]  # bounded work, not wall time (benchmarks)
    assert train.shape == (len(X_train), 8) and test.shape == (len(X_test), 8)
    again, _, _ = fit_transform("autoencoder", 8, X_train, X_test + 3.0, seed=5)
    np.testing.assert_array_equal(train, again)  # same seed; the test set plays no part
    other, _, _ = fit_transform("autoencoder", 8, X_train, X_test, seed=6)
    assert not np.allclose(train, other)
    assert info["inactive_units"] == 0 and info["reconstruction_mse"] < 0.05
    assert np.all(np.abs(train) <= 1.0)  # tanh codes


# --- scaling ---------------------------------------------------------------------------------


def shifted_sets() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X_train = rng.normal(0.0, 1.0, (200, 3)) * [1.0, 10.0, 0.1]
    X_test = rng.normal(2.0, 1.0, (100, 3)) * [1.0, 10.0, 0.1]  # shifted: mean 2 std
    return X_train, X_test


def test_angle_scaling_uses_training_min_and_max_and_clips_the_test_set():
    X_train, X_test = shifted_sets()
    train, test, info = compression.scale("angle", X_train, X_test)
    np.testing.assert_allclose(train.min(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(train.max(axis=0), math.pi)
    expected = (X_test - X_train.min(axis=0)) / np.ptp(X_train, axis=0) * math.pi
    np.testing.assert_allclose(test, np.clip(expected, 0, math.pi))
    outside = np.mean((expected < 0) | (expected > math.pi))
    assert outside > 0.05 and info["clipped_test_fraction"] == pytest.approx(outside)
    assert test.max() == pytest.approx(math.pi) and info["range"] == [0.0, math.pi]


def test_standard_scaling_is_fitted_on_the_training_set():
    X_train, X_test = shifted_sets()
    train, test, info = compression.scale("standard", X_train, X_test)
    np.testing.assert_allclose(train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(train.std(axis=0), 1.0)
    assert np.all(test.mean(axis=0) > 1.5)  # the test shift survives: not re-centred
    assert info == {"scaling": "standard", "fitted_on": "training set"}


def test_amplitude_and_none_leave_values_as_they_are():
    X_train, X_test = shifted_sets()
    for kind in ("amplitude", "none"):
        train, test, _ = compression.scale(kind, X_train, X_test)
        np.testing.assert_array_equal(train, X_train)
        np.testing.assert_array_equal(test, X_test)


def test_constant_features_scale_to_zero_not_nan():
    X_train = np.array([[1.0, 2.0], [1.0, 4.0]])
    for kind in ("angle", "standard"):
        out = Scaler(kind).fit(X_train).transform(np.array([[1.0, 3.0], [2.0, 3.0]]))
        assert np.all(np.isfinite(out))
    assert "unknown scaling 'cosine'" in error_of(Scaler("cosine").fit, X_train)


def test_fit_transform_info_is_json_and_says_what_was_fitted(digits01):
    X_train, X_test, _, _ = digits01
    _, test, info = fit_transform("pca", 8, X_train, X_test + 4.0, seed=0, scaling="angle")
    assert np.all((test >= 0) & (test <= math.pi))
    assert json.loads(json.dumps(info)) == info
    assert info["n_train"] == len(X_train) and info["scaling"] == "angle"
    assert info["notes"].startswith(f"pca and angle scaling fitted on the {len(X_train)} training")
    assert "clipped to [0, π]" in info["notes"]


def test_resize_upsamples_digits_to_amplitude_width() -> None:
    from qorch.workloads.qcnn.compression import check_width, resize_images

    assert check_width("resize", 256, (8, 8), 64) == 256
    image = np.arange(64.0).reshape(1, 64)
    big = resize_images(image, (8, 8), 16).reshape(16, 16)
    assert big.min() == 0.0 and big.max() == 63.0
    assert np.all(np.diff(big, axis=1) >= 0)  # monotone rows stay monotone
