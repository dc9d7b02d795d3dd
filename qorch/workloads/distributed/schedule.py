"""Schedule and estimate a distributed program: makespan, EPR demand, fidelity (pure).

An as-soon-as-possible list schedule over ``program.combined`` (see
:mod:`qorch.workloads.distributed.program` for the contract). Each instruction starts when
its qubits are free; durations come from the node's
:class:`~qorch.workloads.distributed.timing.NodeTiming`; an ``epr`` takes the link's
expected generation time ``1/rate_hz``, and one link makes one pair at a time
(pairs on the same node pair queue). A comm qubit is
a qubit like any other, so the comm-register size bounds how many pairs a node
holds at once. An ``if_test`` waits for its condition bits, plus the one-way
classical latency when they were measured on another node, plus the node's
feed-forward latency; its body is scheduled as one block on all its qubits.
Barriers are ignored (nodes do not synchronise on them).

The no-error lower bound on the fidelity (the probability that no error event happens,
every event independent; :mod:`qorch.workloads.distributed.estimate` gives the estimate that
tracks the measurement) is::

    F_est = ∏_gates (1 − p_gate) × ∏_pairs F_link × ∏_idle gaps (1 − p_idle(t))

with ``p_gate = r·(d+1)/d`` the Pauli-error probability of the d-dimensional
depolarising channel whose average infidelity is the gate error ``r`` (1.5r for
one qubit, 1.25r for two; readout: ``r`` itself), ``F_link`` the Werner
fidelity a pair is delivered with, and
``p_idle(t) = (1 − e^{−t/T1})/4 + (1 − e^{−t/T2})/2`` the error probability of
the Pauli-twirled thermal-relaxation channel over an idle gap ``t``. Those are
the channels of :mod:`qorch.workloads.distributed.timing`, which
:mod:`qorch.workloads.distributed.simulate` applies. After a qubit's last operation
that does not commute with Z (:func:`last_mixing`: only phases, controls and the
measurement follow), a Z error changes nothing, so its idle gaps count only the
bit flips of relaxation, ``(1 − e^{−t/T1})/2``. A qubit idles only while it holds
quantum information: from its first gate (or the delivery of its EPR
half) until it is measured or reset; waiting before an ``epr`` or ``reset``
costs nothing. A stored pair's decay is thus in the idle factors of its two
comm qubits. Corrections inside ``if_test`` count as always applied
(conservative). For a circuit whose every error flips its output the measured
probability of the ideal outcome tracks ``F_est``; otherwise some errors are
invisible and the measured classical fidelity is higher.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from qiskit.circuit import Bit, CircuitInstruction, Clbit, QuantumCircuit
from qiskit.circuit.classical import expr

from qorch.contract.errors import PlanError
from qorch.workloads.distributed.program import (
    EPR_NAME,
    DistributedProgram,
    bit_index,
    node_of,
)
from qorch.workloads.distributed.timing import (
    NodeTiming,
    Pair,
    PairLinkLike,
    find_link,
    gate_error_probability,
    idle_error_probability,
    link_fidelity,
    relaxation_flip_probability,
    stored_pair_fidelity,
)

# A pair stored longer than this is flagged: it fell below this fidelity (0.5 = no
# longer entangled, Werner) or lost more than MAX_STORAGE_LOSS of it.
MIN_USEFUL_FIDELITY = 0.5
MAX_STORAGE_LOSS = 0.05
_TIME_UNITS_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9, "ps": 1e-12}


# ---- schedule result ------------------------------------------------------------------------


class ScheduledOp(NamedTuple):
    """One top-level instruction of ``combined`` (index into ``combined.data``) and its times.

    A named tuple: one is made per instruction (1.3 M at 256 qubits on 8 QPUs), and a
    frozen dataclass costs several times as much to build.
    """

    index: int  # type: ignore[assignment]  # shadows tuple.index, as the field always was
    name: str
    qubits: tuple[int, ...]
    start_s: float
    end_s: float


@dataclass(frozen=True)
class IdleGap:
    """A live qubit waits ``duration_s`` before top-level instruction ``before_op``."""

    before_op: int
    qubit: int
    node: str
    duration_s: float


@dataclass(frozen=True)
class StoredPair:
    """One EPR pair: delivered at ``delivered_s``, each half stored until its first use."""

    op: int
    pair: Pair
    delivered_s: float
    storage_s: tuple[float, float]
    fidelity_delivered: float
    fidelity_at_use: float


@dataclass(frozen=True)
class PairDemand:
    """EPR demand on one link: ``pairs`` over the makespan against the link's rate."""

    pairs: int
    demand_rate_hz: float
    link_rate_hz: float
    utilisation: float


