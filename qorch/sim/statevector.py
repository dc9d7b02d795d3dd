"""qorch's built-in statevector engine: pure numpy, batched, seeded sampling.

A :class:`Program` is plain data: gates as ``(name, qubits, params)`` plus terminal
measurements. States are complex128 arrays of shape ``(batch, 2**n)`` in Qiskit's
little-endian order (qubit 0 is the least significant bit of the basis index), so results
line up with ``qiskit.quantum_info.Statevector``. A parameter is a float (radians) or an
array of shape ``(batch,)``: one angle per batch element.

Speed: swaps are free relabels. From ``FUSION_MIN_QUBITS`` qubits on, gates are fused into
dense blocks of up to ``FUSION_MAX_QUBITS`` qubits and diagonal blocks of up to
``DIAGONAL_MAX_QUBITS``. The axis order of the stored state is tracked lazily, so a dense
block costs one BLAS matmul plus at most one transpose, a diagonal block one multiply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from qorch.sim.gates import (
    FIXED_GATES,
    NO_OPS,
    PARAMETRIC_GATES,
    UnsupportedOperation,
    gate_matrix,
)

__all__ = [
    "FIXED_GATES",
    "NO_OPS",
    "PARAMETRIC_GATES",
    "Program",
    "UnsupportedOperation",
    "gate_matrix",
    "marginal_clbit_probabilities",
    "probabilities",
    "run",
    "sample_counts",
]

FUSION_MIN_QUBITS = 14
FUSION_MAX_QUBITS = 5
DIAGONAL_MAX_QUBITS = 12
_FUSION_WINDOW = 8  # how many recent blocks a gate may join
_LOW_QUBITS = 4  # a block within the lowest axes runs as one (M, 2**_LOW_QUBITS) matmul
_STACK_MIN_INNER = 512  # a contiguous block runs in place if this many amplitudes lie below

Op = tuple[str, tuple[int, ...], tuple[Any, ...]]
_BITS = [(np.arange(1 << _LOW_QUBITS) >> p) & 1 for p in range(_LOW_QUBITS)]
_Gate = tuple[tuple[int, ...], np.ndarray, bool]  # (qubits, matrix or diagonal, is diagonal)


@dataclass(frozen=True)
class Program:
    """A circuit as plain data.

    ``ops``: ``(name, qubits, params)`` with a name of :data:`FIXED_GATES`,
    :data:`PARAMETRIC_GATES` or :data:`NO_OPS`, ``"unitary"`` (params ``(matrix,)``) or
    ``"global_phase"`` (params ``(phase,)``, no qubits). For a matrix, ``qubits[0]`` is its
    least significant bit (Qiskit order). ``measurements``: terminal ``(qubit, clbit)`` pairs,
    taken after all ops; a later pair for the same clbit overrides an earlier one.
    """

    num_qubits: int
    num_clbits: int = 0
    ops: Sequence[Op] = ()
    measurements: Sequence[tuple[int, int]] = ()


# --- the engine -----------------------------------------------------------------------


def _reorder(u: np.ndarray, qubits: Sequence[int], new: Sequence[int]) -> np.ndarray:
    """Re-express a dense matrix on ``qubits`` for the qubit order ``new`` (same set)."""
    qubits, new = tuple(qubits), tuple(new)
    if qubits == new:
        return u
    k, nb = len(qubits), u.ndim - 2
    src = [nb + k - 1 - qubits.index(q) for q in reversed(new)]
    axes = (*range(nb), *src, *(a + k for a in src))
    return u.reshape(*u.shape[:nb], *(2,) * (2 * k)).transpose(axes).reshape(u.shape)


class _Engine:
    """A ``(batch, 2**n)`` state stored with its qubit axes in a lazily permuted order.

    Bit ``pos[q]`` of the stored basis index holds qubit ``q``; ``at`` is the inverse map.
    ``future`` lists the qubits of the dense blocks to come, ``step`` indexes the current one.
    """

    def __init__(self, state: np.ndarray) -> None:
        self.batch, size = state.shape
        self.n = size.bit_length() - 1
        self.cur, self.spare = state, np.empty_like(state)
        self.pos, self.at = list(range(self.n)), list(range(self.n))
        self.shape = (self.batch, *(2,) * self.n)
        self.low = min(self.n, _LOW_QUBITS)
        self.future: list[tuple[int, ...]] = []
        self.step = 0

    def dense(self, qubits: Sequence[int], u: np.ndarray) -> None:
        """Apply a ``(d, d)`` or ``(batch, d, d)`` matrix to ``qubits``."""
        phys = [self.pos[q] for q in qubits]
        k, top, low = len(phys), max(phys), min(phys)
        if top < _LOW_QUBITS or top < k:  # within the lowest axes: one (M, 2**m) matmul
            self._lowest(qubits, u, top + 1)
            return
        if top - low != k - 1 or (top != self.n - 1 and (1 << low) < _STACK_MIN_INNER):
            self._to_top(qubits)
            low = self.n - k
        u = _reorder(u, qubits, self.at[low : low + k])
        shape: tuple[int, ...] = (-1, 1 << k, 1 << low)  # (outer, block, inner) in place
        if u.ndim == 3:
            shape, u = (self.batch, *shape), u[:, None]
        np.matmul(u, self.cur.reshape(shape), out=self.spare.reshape(shape))
        self.cur, self.spare = self.spare, self.cur

    def _lowest(self, qubits: Sequence[int], u: np.ndarray, m: int) -> None:
        k = len(qubits)
        if m > k:  # the identity on the other low qubits
            r = 1 << (m - k)
            u = u[..., :, None, :, None] * np.eye(r)[:, None, :]
            u = u.reshape(*u.shape[:-4], r << k, r << k)
            qubits = (*(q for q in self.at[:m] if q not in qubits), *qubits)
        u = _reorder(u, qubits, self.at[:m])
        shape: tuple[int, ...] = (-1, 1 << m)
        if u.ndim == 3:
            shape, u = (self.batch, *shape), u.transpose(0, 2, 1)
        np.matmul(self.cur.reshape(shape), u.T if u.ndim == 2 else u, out=self.spare.reshape(shape))
        self.cur, self.spare = self.spare, self.cur

    def diagonal(self, qubits: Sequence[int], diag: np.ndarray) -> None:
        """Multiply by a diagonal, ``(d,)`` or ``(batch, d)``, on ``qubits``."""
        n, nb, low, phys = self.n, diag.ndim - 1, self.low, [self.pos[q] for q in qubits]
        if max(phys) < low:  # the diagonal's pattern over the lowest axes
            index = sum(_BITS[p][: 1 << low] << i for i, p in enumerate(phys))
            view = self.cur.reshape(self.batch, -1, 1 << low)
            np.multiply(view, diag[:, None, index] if nb else diag[index], out=view)
        elif len(phys) == 1:  # two strided multiplies
            halves = self.cur.reshape(self.batch, -1, 2, 1 << phys[0])
            for i in (0, 1):
                factor = diag[:, i, None, None] if nb else diag[i]
                np.multiply(halves[:, :, i], factor, out=halves[:, :, i])
        else:  # broadcast over the stored axes
            k = len(phys)
            order = sorted(range(k), key=lambda i: -phys[i])
            tensor = diag.reshape(*diag.shape[:nb], *(2,) * k)
            tensor = tensor.transpose(*range(nb), *(nb + k - 1 - i for i in order))
            shape = [diag.shape[0] if nb else 1] + [1] * n
            for p in phys:
                shape[n - p] = 2
            factor = tensor.reshape(shape)
            if min(phys) < low:  # spell out the lowest axes: a contiguous inner loop
                factor = np.ascontiguousarray(np.broadcast_to(factor, (*shape[:-low], *(2,) * low)))
            tensor_view = self.cur.reshape(self.shape)
            np.multiply(tensor_view, factor, out=tensor_view)

    def _to_top(self, qubits: Sequence[int]) -> None:
        """Transpose so ``qubits``, then the next block's other qubits, are most significant."""
        first, step = list(qubits), self.step + 1
        if step < len(self.future):
            nxt, mine = set(self.future[step]), set(qubits)
            first = [q for q in qubits if q not in nxt] + [q for q in qubits if q in nxt]
            first += [q for q in self.future[step] if q not in mine]
        chosen = set(first)
        rest = [q for q in reversed(self.at) if q not in chosen]
        if self.cur.size >> FUSION_MIN_QUBITS and chosen.intersection(self.at[:_LOW_QUBITS]):
            # the lowest axes move anyway: park there the qubits needed last
            horizon = dict.fromkeys(rest, step + _FUSION_WINDOW)
            for j in range(min(len(self.future), step + _FUSION_WINDOW) - 1, step - 1, -1):
                horizon.update((q, j) for q in self.future[j] if q in horizon)
            parked = set(sorted(rest, key=horizon.__getitem__)[-_LOW_QUBITS:])
            rest = [q for q in rest if q not in parked] + [q for q in rest if q in parked]
        self._permute((first + rest)[::-1])

    def _permute(self, at: list[int]) -> None:
        """Re-store the state so that bit ``p`` holds qubit ``at[p]``."""
        axes = (0, *(self.n - self.pos[q] for q in reversed(at)))
        np.copyto(self.spare.reshape(self.shape), self.cur.reshape(self.shape).transpose(axes))
        self.cur, self.spare = self.spare, self.cur
        self.at = at
        for p, q in enumerate(at):
            self.pos[q] = p

    def logical_axes(self, label: Sequence[int]) -> tuple[int, ...] | None:
        """Axes putting the stored tensor in logical order (``label``: qubit -> engine qubit)."""
        axes = (0, *(self.n - self.pos[label[q]] for q in reversed(range(self.n))))
        return None if axes == tuple(range(self.n + 1)) else axes


