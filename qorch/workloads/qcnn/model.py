"""The QCNN model: architecture spec -> probabilities, losses, exact gradients, circuits.

Parameters are ordered as in github.com/takh04/QCNN ``QCNN/QCNN_circuit.py``
(``QCNN_structure``): all convolution parameter groups layer by layer, then all pooling
groups layer by layer (SU(4) reference: 3×15 + 3×2 = 51). With sharing off in a layer, each
of its blocks has its own group, in block order.

Read-out: the joint distribution of the layout's read-out qubits. With ``C < 2**r`` classes,
``readout="renormalize"`` (default) conditions on a valid outcome (``q_k = p_k / Σ_{j<C} p_j``);
``"raw"`` uses ``q_k = p_k`` and counts outcomes ``>= C`` as "no class" (never correct).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from qorch.workloads.qcnn.ansatz import Block, ansatz, pooling
from qorch.workloads.qcnn.encoding import (
    append_encoding,
    encode_states,
    input_size,
    required_features,
)
from qorch.workloads.qcnn.engine import BlockEngine, real_forms
from qorch.workloads.qcnn.layout import Layout, make_layout, readout_count
from qorch.workloads.qcnn.loss import loss_and_grad, predict_classes
from qorch.workloads.qcnn.resources import (
    PREDICT_STATES,
    TRAIN_STATES,
    blas_single_threaded,
    chunk_rows,
)

__all__ = ["FORMAT", "QCNN", "QCNNSpec", "build"]

FORMAT = "qorch.workloads.qcnn.model/1"
READOUTS = ("renormalize", "raw")


@dataclass(frozen=True)
class QCNNSpec:
    """A QCNN architecture (see :mod:`qorch.workloads.qcnn.layout`, ``.ansatz``, ``.encoding``).

    ``share``: parameter sharing inside a layer, for all layers or per layer.
    """

    num_qubits: int = 8
    layout: str = "reference"
    ansatz: str = "su4"
    pooling: str = "reference"
    encoding: str = "angle"
    share: bool | tuple[bool, ...] = True
    num_classes: int = 2
    readout: str = "renormalize"


@dataclass(frozen=True)
class _Kind:
    """The blocks of one kind (conv or pool): their groups' parameter indices."""

    block: Block
    positions: np.ndarray  # (m,) positions of these blocks in the circuit
    index: np.ndarray  # (groups, k) parameter indices of each group
    members: np.ndarray  # (groups, m) 1 where block i uses group g
    group_of: np.ndarray  # (m,) the group of each block


def _groups(layout: Layout, kind: str, share: tuple[bool, ...]) -> list[list[int]]:
    """Block positions per parameter group of ``kind``, in parameter order."""
    groups: list[list[int]] = []
    position = 0
    for layer, shared in zip(layout.layers, share, strict=True):
        middle = position + len(layer.conv)
        mine = list(
            range(position, middle) if kind == "conv" else range(middle, middle + len(layer.pool))
        )
        groups += [mine] if shared else [[p] for p in mine]
        position += len(layer.conv) + len(layer.pool)
    return groups


def _kinds(layout: Layout, spec: QCNNSpec, share: tuple[bool, ...]) -> list[_Kind]:
    """The conv and pool block plans; parameters numbered conv groups first, then pool."""
    start, kinds = 0, []
    for kind, block in (("conv", ansatz(spec.ansatz)), ("pool", pooling(spec.pooling))):
        groups = _groups(layout, kind, share)
        positions = np.array([p for g in groups for p in g])
        index = start + np.arange(len(groups) * block.n_params).reshape(len(groups), -1)
        members = np.array([[p in g for p in positions] for g in groups], dtype=np.float64)
        kinds.append(_Kind(block, positions, index, members, np.argmax(members, axis=0)))
        start += index.size
    return kinds


