"""Fake-backend execution: seeded, reproducible, counts over every clbit in Qiskit's order."""

from __future__ import annotations

from pathlib import Path

import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Clbit
from qorch_ibm import sampling

from qorch.contract.provider import JobRequest, Provider, TargetOptions
from qorch.engine import registry
from qorch.testing import bell_circuit

DEVICE = "fake_santiago"


@pytest.fixture
def provider() -> Provider:
    return registry.load("ibm")


def request(provider: Provider, circuit: QuantumCircuit, seed: int, shots: int = 500) -> JobRequest:
    payload = provider.translate(circuit, DEVICE, TargetOptions(), seed=3)
    return JobRequest(
        device=DEVICE, payload=payload, shots=shots, seed=seed, token="t", tags={"qorch-run": "r"}
    )


def test_seeded_results_are_reproducible(provider: Provider) -> None:
    first = provider.execute(request(provider, bell_circuit(), seed=21))
    second = provider.execute(request(provider, bell_circuit(), seed=21))
    other = provider.execute(request(provider, bell_circuit(), seed=22))
    assert first == second
    assert other != first  # a different seed samples differently (noisy device)
    assert sum(first.values()) == 500 and set(first) <= {"00", "01", "10", "11"}


def test_counts_map_registers_onto_clbits_in_qiskit_order(provider: Provider) -> None:
    # clbits: a[0]=0, b[0]=1, b[1]=2, loose=3 (not in a register: the Sampler never returns it)
    a, b = ClassicalRegister(1, "a"), ClassicalRegister(2, "b")
    circuit = QuantumCircuit(QuantumRegister(3, "q"), a, b, [Clbit()], name="mapping")
    circuit.x(0)
    circuit.x(2)
    circuit.measure(0, b[1])  # 1 → clbit 2
    circuit.measure(1, a[0])  # 0 → clbit 0
    circuit.measure(2, b[0])  # 1 → clbit 1
    counts = provider.execute(request(provider, circuit, seed=5, shots=400))
    top = max(counts, key=lambda key: counts[key])
    assert top == "0110", counts  # clbit 3 leftmost, clbit 0 rightmost
    assert all(len(key) == 4 for key in counts)


def test_job_tags_carry_the_run_tags_and_the_token() -> None:
    from qorch.contract.provider import Payload

    payload = Payload(
        format="qpy", data=b"", num_qubits=1, num_clbits=1, depth=1, two_qubit_gates=0
    )
    req = JobRequest(
        device=DEVICE,
        payload=payload,
        shots=1,
        seed=1,
        token="qorch-r1-0-abc",
        tags={"qorch-run": "r1", "qorch-plan": "demo"},
        workdir=Path("."),
    )
    assert sampling.job_tags(req) == ["qorch-plan:demo", "qorch-run:r1", "qorch-r1-0-abc"]
