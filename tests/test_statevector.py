"""The numpy statevector engine agrees with Qiskit and samples reproducibly."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit, transpile
from qiskit.circuit import Parameter
from qiskit.circuit.library import QFTGate, UnitaryGate, get_standard_gate_name_mapping
from qiskit.circuit.random import random_circuit
from qiskit.quantum_info import Operator, Statevector, random_unitary

from qorch.sim import statevector as sv
from qorch.sim.statevector_qiskit import SUPPORTED_GATES, program_from_circuit

TOL = 1e-10
STANDARD = get_standard_gate_name_mapping()
NAMED_GATES = sorted(set(sv.FIXED_GATES) | set(sv.PARAMETRIC_GATES))


def isa(circuit: QuantumCircuit, seed: int = 7) -> QuantumCircuit:
    """``circuit`` transpiled to the engine's basis."""
    return transpile(circuit, basis_gates=list(SUPPORTED_GATES), seed_transpiler=seed)


def assert_matches_qiskit(circuit: QuantumCircuit) -> None:
    """State (with global phase) and probabilities equal Qiskit's Statevector."""
    program = program_from_circuit(circuit)
    reference = Statevector(circuit.remove_final_measurements(inplace=False))
    np.testing.assert_allclose(sv.run(program)[0], reference.data, rtol=0, atol=TOL)
    np.testing.assert_allclose(sv.probabilities(program), reference.probabilities(), atol=TOL)


def ghz(n: int, measure: bool = False) -> QuantumCircuit:
    circuit = QuantumCircuit(n)
    circuit.h(0)
    for q in range(1, n):
        circuit.cx(q - 1, q)
    if measure:
        circuit.measure_all()
    return circuit


def tvd(counts: dict[str, int], exact: dict[str, float]) -> float:
    shots = sum(counts.values())
    keys = set(counts) | set(exact)
    return 0.5 * sum(abs(counts.get(k, 0) / shots - exact.get(k, 0.0)) for k in keys)


# --- exact results --------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 7, 15])
def test_ghz_matches_qiskit(n: int) -> None:
    assert_matches_qiskit(ghz(n))


@pytest.mark.parametrize("n", [2, 5, 14])
def test_qft_matches_qiskit(n: int) -> None:
    circuit = QuantumCircuit(n)
    for q in range(n):  # a non-uniform input, so the QFT output is not trivial
        circuit.ry(0.3 + 0.4 * q, q)
        circuit.rz(0.1 * q, q)
    circuit.append(QFTGate(n), range(n))
    assert_matches_qiskit(isa(circuit))


@pytest.mark.parametrize(
    ("n", "depth", "seed"),
    [(2, 8, 1), (4, 10, 2), (5, 12, 3), (6, 12, 4), (9, 10, 5), (14, 8, 6), (16, 6, 7)],
)
def test_random_circuit_matches_qiskit(n: int, depth: int, seed: int) -> None:
    circuit = random_circuit(n, depth, max_operands=3, seed=seed)
    assert_matches_qiskit(isa(circuit, seed))


@pytest.mark.parametrize("name", NAMED_GATES)
def test_named_gate_matches_qiskit_operator(name: str) -> None:
    gate = STANDARD[name]
    angles = np.random.default_rng(len(name)).uniform(-np.pi, np.pi, len(gate.params))
    k = gate.num_qubits
    orders = [tuple(range(k)), tuple(reversed(range(k)))] + ([(2, 0, 1)] if k == 3 else [])
    for qubits in orders:
        circuit = QuantumCircuit(k)
        circuit.append(gate, qubits)
        circuit = circuit.assign_parameters(dict(zip(gate.params, angles, strict=True)))
        program = sv.Program(k, 0, [(name, qubits, tuple(float(a) for a in angles))])
        columns = sv.run(program, initial=np.eye(2**k))  # a batch of basis states: row j is U|j>
        np.testing.assert_allclose(columns.T, Operator(circuit).data, atol=TOL)