# --- compilation: ops -> gates -> fused blocks ----------------------------------------


def _param(value: Any) -> Any:
    """A parameter as a float or a (batch,) float array."""
    if isinstance(value, np.ndarray | list | tuple):
        array = np.asarray(value, dtype=np.float64)
        if array.ndim > 1:
            raise ValueError(f"a batched parameter must have shape (batch,), got {array.shape}")
        return float(array.reshape(-1)[0]) if array.size == 1 else array
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UnsupportedOperation(f"parameter {value!r} is not a number (unbound?)") from None


def _batch(batch: int, size: int) -> int:
    """The batch of two batched things; raises ValueError if they disagree."""
    if size not in (1, batch) and batch != 1:
        raise ValueError(f"a batch of {size} does not match the batch of {batch}")
    return max(batch, size)


def _compile(program: Program, batch: int) -> tuple[list[_Gate], list[int], Any, int]:
    """Gates on engine qubits, the logical -> engine qubit label, global phase, batch."""
    n = program.num_qubits
    label, gates, phase = list(range(n)), [], 0.0
    for name, qubits, raw in program.ops:
        if name in NO_OPS:
            continue
        if len(set(qubits)) != len(qubits) or not all(0 <= q < n for q in qubits):
            raise ValueError(f"'{name}' on qubits {tuple(qubits)}: invalid for {n} qubits")
        matrix, diagonal = FIXED_GATES.get(name, (None, False))
        if matrix is not None and raw:
            raise ValueError(f"gate '{name}' takes no parameters, got {len(raw)}")
        if name == "swap":  # a free relabel
            a, b = qubits
            label[a], label[b] = label[b], label[a]
            continue
        if matrix is None and name == "unitary":
            matrix = np.asarray(raw[0], dtype=np.complex128)
            if matrix.ndim not in (2, 3) or matrix.shape[-2:] != (1 << len(qubits),) * 2:
                raise ValueError(f"unitary of shape {matrix.shape} on {len(qubits)} qubit(s)")
            batch = _batch(batch, matrix.shape[0] if matrix.ndim == 3 else 1)
        elif matrix is None:
            params = [v if type(v) is float else _param(v) for v in raw]
            for value in params:
                if type(value) is np.ndarray:
                    batch = _batch(batch, value.size)
            if name == "global_phase":
                phase = phase + params[0]
                continue
            matrix, diagonal = gate_matrix(name, params)
        if matrix.shape[-1] != 1 << len(qubits):
            raise ValueError(f"'{name}' acts on {matrix.shape[-1].bit_length() - 1} qubit(s)")
        gates.append((tuple([label[q] for q in qubits]), matrix, diagonal))
    return gates, label, phase, batch


