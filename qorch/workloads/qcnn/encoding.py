"""Data encodings: classical features -> initial states, computed directly or as gates.

Names (github.com/takh04/QCNN ``QCNN/embedding.py``, ``data_embedding``; PennyLane's wire 0
is the most significant bit of an amplitude index, so amplitude indices are bit-reversed into
Qiskit's order):

- ``amplitude``: ``2**n`` features, normalised amplitudes (``AmplitudeEmbedding``).
- ``angle``: ``n`` features, ``RY(x_i)`` on qubit ``i`` (``AngleEmbedding``, rotation Y).
- ``compact-angle``: ``2n`` features, ``RX(x_i)`` then ``RY(x_{n+i})`` on qubit ``i``.
- ``hde[-k]``: hybrid direct encoding, contiguous blocks of ``k`` qubits (default 4; a last
  smaller block takes the rest), each ``2**k`` normalised amplitudes (``Amplitude-Hybrid4-1``:
  32 features on 8 qubits; ``hde-2``: ``Amplitude-Hybrid2-1``, 16 features).
- ``hae[-k]``: hybrid angle encoding, blocks of ``k`` qubits with ``2**k - 1`` angles each
  (``QCNN/Angular_hybrid.py``: ``Angular_Hybrid_4``, 30 features on 8 qubits; ``hae-2``:
  ``Angular_Hybrid_2``, 12 features): RY on the first wire, a direct multiplexed RY
  (X, CRY, X, CRY) on the second, Gray-code RY/CNOT multiplexors on the others.
- ``iqp[-r]``: ``n`` features; ``r`` (default 2) times: H on all, ``RZ(x_i)``, then
  ``RZZ(x_i x_j)`` on every pair ``i < j`` (a ZZ feature map).

Amplitude and HDE circuits are the HAE multiplexor tree with angles computed from the data
(real amplitudes need RY only), so a circuit template takes :func:`input_values` as inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

__all__ = [
    "ENCODING_NAMES",
    "EncodingSpec",
    "append_encoding",
    "block_sizes",
    "encode_states",
    "infer_num_qubits",
    "input_size",
    "input_values",
    "parse_encoding",
    "required_features",
]

ENCODING_NAMES = ("amplitude", "angle", "compact-angle", "hde", "hae", "iqp")
_DEFAULT_OPTION = {"hde": 4, "hae": 4, "iqp": 2}


@dataclass(frozen=True)
class EncodingSpec:
    """A parsed encoding name: ``kind`` and its ``option`` (block size or IQP reps; 0: none)."""

    kind: str
    option: int = 0


def parse_encoding(name: str) -> EncodingSpec:
    """``"hae-2"`` -> ``EncodingSpec("hae", 2)``; raises ValueError for an unknown name."""
    kind, _, option = name.partition("-") if name[:3] in _DEFAULT_OPTION else (name, "", "")
    if kind not in ENCODING_NAMES:
        raise ValueError(f"unknown encoding {name!r}; choose one of {', '.join(ENCODING_NAMES)}")
    if not option:
        return EncodingSpec(kind, _DEFAULT_OPTION.get(kind, 0))
    if not option.isdigit() or int(option) < 1:
        raise ValueError(f"encoding {name!r}: the suffix must be a positive integer")
    return EncodingSpec(kind, int(option))


def block_sizes(encoding: str, num_qubits: int) -> tuple[int, ...]:
    """Qubits per block, in qubit order (one block for amplitude, one per qubit otherwise)."""
    spec = parse_encoding(encoding)
    if spec.kind == "amplitude":
        return (num_qubits,)
    if spec.kind in ("hde", "hae"):
        k = spec.option
        return (k,) * (num_qubits // k) + ((num_qubits % k,) if num_qubits % k else ())
    return (1,) * num_qubits


def required_features(encoding: str, num_qubits: int) -> int:
    """How many classical features ``encoding`` takes on ``num_qubits`` qubits."""
    spec = parse_encoding(encoding)
    sizes = block_sizes(encoding, num_qubits)
    if spec.kind in ("amplitude", "hde"):
        return sum(1 << k for k in sizes)
    if spec.kind == "hae":
        return sum((1 << k) - 1 for k in sizes)
    return 2 * num_qubits if spec.kind == "compact-angle" else num_qubits


def input_size(encoding: str, num_qubits: int) -> int:
    """How many circuit inputs (:func:`input_values`) the encoding's gates take."""
    if parse_encoding(encoding).kind in ("amplitude", "hde"):
        return sum((1 << k) - 1 for k in block_sizes(encoding, num_qubits))
    return required_features(encoding, num_qubits)


def infer_num_qubits(encoding: str, num_features: int) -> int:
    """The qubit count whose encoding takes ``num_features``; raises ValueError if none."""
    for n in range(1, 31):
        if required_features(encoding, n) == num_features:
            return n
    raise ValueError(f"no qubit count takes {num_features} features with encoding {encoding!r}")


