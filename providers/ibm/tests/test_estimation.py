"""The executor Estimator on a fake backend: observables follow the ISA circuit's layout,
including the permutation routing adds, and the run is seeded."""

from __future__ import annotations

import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp, Statevector

from qorch.contract.payload import from_qpy
from qorch.contract.provider import JobRequest, TargetOptions, expectation_rows
from qorch.engine import registry

DEVICE = "fake_manila"  # a line of 5 qubits: the circuit below needs routing
OBSERVABLES = ((("IIZZ", 1.0), ("XIIX", 0.5)), (("ZIII", 1.0),), (("IYII", 1.0),))


def routed_circuit() -> QuantumCircuit:
    circuit = QuantumCircuit(4, name="routed")
    circuit.ry(0.9, 0)
    circuit.ry(1.7, 3)
    circuit.h(2)
    circuit.sdg(2)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.cx(2, 0)  # a triangle: no line holds it without a swap
    circuit.cx(3, 0)
    return circuit


def test_estimates_follow_the_layout_and_are_seeded() -> None:
    provider = registry.load("ibm")
    options = TargetOptions(extra={"ideal": True})
    assert provider.estimates(DEVICE, options) and not provider.estimates("ibm_torino", options)
    circuit = routed_circuit()
    payload = provider.translate_for_estimation(circuit, DEVICE, options, seed=5)
    assert payload.num_clbits == 0
    isa = from_qpy(payload.data)
    assert isa.layout is not None and isa.layout.final_index_layout() != [0, 1, 2, 3]
    request = JobRequest(device=DEVICE, payload=payload, shots=4000, seed=9, token="t",
                         options=options, observables=OBSERVABLES)  # fmt: skip
    rows = expectation_rows(provider.execute(request))
    assert rows is not None and len(rows) == len(OBSERVABLES)
    state = Statevector(circuit)
    for terms, row in zip(OBSERVABLES, rows, strict=True):
        operator = SparsePauliOp([label for label, _ in terms], [c for _, c in terms])
        exact = float(state.expectation_value(operator).real)
        assert abs(row["value"] - exact) <= 4 * row["std_error"], (terms, row, exact)
        assert row["shots"] == 4000
    assert expectation_rows(provider.execute(request)) == rows  # seeded


def test_sampler_payloads_still_need_a_classical_register() -> None:
    provider = registry.load("ibm")
    with pytest.raises(Exception, match="no classical register"):
        provider.translate(routed_circuit(), DEVICE, TargetOptions(), seed=5)