@dataclass(frozen=True)
class Schedule:
    """Times, EPR demand and fidelity estimate of a distributed program (see module doc)."""

    makespan_s: float
    epr_wait_s: float
    per_pair: dict[Pair, PairDemand]
    idle_s: dict[int, float]
    gate_fidelity: float
    link_fidelity: float
    idle_fidelity: float
    ops: tuple[ScheduledOp, ...]
    idle_gaps: tuple[IdleGap, ...]
    pairs: tuple[StoredPair, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def estimated_fidelity(self) -> float:
        """Probability that no error happens (gate × link × idle factors): a lower bound on
        the fidelity, reported as ``fidelity_lower_bound``."""
        return self.gate_fidelity * self.link_fidelity * self.idle_fidelity

    @property
    def total_idle_s(self) -> float:
        """Idle time summed over qubits, in seconds."""
        return sum(self.idle_s.values())

    @property
    def decohering_pairs(self) -> tuple[StoredPair, ...]:
        """Pairs whose stored fidelity is below 0.5 or lost more than MAX_STORAGE_LOSS."""
        return tuple(p for p in self.pairs if _decohered(p))


DIAGONAL = frozenset({"rz", "p", "u1", "z", "s", "sdg", "t", "tdg", "id", "delay", "barrier",
                      "measure", "cz", "cp", "crz", "cu1", "rzz", "ccz", "mcp"})  # fmt: skip
"""Operations diagonal in the computational basis on every qubit they act on: a Z error
before them commutes through (a measurement reads Z, which a Z error does not change)."""


def last_mixing(circuit: QuantumCircuit) -> list[int]:
    """Per qubit, the top-level index of the last instruction that does not commute with a
    Z error on it (−1 if none): any not in :data:`DIAGONAL`, except a CX-like gate on its
    control; an ``if_else`` counts by the operations in its branches.

    Read from the end, until every qubit has one: the last mixing instruction of each
    is near the end of a lowered program (a pass over all 1.3 M instructions at 256
    qubits was a fifth of scheduling).
    """
    last = [-1] * circuit.num_qubits
    where = bit_index(circuit.qubits)
    blocks: dict[int, list[int]] = {}
    data, left = circuit.data, circuit.num_qubits
    for index in range(len(data) - 1, -1, -1):
        if not left:
            break
        for q in _mixed_qubits(data[index], where, blocks):
            if last[q] < 0:
                last[q] = index
                left -= 1
    return last


def _mixed_qubits(
    inst: CircuitInstruction, where: Mapping[Bit, int], blocks: dict[int, list[int]]
) -> list[int]:
    """The qubits (``where``'s indices) ``inst`` mixes; ``blocks`` keeps, per branch
    circuit (by id: shared by many corrections), the local qubits its operations mix."""
    name = inst.name  # not .operation, which builds a gate object per access
    qs = [where[q] for q in inst.qubits]
    if name in DIAGONAL:
        return []
    if name in ("cx", "ccx", "mcx", "cy"):  # diagonal on the controls
        return qs[-1:]
    branches = inst.operation.blocks if inst.is_control_flow() else ()
    if name == "if_else" and branches:
        mixed: set[int] = set()
        for block in branches:
            if id(block) not in blocks:
                inside = bit_index(block.qubits)
                local: set[int] = set()
                for inner in block.data:
                    local.update(_mixed_qubits(inner, inside, blocks))
                blocks[id(block)] = sorted(local)
            mixed.update(qs[i] for i in blocks[id(block)])
        return sorted(mixed)
    return qs


@dataclass(frozen=True)
class _Shape:
    """What :meth:`_Scheduler.cost` reads of a measurement, reset or 1-2 qubit gate."""

    name: str
    num_qubits: int


def _decohered(pair: StoredPair) -> bool:
    lost = pair.fidelity_delivered - pair.fidelity_at_use
    return pair.fidelity_at_use < MIN_USEFUL_FIDELITY or lost > MAX_STORAGE_LOSS


def schedule_program(
    program: DistributedProgram,
    timings: Mapping[str, NodeTiming],
    links: Mapping[Pair, PairLinkLike],
) -> Schedule:
    """ASAP schedule and estimate of ``program.combined`` (see the module docstring).

    ``timings`` maps every node to its :class:`NodeTiming`; ``links`` maps node
    pairs (either order) to their link. Raises PlanError for a missing node or link.
    """
    missing = [n for n in program.nodes if n not in timings]
    if missing:
        raise PlanError(f"no timing for node(s) {', '.join(missing)}")
    return _Scheduler(program.combined, timings, links).run()


class _Scheduler:
    """Mutable state of one ASAP pass; ``run`` returns the frozen :class:`Schedule`."""

    def __init__(
        self,
        circuit: QuantumCircuit,
        timings: Mapping[str, NodeTiming],
        links: Mapping[Pair, PairLinkLike],
    ) -> None:
        self.circuit = circuit
        self.timings = timings
        self.links = links
        self.node = [node_of(circuit, q) for q in circuit.qubits]
        self.free = [0.0] * circuit.num_qubits
        self.live = [False] * circuit.num_qubits
        self.bit_ready: dict[int, tuple[float, str]] = {}
        self.link_free: dict[Pair, float] = defaultdict(float)
        self.pending: dict[int, _PairRecord] = {}  # comm qubit -> the pair it holds
        self.pairs: list[_PairRecord] = []
        self.log_gate = self.log_link = self.log_idle = 0.0
        self.epr_wait_s = 0.0
        self.gaps: list[IdleGap] = []
        self.last_mixing = last_mixing(circuit)
        # (node, name, width) -> (duration, log survival) of an instruction timed by those
        self.plain_costs: dict[tuple[str, str, int], tuple[float, float]] = {}

    def run(self) -> Schedule:
        ops = []
        qubits, clbits = bit_index(self.circuit.qubits), bit_index(self.circuit.clbits)
        for index, inst in enumerate(self.circuit.data):
            qs = [qubits[q] for q in inst.qubits]
            cs = [clbits[c] for c in inst.clbits]
            start, end = self.place(inst, qs, cs, top_index=index)
            ops.append(ScheduledOp(index, inst.name, tuple(qs), start, end))
        makespan = max((op.end_s for op in ops), default=0.0)
        return self.result(makespan, tuple(ops))

    def place(
        self, inst: CircuitInstruction, qs: list[int], cs: list[int], top_index: int | None
    ) -> tuple[float, float]:
        """Schedule one instruction on global qubits ``qs``/clbits ``cs``; (start, end) in s."""
        name = inst.name  # .operation builds a gate object per access: only where needed
        free = self.free
        ready = max([free[q] for q in qs]) if qs else 0.0
        if name == "barrier":
            return ready, ready
        if name == "if_else":
            ready = max(ready, self.condition_ready(inst, qs, cs))
        elif len(qs) > 1 and len({self.node[q] for q in qs}) > 1 and name != EPR_NAME:
            raise PlanError(f"instruction '{name}' spans nodes; only '{EPR_NAME}' may")
        fresh = name in (EPR_NAME, "reset")
        live, pending = self.live, self.pending
        for q in qs:  # most uses have no gap to record and no pair waiting: skip the call
            if (live[q] and not fresh and ready > free[q]) or q in pending:
                self.note_use(q, ready, top_index, fresh=fresh)
        if name == EPR_NAME:
            start, end = self.place_epr(qs, ready, -1 if top_index is None else top_index)
        elif name == "if_else":
            start, end = ready, self.place_blocks(inst.operation, qs, cs, ready)
        else:
            plain = name != "delay" and len(qs) <= 2  # timed by name and width alone
            node = self.node[qs[0]]
            key = (node, name, len(qs))
            found = self.plain_costs.get(key) if plain else None
            if found is None:
                op = _Shape(name, len(qs)) if plain else inst.operation
                duration_s, error = self.cost(op, self.timings[node])
                found = (duration_s, math.log1p(-error))
                if plain:
                    self.plain_costs[key] = found
            start, end = ready, ready + found[0]
            self.log_gate += found[1]
        now_live = name not in ("measure", "reset")
        for q in qs:
            free[q] = end
            live[q] = now_live
        if name == "measure":
            for c in cs:
                self.bit_ready[c] = (end, self.node[qs[0]])
        return start, end

    def note_use(self, q: int, start: float, top_index: int | None, *, fresh: bool) -> None:
        """Record the idle gap before qubit ``q`` is used at ``start``, and pair storage."""
        gap = start - self.free[q]
        if self.live[q] and not fresh and gap > 0 and top_index is not None:
            timing = self.timings[self.node[q]]
            self.gaps.append(IdleGap(top_index, q, self.node[q], gap))
            if top_index > self.last_mixing[q]:  # only Z-diagonal operations follow: a Z
                error = relaxation_flip_probability(gap, timing.t1_s)  # error changes nothing
            else:
                error = idle_error_probability(gap, timing.t1_s, timing.t2_s)
            self.log_idle += math.log1p(-error)
        if q in self.pending:
            record = self.pending.pop(q)
            record.storage_s[record.qubits.index(q)] = max(0.0, start - record.delivered_s)

    def place_epr(self, qs: list[int], ready: float, top_index: int) -> tuple[float, float]:
        a, b = self.node[qs[0]], self.node[qs[1]]
        if a == b:
            raise PlanError(f"'{EPR_NAME}' on two qubits of node '{a}'")
        link = find_link(self.links, a, b)
        key: Pair = (min(a, b), max(a, b))
        start = max(ready, self.link_free[key])
        end = start + 1.0 / link.rate_hz
        self.link_free[key] = end
        self.epr_wait_s += end - ready
        fidelity = link_fidelity(link)
        self.log_link += math.log(max(fidelity, 1e-300))
        record = _PairRecord(top_index, key, (qs[0], qs[1]), end, fidelity)
        self.pairs.append(record)
        for q in qs:
            self.pending[q] = record
        return start, end

    def condition_ready(self, inst: CircuitInstruction, qs: list[int], cs: list[int]) -> float:
        """When every condition bit is known on the nodes of ``qs`` (latency + feed-forward)."""
        ready = 0.0
        destinations = {self.node[q] for q in qs}
        for bit in _condition_clbits(inst, cs):
            measured_s, source = self.bit_ready.get(bit, (0.0, ""))
            for dest in destinations:
                latency_s = 0.0
                if source and source != dest:
                    latency_s = find_link(self.links, source, dest, quantum=False).latency_s
                ready = max(ready, measured_s + latency_s + self.timings[dest].feedforward_s)
        return ready

    def place_blocks(self, op: object, qs: list[int], cs: list[int], start: float) -> float:
        """Schedule each branch from ``start``; the block ends when its longest branch does."""
        end = start
        before = {q: (self.free[q], self.live[q]) for q in qs}
        for block in op.blocks:  # type: ignore[attr-defined]
            for q in qs:
                self.free[q], self.live[q] = start, before[q][1]
            for inner in block.data:
                iq = [qs[block.find_bit(q).index] for q in inner.qubits]
                ic = [cs[block.find_bit(c).index] for c in inner.clbits]
                self.place(inner, iq, ic, top_index=None)
            end = max([end, *(self.free[q] for q in qs)])
        return end

    def cost(self, op: object, timing: NodeTiming) -> tuple[float, float]:
        """(duration in s, Pauli-error probability) of a local instruction."""
        name = op.name  # type: ignore[attr-defined]
        num_qubits = op.num_qubits  # type: ignore[attr-defined]
        if name == "measure":
            return timing.measure_s, timing.error_readout
        if name == "reset":
            return timing.reset_s, 0.0
        if name == "delay":
            unit = op.unit  # type: ignore[attr-defined]
            if unit not in _TIME_UNITS_S:
                raise PlanError(f"delay in unit '{unit}' cannot be scheduled; use seconds")
            return float(op.duration) * _TIME_UNITS_S[unit], 0.0  # type: ignore[attr-defined]
        if num_qubits == 1:
            return timing.gate_1q_s, gate_error_probability(timing.error_1q, 1)
        if num_qubits == 2:
            return timing.gate_2q_s, gate_error_probability(timing.error_2q, 2)
        definition = getattr(op, "definition", None)
        if definition is None:
            raise PlanError(f"cannot time the {num_qubits}-qubit instruction '{name}'")
        duration_s, survive = 0.0, 1.0
        for inner in definition.data:
            inner_s, inner_err = self.cost(inner.operation, timing)
            duration_s, survive = duration_s + inner_s, survive * (1 - inner_err)
        return duration_s, 1 - survive

    def result(self, makespan: float, ops: tuple[ScheduledOp, ...]) -> Schedule:
        idle_s: dict[int, float] = defaultdict(float)
        for gap in self.gaps:
            idle_s[gap.qubit] += gap.duration_s
        demand: dict[Pair, int] = defaultdict(int)
        stored = []
        for rec in self.pairs:
            demand[rec.pair] += 1
            (qa, qb), (ta, tb) = rec.qubits, rec.storage_s
            t2a, t2b = self.timings[self.node[qa]].t2_s, self.timings[self.node[qb]].t2_s
            at_use = stored_pair_fidelity(rec.fidelity, ta, tb, t2a, t2b)
            stored.append(
                StoredPair(rec.op, rec.pair, rec.delivered_s, (ta, tb), rec.fidelity, at_use)
            )
        per_pair = {}
        for key, count in sorted(demand.items()):
            rate = find_link(self.links, *key).rate_hz
            demand_hz = count / makespan if makespan > 0 else 0.0
            per_pair[key] = PairDemand(count, demand_hz, rate, demand_hz / rate)
        pairs = tuple(stored)
        return Schedule(
            makespan_s=makespan,
            epr_wait_s=self.epr_wait_s,
            per_pair=per_pair,
            idle_s=dict(idle_s),
            gate_fidelity=math.exp(self.log_gate),
            link_fidelity=math.exp(self.log_link),
            idle_fidelity=math.exp(self.log_idle),
            ops=ops,
            idle_gaps=tuple(self.gaps),
            pairs=pairs,
            warnings=tuple(_storage_warning(p) for p in pairs if _decohered(p)),
        )


@dataclass
class _PairRecord:
    """A pair while scheduling; ``storage_s`` fills in as each half is first used."""

    op: int
    pair: Pair
    qubits: tuple[int, int]
    delivered_s: float
    fidelity: float
    storage_s: list[float] = field(default_factory=lambda: [0.0, 0.0])


def _condition_clbits(inst: CircuitInstruction, cs: list[int]) -> list[int]:
    """Global indices of the clbits an ``if_test`` condition reads."""
    local = {bit: cs[i] for i, bit in enumerate(inst.clbits)}
    condition = inst.operation.condition
    if isinstance(condition, expr.Expr):
        targets = [v.var for v in expr.iter_vars(condition)]
    else:
        targets = [condition[0]]
    bits: list[int] = []
    for target in targets:
        members = [target] if isinstance(target, Clbit) else list(target)
        bits.extend(local[b] for b in members if b in local)
    return bits


def _storage_warning(pair: StoredPair) -> str:
    a, b = pair.pair
    longest_us = max(pair.storage_s) * 1e6
    return (
        f"EPR pair {a}–{b} (instruction {pair.op}) waits {longest_us:.1f} µs before use: "
        f"its fidelity decays from {pair.fidelity_delivered:.3f} to {pair.fidelity_at_use:.3f}"
    )