def _features(encoding: str, X: Any, num_qubits: int | None) -> tuple[np.ndarray, int]:
    array = np.asarray(X, dtype=np.float64)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"features must be (batch, features), got shape {array.shape}")
    n = infer_num_qubits(encoding, array.shape[1]) if num_qubits is None else num_qubits
    need = required_features(encoding, n)
    if array.shape[1] != need:
        raise ValueError(f"{encoding} on {n} qubits takes {need} features, got {array.shape[1]}")
    if not np.all(np.isfinite(array)):
        raise ValueError("features must be finite")
    return array, n


# --- the multiplexor tree (HAE; amplitude and HDE angles) ------------------------------


@cache
def _controls(level: int) -> tuple[int, ...]:
    """Control wire (index within the block) after each RY of a Gray-code level >= 2."""
    count = 1 << level
    # the Gray code flips bit t = trailing zeros of i + 1, which is wire level - 1 - t
    seq = [level - ((i + 1) & -(i + 1)).bit_length() for i in range(count - 1)]
    return (*seq, 0)


@cache
def _signs(level: int) -> np.ndarray:
    """``S[c, i]``: sign of Gray-code angle ``i`` in the rotation seen under prefix ``c``."""
    count = 1 << level
    prefix = np.arange(count)
    bits = [(prefix >> (level - 1 - m)) & 1 for m in range(level)]  # wire m's bit, w0 MSB
    parity, out = np.zeros(count, dtype=np.int64), np.empty((count, count))
    for i, m in enumerate(_controls(level)):
        out[:, i] = 1 - 2 * (parity & 1)
        parity = parity + bits[m]
    return out  # S^T S = 2**level I: the sign patterns are orthogonal


def _level_angles(angles: np.ndarray, k: int) -> list[np.ndarray]:
    """Split ``(batch, 2**k - 1)`` tree inputs into per-level multiplexor angles."""
    out, start = [], 0
    for j in range(k):
        chunk = angles[:, start : start + (1 << j)]
        out.append(chunk @ _signs(j).T if j >= 2 else chunk)
        start += 1 << j
    return out


def _tree_state(levels: list[np.ndarray]) -> np.ndarray:
    """Block amplitudes (first wire most significant) from per-level multiplexor angles."""
    state = np.ones((levels[0].shape[0], 1))
    for alpha in levels:
        half = alpha / 2
        state = state[:, :, None] * np.stack([np.cos(half), np.sin(half)], axis=-1)
        state = state.reshape(state.shape[0], -1)
    return state


def _tree_inputs(vectors: np.ndarray) -> np.ndarray:
    """Tree inputs (HAE order, Gray-code angles) preparing real ``(batch, 2**k)`` vectors."""
    batch, size = vectors.shape
    k = size.bit_length() - 1
    inputs = []
    for j in range(k):
        parts = vectors.reshape(batch, 1 << j, 2, -1)
        if j < k - 1:
            left, right = (
                np.linalg.norm(parts[:, :, 0], axis=-1),
                np.linalg.norm(parts[:, :, 1], axis=-1),
            )
        else:
            left, right = parts[:, :, 0, 0], parts[:, :, 1, 0]
        alpha = 2 * np.arctan2(right, left)
        inputs.append(alpha @ _signs(j) / (1 << j) if j >= 2 else alpha)  # S^-1 = S^T / 2^j
    return np.concatenate(inputs, axis=1)


def _append_tree(circuit: Any, wires: list[Any], angles: Any) -> None:
    """RY on ``wires[0]``, direct multiplexed RY on ``wires[1]``, Gray-code ones after."""
    circuit.ry(angles[0], wires[0])
    if len(wires) > 1:
        circuit.x(wires[0])
        circuit.cry(angles[1], wires[0], wires[1])
        circuit.x(wires[0])
        circuit.cry(angles[2], wires[0], wires[1])
    start = 3
    for j in range(2, len(wires)):
        for i, m in enumerate(_controls(j)):
            circuit.ry(angles[start + i], wires[j])
            circuit.cx(wires[m], wires[j])
        start += 1 << j


# --- states ----------------------------------------------------------------------------


def _little_endian(block: np.ndarray) -> np.ndarray:
    """Reorder block amplitudes from first-wire-most-significant to Qiskit order."""
    k = block.shape[1].bit_length() - 1
    index = np.arange(1 << k)
    reverse = sum(((index >> m) & 1) << (k - 1 - m) for m in range(k))
    return block[:, reverse]


def _kron(blocks: list[np.ndarray]) -> np.ndarray:
    """Tensor product of Qiskit-ordered block states, the first block on the lowest qubits."""
    state = blocks[0].astype(np.complex128)
    for block in blocks[1:]:
        state = (block[:, :, None] * state[:, None, :]).reshape(state.shape[0], -1)
    return state


