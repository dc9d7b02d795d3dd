"""Scheduling and estimation of hand-built distributed programs (distributed.schedule)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Qubit

from qorch.contract.errors import PlanError
from qorch.workloads.distributed.program import DistributedProgram, EPRGate, count_epr_pairs
from qorch.workloads.distributed.schedule import Schedule, schedule_program
from qorch.workloads.distributed.timing import (
    NodeTiming,
    pair_storage_penalty,
    stored_pair_fidelity,
    timing_from_target,
)


@dataclass(frozen=True)
class Link:
    rate_hz: float = 1e5
    fidelity: float = 1.0
    latency_s: float = 5e-6


class Builder:
    """A two-node program following the contract: data_<n>/comm_<n>, mid bits, meas."""

    def __init__(self, data: int = 2, comm: int = 1) -> None:
        self.data = {n: QuantumRegister(data, f"data_{n}") for n in "ab"}
        self.comm = {n: QuantumRegister(comm, f"comm_{n}") for n in "ab"}
        self.mid = ClassicalRegister(8, "mid")
        regs = [r for n in "ab" for r in (self.data[n], self.comm[n])]
        self.qc = QuantumCircuit(*regs, self.mid, ClassicalRegister(2 * data, "meas"))
        self.bits = iter(self.mid)

    def remote_cnot(self, control: Qubit, cc: Qubit, tc: Qubit, target: Qubit) -> None:
        """Cat-entangled CNOT: EPR, parity measurement on a, X on b, CNOT, X-basis undo."""
        qc, m0, m1 = self.qc, next(self.bits), next(self.bits)
        qc.append(EPRGate(), [cc, tc])
        qc.cx(control, cc)
        qc.measure(cc, m0)
        with qc.if_test((m0, 1)):
            qc.x(tc)
        qc.cx(tc, target)
        qc.h(tc)
        qc.measure(tc, m1)
        with qc.if_test((m1, 1)):
            qc.z(control)
        qc.reset(cc)
        qc.reset(tc)

    def program(self) -> DistributedProgram:
        return DistributedProgram(("a", "b"), self.qc, {}, dict(count_epr_pairs(self.qc)))


def run(program: DistributedProgram, link: Link, timing: NodeTiming | None = None) -> Schedule:
    timings = {n: timing or NodeTiming() for n in program.nodes}
    return schedule_program(program, timings, {("a", "b"): link})


def two_remote_cnots(comm: int) -> DistributedProgram:
    """Two independent remote CNOTs a→b; with two comm qubits each gets its own."""
    b = Builder(data=2, comm=comm)
    da, db, ca, cb = b.data["a"], b.data["b"], b.comm["a"], b.comm["b"]
    b.qc.h(da)
    b.remote_cnot(da[0], ca[0], cb[0], db[0])
    b.remote_cnot(da[1], ca[comm - 1], cb[comm - 1], db[1])
    return b.program()


def epr_ops(schedule: Schedule) -> list:
    return [op for op in schedule.ops if op.name == "epr"]


def test_pairs_on_one_link_queue_at_its_rate() -> None:
    rate_hz = 1e4
    schedule = run(two_remote_cnots(comm=2), Link(rate_hz=rate_hz))
    first, second = epr_ops(schedule)
    assert second.start_s >= first.end_s - 1e-15
    assert second.end_s == pytest.approx(2 / rate_hz)
    assert schedule.makespan_s >= 2 / rate_hz
    demand = schedule.per_pair[("a", "b")]
    assert demand.pairs == 2 and demand.link_rate_hz == rate_hz
    assert demand.demand_rate_hz == pytest.approx(2 / schedule.makespan_s)
    assert 0 < demand.utilisation <= 1


def test_one_comm_qubit_serialises_pairs_behind_their_use() -> None:
    link = Link(rate_hz=1e6, latency_s=20e-6)
    one, two = run(two_remote_cnots(comm=1), link), run(two_remote_cnots(comm=2), link)
    resets = [op for op in one.ops if op.name == "reset"]
    # with one comm qubit the second pair waits until the first pair's qubits are reset
    assert epr_ops(one)[1].start_s >= max(op.end_s for op in resets[:2]) - 1e-15
    assert epr_ops(two)[1].start_s == pytest.approx(1e-6)  # only the link queue
    assert one.makespan_s > two.makespan_s + 20e-6


def test_conditional_on_another_node_waits_for_the_latency() -> None:
    latency_s, timing = 37e-6, NodeTiming(feedforward_s=0.4e-6)
    b = Builder(data=1)
    qc, bit_a, bit_b = b.qc, b.mid[0], b.mid[1]
    qc.h(b.data["a"][0])
    qc.measure(b.data["a"][0], bit_a)
    with qc.if_test((bit_a, 1)):  # on b, from a: one message a → b
        qc.x(b.data["b"][0])
    qc.measure(b.data["b"][0], bit_b)
    with qc.if_test((bit_b, 1)):  # local to b: no message
        qc.x(b.data["b"][0])
    schedule = run(b.program(), Link(latency_s=latency_s), timing)
    measure_a, remote_if, measure_b, local_if = (schedule.ops[i] for i in (1, 2, 3, 4))
    assert remote_if.start_s == pytest.approx(measure_a.end_s + latency_s + 0.4e-6)
    assert local_if.start_s == pytest.approx(measure_b.end_s + 0.4e-6)


def test_perfect_links_and_nodes_estimate_one() -> None:
    schedule = run(two_remote_cnots(comm=1), Link(), NodeTiming.perfect())
    assert schedule.estimated_fidelity == pytest.approx(1.0)
    assert schedule.decohering_pairs == () and schedule.warnings == ()


def test_estimate_falls_with_link_fidelity_and_memory() -> None:
    program = two_remote_cnots(comm=1)
    good = run(program, Link(fidelity=0.95))
    worse = run(program, Link(fidelity=0.85))
    assert worse.link_fidelity == pytest.approx(0.85**2)
    assert worse.estimated_fidelity < good.estimated_fidelity
    short_memory = run(program, Link(fidelity=0.95), NodeTiming(t1_s=20e-6, t2_s=20e-6))
    assert short_memory.idle_fidelity < good.idle_fidelity
    assert short_memory.total_idle_s == pytest.approx(good.total_idle_s)


def test_pairs_that_decohere_before_use_are_flagged() -> None:
    program = two_remote_cnots(comm=1)
    slow = Link(latency_s=1e-3)  # the far half waits 1 ms for the parity bit
    flagged = run(program, slow, NodeTiming(t1_s=200e-6, t2_s=100e-6))
    assert len(flagged.decohering_pairs) == 2
    assert all(p.fidelity_at_use < 0.55 for p in flagged.decohering_pairs)  # dephased: → 0.5
    assert "decays from 1.000" in flagged.warnings[0]
    assert run(program, slow, NodeTiming(t1_s=10.0, t2_s=10.0)).decohering_pairs == ()


def test_stored_pair_fidelity_matches_dephasing_of_a_werner_state() -> None:
    from qiskit.quantum_info import DensityMatrix, Statevector, state_fidelity
    from qiskit_aer.noise import depolarizing_error, thermal_relaxation_error

    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    fidelity, t2_s, wait_s = 0.9, 50e-6, 30e-6
    werner = DensityMatrix(bell).evolve(depolarizing_error(4 * (1 - fidelity) / 3, 2))
    dephase = thermal_relaxation_error(math.inf, t2_s, wait_s)
    stored = werner.evolve(dephase, qargs=[1])
    expected = state_fidelity(stored, Statevector(bell))
    assert stored_pair_fidelity(fidelity, 0.0, wait_s, t2_s, t2_s) == pytest.approx(expected)
    assert stored_pair_fidelity(fidelity, 0.0, 0.0, t2_s, t2_s) == pytest.approx(fidelity)


def test_storage_penalty_grows_with_latency() -> None:
    near, far = Link(fidelity=0.95, latency_s=1e-6), Link(fidelity=0.95, latency_s=100e-6)
    assert 0 < pair_storage_penalty(near, 1e-3, 1e-3) < pair_storage_penalty(far, 1e-3, 1e-3)
    assert pair_storage_penalty(far, 1e-3, 1e-3, storage_s=0.0) == 0.0


def test_missing_link_is_a_plan_error() -> None:
    program = two_remote_cnots(comm=1)
    with pytest.raises(PlanError, match="no link between nodes 'a' and 'b'"):
        schedule_program(program, {n: NodeTiming() for n in "ab"}, {})
    with pytest.raises(PlanError, match="no timing"):
        schedule_program(program, {"a": NodeTiming()}, {("a", "b"): Link()})


def test_timing_read_from_an_ibm_fake_backend_target() -> None:
    from qiskit_ibm_runtime.fake_provider import FakeKyiv

    target = FakeKyiv().target
    timing = timing_from_target(target)
    assert timing.gate_1q_s == pytest.approx(target["sx"][(0,)].duration)
    assert 100e-9 < timing.gate_2q_s < 2e-6  # ECR, about 0.56 µs
    assert 0.5e-6 < timing.measure_s < 5e-6
    assert 0 < timing.error_1q < 1e-2 and 1e-3 < timing.error_2q < 5e-2
    assert 10e-6 < timing.t1_s < 1e-3 and timing.t2_s <= 2 * timing.t1_s
    assert timing.feedforward_s == NodeTiming().feedforward_s


def test_target_without_figures_keeps_the_defaults() -> None:
    from qiskit.circuit.library import CXGate, SXGate
    from qiskit.transpiler import Target

    target = Target(num_qubits=2)
    target.add_instruction(SXGate(), {(0,): None, (1,): None})
    target.add_instruction(CXGate(), {(0, 1): None})
    assert timing_from_target(target) == NodeTiming()


def test_invalid_memory_times_are_rejected() -> None:
    with pytest.raises(PlanError, match="T2 <= 2·T1"):
        NodeTiming(t1_s=10e-6, t2_s=30e-6)