def _fuse(gates: list[_Gate], n: int) -> list[_Gate]:
    """Greedily merge gates into blocks; a gate may join any recent block it commutes to."""
    blocks: list[tuple[list[int], list[_Gate], list[bool]]] = []  # qubits, gates, [diagonal]
    last, last_dense = [-1] * n, [-1] * n  # newest block (non-diagonal block) on each qubit
    for gate in gates:
        qubits, _, diagonal = gate
        floor = max(last_dense[q] for q in qubits) if diagonal else max(last[q] for q in qubits)
        best, best_key = -1, (-1, -1)
        for b in range(max(floor, len(blocks) - _FUSION_WINDOW, 0), len(blocks)):
            block_qubits, _, block_diagonal = blocks[b]
            overlap = sum(q in block_qubits for q in qubits)
            size = len(block_qubits) + len(qubits) - overlap
            limit = DIAGONAL_MAX_QUBITS if diagonal and block_diagonal[0] else FUSION_MAX_QUBITS
            if size <= limit and (overlap, b) > best_key:
                best, best_key = b, (overlap, b)
        if best < 0:
            best = len(blocks)
            blocks.append(([], [], [diagonal]))
        block_qubits, members, block_diagonal = blocks[best]
        block_qubits.extend(q for q in qubits if q not in block_qubits)
        members.append(gate)
        block_diagonal[0] = block_diagonal[0] and diagonal
        for q in qubits:
            last[q] = max(last[q], best)
        for q in () if block_diagonal[0] else block_qubits:
            last_dense[q] = max(last_dense[q], best)
    return [_block(tuple(q), members, d[0]) for q, members, d in blocks]


