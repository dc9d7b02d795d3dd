"""The per-channel fidelity estimate (issue 14, item 4): it tracks the measured fidelity.

The branch simulation is checked against exact answers (a lowered circuit's distribution, a
teleported qubit's flip), and the estimate against Aer on the program it describes: small
lowered circuits over a sweep of link fidelities, seeded, 2000 shots (shot noise ≈ 0.011,
far below the ±0.05 target). Before it the estimate was the probability that no error
happens anywhere — 0.40 for a QFT that measures 0.55 at F = 0.8 — and a GHZ circuit, whose
phase flips change nothing that is measured, was off by 0.09 under a state-overlap estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.quantum_info import Statevector

from qorch.workloads.distributed.distribution import classical_fidelity
from qorch.workloads.distributed.estimate import (
    LOWER_BOUND_ONLY,
    MIXTURE,
    PER_CHANNEL,
    estimate_fidelity,
)
from qorch.workloads.distributed.lower import lower
from qorch.workloads.distributed.partition import partition_circuit
from qorch.workloads.distributed.program import DistributedProgram
from qorch.workloads.distributed.schedule import schedule_program
from qorch.workloads.distributed.sensitivity import BranchSimulation
from qorch.workloads.distributed.simulate import monolithic_counts, simulate
from qorch.workloads.distributed.timing import NodeTiming
from qorch.workloads.sources.generators import qft

MEMORY = NodeTiming(t1_s=1.0, t2_s=0.5)


@dataclass(frozen=True)
class Link:
    rate_hz: float = 1e4
    fidelity: float = 1.0
    latency_s: float = 5e-6


def lowered(circuit: QuantumCircuit, capacities: list[int]) -> DistributedProgram:
    names = [f"n{i}" for i in range(len(capacities))]
    costs = [[0.0 if i == j else 1.0 for j in names] for i in names]
    comm = [1] * len(names)
    part = partition_circuit(circuit, capacities, costs, comm_qubits=comm, node_names=names)
    return lower(circuit, part, names, comm)


def ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for q in range(n - 1):
        circuit.cx(q, q + 1)
    return circuit


def test_the_branch_followed_reproduces_the_circuits_distribution() -> None:
    circuit = qft(5, value=11, swaps=False)
    circuit.remove_final_measurements()
    circuit.ry(0.7, 0)
    circuit.cx(0, 4)
    circuit.rx(0.4, 2)
    circuit.cx(2, 3)
    program = lowered(circuit, [3, 2])
    assert program.epr_pairs > 0
    sim = BranchSimulation(program.combined)
    exact = Statevector(circuit).probabilities()  # index bit i = qubit i, as ``meas``
    assert np.allclose(sim.ideal_probabilities, exact, atol=1e-9)


def teleport(theta: float) -> QuantumCircuit:
    """ry(θ)|0⟩ teleported from q0 to q2 over the pair (q1, q2): mid-circuit measurements
    and corrections, the way lowered programs have them."""
    mid, meas = ClassicalRegister(2, "mid"), ClassicalRegister(1, "meas")
    qc = QuantumCircuit(QuantumRegister(3, "q"), mid, meas)
    qc.ry(theta, 0)
    qc.h(1)
    qc.cx(1, 2)
    qc.cx(0, 1)
    qc.h(0)
    qc.measure(0, mid[0])
    qc.measure(1, mid[1])
    with qc.if_test((mid[1], 1)):
        qc.x(2)
    with qc.if_test((mid[0], 1)):
        qc.z(2)
    qc.reset([0, 1])
    qc.measure(2, meas[0])
    return qc


def test_a_channel_keeps_what_it_does_not_change() -> None:
    theta, p = 1.1, 0.1
    sim = BranchSimulation(teleport(theta))
    p0 = math.cos(theta / 2) ** 2
    assert sim.ideal_probabilities == pytest.approx([p0, 1 - p0])
    pair = sim.op_end[2]  # after the pair is made: an error on its far half...
    x_flip = {pair: [((2,), (("X", p),))]}
    kept = sim.survival(x_flip, sim.outcome_state(0))[pair][0]
    assert kept == pytest.approx(1 - p + p * (1 - p0) / p0)  # ...flips the teleported qubit
    z_flip = {pair: [((2,), (("Z", p),))]}
    assert sim.survival(z_flip, sim.outcome_state(0))[pair][0] == pytest.approx(1.0)
    near = {pair: [((1,), (("X", p),))]}  # the near half: a wrong X correction, the same
    assert sim.survival(near, sim.outcome_state(0))[pair][0] == pytest.approx(kept)
    # a phase flip of a GHZ state changes nothing measured: each outcome keeps its share,
    # though the state itself is now orthogonal to the ideal one
    bell = ghz(2)
    bell.add_register(ClassicalRegister(2, "meas"))
    bell.measure([0, 1], [0, 1])
    sim = BranchSimulation(bell)
    end = {sim.op_end[1]: [((0,), (("Z", p),))]}
    assert sim.survival(end, sim.outcome_state(0))[sim.op_end[1]][0] == pytest.approx(1.0)
    assert sim.survival(end)[sim.op_end[1]][0] == pytest.approx(1 - p)


CASES = [("qft5", 0.80), ("qft5", 0.90), ("qft5", 0.99), ("ghz6", 0.80)]


@pytest.mark.parametrize(("name", "fidelity"), CASES)
def test_the_estimate_tracks_aer_within_005(name: str, fidelity: float) -> None:
    if name == "ghz6":
        circuit, capacities = ghz(6), [2, 2, 2]
    else:
        circuit, capacities = qft(5, value=11, swaps=False), [3, 2]
    program = lowered(circuit, capacities)
    links = {pair: Link(fidelity=fidelity) for pair in program.epr_pairs_per_pair}
    timings = {node: MEMORY for node in program.nodes}
    schedule = schedule_program(program, timings, links)
    mixture = estimate_fidelity(program, schedule, timings, links)
    assert mixture.method == MIXTURE
    per_channel = estimate_fidelity(
        program, schedule, timings, links, max_density_work=0, max_trajectory_work=0
    )
    assert per_channel.method == PER_CHANNEL  # the model for programs too wide for ρ
    shots = 2000
    counts = simulate(program, schedule, timings, links, shots=shots, seed=31 * shots)
    measured = classical_fidelity(counts, monolithic_counts(circuit, 20_000, seed=1))
    for estimate in (mixture, per_channel):
        assert estimate.classical_fidelity == pytest.approx(measured, abs=0.05)
        assert estimate.lower_bound <= estimate.classical_fidelity
        assert estimate.success_probability is not None
        assert estimate.success_probability <= estimate.classical_fidelity + 1e-9
    if fidelity <= 0.8:  # the no-error product alone would miss by more than the target
        assert measured - mixture.lower_bound > 0.05


def test_a_program_too_wide_to_follow_reports_only_the_lower_bound() -> None:
    program = lowered(qft(5, value=3, swaps=False), [3, 2])
    links = {pair: Link(fidelity=0.9) for pair in program.epr_pairs_per_pair}
    timings = {node: MEMORY for node in program.nodes}
    schedule = schedule_program(program, timings, links)
    estimate = estimate_fidelity(program, schedule, timings, links, max_qubits=3)
    assert estimate.method == LOWER_BOUND_ONLY and "more than 3 qubits" in estimate.reason
    assert estimate.success_probability is None and estimate.classical_fidelity is None
    assert estimate.best == estimate.lower_bound == schedule.estimated_fidelity


def test_the_tables_say_which_figure_is_which() -> None:
    from qorch.workloads.distributed.views import estimate_rows, results_view

    info = {"estimated_fidelity": 0.36, "estimated_classical_fidelity": 0.36,
            "estimated_success_probability": 0.35, "fidelity_lower_bound": 0.26,
            "estimate_method": "per-channel"}  # fmt: skip
    assert estimate_rows(info) == [
        ("estimated fidelity to the ideal distribution", "0.3600"),
        ("estimated success probability (an ideal outcome)", "0.3500"),
        ("fidelity lower bound (no error anywhere)", "0.2600"),
        ("estimate method", "per-channel"),
    ]
    wide = {**info, "estimated_fidelity": 0.2, "estimated_classical_fidelity": None,
            "estimated_success_probability": None, "fidelity_lower_bound": 0.2,
            "estimate_method": "lower-bound (more than 20 qubits live at once)"}  # fmt: skip
    assert [value for _, value in estimate_rows(wide)][:2] == ["-", "-"]
    # a report written before the per-channel estimate keeps its one row
    assert estimate_rows({"estimated_fidelity": 0.9}) == [("estimated fidelity", "0.9000")]
    run = {"jobs": [], "run_id": "r", "status": "completed", "plan": "p.yaml"}
    simulation = {"counts": {}, "tvd_to_monolithic": 0.1, "measured_fidelity": 0.37,
                  "perfect_links": False, **info}  # fmt: skip
    partition = {"qubits_per_node": {"a": 1}, "epr_pairs": 0, "epr_pairs_per_link": {},
                 "sampling_overhead": 1.0, "cuts": 0}  # fmt: skip
    table = results_view(run, {"partition": partition, "simulation": simulation}).tables[-1]
    assert table.columns[1:4] == (
        "measured fidelity",
        "estimated fidelity",
        "estimated success probability",
    )
    assert table.rows[0][1:4] == ("0.3700", "0.3600", "0.3500")
