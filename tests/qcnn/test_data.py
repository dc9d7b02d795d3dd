"""QCNN data: every loader, every one-line error, class selection, stratified seeded splits."""

from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from qorch.contract.errors import PlanError
from qorch.workloads.qcnn import data
from qorch.workloads.qcnn.data import DataDownloadError, DataError, Dataset

HERE = Path(".")


def error_of(call, *args, **kwargs) -> str:
    """The one-line message of the PlanError that ``call`` raises."""
    with pytest.raises(PlanError) as caught:
        call(*args, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and message.strip() == message
    return message


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# --- sources ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape", "image_shape", "n_classes"),
    [
        ("digits", (1797, 64), (8, 8), 10),
        ("breast_cancer", (569, 30), None, 2),
        ("wine", (178, 13), None, 3),
        ("iris", (150, 4), None, 3),
    ],
)
def test_sklearn_sets_load_with_shapes_labels_and_names(name, shape, image_shape, n_classes):
    dataset = data.load(f"sklearn:{name}", HERE)
    assert dataset.X.shape == shape and dataset.X.dtype == np.float64
    assert dataset.y.shape == (shape[0],) and dataset.y.dtype == np.int64
    assert len(np.unique(dataset.y)) == n_classes
    assert len(dataset.feature_names) == shape[1]
    assert dataset.image_shape == image_shape
    assert dataset.source == f"sklearn:{name}"


def test_csv_loads_numeric_features_and_string_labels(tmp_path):
    write(tmp_path / "d.csv", "a,label,b\n1,cat,2.5\n3, dog ,-4e-1\n\n5,cat,6\n")
    dataset = data.load("csv:d.csv", tmp_path, label_column="label")
    assert dataset.feature_names == ("a", "b")
    np.testing.assert_array_equal(dataset.X, [[1, 2.5], [3, -0.4], [5, 6]])
    assert list(dataset.y) == ["cat", "dog", "cat"]
    assert dataset.image_shape is None


def test_csv_integer_labels_become_ints_and_a_bom_is_ignored(tmp_path):
    write(tmp_path / "d.csv", "\ufeffx,y\n0.5,1\n0.25,0\n")
    dataset = data.load("csv:d.csv", tmp_path, label_column="y")
    assert dataset.y.dtype == np.int64 and list(dataset.y) == [1, 0]
    assert dataset.feature_names == ("x",)


def test_the_example_csv_round_trips_the_bundled_breast_cancer_values():
    plans = Path(__file__).resolve().parents[2] / "plans"
    dataset = data.load("csv:data/breast_cancer_mean.csv", plans, label_column="label")
    from sklearn.datasets import load_breast_cancer

    np.testing.assert_array_equal(dataset.X, load_breast_cancer().data[:, :10])
    assert sorted(set(dataset.y)) == ["benign", "malignant"]
    assert (plans / "data" / "breast_cancer_mean.csv").stat().st_size < 100_000


def test_npz_with_flat_rows_and_image_shape(tmp_path):
    X = np.arange(24, dtype=np.float32).reshape(6, 4)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0, 1] * 3), image_shape=np.array([2, 2]))
    dataset = data.load("npz:d.npz", tmp_path)
    assert dataset.X.dtype == np.float64 and dataset.X.shape == (6, 4)
    assert dataset.image_shape == (2, 2) and list(dataset.y) == [0, 1] * 3


def test_npz_image_stack_is_flattened_and_float_labels_become_ints(tmp_path):
    images = np.random.default_rng(0).random((5, 3, 4))
    np.savez(tmp_path / "d.npz", X=images, y=np.array([1.0, 0.0, 1.0, 0.0, 2.0]))
    dataset = data.load("npz:d.npz", tmp_path)
    assert dataset.image_shape == (3, 4)
    np.testing.assert_array_equal(dataset.X[1], images[1].ravel())
    assert dataset.y.dtype == np.int64 and list(dataset.y) == [1, 0, 1, 0, 2]


# --- source errors -----------------------------------------------------------------------


def test_unknown_scheme_and_unknown_sklearn_set(tmp_path):
    message = error_of(data.load, "ftp:x.csv", tmp_path)
    assert "'ftp:x.csv'" in message and "csv:PATH" in message
    message = error_of(data.load, "sklearn:mnist", tmp_path)
    assert "sklearn:mnist" in message and "digits" in message


def test_missing_data_file_names_the_path(tmp_path):
    message = error_of(data.load, "csv:nope/missing.csv", tmp_path, label_column="label")
    assert message == f"data file not found: {tmp_path / 'nope' / 'missing.csv'}"
    assert str(tmp_path / "gone.npz") in error_of(data.load, "npz:gone.npz", tmp_path)


def test_csv_needs_a_label_column_argument(tmp_path):
    write(tmp_path / "d.csv", "a,b\n1,2\n")
    assert "label_column" in error_of(data.load, "csv:d.csv", tmp_path)


