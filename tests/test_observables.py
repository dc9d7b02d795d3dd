"""Observables of circuits plans, the pure parts: Pauli strings, grouping, basis circuits,
estimates from counts with standard errors, exact values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.quantum_info import Pauli, SparsePauliOp, Statevector

from qorch.workloads.circuits.observables import (
    Observable,
    basis_circuit,
    basis_of,
    basis_rows,
    estimate,
    exact_values,
    measurement_bases,
    unitary_body,
    width_problems,
)
from qorch.workloads.sources.pauli import label_problem, parity_mean, support


def asymmetric_state() -> QuantumCircuit:
    """q0 in |+>, q1 in |+i>, q2 in |1>, q3 rotated: every qubit distinguishable."""
    circuit = QuantumCircuit(4)
    circuit.h(0)
    circuit.h(1)
    circuit.s(1)
    circuit.x(2)
    circuit.ry(0.7, 3)
    circuit.cx(3, 0)  # some entanglement between q3 and q0
    circuit.measure_all()
    return circuit


def test_label_problems_name_the_letter_and_the_width() -> None:
    assert label_problem("XYZI") is None
    assert label_problem("XYZI", 4) is None
    assert "'Q' (letter 2)" in (label_problem("XQZ") or "")
    wrong = label_problem("ZZ", 3) or ""
    assert "2 letters" in wrong and "3 qubits" in wrong and "rightmost = qubit 0" in wrong
    assert label_problem("") is not None


def test_support_counts_qubit_zero_from_the_right() -> None:
    assert support("IIIZ") == (0,)
    assert support("XIIY") == (0, 3)
    assert support("IIII") == ()


def test_parity_mean() -> None:
    counts = {"00": 30, "01": 10, "10": 20, "11": 40}
    assert parity_mean(counts, [0]) == ((30 - 10 + 20 - 40) / 100, 100)
    assert parity_mean(counts, [0, 1]) == ((30 - 10 - 20 + 40) / 100, 100)
    assert parity_mean(counts, []) == (1.0, 100)


def test_width_problems_locate_each_string() -> None:
    observables = [Observable("a", {"ZZ": 1.0, "ZZZ": 1.0}), Observable("b", {"X": 2.0})]
    found = width_problems(observables, 3)
    assert [(index, label) for index, label, _ in found] == [(0, "ZZ"), (1, "X")]


def test_bases_follow_qiskits_qubit_wise_grouping() -> None:
    observables = [
        Observable("zz", {"ZZII": 1.0, "IIZZ": 1.0, "IIII": 3.0}),
        Observable("xx", {"XXII": 1.0, "IIXX": 0.5, "XXXX": 0.25}),
        Observable("mixed", {"ZZXX": 1.0, "YIII": 1.0}),
    ]
    bases = measurement_bases(observables)
    labels = ["ZZII", "IIZZ", "XXII", "IIXX", "XXXX", "ZZXX", "YIII"]
    qiskit_groups = SparsePauliOp(labels).group_commuting(qubit_wise=True)
    assert len(bases) == len(qiskit_groups) < len(labels)
    for label in labels:
        basis = bases[basis_of(label, bases)]
        assert all(letter in ("I", b) for letter, b in zip(label, basis, strict=True))
    assert measurement_bases(observables) == bases  # deterministic
    assert measurement_bases([Observable("c", {"III": 1.0})]) == []


def test_basis_circuit_measures_each_basis_in_qiskit_order() -> None:
    """Running the basis circuit with each row gives, from its exact outcome distribution,
    every term's exact expectation value: rotations, parameter order and bit order agree."""
    circuit = asymmetric_state()
    terms = ["IIIX", "IIYI", "IZII", "XIIX", "ZIIZ", "YYXX", "XZYX"]
    observables = [Observable(label, {label: 1.0}) for label in terms]
    bases = measurement_bases(observables)
    measured = basis_circuit(circuit, bases)
    rows = basis_rows(bases)
    assert measured.num_clbits == circuit.num_qubits
    assert len(rows) == len(bases) and all(len(r) == measured.num_parameters for r in rows)
    state = Statevector(unitary_body(circuit))
    for label in terms:
        row = rows[basis_of(label, bases)]
        bound = measured.assign_parameters(dict(zip(measured.parameters, row, strict=True)))
        probabilities = Statevector(bound.remove_final_measurements(inplace=False))
        distribution = probabilities.probabilities_dict()
        bits = support(label)
        value = sum(p * (-1) ** sum(key[-1 - b] == "1" for b in bits)
                    for key, p in distribution.items())  # fmt: skip
        assert value == pytest.approx(state.expectation_value(Pauli(label)).real, abs=1e-9), label


