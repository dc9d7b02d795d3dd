"""Translation: capability checks, determinism, and what the payload keeps."""

from __future__ import annotations

import subprocess
import sys

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

from qorch.contract.errors import CapabilityError
from qorch.contract.payload import from_qpy
from qorch.contract.payload import to_qpy as qpy_bytes
from qorch.contract.provider import Provider, TargetOptions
from qorch.engine import registry
from qorch.workloads.circuits.generators import ghz


@pytest.fixture
def provider() -> Provider:
    return registry.load("ibm")


def test_too_wide_circuit_names_the_target_and_the_limit(provider: Provider) -> None:
    circuit = ghz(6)
    circuit.name = "wide"
    with pytest.raises(CapabilityError, match=r"'wide' needs 6 qubits but ibm:fake_manila has 5"):
        provider.translate(circuit, "fake_manila", TargetOptions(), seed=1)


def test_translation_is_deterministic_on_a_127_qubit_device(provider: Provider) -> None:
    options = TargetOptions(optimization_level=2)
    payloads = [provider.translate(ghz(40), "fake_brisbane", options, seed=9) for _ in range(5)]
    assert len({payload.data for payload in payloads}) == 1
    circuit = from_qpy(payloads[0].data)
    assert circuit.num_qubits == 127 and circuit.name == "ghz"
    assert set(payloads[0].gate_counts) <= {"ecr", "rz", "sx", "x", "measure", "barrier"}
    assert payloads[0].two_qubit_gates >= 39


def test_translation_bytes_are_the_same_in_another_process(provider: Provider) -> None:
    here = provider.translate(ghz(5), "fake_brisbane", TargetOptions(), seed=4).data
    script = (
        "import sys; from qorch.engine import registry; "
        "from qorch.workloads.circuits.generators import ghz; "
        "from qorch.contract.provider import TargetOptions; "
        "p = registry.load('ibm'); "
        "data = p.translate(ghz(5), 'fake_brisbane', TargetOptions(), seed=4).data; "
        "sys.stdout.buffer.write(data)"
    )
    there = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True).stdout
    assert there == here


def test_qpy_bytes_are_stable_for_a_layout_with_ancillas(provider: Provider) -> None:
    payload = provider.translate(ghz(3), "fake_manila", TargetOptions(), seed=5)
    circuit = from_qpy(payload.data)  # 3 virtual qubits on 5: layout has 'q' and 'ancilla'
    assert circuit.layout is not None
    assert len({qpy_bytes(circuit) for _ in range(40)}) == 1


def test_translation_keeps_names_registers_and_resets(provider: Provider) -> None:
    data, flags = ClassicalRegister(2, "data"), ClassicalRegister(1, "flag")
    circuit = QuantumCircuit(QuantumRegister(3, "q"), data, flags, name="registers")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.reset(2)
    circuit.x(2)
    circuit.measure([0, 1], data)
    circuit.measure(2, flags[0])
    payload = provider.translate(circuit, "fake_manila", TargetOptions(), seed=2)
    loaded = from_qpy(payload.data)
    assert loaded.name == "registers"
    assert [(r.name, r.size) for r in loaded.cregs] == [("data", 2), ("flag", 1)]
    assert payload.num_clbits == 3 and payload.measured_clbits == (0, 1, 2)
    assert "reset" in payload.gate_counts


def test_a_circuit_without_classical_register_is_refused(provider: Provider) -> None:
    circuit = QuantumCircuit(2, name="silent")
    circuit.h(0)
    with pytest.raises(CapabilityError, match="'silent' has no classical register"):
        provider.translate(circuit, "fake_manila", TargetOptions(), seed=1)


@pytest.mark.parametrize("device", ["fake_brisbane", "fake_fez"])  # ecr and cz devices
def test_translation_keeps_the_circuits_parameters(provider: Provider, device: str) -> None:
    """Angles become expressions inside rz gates, but ``parameters`` lists the originals,
    in Qiskit's order: parameter-set columns follow it."""
    from qiskit.circuit import Parameter, ParameterVector

    theta = ParameterVector("theta", 11)
    circuit = QuantumCircuit(3, name="parameterised")
    circuit.rx(Parameter("zz"), 0)
    for index, element in enumerate(reversed(list(theta))):
        circuit.ry(element, index % 3)
    circuit.crz(Parameter("a"), 0, 1)
    circuit.cx(1, 2)
    circuit.measure_all()
    payload = provider.translate(circuit, device, TargetOptions(), seed=2)
    loaded = from_qpy(payload.data)
    assert list(loaded.parameters) == list(circuit.parameters)
    names = ["a", *(f"theta[{i}]" for i in range(11)), "zz"]
    assert [parameter.name for parameter in loaded.parameters] == names
    assert not {"crz", "rx", "ry"} & set(payload.gate_counts)
