"""The density-matrix estimate: all error channels composed on the branch followed.

The per-channel model took channels as independent, failed shots as spread uniformly and,
for a broad distribution, the chance that the output *state* stays ideal; idle waits were
Pauli-twirled. On ``benchmarks/distributed_sim.py``'s 6-qubit circuit on 3 QPUs (links of
F = 0.95, 100 µs memories) that gave 0.71 against 0.82 measured. The density matrix of the
live qubits along the branch gives the mixture itself, and a wait after a qubit's last
mid-circuit measurement is the thermal relaxation Aer applies (its pull towards |0⟩
biases the output; the twirl does not).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit
from qiskit.quantum_info import Statevector

from qorch.workloads.distributed.branchdensity import distribution, final_density
from qorch.workloads.distributed.branchtrajectories import sampled_outputs
from qorch.workloads.distributed.distribution import classical_fidelity
from qorch.workloads.distributed.estimate import MIXTURE, PER_CHANNEL, SAMPLED, estimate_fidelity
from qorch.workloads.distributed.sensitivity import BranchSimulation, UnsupportedProgram
from qorch.workloads.distributed.simulate import simulate
from tests.distributed.test_estimate import teleport

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from distributed_estimate_corpus import build, ghz_rotations


def test_errors_compose_as_on_the_device() -> None:
    theta, p, readout = 1.1, 0.1, 0.05
    sim = BranchSimulation(teleport(theta))
    p0 = math.cos(theta / 2) ** 2
    pair, last = sim.op_end[2], len(sim.steps)
    flips = {pair: [((2,), (("X", p),))], last: [((2,), (("X", readout),))]}
    flipped = p * (1 - readout) + readout * (1 - p)  # an odd number of the two flips
    expected = [p0 * (1 - flipped) + (1 - p0) * flipped, (1 - p0) * (1 - flipped) + p0 * flipped]
    assert distribution(sim, final_density(sim, flips)) == pytest.approx(expected, abs=1e-12)


def test_trajectories_average_to_the_mixture() -> None:
    theta = 1.1
    sim = BranchSimulation(teleport(theta))
    pair, last = sim.op_end[2], len(sim.steps)
    paulis = {pair: [((2,), (("X", 0.1), ("Z", 0.05)))], last: [((2,), (("Y", 0.05),))]}
    relaxations = {last: [(2, 0.2, 0.7)]}
    exact = distribution(sim, final_density(sim, paulis, relaxations))
    bras = [sim.outcome_state(0)]
    sampled, success = sampled_outputs(sim, paulis, relaxations, bras, 4000, seed=1)
    assert sampled == pytest.approx(exact, abs=0.02)  # 3σ of 4000 draws
    assert success == pytest.approx(sampled[0], abs=1e-9)  # one qubit: the outcome's share


def test_a_relaxation_pulls_towards_zero() -> None:
    qc = QuantumCircuit(1)
    qc.x(0)
    qc.add_register(ClassicalRegister(1, "meas"))
    qc.measure(0, 0)
    sim = BranchSimulation(qc)
    gamma = 0.3
    relaxed = final_density(sim, {}, {sim.op_end[0]: [(0, gamma, 0.5)]})
    assert distribution(sim, relaxed) == pytest.approx([gamma, 1 - gamma], abs=1e-12)
    twirled = final_density(sim, {sim.op_end[0]: [((0,), (("X", gamma / 4), ("Y", gamma / 4)))]})
    assert distribution(sim, twirled)[0] == pytest.approx(gamma / 2)  # what a twirl would say


def test_a_relaxation_that_biases_a_mid_circuit_outcome_is_refused() -> None:
    sim = BranchSimulation(teleport(1.1))
    near_half = {sim.op_end[2]: [(1, 0.3, 0.5)]}  # the half that is measured mid-circuit
    with pytest.raises(UnsupportedProgram, match="non-uniform"):
        final_density(sim, {}, near_half)


def test_the_distributed_sim_circuit_on_three_qpus_tracks_aer() -> None:
    circuit = ghz_rotations(6)
    program, schedule, timings, links = build(circuit, 3, 0.95, memory=True)
    estimate = estimate_fidelity(program, schedule, timings, links)
    assert estimate.method == MIXTURE
    shots = 2000  # shot noise ≈ 0.01 on its 64 outcomes
    counts = simulate(program, schedule, timings, links, shots=shots, seed=3 * shots)
    measured = classical_fidelity(counts, Statevector(circuit).probabilities_dict())
    assert estimate.best == pytest.approx(measured, abs=0.05)  # was 0.71 against 0.82
    sampled = estimate_fidelity(program, schedule, timings, links, max_density_work=0)
    assert sampled.method == SAMPLED  # what a program too wide for ρ gets
    assert sampled.best == pytest.approx(estimate.best, abs=0.01)
    per_channel = estimate_fidelity(
        program, schedule, timings, links, max_density_work=0, max_trajectory_work=0
    )
    assert per_channel.method == PER_CHANNEL  # and one too wide to sample
    assert measured - per_channel.best > 0.05  # its assumptions: the gap this test pins
    assert per_channel.classical_fidelity is not None
    assert estimate.lower_bound <= per_channel.classical_fidelity <= estimate.best
    assert estimate.success_probability is not None
    assert estimate.lower_bound <= estimate.success_probability <= estimate.best
    assert np.isclose(estimate.lower_bound, schedule.estimated_fidelity)
