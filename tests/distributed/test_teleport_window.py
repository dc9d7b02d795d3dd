"""The greedy teleportation sweeps stop at their budget of gates in exact windows."""

from __future__ import annotations

import dataclasses

from qiskit import transpile
from qiskit.circuit.library import quantum_volume

from qorch.workloads.distributed.effort import effort_named
from qorch.workloads.distributed.partition import partition_circuit

MESH = [[0.0, 1.0], [1.0, 0.0]]


def test_all_sweeps_together_weigh_at_most_their_window_gates() -> None:
    """Checked before each cross gate is weighed, so one gate's windows may pass it:
    at most 7 windows (keep, two moves, four swaps) of 2 × span ≤ 2 × 1.5 × 12 gates."""
    qc = transpile(quantum_volume(12, depth=6, seed=3), basis_gates=["u", "cx"])
    default = effort_named("default")
    free = partition_circuit(qc, [6, 6], MESH, comm_qubits=[2, 2])
    assert free.work["teleport_window_gates"] > 2_000
    tight = dataclasses.replace(default, teleport_window_gates=500)
    part = partition_circuit(qc, [6, 6], MESH, comm_qubits=[2, 2], effort=tight)
    assert 0 < part.work["teleport_window_gates"] <= 500 + 7 * 36
    assert part.work["teleport_gates"] < free.work["teleport_gates"]
