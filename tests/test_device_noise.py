"""The device's noise restricted to the qubits a circuit uses gives the same counts as the
whole device's noise model (qorch.contract.device_noise; local:aer with ``noise:``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Clbit
from qiskit_aer import AerSimulator
from qiskit_ibm_runtime.fake_provider import FakeManilaV2

from qorch.contract.device_noise import (
    DEVICE_NOISE_KEY,
    compact_noisy_run,
    compacted,
    embedded_simulator,
    restricted_target,
    used_qubits,
    with_device_noise,
)


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


def test_the_noise_compiled_into_a_payload_gives_the_same_counts(backend: FakeManilaV2) -> None:
    """``with_device_noise`` (compile time) then ``embedded_simulator`` (the job's worker):
    the same counts as the noise built from the device when the job runs."""
    isa = with_device_noise(ghz3_on(backend), backend.target)
    carried = isa.metadata[DEVICE_NOISE_KEY]
    assert carried["qubits"] == [2, 3, 4] and isa.metadata["kept"] is True
    assert json.loads(json.dumps(carried)) == carried  # QPY keeps it: JSON only
    again = with_device_noise(ghz3_on(backend), backend.target).metadata[DEVICE_NOISE_KEY]
    assert json.dumps(again, sort_keys=True) == json.dumps(carried, sort_keys=True)  # same bytes
    found = embedded_simulator([isa, isa], method="automatic")
    assert found is not None
    simulator, small = found
    mine = simulator.run(small, shots=3000, seed_simulator=9).result()
    built = compact_noisy_run([isa, isa], backend.target, method="automatic", shots=3000, seed=9)
    assert mine.get_counts(0) == built.get_counts(0) and mine.get_counts(1) == built.get_counts(1)
    bare = ghz3_on(backend)
    assert embedded_simulator([bare], method="automatic") is None  # old bundles: built at run time
    assert embedded_simulator([isa, bare], method="automatic") is None


def test_a_noisy_local_aer_job_runs_without_the_device_sdk(tmp_path) -> None:
    """The job's worker reads the payload and simulates: qiskit-ibm-runtime is not imported."""
    from qorch.contract.provider import TargetOptions
    from qorch.local import LocalProvider

    circuit = QuantumCircuit(3, name="ghz3")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure_all()
    options = TargetOptions(noise="ibm:fake_manila", optimization_level=1)
    payload = LocalProvider().translate(circuit, "aer", options, seed=3)
    (tmp_path / "payload.qpy").write_bytes(payload.data)
    probe = (
        "import sys, pathlib\n"
        "from qorch.contract.payload import from_qpy\n"
        "from qorch.local import _run_aer\n"
        f"circuit = from_qpy(pathlib.Path({str(tmp_path / 'payload.qpy')!r}).read_bytes())\n"
        "[counts] = _run_aer([circuit], 2000, 5, 'ibm:fake_manila')\n"
        "assert sum(counts.values()) == 2000 and len(counts) > 2, counts\n"
        "assert 'qiskit_ibm_runtime' not in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
