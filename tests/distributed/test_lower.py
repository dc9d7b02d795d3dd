"""Lowering: EPR bill equals the plan, and the program computes the same distribution."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import quantum_volume
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Operator, Statevector
from qiskit.synthesis import synth_qft_full
from qiskit_aer import AerSimulator

from qorch.workloads.distributed.lower import EPR_HALF_NAME, lower
from qorch.workloads.distributed.partition import Partition, Teleport, partition_circuit
from qorch.workloads.distributed.program import EPR_NAME, count_epr_pairs, is_comm, node_of


def _mesh(k: int) -> list[list[float]]:
    return [[0.0 if i == j else 1.0 for j in range(k)] for i in range(k)]


def _names(k: int) -> list[str]:
    return ["alpha", "beta", "gamma", "delta"][:k]


def _qaoa(n: int, seed: int) -> QuantumCircuit:
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for _ in range(2):
        for a in range(n):
            for b in range(a + 1, n):
                if rng.random() < 0.4:
                    qc.rzz(float(rng.uniform(0, np.pi)), a, b)
        qc.rx(0.7, range(n))
    return qc


def _ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    return qc


def _exact_meas_distribution(qc: QuantumCircuit) -> dict[str, float]:
    """Exact distribution of the ``meas`` register, branching on mid-circuit measurements.

    Each branch holds a state vector over the qubits in use only: a qubit joins it when a
    gate first touches it (from |0⟩, or the basis state it was measured or reset into) and
    leaves it when it is measured or reset. The lowered programs' spare slots and idle
    communication qubits stay out of the vector: 20-qubit programs simulate as 10 or 12.
    Branches whose states coincide once their measured bits are no longer read are merged,
    so a correct program stays at a handful of branches.
    """
    last_read: dict = {}
    for i, inst in enumerate(qc.data):
        if inst.operation.name == "if_else":
            last_read[inst.operation.condition[0]] = i
    branches: list[_Branch] = [_Branch(1.0, np.ones((), dtype=complex), (), frozenset(), {})]
    final: dict[int, int] = {}
    for i, inst in enumerate(qc.data):
        qs = [qc.find_bit(q).index for q in inst.qubits]
        name = inst.operation.name
        if name == "measure" and qc.find_bit(inst.clbits[0]).registers[0][0].name == "meas":
            final[qc.find_bit(inst.clbits[0]).registers[0][1]] = qs[0]
            continue
        nxt = []
        for branch in branches:
            nxt.extend(_step(inst, qs, branch))
        branches = _merge(nxt, {b for b, last in last_read.items() if last > i})
    measured = [final[b] for b in range(len(final))]
    dist: dict[str, float] = {}
    for branch in branches:
        for values, pr in branch.marginal(measured):
            key = "".join(str(values[q]) for q in reversed(measured))
            dist[key] = dist.get(key, 0.0) + branch.p * pr
    return dist


@dataclasses.dataclass
class _Branch:
    """One outcome of the mid-circuit measurements so far, with its probability ``p``.

    ``psi`` has one axis per qubit of ``active`` (sorted qubit indices); every other qubit
    is in a basis state: |1⟩ if it is in ``ones``, else |0⟩."""

    p: float
    psi: np.ndarray
    active: tuple[int, ...]
    ones: frozenset[int]
    bits: dict

    def activate(self, qs: list[int]) -> _Branch:
        psi, active, ones = self.psi, self.active, self.ones
        for q in qs:
            if q not in active:
                axis = sum(1 for a in active if a < q)
                basis = np.array([0, 1] if q in ones else [1, 0], dtype=complex)
                psi = np.moveaxis(np.multiply.outer(psi, basis), -1, axis)
                active, ones = (*active[:axis], q, *active[axis:]), ones - {q}
        return dataclasses.replace(self, psi=psi, active=active, ones=ones)

    def apply(self, mat: np.ndarray, qs: list[int]) -> _Branch:
        """``mat`` (Qiskit's qubit order: ``qs[0]`` least significant) on qubits ``qs``."""
        branch = self.activate(qs)
        k = len(qs)
        axes = [branch.active.index(q) for q in reversed(qs)]  # mat's row order, high first
        tensor = np.asarray(mat, dtype=complex).reshape((2,) * (2 * k))
        psi = np.tensordot(tensor, branch.psi, axes=(list(range(k, 2 * k)), axes))
        return dataclasses.replace(branch, psi=np.moveaxis(psi, list(range(k)), axes))

    def project(self, q: int) -> list[tuple[int, _Branch]]:
        """The outcomes of measuring ``q`` (probability above 1e-12), ``q`` left the vector."""
        if q not in self.active:
            return [(int(q in self.ones), self)]
        axis = self.active.index(q)
        found = []
        for value in (0, 1):
            kept = np.take(self.psi, value, axis=axis)
            pv = float(np.vdot(kept, kept).real)
            if pv > 1e-12:
                found.append((value, _Branch(
                    self.p * pv, kept / np.sqrt(pv), self.active[:axis] + self.active[axis + 1:],
                    self.ones | {q} if value else self.ones, self.bits,
                )))  # fmt: skip
        return found

    def marginal(self, qubits: list[int]) -> list[tuple[dict[int, int], float]]:
        """Each assignment of values to ``qubits`` with its probability in this branch."""
        inside = sorted({q for q in qubits if q in self.active})
        probs = np.abs(self.psi) ** 2
        others = tuple(i for i, q in enumerate(self.active) if q not in inside)
        probs = probs.sum(axis=others) if others else probs
        fixed = {q: int(q in self.ones) for q in qubits if q not in self.active}
        return [
            ({**fixed, **dict(zip(inside, index, strict=True))}, float(probs[index]))
            for index in np.ndindex(probs.shape)
        ]


def _step(inst, qs, branch: _Branch) -> list[_Branch]:
    name = inst.operation.name
    if name == "measure":
        return [
            dataclasses.replace(outcome, bits={**branch.bits, inst.clbits[0]: value})
            for value, outcome in branch.project(qs[0])
        ]
    if name == "reset":
        return [
            dataclasses.replace(outcome, ones=outcome.ones - {qs[0]})
            for _, outcome in branch.project(qs[0])
        ]
    if name == "if_else":
        bit, val = inst.operation.condition
        if branch.bits.get(bit, 0) != val:
            return [branch]
        body = inst.operation.blocks[0]
        for sub in body.data:
            sub_qs = [qs[body.find_bit(q).index] for q in sub.qubits]
            branch = branch.apply(Operator(sub.operation).data, sub_qs)
        return [branch]
    return [branch.apply(Operator(inst.operation).data, qs)]


def _merge(branches: list[_Branch], live) -> list[_Branch]:
    merged: list[_Branch] = []
    for branch in branches:
        bits = {b: v for b, v in branch.bits.items() if b in live}
        for j, other in enumerate(merged):
            if (
                other.bits == bits
                and other.active == branch.active
                and other.ones == branch.ones
                and abs(np.vdot(other.psi, branch.psi)) > 1 - 1e-9
            ):
                merged[j] = dataclasses.replace(other, p=other.p + branch.p)
                break
        else:
            merged.append(dataclasses.replace(branch, bits=bits))
    return merged


def _tvd(p: dict[str, float], q: dict[str, float]) -> float:
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


@pytest.mark.parametrize("seed", [1, 2])
def test_the_branching_simulator_matches_qiskit(seed: int) -> None:
    """The tests' reference simulator (one- to three-qubit gates on the qubits in use, and
    measurements that branch) against Qiskit's Statevector on random circuits."""
    qc = random_circuit(7, 8, max_operands=3, seed=seed)
    qc.measure_all()  # the "meas" register
    exact = Statevector(qc.remove_final_measurements(inplace=False)).probabilities_dict()
    assert _tvd(_exact_meas_distribution(qc), exact) < 1e-9
    mid = QuantumCircuit(2, 1)  # a mid-circuit measurement read by a conditional gate
    mid.ry(2 * np.arccos(np.sqrt(0.3)), 0)  # P(0) = 0.3
    mid.measure(0, 0)
    with mid.if_test((mid.clbits[0], 1)):
        mid.x(1)
    mid.measure_all()
    assert _tvd(_exact_meas_distribution(mid), {"00": 0.3, "11": 0.7}) < 1e-12


CIRCUITS = {
    "qft10": lambda: synth_qft_full(10, do_swaps=False),
    "ghz9": lambda: _ghz(9),
    "qaoa8": lambda: _qaoa(8, 3),
    "random10": lambda: random_circuit(10, 8, max_operands=2, seed=11),
}


@pytest.mark.parametrize("name", sorted(CIRCUITS))
@pytest.mark.parametrize("k", [2, 3])
def test_emitted_epr_pairs_equal_reported_cost(name: str, k: int) -> None:
    qc = CIRCUITS[name]()
    caps = [-(-qc.num_qubits // k)] * k
    part = partition_circuit(qc, caps, _mesh(k), comm_qubits=[2] * k, seed=1)
    prog = lower(qc, part, _names(k))
    counted = count_epr_pairs(prog.combined)
    assert sum(counted.values()) == part.epr_pairs == prog.epr_pairs
    assert dict(counted) == prog.epr_pairs_per_pair
    assert part.cost == pytest.approx(part.epr_pairs)


@pytest.mark.parametrize(
    ("seed", "n", "k"), [(0, 8, 2), (1, 10, 2), (2, 12, 2), (3, 9, 3), (4, 12, 3)]
)
def test_distributed_program_matches_monolithic_distribution(seed: int, n: int, k: int) -> None:
    qc = random_circuit(n, 6, max_operands=2, seed=seed)
    caps = [-(-n // k)] * k
    part = partition_circuit(qc, caps, _mesh(k), comm_qubits=[2] * k, seed=seed)
    assert part.epr_pairs > 0
    prog = lower(qc, part, _names(k))
    exact = Statevector(qc).probabilities_dict()
    assert _tvd(_exact_meas_distribution(prog.combined), exact) < 1e-6


@pytest.mark.parametrize(("n", "k", "comm"), [(8, 4, 2), (6, 3, 3)])
def test_gates_on_a_third_qpu_keep_the_distribution(n: int, k: int, comm: int) -> None:
    prep = QuantumCircuit(n)
    for q in range(n):
        prep.ry(0.3 + 0.4 * q, q)
    qc = prep.compose(synth_qft_full(n, do_swaps=False))
    part = partition_circuit(qc, [n // k] * k, _mesh(k), comm_qubits=[comm] * k)
    assert part.third_node_gates  # gates served by two copies, on neither qubit's QPU
    prog = lower(qc, part, _names(k))
    assert sum(count_epr_pairs(prog.combined).values()) == part.epr_pairs
    exact = Statevector(qc).probabilities_dict()
    assert _tvd(_exact_meas_distribution(prog.combined), exact) < 1e-6


def test_teleportation_lowering_keeps_the_state() -> None:
    qc = _qaoa(6, 5)
    part = partition_circuit(qc, [4, 4], _mesh(2), comm_qubits=[1, 1])
    src = part.final_assignment[0]
    moved = dataclasses.replace(
        part,
        teleports=(Teleport(0, src, 1 - src, len(part.ops)),),
        epr_pairs_per_pair={(0, 1): part.epr_pairs + 1},
    )
    prog = lower(qc, moved, ["A", "B"])
    assert sum(count_epr_pairs(prog.combined).values()) == part.epr_pairs + 1
    exact = Statevector(qc).probabilities_dict()
    assert _tvd(_exact_meas_distribution(prog.combined), exact) < 1e-6


def test_aer_simulation_of_qft_with_prepared_input_matches() -> None:
    # Aer runs dynamic circuits shot by shot (~2 ms each), so keep this one small.
    prep = QuantumCircuit(6)
    prep.x([1, 3])
    prep.h(4)
    qc = prep.compose(synth_qft_full(6, do_swaps=False, inverse=True))
    qc.compose(synth_qft_full(6, do_swaps=False), inplace=True)
    part = partition_circuit(qc, [3, 3], _mesh(2), comm_qubits=[1, 1])
    assert part.epr_pairs > 0
    prog = lower(qc, part, ["A", "B"])
    sim = AerSimulator(seed_simulator=7)
    # Two ideal outcomes of 1/2: the TVD of a correct run is |p - 1/2| plus nothing, with
    # a standard error of 0.5/sqrt(shots) = 0.008; 0.03 is 3.8 of them (20 000 shots and
    # 0.02 before: 5x the time, same verdict). A wrong program misplaces far more.
    shots = 4_000
    counts = sim.run(transpile(prog.combined, sim), shots=shots).result().get_counts()
    dist: dict[str, float] = {}
    for key, c in counts.items():
        meas = key.split()[0]
        dist[meas] = dist.get(meas, 0.0) + c / shots
    ideal = Statevector(qc).probabilities_dict()
    assert len([p for p in ideal.values() if p > 1e-9]) == 2
    assert _tvd(dist, ideal) <= 0.03


def test_program_follows_the_contract() -> None:
    qc = synth_qft_full(9, do_swaps=False)
    part = partition_circuit(qc, [3, 3, 3], _mesh(3), comm_qubits=[1, 2, 1])
    prog = lower(qc, part, ["a", "b", "c"])
    regs = {r.name: r.size for r in prog.combined.qregs}
    assert regs == {"data_a": 3, "data_b": 3, "data_c": 3, "comm_a": 1, "comm_b": 2, "comm_c": 1}
    for inst in prog.combined.data:
        nodes = {node_of(prog.combined, q) for q in inst.qubits}
        if inst.operation.name == EPR_NAME:
            assert len(nodes) == 2 and all(is_comm(prog.combined, q) for q in inst.qubits)
        else:
            assert len(nodes) <= 1
    halves = sum(
        1 for c in prog.per_node.values() for i in c.data if i.operation.name == EPR_HALF_NAME
    )
    assert halves == 2 * prog.epr_pairs
    assert [c.name for c in prog.combined.cregs][-1] == "meas"


def test_partition_for_another_circuit_is_refused() -> None:
    part = partition_circuit(_ghz(4), [2, 2], _mesh(2))
    with pytest.raises(Exception, match="partition is for 4 qubits"):
        lower(_ghz(5), part, ["A", "B"])
    assert isinstance(part, Partition)


@pytest.mark.parametrize(("n", "spare", "seed"), [(6, 0, 1), (6, 1, 2), (7, 0, 3)])
def test_planned_teleportations_keep_the_distribution(n: int, spare: int, seed: int) -> None:
    """Dense random blocks make the partitioner move qubits; swaps fill full nodes."""
    qc = transpile(quantum_volume(n, depth=4, seed=seed), basis_gates=["u", "cx"])
    caps = [-(-n // 2) + spare] * 2
    part = partition_circuit(qc, caps, _mesh(2), comm_qubits=[2, 2], seed=seed)
    assert part.teleports
    prog = lower(qc, part, ["A", "B"])
    assert sum(count_epr_pairs(prog.combined).values()) == part.epr_pairs
    assert prog.teleports == len(part.teleports)
    exact = Statevector(qc).probabilities_dict()
    assert _tvd(_exact_meas_distribution(prog.combined), exact) < 1e-6


@pytest.mark.parametrize(
    ("family", "n", "k", "spare", "seed"),
    [
        ("qv", 6, 3, 0, 1),
        ("qv", 7, 3, 0, 0),  # an idle qubit in every layer
        ("qv", 8, 4, 0, 2),
        ("qv", 8, 4, 1, 0),  # a free slot per QPU: single moves as well as cycles
        ("random", 9, 3, 0, 2),
    ],
)
def test_layered_teleportations_on_more_qpus_keep_the_distribution(
    family: str, n: int, k: int, spare: int, seed: int
) -> None:
    """Three and four QPUs: the k-node layered planner wins, and its program is exact."""
    if family == "qv":
        qc = transpile(quantum_volume(n, depth=4, seed=seed), basis_gates=["u", "cx"])
    else:
        qc = random_circuit(n, 10, max_operands=2, seed=seed)
    caps = [-(-n // k) + spare] * k
    part = partition_circuit(qc, caps, _mesh(k), comm_qubits=[2] * k, seed=seed)
    assert part.planner == "layered" and part.teleports
    prog = lower(qc, part, _names(k))
    assert sum(count_epr_pairs(prog.combined).values()) == part.epr_pairs
    assert prog.teleports == len(part.teleports)
    exact = Statevector(qc).probabilities_dict()
    assert _tvd(_exact_meas_distribution(prog.combined), exact) < 1e-6
