"""Two-qubit QCNN blocks: the nine convolution ansätze, ``su4-exp`` and the pooling blocks.

A block is a pure function ``params -> 4x4 unitary`` on an ordered qubit pair ``(a, b)``, in
Qiskit's little-endian order (``a`` is the least significant bit of the 4x4 index), with all
derivatives ``dU/dθ_j`` and a way to append the same gates to a Qiskit circuit.

Definitions follow Hur, Kim & Park (QMI 4, 3, 2022), github.com/takh04/QCNN
``Final_QCNN/unitary.py``: ``U_TTN``, ``U_5``, ``U_6``, ``U_9``, ``U_13``, ``U_14``, ``U_15``,
``U_SO4``, ``U_SU4`` (conv) and ``Pooling_ansatz1`` (pool). PennyLane's ``wires=[w0, w1]`` maps
to our ``(a, b) = (w0, w1)``. ``qml.U3(θ, φ, λ)`` is written ``RZ(φ)·RY(θ)·RZ(λ)`` (equal up to
a global phase), never as Qiskit's ``u``, so exported circuits bind parameters fast.

Every gate of a program is ``exp(-iθH)`` with ``H`` a Pauli/2 (or a controlled one), so
``G(θ) = (I - K) + cos(θ/2) K - 2i sin(θ/2) H`` with ``K = 4H²`` (the support projector), and
``dG/dθ = -iH G``; fixed gates are absorbed into the neighbouring rotation. ``dU/dθ_j`` comes
from prefix products ``P_g`` of the gate matrices and the suffixes ``U P_g†``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from qorch.sim.gates import gate_matrix

__all__ = [
    "ANSATZ_NAMES",
    "POOLING_NAMES",
    "Block",
    "ExpBlock",
    "GateBlock",
    "ansatz",
    "pooling",
]

Op = tuple[str, tuple[int, ...], int | None]  # (gate, local wires, parameter index or None)

_I2 = np.eye(2, dtype=np.complex128)
_PAULI = {
    "i": _I2,
    "x": np.array([[0, 1], [1, 0]], dtype=np.complex128),
    "y": np.array([[0, -1j], [1j, 0]], dtype=np.complex128),
    "z": np.array([[1, 0], [0, -1]], dtype=np.complex128),
}
_P1 = np.diag([0, 1]).astype(np.complex128)  # |1><1|
_SWAP = np.eye(4, dtype=np.complex128)[[0, 2, 1, 3]]
ROTATIONS = {"rx": "x", "ry": "y", "rz": "z", "crx": "x", "cry": "y", "crz": "z"}
FIXED = ("cx", "cz", "h", "x")


def _on_pair(one: np.ndarray, wire: int) -> np.ndarray:
    """A one-qubit matrix on local wire 0 (least significant) or 1, as a 4x4 matrix."""
    return np.kron(_I2, one) if wire == 0 else np.kron(one, _I2)


def _generator(name: str, wires: tuple[int, ...]) -> np.ndarray:
    """``H`` with ``gate(θ) = exp(-iθH)``, as a 4x4 matrix on the local pair."""
    half = _PAULI[ROTATIONS[name]] / 2
    if name.startswith("c"):
        return np.kron(half, _P1) if wires[0] == 0 else np.kron(_P1, half)  # control = wires[0]
    return _on_pair(half, wires[0])


def _fixed(name: str, wires: tuple[int, ...]) -> np.ndarray:
    """A parameter-free gate as a 4x4 matrix on the local pair."""
    matrix = gate_matrix(name)[0]
    if name == "cz":
        return np.diag(matrix)
    if len(wires) == 1:
        return _on_pair(matrix, wires[0])
    return matrix if wires == (0, 1) else _SWAP @ matrix @ _SWAP


class Block(ABC):
    """A two-qubit block: ``n_params`` angles (radians) -> a 4x4 unitary on ``(a, b)``."""

    name: str
    n_params: int
    shift_rules: tuple[str | None, ...]  # per parameter: "two-term", "four-term" or None

    def unitaries(self, params: np.ndarray) -> np.ndarray:
        """``(..., n_params)`` angles -> ``(..., 4, 4)`` unitaries."""
        return self.derivatives(params)[0]

    @abstractmethod
    def derivatives(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(..., n_params)`` angles -> unitaries ``(..., 4, 4)``, ``dU/dθ (..., k, 4, 4)``."""

    @abstractmethod
    def append(self, circuit: Any, qubits: Sequence[Any], angles: Sequence[Any], **_: Any) -> None:
        """Append the block's gates to ``circuit`` on ``qubits = (a, b)``.

        ``angles``: floats (radians) or Qiskit ``Parameter``/``ParameterExpression``s.
        """


