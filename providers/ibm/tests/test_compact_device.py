"""Fake-device sampling on the qubits a circuit uses gives the SDK's own seeded counts."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit, transpile
from qiskit_ibm_runtime.fake_provider import FakeManilaV2
from qorch_ibm import sampling


def test_sampling_on_the_used_qubits_matches_the_whole_fake_device(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    backend = FakeManilaV2()
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure_all()
    isa = transpile(circuit, backend, initial_layout=[4, 3, 2], seed_transpiler=1)
    simulator, small = sampling.compact_device(backend, isa)
    assert small.num_qubits == 3 and simulator.options.noise_model is not None
    compact = sampling.run_local(backend, isa, 3000, 5, [])
    monkeypatch.setattr(sampling, "compact_device", lambda b, c: (b, c))
    whole = sampling.run_local(backend, isa, 3000, 5, [])
    assert compact == whole
    assert compact[0].get("000", 0) + compact[0].get("111", 0) < 3000  # the device's noise