def _block(qubits: tuple[int, ...], members: list[_Gate], diagonal: bool) -> _Gate:
    """One gate on ``qubits`` equal to ``members`` applied in order."""
    if len(members) == 1:
        return members[0]
    k, local = len(qubits), {q: i for i, q in enumerate(qubits)}
    batch = max((m.shape[0] for _, m, dg in members if m.ndim == 3 - dg), default=0)
    rows = max(batch, 1)
    if diagonal:
        engine = _Engine(np.ones((rows, 1 << k), dtype=np.complex128))
    else:  # the identity's columns ride along as spectator qubits k..2k-1
        engine = _Engine(np.repeat(np.eye(1 << k, dtype=np.complex128).reshape(1, -1), rows, 0))
    for gate_qubits, matrix, gate_diagonal in members:
        mapped = [local[q] for q in gate_qubits]
        if gate_diagonal:
            engine.diagonal(mapped, matrix)
        else:
            engine.dense(mapped, matrix)
    out = _state(engine, range(engine.n))
    if not diagonal:
        out = out.reshape(rows, 1 << k, 1 << k).transpose(0, 2, 1)
    return qubits, out if batch else out[0], diagonal


# --- simulation and results -----------------------------------------------------------


def _simulate(program: Program, batch: int, initial: Any) -> tuple[_Engine, list[int], Any]:
    """Run all ops; the engine (stored layout), the qubit label and the global phase."""
    gates, label, phase, batch = _compile(program, batch)
    n = program.num_qubits
    if initial is None:
        state = np.zeros((batch, 1 << n), dtype=np.complex128)
        state[:, 0] = 1
    else:
        given = np.asarray(initial, dtype=np.complex128)
        if given.size == 0 or given.size % (1 << n):
            raise ValueError(f"initial state of shape {given.shape} for {n} qubits")
        batch = _batch(batch, given.size >> n)
        state = np.array(np.broadcast_to(given.reshape(-1, 1 << n), (batch, 1 << n)))
    engine = _Engine(state)
    blocks = _fuse(gates, n) if n >= FUSION_MIN_QUBITS else gates
    engine.future = [qubits for qubits, _, diagonal in blocks if not diagonal]
    for qubits, matrix, diagonal in blocks:
        if diagonal:
            engine.diagonal(qubits, matrix)
        else:
            engine.dense(qubits, matrix)
            engine.step += 1
    return engine, label, phase


def _state(engine: _Engine, label: Sequence[int]) -> np.ndarray:
    """The engine's state in logical order (reusing its spare buffer)."""
    axes = engine.logical_axes(label)
    if axes is None:
        return engine.cur
    np.copyto(engine.spare.reshape(engine.shape), engine.cur.reshape(engine.shape).transpose(axes))
    return engine.spare


def _stored_probabilities(engine: _Engine) -> np.ndarray:
    """|amplitude|**2 in the stored layout, ``(batch, 2**n)``; frees the engine's buffers."""
    flat = engine.cur.view(np.float64)
    engine.cur = engine.spare = np.empty((0, 0), dtype=np.complex128)
    np.square(flat, out=flat)
    return flat[:, 0::2] + flat[:, 1::2]


def run(program: Program, batch: int = 1, initial: Any = None) -> np.ndarray:
    """Simulate ``program``: the final state, complex128 of shape ``(batch, 2**num_qubits)``.

    ``batch`` grows to the length of ``(batch,)`` parameters or ``initial`` rows if left at 1.
    ``initial``: ``2**n`` or ``batch * 2**n`` amplitudes (default ``|0...0>``).
    Measurements are ignored. Raises UnsupportedOperation for an unsupported op and
    ValueError for bad qubits, parameter counts or shapes.
    """
    engine, label, phase = _simulate(program, batch, initial)
    state = _state(engine, label)
    if np.any(phase):
        state *= np.exp(1j * np.asarray(phase)).reshape(-1, 1)
    return state