def test_missing_label_column_lists_the_columns(tmp_path):
    path = write(tmp_path / "d.csv", "alpha,beta,target\n1,2,0\n")
    message = error_of(data.load, "csv:d.csv", tmp_path, label_column="label")
    assert message == f"{path}: no label column 'label'; columns: alpha, beta, target"


def test_non_numeric_feature_names_column_value_and_line(tmp_path):
    path = write(tmp_path / "d.csv", "a,b,label\n1,2,x\n3,4,y\n5,oops,x\n")
    message = error_of(data.load, "csv:d.csv", tmp_path, label_column="label")
    assert message == f"{path}: column 'b' is not numeric: 'oops' on line 4"


@pytest.mark.parametrize("cell", ["", "nan", "inf"])
def test_empty_and_non_finite_cells_are_not_numeric(tmp_path, cell):
    write(tmp_path / "d.csv", f"a,label\n1,x\n{cell},y\n")
    message = error_of(data.load, "csv:d.csv", tmp_path, label_column="label")
    assert f"column 'a' is not numeric: {cell!r} on line 3" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the file is empty"),
        ("a,label\n", "no data rows"),
        ("a,label\n1,x\n2\n", "line 3 has 1 fields; the header has 2"),
        ("a,label\n1,x\n2, \n", "empty label in column 'label' on line 3"),
        ("label\nx\n", "no feature columns"),
    ],
)
def test_malformed_csv_files(tmp_path, text, expected):
    path = write(tmp_path / "d.csv", text)
    message = error_of(data.load, "csv:d.csv", tmp_path, label_column="label")
    assert message.startswith(f"{path}: ") and expected in message


def test_npz_errors_name_the_file_and_the_problem(tmp_path):
    np.savez(tmp_path / "no_y.npz", X=np.zeros((3, 2)), labels=np.zeros(3))
    message = error_of(data.load, "npz:no_y.npz", tmp_path)
    assert message == f"{tmp_path / 'no_y.npz'}: no array 'y'; arrays: X, labels"
    np.savez(tmp_path / "text.npz", X=np.array([["a", "b"]]), y=np.array([0]))
    assert "array 'X' is not numeric" in error_of(data.load, "npz:text.npz", tmp_path)
    np.savez(tmp_path / "shape.npz", X=np.zeros((2, 6)), y=np.zeros(2), image_shape=[2, 2])
    assert "image_shape (2, 2) does not match 6" in error_of(data.load, "npz:shape.npz", tmp_path)
    np.savez(tmp_path / "nan.npz", X=np.array([[0.0, np.nan]]), y=np.array([0]))
    assert "row 0, column 1" in error_of(data.load, "npz:nan.npz", tmp_path)
    objects = np.empty(2, dtype=object)
    np.savez(tmp_path / "pickled.npz", X=np.zeros((2, 2)), y=objects)
    assert "not a readable .npz" in error_of(data.load, "npz:pickled.npz", tmp_path)
    write(tmp_path / "garbage.npz", "not a zip")
    assert "not a readable .npz" in error_of(data.load, "npz:garbage.npz", tmp_path)
    np.save(tmp_path / "one.npy", np.zeros(3))
    assert "holds one array" in error_of(data.load, "npz:one.npy", tmp_path)


# --- OpenML ----------------------------------------------------------------------------


