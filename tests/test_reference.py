"""Ideal distributions for judging runs: exact, compact, deterministic, or none."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Statevector

from qorch.sim.reference import ideal_distribution, ideal_outcomes


def ghz(n: int) -> QuantumCircuit:
    circuit = QuantumCircuit(n, n)
    circuit.h(0)
    for qubit in range(n - 1):
        circuit.cx(qubit, qubit + 1)
    circuit.measure(range(n), range(n))
    return circuit


def fourier_of(n: int, value: int) -> QuantumCircuit:
    """Prepare |value>, QFT it, invert the QFT: the ideal outcome is ``value``."""
    from qiskit.circuit.library import QFTGate

    circuit = QuantumCircuit(n, n)
    for bit in range(n):
        if value >> bit & 1:
            circuit.x(bit)
    circuit.append(QFTGate(n), range(n))
    circuit.append(QFTGate(n).inverse(), range(n))
    circuit.measure(range(n), range(n))
    return circuit


def qiskit_distribution(circuit: QuantumCircuit) -> dict[str, float]:
    bare = circuit.remove_final_measurements(inplace=False)
    probabilities = Statevector(bare).probabilities_dict()
    out: dict[str, float] = {}
    for key, value in probabilities.items():  # qubit i measured into clbit i in these tests
        if value > 1e-12:
            out[key] = out.get(key, 0.0) + value
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_circuits_match_qiskit(seed: int) -> None:
    circuit = random_circuit(6, 6, max_operands=2, measure=False, seed=seed)
    circuit.measure_all()
    ours, theirs = ideal_distribution(circuit), qiskit_distribution(circuit)
    assert ours is not None and set(ours) == set(theirs)
    assert all(ours[key] == pytest.approx(theirs[key], abs=1e-10) for key in theirs)


def test_known_answers() -> None:
    assert ideal_distribution(ghz(5)) == {"00000": 0.5, "11111": 0.5}
    assert ideal_outcomes(ideal_distribution(ghz(3)) or {}) == {"000", "111"}
    answer = ideal_distribution(fourier_of(4, 6))
    assert answer is not None and max(answer, key=answer.__getitem__) == "0110"
    assert answer["0110"] == pytest.approx(1.0)


def test_no_reference_where_none_can_be_kept() -> None:
    mid = QuantumCircuit(2, 2)
    mid.h(0)
    mid.measure(0, 0)
    mid.cx(0, 1)
    mid.measure(1, 1)
    assert ideal_distribution(mid) is None  # a mid-circuit measurement
    wide = QuantumCircuit(30, 30)
    wide.measure(range(30), range(30))
    assert ideal_distribution(wide) is None
    broad = QuantumCircuit(17, 17)
    broad.h(range(17))
    broad.measure(range(17), range(17))
    assert ideal_distribution(broad) is None  # 131072 outcomes: too many to keep


def test_the_same_circuit_gives_the_same_numbers() -> None:
    circuit = random_circuit(8, 8, measure=True, seed=5)
    assert repr(ideal_distribution(circuit)) == repr(ideal_distribution(circuit.copy()))