def test_estimate_counts_covariance_of_terms_measured_together() -> None:
    """Two perfectly correlated terms: the variance of the sum is four times one term's,
    not twice (the independent-terms answer)."""
    counts = {"00": 600, "11": 400}
    observable = Observable("o", {"IZ": 1.0, "ZI": 1.0, "II": 0.5})
    got = estimate(observable, ["ZZ"], [counts])
    mean_one = (600 - 400) / 1000
    one_var = (1 - mean_one**2) * 1000 / 999 / 1000
    assert got.value == pytest.approx(0.5 + 2 * mean_one)
    assert got.std_error == pytest.approx(math.sqrt(4 * one_var))
    assert got.shots == 1000


def test_estimate_adds_independent_bases() -> None:
    observable = Observable("o", {"X": 2.0, "Z": -1.0})
    x_counts = {"0": 750, "1": 250}
    z_counts = {"0": 100, "1": 300}
    got = estimate(observable, ["X", "Z"], [x_counts, z_counts])
    mx, mz = 0.5, -0.5
    var = 4 * (1 - mx**2) / 999 + (1 - mz**2) / 399
    assert got.value == pytest.approx(2 * mx - mz)
    assert got.std_error == pytest.approx(math.sqrt(var))
    assert got.shots == 1400


def test_estimates_from_sampled_counts_fall_within_their_errors() -> None:
    """Seeded sampling of the basis circuit: each estimate within 3σ of exact, and the
    reported σ matches the spread over repetitions (within 30 %)."""
    circuit = asymmetric_state()
    observables = [Observable("h", {"XIIX": 1.0, "IIYI": 0.5, "IZII": -0.3, "ZIIZ": 0.8})]
    bases = measurement_bases(observables)
    measured = basis_circuit(circuit, bases)
    exact = exact_values(circuit, observables)
    assert exact is not None
    distributions = []
    for seed, row in enumerate(basis_rows(bases)):
        bound = measured.assign_parameters(dict(zip(measured.parameters, row, strict=True)))
        state = Statevector(bound.remove_final_measurements(inplace=False))
        state.seed(seed)
        distributions.append(state)
    values, errors = [], []
    for _ in range(200):
        counts = [state.sample_counts(400) for state in distributions]
        got = estimate(observables[0], bases, [dict(c) for c in counts])
        values.append(got.value)
        errors.append(got.std_error)
    spread = float(np.std(values))
    assert abs(np.mean(values) - exact[0]) < 3 * spread / math.sqrt(len(values))
    assert float(np.mean(errors)) == pytest.approx(spread, rel=0.3)


def test_exact_values_ghz() -> None:
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure_all()
    values = exact_values(circuit, [Observable("a", {"ZZI": 1.0, "XXX": 0.5, "III": 1.0}),
                                    Observable("b", {"IIZ": 1.0, "YYX": 1.0})])  # fmt: skip
    assert values == pytest.approx([2.5, -1.0])


def test_observables_need_measurements_only_at_the_end() -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.measure(0, 0)
    circuit.cx(0, 1)
    circuit.measure(1, 1)
    with pytest.raises(ValueError, match="only measurements are final"):
        unitary_body(circuit)