def test_generic_matrix_gates_match_qiskit() -> None:
    circuit = QuantumCircuit(4)
    circuit.h(range(4))
    circuit.append(UnitaryGate(random_unitary(4, seed=1)), [3, 1])
    circuit.append(UnitaryGate(random_unitary(2, seed=2)), [2])
    circuit.append(STANDARD["csx"], [0, 2])  # not in the basis: runs as its matrix
    for name, qubits in (("u1", [1]), ("u2", [3]), ("u3", [0]), ("cu1", [2, 0])):
        gate = STANDARD[name]
        circuit.append(gate.base_class(*np.linspace(0.3, 1.1, len(gate.params))), qubits)
    assert_matches_qiskit(circuit)


def test_barrier_delay_and_id_are_no_ops() -> None:
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.barrier()
    circuit.delay(100, 0)
    circuit.id(1)
    circuit.cx(0, 1)
    assert_matches_qiskit(circuit)


# --- batched parameters ---------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 14])
def test_batched_parameters_equal_separate_runs(n: int) -> None:
    rng = np.random.default_rng(3)
    theta, phi = rng.uniform(-np.pi, np.pi, (2, 5))

    def ops(a: object, b: object) -> list[sv.Op]:
        return [
            ("h", (0,), ()),
            ("rx", (1,), (a,)),
            ("u", (2,), (b, a, 0.3)),
            ("cp", (0, n - 1), (b,)),
            ("rzz", (1, 2), (a,)),
            ("crx", (2, 0), (b,)),
            ("ry", (n - 1,), (0.7,)),
            ("rxx", (n - 2, 0), (a,)),
            ("cx", (1, n - 1), ()),
            ("rz", (n - 1,), (b,)),
        ]

    batched = sv.run(sv.Program(n, ops=ops(theta, phi)))
    assert batched.shape == (5, 2**n)
    for row, (a, b) in enumerate(zip(theta, phi, strict=True)):
        single = sv.run(sv.Program(n, ops=ops(float(a), float(b))))[0]
        np.testing.assert_allclose(batched[row], single, atol=TOL)
    rows = sv.probabilities(sv.Program(n, ops=ops(theta, phi)))
    np.testing.assert_allclose(rows, np.abs(batched) ** 2, atol=TOL)


def test_mismatched_batches_are_refused() -> None:
    program = sv.Program(1, ops=[("rx", (0,), (np.zeros(3),)), ("ry", (0,), (np.zeros(4),))])
    with pytest.raises(ValueError, match="batch"):
        sv.run(program)


# --- sampling ------------------------------------------------------------------------


def test_sampling_is_seeded_and_sums_to_shots() -> None:
    circuit = QuantumCircuit(6)
    circuit.h(range(6))
    circuit.measure_all()
    program = program_from_circuit(circuit)
    first = sv.sample_counts(program, 5000, np.random.default_rng(11))
    again = sv.sample_counts(program, 5000, np.random.default_rng(11))
    other = sv.sample_counts(program, 5000, np.random.default_rng(12))
    assert first == again
    assert first != other
    assert sum(first.values()) == 5000
    assert all(len(key) == 6 and set(key) <= {"0", "1"} for key in first)
    assert sv.sample_counts(program, 0, np.random.default_rng(1)) == {}


def test_bit_order_qubit0_into_clbit0_is_rightmost() -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.x(0)
    circuit.measure([0, 1], [0, 1])
    counts = sv.sample_counts(program_from_circuit(circuit), 100, np.random.default_rng(0))
    assert counts == {"01": 100}


def test_qubit0_into_clbit2_of_3_and_unmeasured_clbits_are_zero() -> None:
    circuit = QuantumCircuit(2, 3)
    circuit.x(0)
    circuit.measure(0, 2)
    counts = sv.sample_counts(program_from_circuit(circuit), 50, np.random.default_rng(0))
    assert counts == {"100": 50}


@pytest.mark.parametrize(("n", "shots"), [(5, 20_000), (15, 10_000)])
def test_sampled_ghz_matches_exact_distribution(n: int, shots: int) -> None:
    program = program_from_circuit(ghz(n, measure=True))
    exact = sv.marginal_clbit_probabilities(program)
    assert exact == pytest.approx({"0" * n: 0.5, "1" * n: 0.5}, abs=TOL)
    counts = sv.sample_counts(program, shots, np.random.default_rng(5))
    assert set(counts) == set(exact)
    assert tvd(counts, exact) < 0.02


