"""The device's noise restricted to the qubits a circuit uses gives the same counts as the
whole device's noise model (qorch.contract.device_noise; local:aer with ``noise:``)."""

from __future__ import annotations

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Clbit
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qorch.contract.device_noise import compact_noisy_run, compacted, restricted_target, used_qubits


@pytest.fixture(scope="module")
def backend() -> FakeManilaV2:
    return FakeManilaV2()


def ghz3_on(backend: FakeManilaV2) -> QuantumCircuit:
    circuit = QuantumCircuit(3, name="ghz3")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure_all()
    isa = transpile(circuit, backend, initial_layout=[4, 3, 2], seed_transpiler=1)
    isa.metadata = {"kept": True}
    return isa


def test_counts_equal_those_of_the_whole_device_noise_model(backend: FakeManilaV2) -> None:
    isa = ghz3_on(backend)
    assert used_qubits([isa]) == [2, 3, 4]
    small = compact_noisy_run([isa, isa], backend.target, method="automatic", shots=3000, seed=9)
    whole = AerSimulator.from_backend(backend).run([isa, isa], shots=3000, seed_simulator=9)
    assert small.get_counts(0) == whole.result().get_counts(0)
    assert small.get_counts(1) == whole.result().get_counts(1)
    assert sum(v for k, v in small.get_counts(0).items() if k in ("000", "111")) < 3000  # noisy


def test_the_restricted_target_keeps_the_used_qubits_couplings_and_properties(
    backend: FakeManilaV2,
) -> None:
    sub = restricted_target(backend.target, [1, 3, 4])
    assert sub.num_qubits == 3
    assert set(sub["cx"]) == {(1, 2), (2, 1)}  # 3-4 only: 1 is not coupled to 3 or 4
    assert sub["cx"][(1, 2)].error == backend.target["cx"][(3, 4)].error
    assert sub.qubit_properties[0].t1 == backend.target.qubit_properties[1].t1
    assert sub["measure"][(2,)].error == backend.target["measure"][(4,)].error


def test_a_circuit_with_control_flow_is_left_to_the_whole_device(backend: FakeManilaV2) -> None:
    circuit = QuantumCircuit(2, 1)
    circuit.h(0)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(1)
    found = compact_noisy_run([circuit], backend.target, method="automatic", shots=10, seed=1)
    assert found is None


def test_a_compacted_circuit_keeps_its_classical_bits_in_order() -> None:
    a, b = ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    circuit = QuantumCircuit(QuantumRegister(5, "q"), a, b, [Clbit()], name="mapping")
    circuit.x(4)
    circuit.measure(4, b[1])
    circuit.measure(2, a[0])
    small = compacted(circuit, used_qubits([circuit]))
    assert small.num_qubits == 2 and small.name == "mapping"
    assert [small.find_bit(bit).index for bit in small.clbits] == [0, 1, 2, 3]
    assert [circuit.find_bit(bit).index for bit in small.clbits] == [0, 1, 2, 3]
    assert [register.name for register in small.cregs] == ["a", "b"]
    assert small.data[1].clbits == (b[1],) and small.data[1].qubits == (small.qubits[1],)
