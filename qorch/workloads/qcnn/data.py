"""QCNN datasets: load (scikit-learn, CSV, NPZ, OpenML), select classes, split stratified.

Pure functions over arrays. The only I/O is reading the named file, scikit-learn's
bundled sets, or the OpenML cache (``$QORCH_DATA_CACHE``, else
``~/.cache/qorch/openml``), which is filled by one download with network access.
Every error is a one-line :class:`DataError` naming the file, column or class.
"""

from __future__ import annotations

import csv
import http.client
import importlib.util
import io
import math
import re
import socket
import urllib.error
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qorch.contract import settings
from qorch.contract.errors import NetworkError, PlanError
from qorch.store.fsutil import write_bytes_atomic

SKLEARN_SETS = ("digits", "breast_cancer", "wine", "iris")
SCHEMES = "sklearn:NAME, csv:PATH, npz:PATH or openml:NAME"
OPENML_RETRIES = 2  # attempts after a network error (>= 1; scikit-learn waits between them)
OPENML_RETRY_DELAY_S = 1.0
OPENML_SOCKET_TIMEOUT_S = 30.0  # per socket operation, not for the whole download
MNIST_LIKE_IMAGE = (28, 28)  # OpenML sets with 784 features (mnist_784, Fashion-MNIST, ...)


class DataError(PlanError):
    """The data a plan names cannot be loaded, or does not fit the plan."""


class DataDownloadError(DataError, NetworkError):
    """A dataset is not cached and could not be downloaded."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Samples as rows: ``X`` (n, d) float64, ``y`` (n,) labels as given (ints or strings)."""

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    image_shape: tuple[int, int] | None  # (height, width) when each row is a flattened image
    source: str


def load(source: str, base_dir: Path, label_column: str | None = None) -> Dataset:
    """Load ``source``: ``sklearn:NAME``, ``csv:PATH``, ``npz:PATH`` or ``openml:NAME``.

    Paths are relative to ``base_dir`` (the plan's folder). A CSV has a header row,
    numeric features and the labels in ``label_column``. An NPZ holds ``X`` (n, d) or
    images (n, h, w), ``y`` (n,) and optionally ``image_shape``. Raises DataError
    (DataDownloadError when an OpenML set is neither cached nor downloadable).
    """
    scheme, _, rest = source.partition(":")
    if scheme == "sklearn" and rest:
        return _load_sklearn(rest, source)
    if scheme == "csv" and rest:
        if not label_column:
            raise DataError(f"{source}: a csv: source needs label_column")
        return _load_csv(_data_path(base_dir, rest), label_column, source)
    if scheme == "npz" and rest:
        return _load_npz(_data_path(base_dir, rest), source)
    if scheme == "openml" and rest:
        return _load_openml(rest, source)
    raise DataError(f"unknown data source {source!r}; use {SCHEMES}")


def select_classes(
    dataset: Dataset, classes: Sequence[Any] | None
) -> tuple[np.ndarray, np.ndarray, list[Any]]:
    """Keep the samples of ``classes`` (all when None) and relabel them 0..C-1 in that order.

    Classes match labels by their text (``0`` matches ``"0"``). Returns
    ``(X, y_int, class_names)``. Raises DataError naming absent classes (and the
    present ones), a class listed twice, or fewer than 2 classes.
    """
    present = [_python(label) for label in np.unique(dataset.y)]
    by_text = {str(label): label for label in present}
    if classes is None:
        chosen = present
    else:
        texts = [str(c) for c in classes]
        twice = sorted({t for t in texts if texts.count(t) > 1})
        if twice:
            raise DataError(f"{dataset.source}: class listed twice: {', '.join(twice)}")
        absent = [t for t in texts if t not in by_text]
        if absent:
            raise DataError(
                f"{dataset.source}: classes not in the data: {', '.join(absent)}; "
                f"classes present: {_listing(present)}"
            )
        chosen = [by_text[t] for t in texts]
    if len(chosen) < 2:
        raise DataError(
            f"{dataset.source}: at least 2 classes are needed; selected {_listing(chosen)}"
        )
    label_text = np.array([str(label) for label in dataset.y])
    index = {str(label): i for i, label in enumerate(chosen)}
    keep = np.isin(label_text, list(index))
    y_int = np.array([index[t] for t in label_text[keep]], dtype=np.int64)
    return dataset.X[keep], y_int, chosen