@pytest.fixture
def openml_cache(tmp_path, monkeypatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("QORCH_DATA_CACHE", str(cache))
    return cache


@pytest.fixture
def no_network(monkeypatch) -> None:
    """Route every HTTP(S) request to a closed local port, so it fails at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for variable in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(variable, f"http://127.0.0.1:{port}")
    for variable in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setattr(urllib.request, "_opener", None)  # rebuilt with the proxy settings
    monkeypatch.setattr(data, "OPENML_RETRIES", 1)  # scikit-learn's minimum
    monkeypatch.setattr(data, "OPENML_RETRY_DELAY_S", 0.01)


def test_openml_without_network_fails_fast_with_one_line(openml_cache, no_network):
    start = time.perf_counter()
    with pytest.raises(DataDownloadError) as caught:
        data.load("openml:mnist_784", HERE)
    assert time.perf_counter() - start < 5
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("cannot download openml:mnist_784: ")
    assert message.endswith(
        f"it is cached (in {openml_cache}) after one download with network access"
    )
    assert isinstance(caught.value, PlanError)


def test_openml_reads_its_cache_without_network(openml_cache, no_network):
    X = np.random.default_rng(1).integers(0, 256, (4, 784)).astype(np.uint8)
    (openml_cache / "qorch").mkdir(parents=True)
    np.savez(
        openml_cache / "qorch" / "Fashion-MNIST.npz",
        X=X, y=np.array(["0", "1", "1", "0"]), image_shape=np.array([28, 28]),
    )  # fmt: skip
    dataset = data.load("openml:Fashion-MNIST", HERE)
    np.testing.assert_array_equal(dataset.X, X.astype(np.float64))
    assert dataset.image_shape == (28, 28) and list(dataset.y) == [0, 1, 1, 0]


def test_openml_download_is_cached_compactly_then_reused(openml_cache, monkeypatch):
    X = np.random.default_rng(2).integers(0, 256, (6, 784)).astype(np.float64)
    y = np.array([3, 5, 3, 5, 3, 5])
    calls = []

    def fake_fetch(name, home):
        calls.append((name, home))
        return X, y, tuple(f"pixel{i}" for i in range(784))

    monkeypatch.setattr(data, "_fetch_openml", fake_fetch)
    first = data.load("openml:mnist_784", HERE)
    second = data.load("openml:mnist_784", HERE)
    assert calls == [("mnist_784", openml_cache)]
    with np.load(openml_cache / "qorch" / "mnist_784.npz") as archive:
        assert archive["X"].dtype == np.uint8
    for dataset in (first, second):
        np.testing.assert_array_equal(dataset.X, X)
        assert list(dataset.y) == list(y) and dataset.image_shape == (28, 28)
    assert second.feature_names[:2] == ("pixel0", "pixel1")


def test_openml_cache_dir_defaults_under_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("QORCH_DATA_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.openml_cache_dir() == tmp_path / "qorch" / "openml"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.openml_cache_dir() == Path("~/.cache/qorch/openml").expanduser()


# --- classes -----------------------------------------------------------------------------


def small(labels: list) -> Dataset:
    X = np.arange(len(labels), dtype=np.float64)[:, None]
    return Dataset(X, np.array(labels), ("x",), None, "test:set")


def test_select_classes_relabels_in_the_order_given():
    X, y, names = data.select_classes(small([0, 1, 2, 1, 0, 2]), [2, 0])
    assert names == [2, 0]
    np.testing.assert_array_equal(X[:, 0], [0, 2, 4, 5])
    np.testing.assert_array_equal(y, [1, 0, 1, 0])


def test_select_classes_matches_labels_by_text_and_none_means_all_sorted():
    _, y, names = data.select_classes(small(["b", "a", "c", "a"]), None)
    assert names == ["a", "b", "c"] and list(y) == [1, 0, 2, 0]
    _, y, names = data.select_classes(small([0, 1, 1]), ["1", 0])
    assert names == [1, 0] and list(y) == [1, 0, 0]
    assert all(type(name) is int for name in names)  # JSON-able Python ints


def test_absent_classes_are_listed_with_the_present_ones():
    message = error_of(data.select_classes, small([0, 1, 2]), [0, 7, 9])
    assert message == "test:set: classes not in the data: 7, 9; classes present: 0, 1, 2"


def test_fewer_than_two_classes_and_duplicates_are_refused():
    assert "at least 2 classes" in error_of(data.select_classes, small([0, 1]), [1])
    assert "at least 2 classes" in error_of(data.select_classes, small([4, 4, 4]), None)
    assert "listed twice: 1" in error_of(data.select_classes, small([0, 1]), [1, "1"])


# --- split -------------------------------------------------------------------------------


def test_split_is_stratified_and_seeded():
    X, y, _ = data.select_classes(data.load("sklearn:digits", HERE), [0, 1, 2])
    y = np.concatenate([y, np.zeros(200, dtype=np.int64)])  # unbalanced: class 0 is 2/3
    X = np.vstack([X, np.zeros((200, X.shape[1]))])
    X_train, X_test, y_train, y_test = data.split(X, y, 0.25, seed=3)
    assert len(y_test) == int(np.ceil(0.25 * len(y)))
    overall = np.bincount(y) / len(y)
    for part in (y_train, y_test):
        np.testing.assert_allclose(np.bincount(part) / len(part), overall, atol=0.01)
    again = data.split(X, y, 0.25, seed=3)
    for first, second in zip((X_train, X_test, y_train, y_test), again, strict=True):
        np.testing.assert_array_equal(first, second)
    other = data.split(X, y, 0.25, seed=4)
    assert not np.array_equal(X_train, other[0])


def test_split_refuses_classes_with_one_sample_naming_them():
    X = np.zeros((7, 2))
    y = np.array([0, 0, 0, 1, 1, 1, 2])
    message = error_of(data.split, X, y, 0.3, 0, ["cat", "dog", "emu"])
    assert "every class needs at least 2 samples; class emu has 1" in message


def test_split_refuses_a_test_set_smaller_than_the_classes():
    X = np.zeros((20, 2))
    y = np.repeat([0, 1, 2, 3], 5)
    message = error_of(data.split, X, y, 0.1, 0)
    assert "20 samples give 18 for training and 2 for testing" in message
    assert "each of the 4 classes" in message


def test_errors_are_plan_errors_the_cli_prints_as_one_line():
    assert issubclass(DataError, PlanError) and issubclass(DataDownloadError, DataError)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
         "[Errno 111] Connection refused"),
        (urllib.error.HTTPError("https://x", 404, "Not Found", {}, None), "HTTP 404 Not Found"),
        (TimeoutError(), "TimeoutError"),
        (urllib.error.URLError("name lookup\nfailed"), "name lookup failed"),
    ],
)  # fmt: skip
def test_network_reasons_are_short_single_lines(error, reason):
    assert data._network_reason(error) == reason
