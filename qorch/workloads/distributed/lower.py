"""Lower a :class:`Partition` to a :class:`DistributedProgram` (see ``program.py``).

Each cat group becomes one :class:`EPRGate` between communication qubits, a
cat-entangler (CX data→comm, measure, X-correction on the remote comm qubit), the
served gates with the remote comm qubit in the qubit's place (both places, for a gate
run on a third node), and a disentangler (H, measure, Z-correction on the data
qubit). Each teleportation becomes one EPR pair, a Bell measurement, X/Z corrections,
and a local move onto a free data slot. Comm qubits are reset after use and reused,
so node i never uses more than ``comm_qubits[i]``.

Per-node circuits hold each node's own instructions over its ``data_``/``comm_``
registers plus the shared classical registers (a bit measured on another node stands
for a received message). The EPR pair appears on each side as a one-qubit marker gate
named ``epr_half`` whose label is ``"<peer>#<pair number>"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit._accelerate.euler_one_qubit_decomposer import unitary_to_gate_sequence
from qiskit.circuit import (
    CircuitInstruction,
    Clbit,
    Gate,
    IfElseOp,
    Instruction,
    Measure,
    Qubit,
    Reset,
)
from qiskit.circuit.library import CPhaseGate, CXGate, HGate, PhaseGate, XGate, ZGate
from qiskit.synthesis.one_qubit.one_qubit_decompose import DEFAULT_ATOL

from qorch.contract.errors import PlanError
from qorch.workloads.distributed.hypergraph import ANTI1, DIAG2, Op
from qorch.workloads.distributed.partition import CatGroup, Partition, Teleport
from qorch.workloads.distributed.program import (
    COMM_PREFIX,
    DATA_PREFIX,
    EPR_NAME,
    FINAL_REGISTER,
    DistributedProgram,
    EPRGate,
    count_epr_pairs,
    node_of,
)

EPR_HALF_NAME = "epr_half"
# immutable singletons: every instruction may share them
_CX, _H, _X, _Z, _MEASURE, _RESET = CXGate(), HGate(), XGate(), ZGate(), Measure(), Reset()
_PHASE, _CPHASE = PhaseGate._standard_gate, CPhaseGate._standard_gate


class _Emitter:
    """Builds the combined circuit while tracking data slots and comm qubits.

    Instructions go in through ``QuantumCircuit._append`` with ready-made operations:
    every qubit and bit is the circuit's own, so ``append``'s argument broadcasting and
    checks (and the ``if_test`` builder's scopes) would only repeat what holds by
    construction; they were most of lowering's time at 256 qubits (1.3 M instructions).
    """

    def __init__(self, part: Partition, names: Sequence[str], comm: Sequence[int]) -> None:
        caps = part.capacities
        self.data = [
            QuantumRegister(c, f"{DATA_PREFIX}{nm}") for nm, c in zip(names, caps, strict=True)
        ]
        self.comm = [
            QuantumRegister(c, f"{COMM_PREFIX}{nm}") for nm, c in zip(names, comm, strict=True)
        ]
        n_mid = 2 * (len(part.cat_groups) + len(part.teleports))
        self.mid = ClassicalRegister(n_mid, "mid")
        self.meas = ClassicalRegister(part.num_qubits, FINAL_REGISTER)
        self.qc = QuantumCircuit(*self.data, *self.comm, self.mid, self.meas)
        self.node = list(part.assignment)
        self.slot: list[Qubit] = []
        used = [0] * len(names)
        for v in part.assignment:
            self.slot.append(self.data[v][used[v]])
            used[v] += 1
        self.free_data = [list(self.data[v])[used[v] :] for v in range(len(names))]
        self.free_comm = [list(r) for r in self.comm]
        self.comm_held = [0] * len(names)
        self.comm_peak = [0] * len(names)  # most comm qubits a node holds at once
        self.bits = 0
        self.copies: dict[int, list[Qubit]] = {}  # qubit -> comm qubits holding its cat copies
        self.bodies: dict[str, QuantumCircuit] = {}  # gate name -> the branch applying it

    def take_comm(self, node: int) -> Qubit:
        self.comm_held[node] += 1
        self.comm_peak[node] = max(self.comm_peak[node], self.comm_held[node])
        return self.free_comm[node].pop(0)

    def add(self, op: Instruction, *qubits: Qubit) -> None:
        """Append ``op`` on ``qubits`` (a gate: no bits)."""
        self.qc._append(CircuitInstruction(op, qubits, ()))

    def if_one(self, bit: Clbit, gate: Gate, qubit: Qubit) -> None:
        """``gate`` on ``qubit`` if ``bit`` reads 1.

        The branch is one shared circuit per gate, over its own qubit and bit (a block's
        bits stand for the instruction's, by position): building one per correction, as
        ``if_test`` does, was a third of lowering 79 000 corrections.
        """
        body = self.bodies.get(gate.name)
        if body is None:
            body = self.bodies[gate.name] = QuantumCircuit(1, 1)
            body.append(gate, [0])
        self.qc._append(CircuitInstruction(IfElseOp((bit, 1), body), (qubit,), (bit,)))

    def give_comm(self, node: int, qubit: Qubit) -> None:
        self.add(_RESET, qubit)
        self.release_comm(node, qubit)

    def release_comm(self, node: int, qubit: Qubit) -> None:
        """Return a comm qubit already in |0⟩ to the node's pool."""
        self.comm_held[node] -= 1
        self.free_comm[node].append(qubit)

    def measure(self, qubit: Qubit):
        bit = self.mid[self.bits]
        self.bits += 1
        self.qc._append(CircuitInstruction(_MEASURE, (qubit,), (bit,)))
        return bit

    def open(self, g: CatGroup) -> Qubit:
        local, remote = self.take_comm(g.source), self.take_comm(g.target)
        self.add(EPRGate(), local, remote)
        self.add(_CX, self.slot[g.qubit], local)
        self.if_one(self.measure(local), _X, remote)
        self.give_comm(g.source, local)
        self.copies.setdefault(g.qubit, []).append(remote)
        return remote

    def close(self, g: CatGroup, remote: Qubit) -> None:
        self.add(_H, remote)
        self.if_one(self.measure(remote), _Z, self.slot[g.qubit])
        self.copies[g.qubit].remove(remote)
        self.give_comm(g.target, remote)

    def teleport(self, batch: Sequence[Teleport]) -> None:
        """Teleport every qubit of ``batch`` into a target comm qubit, then into a data slot.

        All Bell measurements come first, so a swap between two full nodes fits.
        """
        parked = []
        for t in batch:
            local, remote = self.take_comm(t.source), self.take_comm(t.target)
            self.add(EPRGate(), local, remote)
            data = self.slot[t.qubit]
            self.add(_CX, data, local)
            self.add(_H, data)
            bz, bx = self.measure(data), self.measure(local)
            self.if_one(bx, _X, remote)
            self.if_one(bz, _Z, remote)
            self.add(_RESET, data)
            self.free_data[t.source].append(data)
            self.give_comm(t.source, local)
            parked.append((t, remote))
        for t, remote in parked:
            dest = self.free_data[t.target].pop(0)
            self.add(_CX, remote, dest)
            self.add(_CX, dest, remote)
            self.release_comm(t.target, remote)  # already |0> after the move
            self.slot[t.qubit], self.node[t.qubit] = dest, t.target

    def one_qubit(self, op: Op) -> None:
        q, slot = op.qubits[0], self.slot[op.qubits[0]]
        # what OneQubitEulerDecomposer(basis="U")._decompose builds (its global phase
        # ignored), without a circuit and gate objects per op: canonicalise made the
        # matrix from unitary gates, so the decomposer's check is skipped too
        matrix = np.asarray(op.matrix, dtype=complex)
        for gate, params in unitary_to_gate_sequence(matrix, ["U"], 0, None, True, DEFAULT_ATOL):
            self.qc._append(CircuitInstruction.from_standard(gate, (slot,), params))
        if op.kind == ANTI1:
            for copy in self.copies.get(q, ()):
                self.add(_X, copy)

    def diagonal(self, op: Op, copies: dict[int, Qubit]) -> None:
        """The gate, each qubit in ``copies`` replaced by its remote copy."""
        a, b = op.qubits
        pa, pb, cphase = op.diag_phases()
        qc, sa, sb = self.qc, self.slot[a], self.slot[b]
        # as qc.p/qc.cp store them, without a Python gate object (a CPhaseGate builds its
        # base gate: a third of lowering 79 000 diagonal gates)
        qc._append(CircuitInstruction.from_standard(_PHASE, (sa,), (pa,)))
        qc._append(CircuitInstruction.from_standard(_PHASE, (sb,), (pb,)))
        qc._append(
            CircuitInstruction.from_standard(
                _CPHASE, (copies.get(a, sa), copies.get(b, sb)), (cphase,)
            )
        )


def lower(
    circuit: QuantumCircuit,
    partition: Partition,
    node_names: Sequence[str],
    comm_qubits: Sequence[int] | None = None,
) -> DistributedProgram:
    """Emit the distributed program for ``partition`` of ``circuit``.

    ``node_names[i]`` names node i (registers ``data_<name>``/``comm_<name>``).
    ``comm_qubits`` defaults to the partition's; it must not be smaller. Raises
    PlanError if the partition does not belong to the circuit or the names do not fit.
    """
    comm = tuple(comm_qubits) if comm_qubits is not None else partition.comm_qubits
    _check(circuit, partition, node_names, comm)
    em = _Emitter(partition, node_names, comm)
    opens: dict[int, list[CatGroup]] = {g.open_at: [] for g in partition.cat_groups}
    closes: dict[int, list[CatGroup]] = {}
    serving: dict[int, list[CatGroup]] = {}
    for g in partition.cat_groups:
        opens[g.open_at].append(g)
        closes.setdefault(g.close_at, []).append(g)
        for i in g.gates:
            serving.setdefault(i, []).append(g)
    batches: dict[int, list[Teleport]] = {}
    for t in partition.teleports:
        batches.setdefault(t.at, []).append(t)
    remotes: dict[CatGroup, Qubit] = {}
    n_ops = len(partition.ops)
    for i in range(n_ops + 1):
        for g in closes.get(i, ()):
            em.close(g, remotes.pop(g))
        if i in batches:
            em.teleport(batches[i])
        for g in opens.get(i, ()):
            remotes[g] = em.open(g)
        if i == n_ops:
            break
        op = partition.ops[i]
        if op.kind != DIAG2:
            em.one_qubit(op)
        else:
            em.diagonal(op, {g.qubit: remotes[g] for g in serving.get(i, ())})
    for q in range(partition.num_qubits):
        em.qc._append(CircuitInstruction(_MEASURE, (em.slot[q],), (em.meas[q],)))
    return _program(em, partition, node_names)


def _check(circuit, partition, names, comm) -> None:
    if circuit.num_qubits != partition.num_qubits:
        raise PlanError(
            f"partition is for {partition.num_qubits} qubits, circuit has {circuit.num_qubits}"
        )
    if len(names) != len(partition.capacities) or len(set(names)) != len(names):
        raise PlanError("node_names needs one distinct name per node of the partition")
    if len(comm) != len(partition.capacities) or any(
        c < p for c, p in zip(comm, partition.comm_qubits, strict=True)
    ):
        raise PlanError("comm_qubits is smaller than the partition was planned for")


def _per_node(em: _Emitter, names: Sequence[str]) -> dict[str, QuantumCircuit]:
    """Split the combined circuit by node; each EPR pair becomes two ``epr_half`` markers."""
    qc = em.qc
    per_node = {
        nm: QuantumCircuit(em.data[v], em.comm[v], em.mid, em.meas) for v, nm in enumerate(names)
    }
    node_by_qubit = {q: node_of(qc, q) for q in qc.qubits}
    pair_no = 0
    for inst in qc.data:
        nodes = [node_by_qubit[q] for q in inst.qubits]
        if inst.name == EPR_NAME:
            pair_no += 1
            for side in (0, 1):
                marker = Gate(EPR_HALF_NAME, 1, [], label=f"{nodes[1 - side]}#{pair_no}")
                per_node[nodes[side]]._append(CircuitInstruction(marker, (inst.qubits[side],)))
            continue
        # shared, not copied (a copy per gate was a third of lowering QFT-256): no
        # circuit of the program is changed in place after lowering
        per_node[nodes[0]]._append(inst)
    return per_node


class _PerNode(Mapping[str, QuantumCircuit]):
    """The per-node circuits, split from the combined one when first read.

    Scheduling, the estimate and the jobs read only the combined circuit; splitting
    1.3 M instructions (256 qubits on 8 QPUs) took seconds for nothing.
    """

    def __init__(self, em: _Emitter, names: tuple[str, ...]) -> None:
        self._em: _Emitter | None = em
        self._names = names
        self._split: dict[str, QuantumCircuit] = {}

    def _circuits(self) -> dict[str, QuantumCircuit]:
        if self._em is not None:
            self._split, self._em = _per_node(self._em, self._names), None
        return self._split

    def __getitem__(self, name: str) -> QuantumCircuit:
        return self._circuits()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _program(em: _Emitter, part: Partition, names: Sequence[str]) -> DistributedProgram:
    qc = em.qc
    counts = count_epr_pairs(qc)
    declared: dict[tuple[str, str], int] = {
        (min(names[u], names[v]), max(names[u], names[v])): c
        for (u, v), c in part.epr_pairs_per_pair.items()
        if c
    }
    if dict(counts) != declared:
        raise AssertionError(f"lowering emitted {dict(counts)} EPR pairs, plan said {declared}")
    return DistributedProgram(
        nodes=tuple(names),
        combined=qc,
        per_node=_PerNode(em, tuple(names)),
        epr_pairs_per_pair=declared,
        cat_groups=len(part.cat_groups),
        teleports=len(part.teleports),
        comm_peak=dict(zip(names, em.comm_peak, strict=True)),
        notes=(f"partition method {part.method}",),
    )