def test_sampled_random_circuit_passes_chi_square() -> None:
    circuit = isa(random_circuit(6, 6, max_operands=2, seed=9))
    circuit.measure_all()
    program = program_from_circuit(circuit)
    exact = sv.marginal_clbit_probabilities(program, cutoff=1e-12)
    shots = 100_000
    counts = sv.sample_counts(program, shots, np.random.default_rng(21))
    expected = np.array([shots * p for p in exact.values()])
    observed = np.array([counts.get(key, 0) for key in exact])
    chi2 = float(((observed - expected) ** 2 / expected).sum())
    dof = len(exact) - 1
    assert chi2 < dof + 6 * np.sqrt(2 * dof)  # far in the tail for a wrong sampler
    assert set(counts) <= set(exact)


def test_marginal_probabilities_follow_the_clbit_mapping() -> None:
    circuit = QuantumCircuit(3, 3)
    circuit.ry(0.4, 0)
    circuit.ry(1.1, 1)
    circuit.ry(2.0, 2)
    circuit.cx(0, 1)
    circuit.measure([2, 0], [0, 1])
    reference = Statevector(circuit.remove_final_measurements(inplace=False))
    probs = reference.probabilities([2, 0])  # index bit 0: qubit 2, bit 1: qubit 0
    expected = {f"0{i >> 1}{i & 1}": float(p) for i, p in enumerate(probs)}
    got = sv.marginal_clbit_probabilities(program_from_circuit(circuit))
    assert got == pytest.approx(expected, abs=TOL)


# --- what the engine refuses ---------------------------------------------------------


def test_mid_circuit_measurement_is_refused() -> None:
    circuit = QuantumCircuit(2, 2)
    circuit.h(0)
    circuit.measure(0, 0)
    circuit.x(0)
    with pytest.raises(sv.UnsupportedOperation, match="'x' acts on qubit 0 after it was measured"):
        program_from_circuit(circuit)


def test_reset_is_refused() -> None:
    circuit = QuantumCircuit(1)
    circuit.reset(0)
    with pytest.raises(sv.UnsupportedOperation, match="'reset'"):
        program_from_circuit(circuit)


def test_classical_control_is_refused() -> None:
    circuit = QuantumCircuit(2, 1)
    circuit.measure(0, 0)
    with circuit.if_test((circuit.clbits[0], 1)):
        circuit.x(1)
    with pytest.raises(sv.UnsupportedOperation, match="'if_else'"):
        program_from_circuit(circuit)


def test_unbound_parameter_is_refused() -> None:
    circuit = QuantumCircuit(1)
    circuit.rx(Parameter("theta"), 0)
    with pytest.raises(sv.UnsupportedOperation, match=r"unbound parameter.*theta"):
        program_from_circuit(circuit)


def test_unknown_gate_and_measure_op_are_refused_by_the_engine() -> None:
    assert issubclass(sv.UnsupportedOperation, ValueError)
    with pytest.raises(sv.UnsupportedOperation, match="'foo'"):
        sv.run(sv.Program(1, ops=[("foo", (0,), ())]))
    with pytest.raises(sv.UnsupportedOperation, match="'measure'"):
        sv.run(sv.Program(1, ops=[("measure", (0,), ())]))


def test_every_supported_gate_is_known_to_the_engine() -> None:
    known = set(sv.FIXED_GATES) | set(sv.PARAMETRIC_GATES) | sv.NO_OPS
    assert set(SUPPORTED_GATES) <= known


def test_invalid_programs_raise_value_error() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="invalid for 2 qubits"):
        sv.run(sv.Program(2, ops=[("cx", (0, 0), ())]))
    with pytest.raises(ValueError, match="invalid for 2 qubits"):
        sv.run(sv.Program(2, ops=[("x", (2,), ())]))
    with pytest.raises(ValueError, match="takes 1 parameter"):
        sv.run(sv.Program(1, ops=[("rx", (0,), ())]))
    with pytest.raises(ValueError, match="initial state"):
        sv.run(sv.Program(2), initial=np.ones(3))
    with pytest.raises(ValueError, match="out of range"):
        sv.sample_counts(sv.Program(1, 1, measurements=[(0, 1)]), 10, rng)
    batched = sv.Program(1, 1, ops=[("rx", (0,), (np.zeros(2),))], measurements=[(0, 0)])
    with pytest.raises(ValueError, match="batched"):
        sv.sample_counts(batched, 10, rng)
