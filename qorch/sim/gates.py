"""Gate matrices in Qiskit's conventions, for the statevector engine (numpy only).

A control is ``qubits[0]``, and a matrix's least significant bit is its first
qubit (Qiskit's little-endian order). Parameters are floats (radians) or
arrays of shape ``(batch,)``, giving ``(batch, d, d)`` matrices.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Sequence
from typing import Any

import numpy as np


class UnsupportedOperation(ValueError):
    """An operation the statevector engine cannot simulate; the message names it."""


def _build(entries: list[Any], shape: tuple[int, ...]) -> np.ndarray:
    """A matrix (or diagonal) from entries that are scalars or (batch,) arrays."""
    try:
        return np.array(entries, dtype=np.complex128).reshape(shape)
    except ValueError:  # (batch,) arrays among the entries
        batch = np.broadcast_shapes(*(np.shape(e) for e in entries))
        out = np.empty((*batch, len(entries)), dtype=np.complex128)
        for i, entry in enumerate(entries):
            out[..., i] = entry
        return out.reshape(*batch, *shape)


def _half(t: Any) -> tuple[Any, Any]:
    """cos(t/2), sin(t/2) of a float or array."""
    if type(t) is float:
        return math.cos(t / 2), math.sin(t / 2)
    return np.cos(t / 2), np.sin(t / 2)


def _cis(t: Any) -> Any:
    """exp(i t) of a float or array."""
    return cmath.exp(1j * t) if type(t) is float else np.exp(1j * t)


def _controlled(u: np.ndarray) -> np.ndarray:
    out = np.zeros((*u.shape[:-2], 4, 4), dtype=np.complex128)
    out[..., 0, 0] = out[..., 2, 2] = 1
    out[..., 1::2, 1::2] = u
    return out


def _rotation(t: Any, axis: str) -> np.ndarray:
    """RX or RY."""
    c, s = _half(t)
    return _build([c, -1j * s, -1j * s, c] if axis == "x" else [c, -s, s, c], (2, 2))


def _u(t: Any, phi: Any, lam: Any) -> np.ndarray:
    c, s = _half(t)
    return _build([c, -_cis(lam) * s, _cis(phi) * s, _cis(phi + lam) * c], (2, 2))


def _two_pauli(t: Any, entries: str) -> np.ndarray:
    """cos(t/2) I - i sin(t/2) P for a two-qubit Pauli P given by its nonzero row entries."""
    c, s = _half(t)
    out: list[Any] = [0] * 16
    for row, (col, sign) in enumerate(zip(entries[::2], entries[1::2], strict=True)):
        out[5 * row] = c
        out[4 * row + int(col)] = (-1j if sign == "+" else 1j) * s
    return _build(out, (4, 4))


def _diagonal(*phases: Any) -> np.ndarray:
    """A diagonal from phases (radians, or None for 1)."""
    return _build([1 if p is None else _cis(p) for p in phases], (len(phases),))


_S2 = math.sqrt(0.5)
_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
_Y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
_H = np.array([[_S2, _S2], [_S2, -_S2]], dtype=np.complex128)
_SX = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]], dtype=np.complex128) / 2
_ECR = np.array([[0, 1, 0, 1j], [1, 0, -1j, 0], [0, 1j, 0, 1], [-1j, 0, 1, 0]]) * _S2
_ISWAP = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]], dtype=np.complex128)
_I4, _I8 = np.eye(4, dtype=np.complex128), np.eye(8, dtype=np.complex128)
_PI4 = math.pi / 4

# name: (matrix or diagonal, is diagonal); shared, never modified in place
FIXED_GATES: dict[str, tuple[np.ndarray, bool]] = {
    "x": (_X, False), "y": (_Y, False), "h": (_H, False), "sx": (_SX, False),
    "sxdg": (_SX.conj().T.copy(), False), "z": (np.array([1, -1], complex), True),
    "s": (np.array([1, 1j]), True), "sdg": (np.array([1, -1j]), True),
    "t": (_diagonal(None, _PI4), True), "tdg": (_diagonal(None, -_PI4), True),
    "cx": (_controlled(_X), False), "cy": (_controlled(_Y), False),
    "ch": (_controlled(_H), False), "cz": (np.array([1, 1, 1, -1], complex), True),
    "swap": (_I4[[0, 2, 1, 3]], False), "iswap": (_ISWAP, False), "ecr": (_ECR, False),
    "ccx": (_I8[[0, 1, 2, 7, 4, 5, 6, 3]], False), "cswap": (_I8[[0, 1, 2, 5, 4, 3, 6, 7]], False),
}  # fmt: skip
# name: (number of parameters, builder, is diagonal)
PARAMETRIC_GATES: dict[str, tuple[int, Any, bool]] = {
    "rx": (1, lambda t: _rotation(t, "x"), False),
    "ry": (1, lambda t: _rotation(t, "y"), False),
    "rz": (1, lambda t: _diagonal(-t / 2, t / 2), True),
    "p": (1, lambda t: _diagonal(None, t), True),
    "u": (3, _u, False),
    "cp": (1, lambda t: _diagonal(None, None, None, t), True),
    "crx": (1, lambda t: _controlled(_rotation(t, "x")), False),
    "cry": (1, lambda t: _controlled(_rotation(t, "y")), False),
    "crz": (1, lambda t: _diagonal(None, -t / 2, None, t / 2), True),
    "rxx": (1, lambda t: _two_pauli(t, "3+2+1+0+"), False),
    "ryy": (1, lambda t: _two_pauli(t, "3-2+1+0-"), False),
    "rzz": (1, lambda t: _diagonal(-t / 2, t / 2, t / 2, -t / 2), True),
    "rzx": (1, lambda t: _two_pauli(t, "2+3-0+1-"), False),
}
for _matrix, _ in FIXED_GATES.values():
    _matrix.setflags(write=False)
NO_OPS = frozenset({"id", "barrier", "delay"})


def gate_matrix(name: str, params: Sequence[Any] = ()) -> tuple[np.ndarray, bool]:
    """The matrix of a named gate, as ``(matrix, is_diagonal)``.

    Diagonal gates give their diagonal, ``(d,)`` or ``(batch, d)``; others a ``(d, d)`` or
    ``(batch, d, d)`` matrix. ``params`` are floats (radians) or ``(batch,)`` arrays.
    Raises UnsupportedOperation for an unknown name, ValueError for a wrong parameter count.
    """
    fixed = FIXED_GATES.get(name)
    if fixed is not None:
        return fixed
    spec = PARAMETRIC_GATES.get(name)
    if spec is None:
        raise UnsupportedOperation(f"'{name}' is not supported by the statevector engine")
    if len(params) != spec[0]:
        raise ValueError(f"gate '{name}' takes {spec[0]} parameter(s), got {len(params)}")
    return spec[1](*params), spec[2]