class QCNN:
    """A built QCNN. Angles in radians; features as the encoding takes them.

    Raises ValueError (from :func:`build`) for an inconsistent spec.
    """

    def __init__(self, spec: QCNNSpec) -> None:
        if spec.readout not in READOUTS:
            raise ValueError(f"unknown readout {spec.readout!r}; choose one of {READOUTS}")
        self.spec = spec
        self.layout = make_layout(spec.layout, spec.num_qubits, spec.num_classes)
        required_features(spec.encoding, spec.num_qubits)  # validates the encoding name
        layers = len(self.layout.layers)
        share = (spec.share,) * layers if isinstance(spec.share, bool) else tuple(spec.share)
        if len(share) != layers:
            raise ValueError(f"share has {len(share)} entries for {layers} layers")
        self.share = share
        self.pairs: list[tuple[int, int]] = []
        self.kinds_of_blocks: list[str] = []
        for layer in self.layout.layers:
            self.pairs += [*layer.conv, *layer.pool]
            self.kinds_of_blocks += ["conv"] * len(layer.conv) + ["pool"] * len(layer.pool)
        self.conv, self.pool = _kinds(self.layout, spec, share)
        self.n_params = int(self.pool.index.max(initial=-1)) + 1
        self.block_params: list[np.ndarray] = [np.empty(0, dtype=np.intp)] * len(self.pairs)
        for part in (self.conv, self.pool):
            for g, row in enumerate(part.members):
                for i in np.flatnonzero(row):
                    self.block_params[part.positions[i]] = part.index[g]
        self.n_outcomes = 1 << readout_count(spec.num_classes)
        self.engine = BlockEngine(spec.num_qubits, self.pairs, self.layout.readout)
        self._twin: QCNN | None = None

    # --- numerics ----------------------------------------------------------------------

    def init_params(self, rng: np.random.Generator) -> np.ndarray:
        """Standard-normal initial parameters (the reference's ``np.random.randn``)."""
        return rng.standard_normal(self.n_params)

    def encode(self, X: Any) -> np.ndarray:
        """Initial states ``(batch, 2**n)`` of features ``X (batch, f)``."""
        return encode_states(self.spec.encoding, X, self.spec.num_qubits)

    def check_params(self, params: Any) -> np.ndarray:
        """``params`` as a float array of shape ``(n_params,)``; raises ValueError otherwise."""
        array = np.asarray(params, dtype=np.float64)
        if array.shape != (self.n_params,):
            raise ValueError(f"expected {self.n_params} parameters, got shape {array.shape}")
        return array

    def _unitaries(self, params: np.ndarray, grads: bool) -> tuple[np.ndarray, list[Any]]:
        """Block unitaries ``(n_blocks, 4, 4)`` and, if asked, per kind ``dU`` of its groups."""
        unitaries = np.empty((len(self.pairs), 4, 4), dtype=np.complex128)
        derivs = []
        for part in (self.conv, self.pool):
            if grads:
                u, du = part.block.derivatives(params[part.index])
                derivs.append(du)
            else:
                u = part.block.unitaries(params[part.index])
            unitaries[part.positions] = u[part.group_of]
        return unitaries, derivs

    @blas_single_threaded
    def outcome_probabilities(self, params: Any, states: np.ndarray) -> np.ndarray:
        """Read-out distribution ``(batch, n_outcomes)`` for encoded ``states``."""
        return self._probabilities(params, lambda rows: states[rows], len(states))

    @blas_single_threaded
    def probabilities(self, params: Any, X: Any) -> np.ndarray:
        """Read-out distribution ``(batch, n_outcomes)``: outcome ``k`` is the integer whose
        bit ``i`` is read-out qubit ``layout.readout[i]``. Encodes and simulates ``X`` in
        chunks of samples sized to memory (see :mod:`qorch.workloads.qcnn.resources`)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            return self.outcome_probabilities(params, self.encode(X))
        return self._probabilities(params, lambda rows: self.encode(X[rows]), len(X))

    def _probabilities(
        self, params: Any, states: Callable[[slice], np.ndarray], count: int
    ) -> np.ndarray:
        """Read-out distributions of ``count`` samples, ``states(rows)`` giving a chunk's."""
        unitaries, _ = self._unitaries(self.check_params(params), grads=False)
        forms = real_forms(unitaries)
        size = chunk_rows(self.spec.num_qubits, PREDICT_STATES)
        parts = [
            self.engine.probabilities(self.engine.forward(states(rows), forms))
            for rows in _chunks(count, size)
        ]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def class_probabilities(self, outcomes: np.ndarray) -> np.ndarray:
        """Class probabilities ``(batch, C)`` from outcome probabilities (see module doc)."""
        q = outcomes[:, : self.spec.num_classes]
        if self.spec.readout == "raw" or q.shape[1] == outcomes.shape[1]:
            return q
        return q / np.maximum(q.sum(axis=1, keepdims=True), 1e-300)

    @blas_single_threaded
    def predict(self, params: Any, X: Any) -> np.ndarray:
        """Predicted classes ``(batch,)``; ``-1`` ("no class") only with ``readout="raw"``."""
        outcomes = self.probabilities(params, X)
        predicted = predict_classes(self.class_probabilities(outcomes))
        if self.spec.readout == "raw" and outcomes.shape[1] > self.spec.num_classes:
            predicted[np.argmax(outcomes, axis=1) >= self.spec.num_classes] = -1
        return predicted

    def loss_from_outcomes(
        self, outcomes: np.ndarray, y: Any, kind: str, reduction: str = "reference"
    ) -> tuple[float, np.ndarray]:
        """Loss and its gradient w.r.t. the outcome probabilities."""
        q = self.class_probabilities(outcomes)
        value, dq = loss_and_grad(kind, q, y, reduction)
        dp = np.zeros_like(outcomes)
        c = self.spec.num_classes
        if self.spec.readout == "raw" or c == outcomes.shape[1]:
            dp[:, :c] = dq
        else:
            total = np.maximum(outcomes[:, :c].sum(axis=1, keepdims=True), 1e-300)
            dp[:, :c] = (dq - np.sum(dq * q, axis=1, keepdims=True)) / total
        return value, dp

    def loss(self, params: Any, X: Any, y: Any, kind: str, reduction: str = "reference") -> float:
        """The loss (``mse`` or ``cross-entropy``, see :mod:`~qorch.workloads.qcnn.loss`)."""
        return self.loss_from_outcomes(self.probabilities(params, X), y, kind, reduction)[0]

    @blas_single_threaded
    def loss_and_grad_states(
        self, params: Any, states: np.ndarray, y: Any, kind: str, reduction: str = "reference"
    ) -> tuple[float, np.ndarray]:
        """Loss and exact gradient (adjoint method) for encoded ``states``."""
        return self._loss_and_grad(params, lambda rows: states[rows], y, kind, reduction)

    @blas_single_threaded
    def loss_and_grad(
        self, params: Any, X: Any, y: Any, kind: str, reduction: str = "reference"
    ) -> tuple[float, np.ndarray]:
        """Loss and its exact gradient (adjoint method), shape ``(n_params,)``; ``X`` is
        encoded chunk by chunk when the batch is large (see :meth:`_loss_and_grad`)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2:
            return self.loss_and_grad_states(params, self.encode(X), y, kind, reduction)
        return self._loss_and_grad(params, lambda rows: self.encode(X[rows]), y, kind, reduction)

    def _loss_and_grad(
        self, params: Any, states: Callable[[slice], np.ndarray], y: Any, kind: str,
        reduction: str,
    ) -> tuple[float, np.ndarray]:  # fmt: skip
        """Loss and gradient over the samples ``states(rows)`` gives, ``len(y)`` of them.

        A batch whose pass fits the memory budget is one forward and one adjoint pass.
        A larger one is done in chunks: a forward pass over every chunk for the loss and
        its gradient w.r.t. each sample's outcomes, then per chunk a forward and an adjoint
        pass whose ``G`` matrices add up (the gradient is a sum over samples).
        """
        params = self.check_params(params)
        unitaries, derivs = self._unitaries(params, grads=True)
        forms = real_forms(unitaries)
        inverse = real_forms(np.conj(np.swapaxes(unitaries, -1, -2)))
        chunks = _chunks(len(y), chunk_rows(self.spec.num_qubits, TRAIN_STATES))
        if len(chunks) == 1:
            final, tape = self.engine.forward_taped(states(chunks[0]), forms)
            outcomes = self.engine.probabilities(final)
            value, dp = self.loss_from_outcomes(outcomes, y, kind, reduction)
            g = self.engine.adjoint(final, dp, inverse, tape)
        else:
            outcomes = np.concatenate([
                self.engine.probabilities(self.engine.forward(states(rows), forms))
                for rows in chunks
            ])  # fmt: skip
            value, dp = self.loss_from_outcomes(outcomes, y, kind, reduction)
            g = np.zeros((len(self.pairs), 4, 4), dtype=np.complex128)
            for rows in chunks:
                final, tape = self.engine.forward_taped(states(rows), forms)
                g += self.engine.adjoint(final, dp[rows], inverse, tape)
        grad = np.zeros(self.n_params)
        for part, du in zip((self.conv, self.pool), derivs, strict=True):
            summed = (part.members @ g[part.positions].reshape(-1, 16)).reshape(-1, 16, 1)
            grad[part.index] = 2 * (du.reshape(*du.shape[:2], 16) @ summed)[..., 0].real
        return value, grad

    # --- twins, circuits, files --------------------------------------------------------

    def unshared(self) -> QCNN:
        """The same circuit with every block's parameters separate (for parameter shift)."""
        if not any(self.share):
            return self
        if self._twin is None:
            self._twin = QCNN(replace(self.spec, share=False))
        return self._twin

    def shift_rules(self) -> list[str | None]:
        """Per parameter: ``"two-term"``, ``"four-term"`` or None (see :mod:`.gradients`)."""
        rules: list[str | None] = [None] * self.n_params
        for part in (self.conv, self.pool):
            for group in part.index:
                for j, rule in zip(group, part.block.shift_rules, strict=True):
                    rules[j] = rule
        return rules

    def expand(self, params: Any) -> np.ndarray:
        """Parameters of :meth:`unshared` giving the same circuit as ``params``."""
        params, twin = self.check_params(params), self.unshared()
        out = np.empty(twin.n_params)
        for mine, theirs in zip(self.block_params, twin.block_params, strict=True):
            out[theirs] = params[mine]
        return out

    def contract(self, twin_grad: np.ndarray) -> np.ndarray:
        """Gradient w.r.t. ``params`` from a gradient w.r.t. :meth:`expand`'s parameters."""
        twin, grad = self.unshared(), np.zeros(self.n_params)
        for mine, theirs in zip(self.block_params, twin.block_params, strict=True):
            grad[mine] += twin_grad[theirs]
        return grad

    def circuit(
        self, params: Any, x: Any = None, *, dynamic: bool = True, bind_weights: bool = True
    ) -> Any:
        """The QCNN as a Qiskit circuit: encoding, blocks, read-out measurements.

        ``x``: one sample's features, or None for a ``ParameterVector("x", input_size)``
        taking :func:`qorch.workloads.qcnn.encoding.input_values`. Weights are bound floats (or a
        ``ParameterVector("θ", n_params)`` with ``bind_weights=False``). Read-out qubit
        ``layout.readout[i]`` is measured into clbit ``i`` of register ``readout`` (added
        first: rightmost in count keys); with ``measured`` pooling and ``dynamic``, each
        pooling control is measured into register ``pool`` and feeds an ``if_test``.
        """
        from qiskit.circuit import (
            ClassicalRegister,
            ParameterVector,
            QuantumCircuit,
            QuantumRegister,
        )

        spec = self.spec
        weights = (
            self.check_params(params).tolist()
            if bind_weights
            else ParameterVector("θ", self.n_params)
        )
        qubits = QuantumRegister(spec.num_qubits, "q")
        readout = ClassicalRegister(len(self.layout.readout), "readout")
        registers = [qubits, readout]
        n_pool = self.kinds_of_blocks.count("pool")
        if dynamic and spec.pooling == "measured":
            registers.append(ClassicalRegister(n_pool, "pool"))
        qc = QuantumCircuit(*registers, name="qcnn")
        if x is None:
            x = ParameterVector("x", input_size(spec.encoding, spec.num_qubits))
        append_encoding(qc, spec.encoding, x)
        pool_bit = 0
        for pair, kind, index in zip(
            self.pairs, self.kinds_of_blocks, self.block_params, strict=True
        ):
            block = self.conv.block if kind == "conv" else self.pool.block
            extra: dict[str, Any] = {}
            if kind == "pool" and len(registers) == 3:
                extra["clbit"] = registers[2][pool_bit]
                pool_bit += 1
            block.append(
                qc, (qubits[pair[0]], qubits[pair[1]]), [weights[i] for i in index], **extra
            )
        for i, q in enumerate(self.layout.readout):
            qc.measure(qubits[q], readout[i])
        return qc

    def to_dict(self, params: Any) -> dict[str, Any]:
        """JSON-serialisable architecture + parameters (floats round-trip exactly)."""
        spec = asdict(self.spec)
        spec["share"] = spec["share"] if isinstance(spec["share"], bool) else list(spec["share"])
        return {"format": FORMAT, "spec": spec, "params": self.check_params(params).tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> tuple[QCNN, np.ndarray]:
        """The model and parameters from :meth:`to_dict`; raises ValueError if malformed."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a QCNN model: expected format {FORMAT!r}")
        spec = dict(data["spec"])
        if isinstance(spec.get("share"), list):
            spec["share"] = tuple(spec["share"])
        model = cls(QCNNSpec(**spec))
        return model, model.check_params(data["params"])


def _chunks(count: int, size: int) -> list[slice]:
    """``range(count)`` as slices of at most ``size`` (one empty slice for no samples)."""
    return [slice(start, min(start + size, count)) for start in range(0, count, size)] or [
        slice(0, 0)
    ]


def build(spec: QCNNSpec) -> QCNN:
    """Build the QCNN for ``spec``; raises ValueError for an inconsistent spec."""
    return QCNN(spec)
