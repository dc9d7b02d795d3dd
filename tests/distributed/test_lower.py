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

    Branches whose states coincide once their measured bits are no longer read are merged,
    so a correct program stays at a handful of branches.
    """
    n = qc.num_qubits
    last_read: dict = {}
    for i, inst in enumerate(qc.data):
        if inst.operation.name == "if_else":
            last_read[inst.operation.condition[0]] = i
    branches: list[tuple[float, np.ndarray, dict]] = [(1.0, _zero(n), {})]
    final: dict[int, int] = {}
    for i, inst in enumerate(qc.data):
        qs = [qc.find_bit(q).index for q in inst.qubits]
        name = inst.operation.name
        if name == "measure" and qc.find_bit(inst.clbits[0]).registers[0][0].name == "meas":
            final[qc.find_bit(inst.clbits[0]).registers[0][1]] = qs[0]
            continue
        nxt = []
        for p, psi, bits in branches:
            nxt.extend(_step(inst, qs, p, psi, bits))
        branches = _merge(nxt, {b for b, last in last_read.items() if last > i})
    dist: dict[str, float] = {}
    m = len(final)
    for p, psi, _ in branches:
        probs = Statevector(psi.reshape(-1)).probabilities([final[b] for b in range(m)])
        for idx, pr in enumerate(probs):
            key = format(idx, f"0{m}b")
            dist[key] = dist.get(key, 0.0) + p * float(pr)
    return dist


def _zero(n: int) -> np.ndarray:
    psi = np.zeros(2**n, dtype=complex)
    psi[0] = 1
    return psi


def _apply(psi: np.ndarray, mat: np.ndarray, qs: list[int]) -> np.ndarray:
    """``mat`` (Qiskit's qubit order: ``qs[0]`` least significant) on qubits ``qs`` of ``psi``.

    One- and two-qubit gates act on strided views, one slice per non-zero matrix entry
    (a CX is four copies): 2-4x faster than ``Statevector.evolve`` on the 20-qubit
    lowered programs, where this simulator was most of the tests' time."""
    mat = np.asarray(mat)
    if len(qs) > 2:
        return Statevector(psi).evolve(Operator(mat), qs).data
    if len(qs) == 1:
        view = psi.reshape(-1, 2, 2 ** qs[0])
        u = mat
        basis: list[tuple[int, ...]] = [(0,), (1,)]

        def at(v: np.ndarray, bits: tuple[int, ...]) -> np.ndarray:
            return v[:, bits[0]]

    else:
        lo, hi = sorted(qs)
        u4 = mat.reshape(2, 2, 2, 2)  # [out qs[1], out qs[0], in qs[1], in qs[0]]
        u = (u4.transpose(1, 0, 3, 2) if qs[0] == hi else u4).reshape(4, 4)  # (hi, lo) order
        view = psi.reshape(-1, 2, 2 ** (hi - lo - 1), 2, 2**lo)
        basis = [(0, 0), (0, 1), (1, 0), (1, 1)]

        def at(v: np.ndarray, bits: tuple[int, ...]) -> np.ndarray:
            return v[:, bits[0], :, bits[1]]

    out = np.zeros_like(view)
    for row, out_bits in enumerate(basis):
        target = at(out, out_bits)
        for column, in_bits in enumerate(basis):
            entry = u[row, column]
            if entry != 0:
                target += at(view, in_bits) if entry == 1 else entry * at(view, in_bits)
    return out.reshape(-1)


def _project(psi: np.ndarray, q: int, value: int) -> tuple[float, np.ndarray]:
    kept = psi.reshape(-1, 2, 2**q)[:, value]
    p = float(np.vdot(kept, kept).real)
    out = np.zeros((len(kept), 2, 2**q), dtype=psi.dtype)
    out[:, value] = kept / np.sqrt(p) if p > 1e-14 else kept
    return p, out.reshape(-1)


def _step(inst, qs, p, psi, bits):
    name = inst.operation.name
    if name == "measure":
        out = []
        for v in (0, 1):
            pv, phi = _project(psi, qs[0], v)
            if pv > 1e-12:
                out.append((p * pv, phi, {**bits, inst.clbits[0]: v}))
        return out
    if name == "reset":
        out = []
        for v in (0, 1):
            pv, phi = _project(psi, qs[0], v)
            if pv > 1e-12:
                out.append(
                    (p * pv, _apply(phi, np.array([[0, 1], [1, 0]]), qs) if v else phi, bits)
                )
        return out
    if name == "if_else":
        bit, val = inst.operation.condition
        if bits.get(bit, 0) != val:
            return [(p, psi, bits)]
        body = inst.operation.blocks[0]
        for sub in body.data:
            sub_qs = [qs[body.find_bit(q).index] for q in sub.qubits]
            psi = _apply(psi, Operator(sub.operation).data, sub_qs)
        return [(p, psi, bits)]
    return [(p, _apply(psi, Operator(inst.operation).data, qs), bits)]


def _merge(branches, live):
    merged: list[tuple[float, np.ndarray, dict]] = []
    for p, psi, bits in branches:
        bits = {b: v for b, v in bits.items() if b in live}
        for j, (q, phi, other) in enumerate(merged):
            if other == bits and abs(np.vdot(phi, psi)) > 1 - 1e-9:
                merged[j] = (p + q, phi, other)
                break
        else:
            merged.append((p, psi, bits))
    return merged


def _tvd(p: dict[str, float], q: dict[str, float]) -> float:
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


@pytest.mark.parametrize("seed", [1, 2])
def test_the_branching_simulator_matches_qiskit(seed: int) -> None:
    """The tests' reference simulator (one- to three-qubit gates on strided views, and
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