def _normalised(chunk: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(chunk, axis=1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("amplitude encoding of an all-zero feature block")
    return chunk / norm


def _blocks_of(kind: str, X: np.ndarray, sizes: tuple[int, ...]) -> list[np.ndarray]:
    """Per-block amplitudes (first wire most significant) for amplitude, HDE and HAE."""
    out, start = [], 0
    for k in sizes:
        width = (1 << k) - (kind == "hae")
        chunk = X[:, start : start + width]
        out.append(_tree_state(_level_angles(chunk, k)) if kind == "hae" else _normalised(chunk))
        start += width
    return out


def _rotation_states(kind: str, X: np.ndarray, n: int) -> np.ndarray:
    """``(batch, n, 2)`` single-qubit states for the angle encodings."""
    half = X[:, :n] / 2
    if kind == "angle":
        return np.stack([np.cos(half), np.sin(half)], axis=-1).astype(np.complex128)
    ry = X[:, n:] / 2  # RY(b) RX(a) |0> = (c_b c_a + i s_b s_a, s_b c_a - i c_b s_a)
    ca, sa, cb, sb = np.cos(half), np.sin(half), np.cos(ry), np.sin(ry)
    return np.stack([cb * ca + 1j * sb * sa, sb * ca - 1j * cb * sa], axis=-1)


def _iqp_state(X: np.ndarray, n: int, reps: int) -> np.ndarray:
    index = np.arange(1 << n)
    z = 1.0 - 2.0 * ((index[None, :] >> np.arange(n)[:, None]) & 1)  # (n, 2**n)
    s = X @ z
    phase = np.exp(-0.5j * (s + (s * s - np.sum(X * X, axis=1, keepdims=True)) / 2))
    state = np.zeros((X.shape[0], 1 << n), dtype=np.complex128)
    state[:, 0] = 1
    for _ in range(reps):
        for q in range(n):  # Hadamard on qubit q
            view = state.reshape(X.shape[0], -1, 2, 1 << q)
            a, b = view[:, :, 0].copy(), view[:, :, 1]
            view[:, :, 0] += b
            view[:, :, 1] = a - b
        state *= phase * (2 ** (-n / 2))
    return state


def encode_states(encoding: str, X: Any, num_qubits: int | None = None) -> np.ndarray:
    """Initial states ``(batch, 2**n)`` (complex, Qiskit order) for features ``(batch, f)``.

    ``num_qubits`` defaults to the count that takes ``f`` features. Angles are in radians.
    Raises ValueError for a wrong feature count, non-finite features or an all-zero
    amplitude block.
    """
    spec = parse_encoding(encoding)
    X, n = _features(encoding, X, num_qubits)
    if spec.kind == "iqp":
        return _iqp_state(X, n, spec.option)
    if spec.kind in ("angle", "compact-angle"):
        qubits = _rotation_states(spec.kind, X, n)
        return _kron([qubits[:, q] for q in range(n)])
    blocks = _blocks_of(spec.kind, X, block_sizes(encoding, n))
    return _kron([_little_endian(b) for b in blocks])


def input_values(encoding: str, X: Any, num_qubits: int | None = None) -> np.ndarray:
    """The values ``(batch, input_size)`` to bind to a template's input parameters.

    The features themselves, except for amplitude and HDE: the multiplexor-tree angles
    (radians) that prepare the normalised amplitudes. Raises as :func:`encode_states`.
    """
    spec = parse_encoding(encoding)
    X, n = _features(encoding, X, num_qubits)
    if spec.kind not in ("amplitude", "hde"):
        return X
    blocks = _blocks_of(spec.kind, X, block_sizes(encoding, n))
    return np.concatenate([_tree_inputs(b) for b in blocks], axis=1)


def append_encoding(circuit: Any, encoding: str, x: Any, qubits: Any = None) -> None:
    """Append gates preparing the encoding of one sample to ``circuit`` (from ``|0…0>``).

    ``x``: the sample's features (floats), or a ``ParameterVector``/sequence of
    ``Parameter``s of length :func:`input_size` taking :func:`input_values`.
    ``qubits``: the ``n`` qubits to encode on (default: all of the circuit's). The state
    equals :func:`encode_states` up to a global phase. Raises ValueError for a wrong length.
    """
    spec = parse_encoding(encoding)
    wires = list(circuit.qubits if qubits is None else qubits)
    n = len(wires)
    try:
        features = np.asarray(x, dtype=np.float64)
    except TypeError:
        values, need = list(x), input_size(encoding, n)
        if len(values) != need:
            raise ValueError(
                f"{encoding} on {n} qubits takes {need} inputs, not {len(values)}"
            ) from None
    else:
        values = input_values(encoding, features.reshape(1, -1), n)[0].tolist()
    if spec.kind == "angle":
        for q in range(n):
            circuit.ry(values[q], wires[q])
    elif spec.kind == "compact-angle":
        for q in range(n):
            circuit.rx(values[q], wires[q])
            circuit.ry(values[n + q], wires[q])
    elif spec.kind == "iqp":
        _append_iqp(circuit, wires, values, spec.option)
    else:
        start, first = 0, 0
        for k in block_sizes(encoding, n):
            width = (1 << k) - 1
            _append_tree(circuit, wires[first : first + k], values[start : start + width])
            start, first = start + width, first + k


def _append_iqp(circuit: Any, wires: list[Any], values: list[Any], reps: int) -> None:
    n = len(wires)
    for _ in range(reps):
        circuit.h(wires)
        for q in range(n):
            circuit.rz(values[q], wires[q])
        for i in range(n):
            for j in range(i + 1, n):
                circuit.rzz(values[i] * values[j], wires[i], wires[j])
