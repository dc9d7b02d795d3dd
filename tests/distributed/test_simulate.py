"""Noisy simulation of hand-built distributed programs on Aer (distributed.simulate).

Estimate/measure pair: ``Schedule.estimated_fidelity`` is the probability that no
error event happens. On a *mirror* program (remote CNOT twice on |+⟩|0⟩, then H:
ideal output 00) every pair, gate and readout error flips the output, so the
measured probability of 00 (= the classical fidelity to the ideal, one-outcome
distribution) should track it. Measured − estimated at 20 000 shots: +0.006,
+0.011, +0.029, +0.043 for link fidelities 1.0, 0.9, 0.8, 0.7: two errors of the
same kind cancel (a second-order effect the estimate ignores), so it is a slightly
pessimistic, never optimistic, estimate.
On a GHZ state many errors (Z on a pair) are invisible in the output, so there the
measured classical fidelity only falls monotonically and stays above the estimate.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Qubit

from qorch.workloads.distributed.distribution import classical_fidelity, total_variation_distance
from qorch.workloads.distributed.program import DistributedProgram, EPRGate, count_epr_pairs
from qorch.workloads.distributed.schedule import schedule_program
from qorch.workloads.distributed.simulate import (
    marginal_final_counts,
    monolithic_counts,
    noisy_program,
    simulate,
)
from qorch.workloads.distributed.timing import NodeTiming

SHOTS = 20_000
LONG_MEMORY = NodeTiming(t1_s=1.0, t2_s=1.0)


@dataclass(frozen=True)
class Link:
    rate_hz: float = 1e5
    fidelity: float = 1.0
    latency_s: float = 5e-6


class Builder:
    """One data and one comm qubit per node; logical qubit i is data_<nodes[i]>[0]."""

    def __init__(self, nodes: str) -> None:
        self.nodes = tuple(nodes)
        self.data = {n: QuantumRegister(1, f"data_{n}") for n in nodes}
        self.comm = {n: QuantumRegister(1, f"comm_{n}") for n in nodes}
        regs = [r for n in nodes for r in (self.data[n], self.comm[n])]
        self.meas = ClassicalRegister(len(nodes), "meas")
        self.qc = QuantumCircuit(*regs, ClassicalRegister(12, "mid"), self.meas)
        self.bits = iter(self.qc.cregs[0])

    def d(self, node: str) -> Qubit:
        return self.data[node][0]

    def c(self, node: str) -> Qubit:
        return self.comm[node][0]

    def remote(self, a: str, b: str, gate: str = "cx") -> None:
        """Cat-entangled controlled gate (cx or cz) from data_a to data_b."""
        qc, m0, m1 = self.qc, next(self.bits), next(self.bits)
        qc.append(EPRGate(), [self.c(a), self.c(b)])
        qc.cx(self.d(a), self.c(a))
        qc.measure(self.c(a), m0)
        with qc.if_test((m0, 1)):
            qc.x(self.c(b))
        getattr(qc, gate)(self.c(b), self.d(b))
        qc.h(self.c(b))
        qc.measure(self.c(b), m1)
        with qc.if_test((m1, 1)):
            qc.z(self.d(a))
        qc.reset(self.c(a))
        qc.reset(self.c(b))

    def program(self, final: dict[int, Qubit] | None = None) -> DistributedProgram:
        final = final or {i: self.d(n) for i, n in enumerate(self.nodes)}
        for i, qubit in final.items():
            self.qc.measure(qubit, self.meas[i])
        return DistributedProgram(self.nodes, self.qc, {}, dict(count_epr_pairs(self.qc)))


def ghz3() -> tuple[DistributedProgram, QuantumCircuit]:
    b = Builder("abc")
    b.qc.h(b.d("a"))
    b.remote("a", "b")
    b.remote("b", "c")
    mono = QuantumCircuit(3)
    mono.h(0)
    mono.cx(0, 1)
    mono.cx(1, 2)
    return b.program(), mono


def rotated_cnot_cz() -> tuple[DistributedProgram, QuantumCircuit]:
    """An asymmetric distribution: checks bit order as well as the gates."""
    b, mono = Builder("ab"), QuantumCircuit(2)
    for qc, q0, q1 in ((b.qc, b.d("a"), b.d("b")), (mono, 0, 1)):
        qc.ry(0.7, q0)
        qc.ry(2.1, q1)
    b.remote("a", "b")
    mono.cx(0, 1)
    for qc, q1 in ((b.qc, b.d("b")), (mono, 1)):
        qc.h(q1)
    b.remote("a", "b", "cz")
    mono.cz(0, 1)
    return b.program(), mono


def teleport() -> tuple[DistributedProgram, QuantumCircuit]:
    """Logical qubit 0 (ry(1.2)|0⟩) teleported a → b; it ends on comm_b."""
    b = Builder("ab")
    qc, m0, m1 = b.qc, next(b.bits), next(b.bits)
    qc.ry(1.2, b.d("a"))
    qc.x(b.d("b"))
    qc.append(EPRGate(), [b.c("a"), b.c("b")])
    qc.cx(b.d("a"), b.c("a"))
    qc.h(b.d("a"))
    qc.measure(b.d("a"), m0)
    qc.measure(b.c("a"), m1)
    with qc.if_test((m1, 1)):
        qc.x(b.c("b"))
    with qc.if_test((m0, 1)):
        qc.z(b.c("b"))
    mono = QuantumCircuit(2)
    mono.ry(1.2, 0)
    mono.x(1)
    return b.program({0: b.c("b"), 1: b.d("b")}), mono


def mirror() -> DistributedProgram:
    b = Builder("ab")
    b.qc.h(b.d("a"))
    b.remote("a", "b")
    b.remote("a", "b")
    b.qc.h(b.d("a"))
    return b.program()


def links_of(program: DistributedProgram, fidelity: float) -> dict[tuple[str, str], Link]:
    return {pair: Link(fidelity=fidelity) for pair in program.epr_pairs_per_pair}


@pytest.mark.parametrize("build", [ghz3, rotated_cnot_cz, teleport], ids=lambda f: f.__name__)
def test_perfect_links_reproduce_the_monolithic_distribution(build) -> None:
    program, mono = build()
    timings = {n: NodeTiming.perfect() for n in program.nodes}
    links = links_of(program, 1.0)
    schedule = schedule_program(program, timings, links)
    reference = monolithic_counts(mono, SHOTS, seed=1)
    seed = 10 * SHOTS  # Aer seeds shot i with seed + i: keep seeds a run apart
    perfect = simulate(program, schedule, timings, links, shots=SHOTS, seed=seed, perfect=True)
    assert total_variation_distance(perfect, reference) < 0.02
    # the noise-model path with perfect links and nodes is noiseless too
    circuit, noise = noisy_program(program, schedule, timings, links)
    assert noise.is_ideal()
    assert sum(inst.operation.name == "epr" for inst in circuit.data) == 0


def test_measured_fidelity_tracks_the_estimate_on_a_mirror_program() -> None:
    program, shots = mirror(), 8000
    timings = {n: LONG_MEMORY for n in program.nodes}
    for fidelity in (1.0, 0.9, 0.8):
        links = links_of(program, fidelity)
        schedule = schedule_program(program, timings, links)
        counts = simulate(program, schedule, timings, links, shots=shots, seed=7 * shots)
        measured = classical_fidelity(counts, {"00": 1})
        assert measured == pytest.approx(counts.get("00", 0) / shots)
        excess = measured - schedule.estimated_fidelity
        assert -0.015 < excess < 0.04, fidelity


def test_fidelity_falls_with_link_fidelity_and_short_memory() -> None:
    program, mono = ghz3()
    ideal, shots = monolithic_counts(mono, SHOTS, seed=1), 6000
    measured, estimated = [], []
    for fidelity, memory in ((1.0, LONG_MEMORY), (0.9, LONG_MEMORY), (0.75, LONG_MEMORY)):
        timings = {n: memory for n in program.nodes}
        links = links_of(program, fidelity)
        schedule = schedule_program(program, timings, links)
        counts = simulate(program, schedule, timings, links, shots=shots, seed=3 * shots)
        measured.append(classical_fidelity(counts, ideal))
        estimated.append(schedule.estimated_fidelity)
    assert measured == sorted(measured, reverse=True) and measured[0] - measured[-1] > 0.1
    assert estimated == sorted(estimated, reverse=True)
    assert all(m > e - 0.02 for m, e in zip(measured, estimated, strict=True))
    # memories that dephase while pairs wait for their messages cost fidelity too
    timings = {n: NodeTiming(t1_s=40e-6, t2_s=20e-6) for n in program.nodes}
    links = links_of(program, 1.0)
    schedule = schedule_program(program, timings, links)
    counts = simulate(program, schedule, timings, links, shots=shots, seed=3 * shots)
    assert classical_fidelity(counts, ideal) < measured[0] - 0.02


def test_bundle_round_trip_through_qpy_and_json_keeps_the_distribution() -> None:
    from qiskit import qpy
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel

    program, _ = ghz3()
    timings = {n: NodeTiming(t1_s=200e-6, t2_s=150e-6) for n in program.nodes}
    links = links_of(program, 0.9)
    schedule = schedule_program(program, timings, links)
    circuit, noise = noisy_program(program, schedule, timings, links)
    labels = {inst.operation.label for inst in circuit.data}
    assert "epr:a:b" in labels and "epr:b:c" in labels
    assert any(str(label).startswith("idle:") for label in labels)

    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    buffer.seek(0)
    loaded = qpy.load(buffer)[0]
    stored = json.dumps(noise.to_dict(serializable=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # from_dict is deprecated in Aer
        reloaded = NoiseModel.from_dict(json.loads(stored))

    def run(qc: QuantumCircuit, model: NoiseModel) -> dict[str, int]:
        result = AerSimulator().run(qc, noise_model=model, shots=4000, seed_simulator=11).result()
        return marginal_final_counts(qc, result.get_counts())

    before, after = run(circuit, noise), run(loaded, reloaded)
    assert total_variation_distance(before, after) < 0.01
    assert classical_fidelity(before, {"000": 1, "111": 1}) < 0.98  # the noise is really there


def test_distribution_measures() -> None:
    assert total_variation_distance({"0": 3, "1": 1}, {"0": 0.25, "1": 0.75}) == 0.5
    assert classical_fidelity({"00": 5}, {"00": 0.5, "11": 0.5}) == pytest.approx(0.5)
    assert classical_fidelity({"01": 1}, {"10": 1}) == 0.0


def test_lowered_program_reproduces_its_circuit() -> None:
    from qorch.workloads.distributed.lower import lower
    from qorch.workloads.distributed.partition import partition_circuit

    qc = QuantumCircuit(4)
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(0.4, 2)
    qc.cx(1, 2)
    qc.cx(2, 3)
    qc.rz(0.3, 3)
    qc.cx(0, 3)
    qc.h(1)
    part = partition_circuit(qc, [2, 2], [[0, 1], [1, 0]], comm_qubits=[1, 1], node_names="ab")
    program = lower(qc, part, ["a", "b"], [1, 1])
    assert program.epr_pairs >= 1
    timings = {n: NodeTiming() for n in program.nodes}
    links = links_of(program, 0.95)
    schedule = schedule_program(program, timings, links)
    assert 0 < schedule.estimated_fidelity < 1 and schedule.makespan_s > 0
    reference = monolithic_counts(qc, SHOTS, seed=1)
    perfect = simulate(program, schedule, timings, links, shots=SHOTS, seed=SHOTS, perfect=True)
    assert total_variation_distance(perfect, reference) < 0.02