def split(
    X: np.ndarray,
    y: np.ndarray,
    test_size: float,
    seed: int,
    class_names: Sequence[Any] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stratified, seeded split into ``(X_train, X_test, y_train, y_test)``.

    ``test_size`` is the test fraction in (0, 1). Raises DataError when a class has
    fewer than 2 samples or either side would be too small to hold every class.
    """
    from sklearn.model_selection import train_test_split

    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be in (0, 1), got {test_size}")
    _check_split(y, test_size, class_names)
    parts = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    X_train, X_test, y_train, y_test = (np.asarray(part) for part in parts)
    return X_train, X_test, y_train, y_test


def openml_cache_dir() -> Path:
    """Where OpenML downloads are cached: ``$QORCH_DATA_CACHE`` or ``~/.cache/qorch/openml``."""
    return settings.data_cache()


def _check_split(y: np.ndarray, test_size: float, class_names: Sequence[Any] | None) -> None:
    labels, counts = np.unique(y, return_counts=True)
    names = [class_names[int(c)] if class_names is not None else c for c in labels]
    n_test = math.ceil(test_size * len(y))
    n_train = len(y) - n_test
    where = f"too few samples to split with test_size {test_size}"
    rare = [f"{_python(n)} has {c}" for n, c in zip(names, counts, strict=True) if c < 2]
    if rare:
        raise DataError(f"{where}: every class needs at least 2 samples; class {', '.join(rare)}")
    if min(n_test, n_train) < len(labels):
        raise DataError(
            f"{where}: {len(y)} samples give {n_train} for training and {n_test} for testing, "
            f"and each side needs one sample of each of the {len(labels)} classes"
        )


def _data_path(base_dir: Path, relative: str) -> Path:
    path = base_dir / Path(relative).expanduser()
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    if not path.is_file():
        raise DataError(f"data file is not a file: {path}")
    return path


def _load_sklearn(name: str, source: str) -> Dataset:
    from sklearn import datasets

    if name not in SKLEARN_SETS:
        raise DataError(f"unknown dataset {source!r}; scikit-learn sets: {', '.join(SKLEARN_SETS)}")
    bunch = getattr(datasets, f"load_{name}")()
    names = tuple(str(n) for n in bunch.feature_names)
    image_shape = (8, 8) if name == "digits" else None
    X = np.asarray(bunch.data, dtype=np.float64)
    return Dataset(X, _label_array(np.asarray(bunch.target)), names, image_shape, source)


def _load_csv(path: Path, label_column: str, source: str) -> Dataset:
    rows = _read_csv_rows(path)
    if not rows:
        raise DataError(f"{path}: the file is empty (a header row is needed)")
    header = [name.strip() for name in rows[0][1]]
    if label_column not in header:
        raise DataError(f"{path}: no label column {label_column!r}; columns: {', '.join(header)}")
    body = rows[1:]
    if not body:
        raise DataError(f"{path}: no data rows after the header")
    for line, row in body:
        if len(row) != len(header):
            raise DataError(
                f"{path}: line {line} has {len(row)} fields; the header has {len(header)}"
            )
    label_at = header.index(label_column)
    feature_at = [i for i in range(len(header)) if i != label_at]
    if not feature_at:
        raise DataError(f"{path}: no feature columns besides the label column {label_column!r}")
    cells = [[row[i] for i in feature_at] for _, row in body]
    X = _numeric(cells, path, [header[i] for i in feature_at], [line for line, _ in body])
    labels = [row[label_at].strip() for _, row in body]
    for (line, _), label in zip(body, labels, strict=True):
        if not label:
            raise DataError(f"{path}: empty label in column {label_column!r} on line {line}")
    names = tuple(header[i] for i in feature_at)
    return Dataset(X, _label_array(np.array(labels)), names, None, source)


def _read_csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read {path}: {_one_line(error)}") from None
    reader = csv.reader(io.StringIO(text))
    try:
        return [(reader.line_num, row) for row in reader if row and any(c.strip() for c in row)]
    except csv.Error as error:
        raise DataError(f"{path}: line {reader.line_num}: {_one_line(error)}") from None


def _numeric(cells: list[list[str]], path: Path, names: list[str], lines: list[int]) -> np.ndarray:
    """The cells as float64; else a DataError naming the first cell that is not a finite number."""
    try:
        X = np.array(cells, dtype=np.float64)
        if np.all(np.isfinite(X)):
            return X
    except ValueError:
        pass
    for r, row in enumerate(cells):
        for j, cell in enumerate(row):
            try:
                ok = math.isfinite(float(cell))
            except ValueError:
                ok = False
            if not ok:
                raise DataError(
                    f"{path}: column {names[j]!r} is not numeric: {cell!r} on line {lines[r]}"
                )
    return np.array([[float(cell) for cell in row] for row in cells])  # numpy was stricter


def _load_npz(path: Path, source: str, *, origin: str | None = None) -> Dataset:
    where = origin or str(path)
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds one array, not arrays named X and y (use numpy.savez)")
        with archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError, EOFError) as error:
        raise DataError(f"{where}: not a readable .npz file: {_one_line(error)}") from None
    for key in ("X", "y"):
        if key not in arrays:
            raise DataError(f"{where}: no array {key!r}; arrays: {', '.join(sorted(arrays))}")
    X, y = arrays["X"], arrays["y"]
    image_shape = _image_shape(arrays.get("image_shape"), X, where)
    X = X.reshape(len(X), -1) if X.ndim == 3 else X
    if X.ndim != 2 or y.ndim != 1 or len(y) != len(X):
        raise DataError(
            f"{where}: X must be (n, d) or (n, h, w) and y (n,); got {X.shape}, {y.shape}"
        )
    if X.dtype.kind not in "biuf":
        raise DataError(f"{where}: array 'X' is not numeric (dtype {X.dtype})")
    bad = np.argwhere(~np.isfinite(X.astype(np.float64)))
    if len(bad):
        row, col = (int(i) for i in bad[0])
        raise DataError(f"{where}: array 'X' has {X[row, col]} at row {row}, column {col}")
    if y.dtype.kind not in "biufU":
        raise DataError(f"{where}: array 'y' must hold numbers or strings (dtype {y.dtype})")
    if "feature_names" in arrays:
        names = tuple(str(n) for n in arrays["feature_names"])
    else:
        names = tuple(f"x{i}" for i in range(X.shape[1]))
    return Dataset(X.astype(np.float64), _label_array(y), names, image_shape, source)


def _image_shape(given: np.ndarray | None, X: np.ndarray, where: str) -> tuple[int, int] | None:
    if given is None:
        return (int(X.shape[1]), int(X.shape[2])) if X.ndim == 3 else None
    shape = tuple(int(v) for v in np.ravel(given))
    features = int(np.prod(X.shape[1:])) if X.ndim > 1 else 0
    if len(shape) != 2 or min(shape) < 1 or shape[0] * shape[1] != features:
        raise DataError(
            f"{where}: image_shape {shape} does not match {features} features per sample"
        )
    return (shape[0], shape[1])


def _label_array(labels: np.ndarray) -> np.ndarray:
    """Integer-valued labels as int64 (``"3"`` and ``3.0`` become 3); others as strings."""
    if labels.dtype.kind in "biu":
        return labels.astype(np.int64)
    if labels.dtype.kind == "f":
        if np.all(np.isfinite(labels)) and np.array_equal(labels, np.round(labels)):
            return labels.astype(np.int64)
        return labels.astype(str)
    text = np.char.strip(labels.astype(str))
    if all(re.fullmatch(r"[+-]?\d+", t) for t in text):
        return text.astype(np.int64)
    return text


def _load_openml(name: str, source: str) -> Dataset:
    home = openml_cache_dir()
    cached = home / "qorch" / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}.npz"
    if cached.is_file():
        return _load_npz(cached, source, origin=f"{source} (cache {cached})")
    X, y, names = _fetch_openml(name, home)
    image_shape = MNIST_LIKE_IMAGE if X.shape[1] == 784 else None
    arrays: dict[str, Any] = {"X": _compact(X), "y": y, "feature_names": np.array(names, dtype=str)}
    if image_shape:
        arrays["image_shape"] = np.array(image_shape)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_bytes_atomic(cached, buffer.getvalue())
    return Dataset(X, y, names, image_shape, source)


def _fetch_openml(name: str, home: Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    from sklearn.datasets import fetch_openml
    from sklearn.datasets._openml import OpenMLError  # stable since scikit-learn 0.20

    parser = "pandas" if importlib.util.find_spec("pandas") else "liac-arff"
    try:
        with _socket_timeout(OPENML_SOCKET_TIMEOUT_S), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # retry notices, "multiple versions" notices
            bunch = fetch_openml(
                name, as_frame=False, parser=parser, data_home=str(home),
                n_retries=OPENML_RETRIES, delay=OPENML_RETRY_DELAY_S,
            )  # fmt: skip
    except (OSError, http.client.HTTPException) as error:
        raise DataDownloadError(
            f"cannot download openml:{name}: {_network_reason(error)}; "
            f"it is cached (in {home}) after one download with network access"
        ) from None
    except OpenMLError as error:  # no such dataset (or version)
        raise DataError(f"openml:{name}: {_one_line(error)}") from None
    data, target = bunch.data, bunch.target
    if hasattr(data, "toarray"):
        data = data.toarray()
    if target is None or np.ndim(target) != 1:
        raise DataError(f"openml:{name}: the dataset has no single default target column")
    X = np.asarray(data, dtype=np.float64)
    return X, _label_array(np.asarray(target)), tuple(str(n) for n in bunch.feature_names)


def _network_reason(error: BaseException) -> str:
    """``HTTP 404 Not Found`` or the socket error, without urllib's ``<urlopen error ...>``."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    cause = error.reason if isinstance(error, urllib.error.URLError) else error
    return _one_line(cause) or type(cause).__name__


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    """scikit-learn's downloader opens URLs without a timeout: bound each socket operation."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _compact(X: np.ndarray) -> np.ndarray:
    """The smallest dtype that holds ``X`` exactly (MNIST pixels fit in uint8)."""
    if X.size and X.min() >= 0 and X.max() <= 255 and np.array_equal(X, np.round(X)):
        return X.astype(np.uint8)
    narrow = X.astype(np.float32)
    return narrow if np.array_equal(narrow, X) else X


def _python(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _listing(values: Sequence[Any], limit: int = 20) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown if len(values) <= limit else f"{shown}, ... ({len(values)} in all)"


def _one_line(error: BaseException | str) -> str:
    return " ".join(str(error).split())