@dataclass(frozen=True)
class GateBlock(Block):
    """A block given as a gate program: ``(gate, local wires, parameter index or None)``."""

    name: str
    program: tuple[Op, ...]
    n_params: int = field(init=False)
    shift_rules: tuple[str | None, ...] = field(init=False)
    _tables: tuple[np.ndarray, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        count = 1 + max((p for _, _, p in self.program if p is not None), default=-1)
        rules: list[str | None] = [None] * count
        base, proj, sgen, dgen, owner = [], [], [], [], []
        pending = np.eye(4, dtype=np.complex128)  # fixed gates since the last rotation
        for gate, wires, p in self.program:
            if gate not in ROTATIONS:
                pending = _fixed(gate, wires) @ pending
                continue
            if p is None:
                raise ValueError(f"{self.name}: rotation {gate} without a parameter")
            h = _generator(gate, wires)  # fixed gates before it are absorbed on the right
            k = 4 * h @ h
            base.append((np.eye(4) - k) @ pending)
            proj.append(k @ pending)
            sgen.append(-2j * h @ pending)
            dgen.append(-1j * h)
            owner.append(p)
            rules[p] = "four-term" if gate.startswith("c") else "two-term"
            pending = np.eye(4, dtype=np.complex128)
        if sorted(owner) != list(range(count)):
            raise ValueError(f"{self.name}: each parameter must drive exactly one rotation")
        # fixed gates after the last rotation: F G = F base + c F proj + s F sgen, and
        # d(F G) = (F (-iH) F†)(F G)
        for table in (base, proj, sgen):
            table[-1] = pending @ table[-1]
        dgen[-1] = pending @ dgen[-1] @ pending.conj().T
        order = np.argsort(owner)  # gate index of parameter j
        tables = (np.array(base), np.array(proj), np.array(sgen), np.array(dgen), order)
        object.__setattr__(self, "n_params", count)
        object.__setattr__(self, "shift_rules", tuple(rules))
        object.__setattr__(self, "_tables", tables)

    def _gates(self, params: np.ndarray) -> np.ndarray:
        """``(..., n_params, 4, 4)``: each rotation (with absorbed fixed gates), in time order."""
        base, proj, sgen, _, order = self._tables
        theta = np.empty(params.shape)
        theta[..., order] = params
        c, s = np.cos(theta / 2)[..., None, None], np.sin(theta / 2)[..., None, None]
        return base + c * proj + s * sgen

    def unitaries(self, params: np.ndarray) -> np.ndarray:
        gates = self._gates(_check(params, self.n_params, self.name))
        out = gates[..., 0, :, :]
        for i in range(1, gates.shape[-3]):
            out = gates[..., i, :, :] @ out
        return out

    def derivatives(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        params = _check(params, self.n_params, self.name)
        gates = self._gates(params)
        prefix = np.empty_like(gates)  # prefix[i] = G_i ... G_0
        prefix[..., 0, :, :] = gates[..., 0, :, :]
        for i in range(1, gates.shape[-3]):
            np.matmul(gates[..., i, :, :], prefix[..., i - 1, :, :], out=prefix[..., i, :, :])
        unitary = prefix[..., -1, :, :]
        before = prefix[..., self._tables[4], :, :]  # G_g ... G_0, g the gate of parameter j
        # dU/dθ = (G_{n-1} ... G_{g+1}) (-iH_g) (G_g ... G_0), the suffix being U (prefix_g)†
        grads = unitary[..., None, :, :] @ np.conj(np.swapaxes(before, -1, -2))
        return unitary, grads @ self._tables[3][self._tables[4]] @ before

    def append(self, circuit: Any, qubits: Sequence[Any], angles: Sequence[Any], **_: Any) -> None:
        if len(angles) != self.n_params:
            raise ValueError(f"{self.name} takes {self.n_params} angles, got {len(angles)}")
        for gate, wires, p in self.program:
            targets = [qubits[w] for w in wires]
            args = [] if p is None else [angles[p]]
            getattr(circuit, gate)(*args, *targets)


@dataclass(frozen=True)
class MeasuredPool(GateBlock):
    """Pooling by mid-circuit measurement: measure ``a``; RZ(θ₀) on ``b`` if 1, else RX(θ₁).

    As a unitary (deferred measurement): CRZ(θ₀) a→b, X a, CRX(θ₁) a→b, X a. Its read-out
    distribution equals the reference pooling's (the dropped control is never read out).
    """

    def append(self, circuit: Any, qubits: Sequence[Any], angles: Sequence[Any], **kw: Any) -> None:
        """With ``clbit=`` (a classical bit of ``circuit``): the dynamic circuit
        (``measure`` + ``if_test``); without it, the deferred-measurement gates."""
        clbit = kw.get("clbit")
        if clbit is None:
            super().append(circuit, qubits, angles)
            return
        control, target = qubits
        circuit.measure(control, clbit)
        with circuit.if_test((clbit, 1)) as orelse:
            circuit.rz(angles[0], target)
        with orelse:
            circuit.rx(angles[1], target)


def _check(params: Any, count: int, name: str) -> np.ndarray:
    array = np.asarray(params, dtype=np.float64)
    if array.ndim == 0 or array.shape[-1] != count:
        raise ValueError(f"{name} takes {count} parameters, got shape {array.shape}")
    return array


_PAULI_LABELS = [(a, b) for a in "ixyz" for b in "ixyz"][1:]  # 15; the first on wire 1
_PAULI_MATRICES = np.array([np.kron(_PAULI[a], _PAULI[b]) for a, b in _PAULI_LABELS])


@dataclass(frozen=True)
class ExpBlock(Block):
    """``su4-exp``: ``U = exp(i Σ_j θ_j P_j)`` over the 15 non-identity two-qubit Paulis.

    ``P_j`` runs over ``IX, IY, IZ, XI, ..., ZZ`` (left letter on ``b``). Derivatives are exact:
    with ``A = Σ θ_j P_j = V diag(w) V†``, ``dU/dθ_j = V [(V† iP_j V) ∘ Φ] V†``,
    ``Φ_ab = exp(i(w_a+w_b)/2) sinc((w_a-w_b)/2)`` (the Fréchet derivative of exp).
    Exported with float angles only (a KAK decomposition into RZ, RY and CX).
    """

    name: str = "su4-exp"
    n_params: int = 15
    shift_rules: tuple[str | None, ...] = (None,) * 15

    def _eigen(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        hermitian = np.einsum("...j,jab->...ab", _check(params, 15, self.name), _PAULI_MATRICES)
        w, v = np.linalg.eigh(hermitian)
        return w, v, (v * np.exp(1j * w)[..., None, :]) @ v.conj().swapaxes(-1, -2)

    def unitaries(self, params: np.ndarray) -> np.ndarray:
        return self._eigen(params)[2]

    def derivatives(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        w, v, unitary = self._eigen(params)
        diff = (w[..., :, None] - w[..., None, :]) / 2
        phi = np.exp(1j * (w[..., :, None] + w[..., None, :]) / 2) * np.sinc(diff / np.pi)
        vh = v.conj().swapaxes(-1, -2)[..., None, :, :]
        inner = vh @ (1j * _PAULI_MATRICES) @ v[..., None, :, :]
        grads = v[..., None, :, :] @ (inner * phi[..., None, :, :]) @ vh
        return unitary, grads

    def append(self, circuit: Any, qubits: Sequence[Any], angles: Sequence[Any], **_: Any) -> None:
        from qiskit.circuit.library import CXGate
        from qiskit.synthesis import TwoQubitBasisDecomposer

        try:
            values = np.array([float(a) for a in angles])
        except TypeError:
            raise ValueError("su4-exp exports with float angles only (bind them first)") from None
        decomposer = TwoQubitBasisDecomposer(CXGate(), euler_basis="ZYZ")
        sub = decomposer(self.unitaries(values))
        circuit.compose(sub, qubits=list(qubits), inplace=True)


def _u3(wire: int, first: int) -> list[Op]:
    """qml.U3(θ, φ, λ) with θ, φ, λ = params[first:first+3]: RZ(λ), RY(θ), RZ(φ) in time."""
    return [("rz", (wire,), first + 2), ("ry", (wire,), first), ("rz", (wire,), first + 1)]


def _sim56(controlled: str) -> tuple[Op, ...]:
    return (
        ("rx", (0,), 0), ("rx", (1,), 1), ("rz", (0,), 2), ("rz", (1,), 3),
        (controlled, (1, 0), 4), (controlled, (0, 1), 5),
        ("rx", (0,), 6), ("rx", (1,), 7), ("rz", (0,), 8), ("rz", (1,), 9),
    )  # fmt: skip


def _sim1314(controlled: str) -> tuple[Op, ...]:
    return (
        ("ry", (0,), 0), ("ry", (1,), 1), (controlled, (1, 0), 2),
        ("ry", (0,), 3), ("ry", (1,), 4), (controlled, (0, 1), 5),
    )  # fmt: skip


_PROGRAMS: dict[str, tuple[Op, ...]] = {
    "ttn": (("ry", (0,), 0), ("ry", (1,), 1), ("cx", (0, 1), None)),
    "sim5": _sim56("crz"),
    "sim6": _sim56("crx"),
    "sim9": (("h", (0,), None), ("h", (1,), None), ("cz", (0, 1), None),
             ("rx", (0,), 0), ("rx", (1,), 1)),
    "sim13": _sim1314("crz"),
    "sim14": _sim1314("crx"),
    "sim15": (("ry", (0,), 0), ("ry", (1,), 1), ("cx", (1, 0), None),
              ("ry", (0,), 2), ("ry", (1,), 3), ("cx", (0, 1), None)),
    "so4": (("ry", (0,), 0), ("ry", (1,), 1), ("cx", (0, 1), None),
            ("ry", (0,), 2), ("ry", (1,), 3), ("cx", (0, 1), None),
            ("ry", (0,), 4), ("ry", (1,), 5)),
    "su4": (*_u3(0, 0), *_u3(1, 3), ("cx", (0, 1), None),
            ("ry", (0,), 6), ("rz", (1,), 7), ("cx", (1, 0), None),
            ("ry", (0,), 8), ("cx", (0, 1), None), *_u3(0, 9), *_u3(1, 12)),
}  # fmt: skip
_REFERENCE_POOL: tuple[Op, ...] = (("crz", (0, 1), 0), ("x", (0,), None), ("crx", (0, 1), 1))
_MEASURED_POOL: tuple[Op, ...] = (*_REFERENCE_POOL, ("x", (0,), None))

_ANSATZE: dict[str, Block] = {name: GateBlock(name, prog) for name, prog in _PROGRAMS.items()}
_ANSATZE["su4-exp"] = ExpBlock()
_POOLINGS: dict[str, Block] = {
    "reference": GateBlock("reference", _REFERENCE_POOL),
    "measured": MeasuredPool("measured", _MEASURED_POOL),
}
ANSATZ_NAMES = tuple(_ANSATZE)
POOLING_NAMES = tuple(_POOLINGS)


def ansatz(name: str) -> Block:
    """The convolution block called ``name`` (one of :data:`ANSATZ_NAMES`); raises ValueError."""
    if name not in _ANSATZE:
        raise ValueError(f"unknown ansatz {name!r}; choose one of {', '.join(ANSATZ_NAMES)}")
    return _ANSATZE[name]


def pooling(name: str) -> Block:
    """The pooling block called ``name`` (``reference`` or ``measured``); raises ValueError.

    Its pair is ``(control, target)``: the control is dropped after the block.
    """
    if name not in _POOLINGS:
        raise ValueError(f"unknown pooling {name!r}; choose one of {', '.join(POOLING_NAMES)}")
    return _POOLINGS[name]