def probabilities(program: Program) -> np.ndarray:
    """Exact basis-state probabilities: ``(2**n,)``, or ``(batch, 2**n)`` if batched.

    Qiskit's index order (qubit 0 is the least significant bit); measurements are ignored.
    Raises as :func:`run`.
    """
    engine, label, _ = _simulate(program, 1, None)
    axes = engine.logical_axes(label)
    probs = _stored_probabilities(engine)
    if axes is not None:
        probs = probs.reshape(engine.shape).transpose(axes).reshape(engine.batch, -1)
    return probs[0] if engine.batch == 1 else probs


def _measured(program: Program) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Probabilities over the measured qubits, and (clbit, bit of that index) pairs."""
    n, clbit_qubit = program.num_qubits, {}
    for qubit, clbit in program.measurements:
        if not (0 <= qubit < n and 0 <= clbit < program.num_clbits):
            raise ValueError(f"measurement of qubit {qubit} into clbit {clbit} is out of range")
        clbit_qubit[clbit] = qubit
    engine, label, _ = _simulate(program, 1, None)
    if engine.batch != 1:
        raise ValueError("sampling needs scalar parameters; this program is batched")
    where = {q: engine.pos[label[q]] for q in clbit_qubit.values()}
    probs = _stored_probabilities(engine)[0]
    keep = sorted(set(where.values()))
    dropped = tuple(n - 1 - p for p in range(n) if p not in keep)
    if dropped:
        probs = np.asarray(probs.reshape((2,) * n).sum(axis=dropped)).reshape(-1)
    rank = {p: i for i, p in enumerate(keep)}
    return probs, [(c, rank[where[q]]) for c, q in clbit_qubit.items()]


def _bitstrings(index: np.ndarray, bits: list[tuple[int, int]], width: int) -> list[str]:
    """Clbit strings (clbit 0 rightmost) of indices over the measured qubits."""
    if width == 0:
        return [""] * len(index)
    span = max((b for _, b in bits), default=-1) + 1
    half = span // 2  # two lookup tables of characters, for the low and high index bits
    tables = []
    for start, count in ((0, half), (half, span - half)):
        values = np.arange(1 << count)
        table = np.full((1 << count, width), ord("0"), dtype=np.uint32)
        for clbit, bit in bits:
            if start <= bit < start + count:
                table[:, width - 1 - clbit] |= ((values >> (bit - start)) & 1).astype(np.uint32)
        tables.append(table)
    chars = np.take(tables[0], index & ((1 << half) - 1), axis=0)
    chars |= np.take(tables[1], index >> half, axis=0)
    return chars.view(f"<U{width}").reshape(-1).tolist()


def marginal_clbit_probabilities(program: Program, cutoff: float = 1e-15) -> dict[str, float]:
    """Exact distribution of the classical bits after the terminal measurements.

    Keys as in :func:`sample_counts`; outcomes of probability <= ``cutoff`` are left out.
    Raises ValueError for a batched program or an out-of-range measurement.
    """
    probs, bits = _measured(program)
    index = np.flatnonzero(probs > cutoff)
    keys = _bitstrings(index, bits, program.num_clbits)
    return dict(zip(keys, probs[index].tolist(), strict=True))


def _draw(probs: np.ndarray, shots: int, rng: np.random.Generator) -> tuple[np.ndarray, Any]:
    """Sample ``shots`` indices of ``probs`` (overwritten): distinct indices, their counts."""
    if probs.size <= 2 * shots:
        counts = rng.multinomial(shots, probs / probs.sum())
        index = np.flatnonzero(counts)
        return index, counts[index]
    cdf = np.cumsum(probs, out=probs)
    uniform = rng.random(shots)
    uniform *= cdf[-1]
    uniform.sort()
    index = np.minimum(np.searchsorted(cdf, uniform, side="right"), probs.size - 1)
    starts = np.flatnonzero(np.diff(index, prepend=-1))
    return index[starts], np.diff(starts, append=shots)


def sample_counts(program: Program, shots: int, rng: np.random.Generator) -> dict[str, int]:
    """Sample the terminal measurements ``shots`` times: ``{bitstring: count}``.

    Bitstrings cover all ``num_clbits`` clbits in Qiskit order (clbit 0 rightmost,
    unmeasured clbits '0'). The same program and generator state give the same counts.
    Raises ValueError for negative shots or a batched program.
    """
    if shots < 0:
        raise ValueError(f"shots must be >= 0, got {shots}")
    probs, bits = _measured(program)
    if shots == 0:
        return {}
    index, counts = _draw(probs, shots, rng)
    keys = _bitstrings(index, bits, program.num_clbits)
    return dict(zip(keys, counts.tolist(), strict=True))
