"""Translation to Braket OpenQASM 3 and bit order, checked by running on the LocalSimulator."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qorch_braket.devices import DEVICES, braket_gate_name
from qorch_braket.translate import counts_to_qiskit, qubit_clbits

from qorch.contract.errors import CapabilityError, OptionError
from qorch.contract.provider import JobRequest, Provider, TargetOptions
from qorch.testing import bell_circuit, bit_order_circuit, ghz_circuit

GATE_LINE = re.compile(r"^([a-z][a-z0-9_]*)[\s(]")


def run_here(provider: Provider, circuit: QuantumCircuit, device: str = "local") -> dict[str, int]:
    """Translate and execute in this process (what the detached worker does)."""
    options = TargetOptions()
    payload = provider.translate(circuit, device, options, seed=3)
    request = JobRequest(device, payload, shots=50, seed=1, token="t", options=options)
    return provider.execute(request)


def expected_outcome(circuit: QuantumCircuit, flipped: set[int]) -> str:
    """The one Qiskit-order bitstring of a circuit of X gates then measurements."""
    bits = ["0"] * circuit.num_clbits
    for instruction in circuit.data:
        if instruction.operation.name == "measure":
            qubit = circuit.find_bit(instruction.qubits[0]).index
            clbit = circuit.find_bit(instruction.clbits[0]).index
            bits[circuit.num_clbits - 1 - clbit] = "1" if qubit in flipped else "0"
    return "".join(bits)


def gates_used(source: str) -> set[str]:
    skip = {"bit", "qubit", "box", "b"}
    names = {m.group(1) for line in source.splitlines() if (m := GATE_LINE.match(line.strip()))}
    return names - skip


def test_asymmetric_measurement_maps_braket_positions_to_clbits(provider: Provider) -> None:
    payload = provider.translate(bit_order_circuit(), "local", TargetOptions(), seed=1)
    source = payload.data.decode()
    assert "b[0] = measure q[1];" in source and "b[1] = measure q[0];" in source
    assert payload.measured_clbits == (0, 2) and payload.num_clbits == 3
    assert qubit_clbits(source, payload.measured_clbits) == {1: 0, 0: 2}
    assert run_here(provider, bit_order_circuit()) == {"100": 50}


def test_several_classical_registers(provider: Provider) -> None:
    qubits, low, high = (
        QuantumRegister(3, "q"),
        ClassicalRegister(2, "low"),
        ClassicalRegister(2, "high"),
    )
    circuit = QuantumCircuit(qubits, low, high, name="registers")
    circuit.x(qubits[0])
    circuit.x(qubits[2])
    circuit.measure(qubits[0], high[1])
    circuit.measure(qubits[1], low[0])
    circuit.measure(qubits[2], low[1])
    # Qiskit would print "10 10": high=10, low=10; qorch drops the space
    assert run_here(provider, circuit) == {"1010": 50}
    assert run_here(provider, circuit, "local_dm") == {"1010": 50}


@pytest.mark.parametrize("permutation", list(itertools.permutations(range(3))))
def test_every_qubit_to_clbit_assignment(provider: Provider, permutation: tuple[int, ...]) -> None:
    circuit = QuantumCircuit(3, 4, name="perm")
    flipped = {0, 2}
    for qubit in flipped:
        circuit.x(qubit)
    for qubit in (2, 0, 1):  # measurement order unrelated to clbit order
        circuit.measure(qubit, permutation[qubit] + (permutation[qubit] >= 1))
    assert run_here(provider, circuit) == {expected_outcome(circuit, flipped): 50}


def test_counts_follow_the_qubits_braket_reports(bk: Any) -> None:
    mapping = {1: 0, 0: 2}  # bit_order_circuit: b[0] = q[1] -> clbit 0, b[1] = q[0] -> clbit 2
    as_program = counts_to_qiskit({"01": 9}, [1, 0], mapping, 3, (0, 2))
    sorted_qubits = counts_to_qiskit({"10": 9}, [0, 1], mapping, 3, (0, 2))
    assert as_program == sorted_qubits == {"100": 9}


def test_translation_is_deterministic(provider: Provider) -> None:
    for device in ("local", "ionq_forte1", "iqm_garnet", "rigetti_ankaa3"):
        first = provider.translate(ghz_circuit(4), device, TargetOptions(optimization_level=2), 5)
        second = provider.translate(ghz_circuit(4), device, TargetOptions(optimization_level=2), 5)
        assert first.data == second.data, device
        assert first.data.startswith(b"OPENQASM 3.0;")


def test_qpu_translation_uses_only_the_device_gates(provider: Provider) -> None:
    circuit = QuantumCircuit(3, 3, name="mixed")
    circuit.u(0.3, 0.2, 0.1, 0)
    circuit.cswap(0, 1, 2)
    circuit.rzx(0.4, 1, 2)
    circuit.measure(range(3), range(3))
    for device in ("iqm_garnet", "rigetti_ankaa3", "ionq_forte1"):
        payload = provider.translate(circuit, device, TargetOptions(), seed=2)
        allowed = {braket_gate_name(gate) for gate in DEVICES[device].gates}
        assert gates_used(payload.data.decode()) <= allowed, device
        assert set(payload.gate_counts) <= set(DEVICES[device].gates), device


def test_ionq_verbatim_uses_native_gates_and_still_computes_bell(provider: Provider) -> None:
    options = TargetOptions(extra={"verbatim": True})
    payload = provider.translate(bell_circuit(), "ionq_forte1", options, seed=4)
    source = payload.data.decode()
    assert "#pragma braket verbatim" in source
    assert gates_used(source) == {"gpi", "gpi2", "zz"}
    assert set(payload.gate_counts) <= set(provider.device("ionq_forte1").native_gates)
    request = JobRequest("local", payload, shots=400, seed=1, token="t")
    counts = provider.execute(request)
    assert set(counts) == {"00", "11"} and min(counts.values()) > 100


def test_verbatim_needs_known_connectivity(provider: Provider) -> None:
    with pytest.raises(OptionError, match=r"braket:iqm_garnet.*verbatim"):
        provider.check_options("iqm_garnet", TargetOptions(extra={"verbatim": True}))
    with pytest.raises(OptionError, match="verbatim"):
        provider.translate(bell_circuit(), "sv1", TargetOptions(extra={"verbatim": True}), 1)


def test_too_wide_names_the_target_and_the_limit(provider: Provider) -> None:
    with pytest.raises(CapabilityError, match=r"needs 21 qubits but braket:iqm_garnet has 20"):
        provider.translate(ghz_circuit(21), "iqm_garnet", TargetOptions(), seed=1)
    arn = "arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet"
    with pytest.raises(CapabilityError, match=rf"braket:{re.escape(arn)} has 20"):
        provider.translate(ghz_circuit(21), arn, TargetOptions(), seed=1)


def _reset() -> QuantumCircuit:
    circuit = QuantumCircuit(1, 1, name="withreset")
    circuit.reset(0)
    circuit.measure(0, 0)
    return circuit


def _mid_circuit() -> QuantumCircuit:
    circuit = QuantumCircuit(2, 2, name="midcircuit")
    circuit.measure(0, 0)
    circuit.cx(0, 1)
    circuit.measure(1, 1)
    return circuit


def _control_flow() -> QuantumCircuit:
    circuit = QuantumCircuit(1, 1, name="dynamic")
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(0)
    return circuit


def _no_measurement() -> QuantumCircuit:
    circuit = QuantumCircuit(2, name="unmeasured")
    circuit.h(0)
    return circuit


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (_reset, "reset"),
        (_mid_circuit, "mid-circuit"),
        (_control_flow, "control flow"),
        (_no_measurement, "measures nothing"),
    ],
)
def test_inexpressible_circuits_are_capability_errors(
    provider: Provider, build: Any, reason: str
) -> None:
    with pytest.raises(CapabilityError, match=reason) as raised:
        provider.translate(build(), "ionq_forte1", TargetOptions(), seed=1)
    assert "braket:ionq_forte1" in str(raised.value)


def test_payload_figures(provider: Provider, tmp_path: Path) -> None:
    payload = provider.translate(ghz_circuit(3), "local", TargetOptions(), seed=1)
    assert payload.format == "openqasm3" and payload.extension == "qasm"
    assert payload.num_qubits == 3 and payload.num_clbits == 3
    assert payload.two_qubit_gates == 2 and payload.depth == 3
    assert payload.gate_counts == {"cx": 2, "h": 1}


@pytest.mark.parametrize(
    ("device", "extra", "noise", "message"),
    [
        ("local", {"s3_bucket": "b-1"}, None, "not accepted by braket:local"),
        ("local", {"queue_delay_s": -1}, None, "queue_delay_s"),
        ("sv1", {"shots_per_task": 3}, None, "not accepted by braket:sv1"),
        ("sv1", {"s3_bucket": "Not_A_Bucket"}, None, "s3_bucket"),
        ("ionq_forte1", {"region": "eu-west-2"}, None, "us-east-1 only"),
        ("ionq_forte1", {"verbatim": "yes"}, None, "true or false"),
        ("dm1", {}, "ibm:fake_manila", "noise model"),
    ],
)
def test_option_checks(
    provider: Provider, device: str, extra: dict[str, Any], noise: str | None, message: str
) -> None:
    with pytest.raises(OptionError, match=message):
        provider.check_options(device, TargetOptions(extra=extra, noise=noise))
