""" "Comm qubits held at once" counted on the emitted program (issue 13, item 3; issue 14
found "0" reported for a node that needs them): the lowering's count equals the peak of
live communication qubits read back from the circuit, and never exceeds the limit."""

from __future__ import annotations

from collections import Counter

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.random import random_circuit
from qiskit.synthesis import synth_qft_full

from qorch.workloads.distributed.lower import lower
from qorch.workloads.distributed.partition import partition_circuit
from qorch.workloads.distributed.program import EPR_NAME, is_comm, node_of

NAMES = ["alpha", "beta", "gamma"]


def live_peak(circuit: QuantumCircuit) -> dict[str, int]:
    """Per node, the most comm qubits live at once: a comm qubit is live from an EPR gate
    on it to its last use before its next EPR gate (or the end)."""
    events: list[tuple[int, int, str]] = []  # (position, +1 open / -1 close, node)
    opened: dict[object, int] = {}
    last: dict[object, int] = {}
    for position, instruction in enumerate(circuit.data):
        for qubit in instruction.qubits:
            if not is_comm(circuit, qubit):
                continue
            if instruction.operation.name == EPR_NAME:
                if qubit in opened:  # the previous use ended at its last instruction
                    events += [(opened[qubit], 1, node_of(circuit, qubit)),
                               (last[qubit], -1, node_of(circuit, qubit))]  # fmt: skip
                opened[qubit] = position
            last[qubit] = position
    for qubit, start in opened.items():
        events += [(start, 1, node_of(circuit, qubit)), (last[qubit], -1, node_of(circuit, qubit))]
    held: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    for _, step, node in sorted(events, key=lambda e: (e[0], -e[1])):  # opens before closes
        held[node] += step
        peak[node] = max(peak[node], held[node])
    return dict(peak)


@pytest.mark.parametrize(
    ("circuit", "k"),
    [
        (synth_qft_full(8, do_swaps=False), 2),
        (synth_qft_full(9, do_swaps=False), 3),
        (random_circuit(9, 6, max_operands=2, seed=5), 3),
    ],
)
def test_comm_qubits_held_at_once_is_counted_on_the_program(circuit, k: int) -> None:
    caps = [-(-circuit.num_qubits // k)] * k
    mesh = [[0.0 if i == j else 1.0 for j in range(k)] for i in range(k)]
    part = partition_circuit(circuit, caps, mesh, comm_qubits=[2] * k, seed=1)
    program = lower(circuit, part, NAMES[:k])
    assert program.epr_pairs > 0
    expected = {name: 0 for name in NAMES[:k]} | live_peak(program.combined)
    assert program.comm_peak == expected
    assert all(0 <= held <= 2 for held in program.comm_peak.values())
    for a, b in program.epr_pairs_per_pair:  # both ends of a pair hold a comm qubit
        assert program.comm_peak[a] > 0 and program.comm_peak[b] > 0
