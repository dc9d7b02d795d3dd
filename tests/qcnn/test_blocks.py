"""Two-qubit QCNN blocks: parameter counts, matrices against Qiskit, derivatives."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import ParameterVector
from qiskit.quantum_info import Operator

from qorch.workloads.qcnn.ansatz import ANSATZ_NAMES, POOLING_NAMES, ansatz, pooling

COUNTS = {
    "ttn": 2, "sim5": 10, "sim6": 10, "sim9": 2, "sim13": 6, "sim14": 6, "sim15": 4,
    "so4": 6, "su4": 15, "su4-exp": 15,
}  # fmt: skip
BLOCKS = [("conv", name) for name in ANSATZ_NAMES] + [("pool", name) for name in POOLING_NAMES]


def _block(kind: str, name: str):
    return ansatz(name) if kind == "conv" else pooling(name)


def test_parameter_counts() -> None:
    assert {name: ansatz(name).n_params for name in ANSATZ_NAMES} == COUNTS
    assert [pooling(name).n_params for name in POOLING_NAMES] == [2, 2]


@pytest.mark.parametrize(("kind", "name"), BLOCKS)
def test_matrix_equals_exported_subcircuit(kind: str, name: str) -> None:
    block = _block(kind, name)
    for seed in range(3):
        params = np.random.default_rng(seed).normal(size=block.n_params) * 2
        circuit = QuantumCircuit(2)
        block.append(circuit, (0, 1), list(params))
        assert "u" not in circuit.count_ops()
        np.testing.assert_allclose(block.unitaries(params), Operator(circuit).data, atol=1e-12)


@pytest.mark.parametrize(("kind", "name"), BLOCKS)
def test_derivatives_match_central_differences(kind: str, name: str) -> None:
    block = _block(kind, name)
    params = np.random.default_rng(7).normal(size=block.n_params)
    unitary, grads = block.derivatives(params)
    h = 1e-6
    for j in range(block.n_params):
        step = np.zeros(block.n_params)
        step[j] = h
        fd = (block.unitaries(params + step) - block.unitaries(params - step)) / (2 * h)
        np.testing.assert_allclose(grads[j], fd, atol=1e-8)
    np.testing.assert_allclose(unitary.conj().T @ unitary, np.eye(4), atol=1e-12)


@pytest.mark.parametrize(("kind", "name"), BLOCKS)
def test_batched_blocks_match_single(kind: str, name: str) -> None:
    block = _block(kind, name)
    params = np.random.default_rng(3).normal(size=(2, 3, block.n_params))
    unitaries, grads = block.derivatives(params)
    assert unitaries.shape == (2, 3, 4, 4) and grads.shape == (2, 3, block.n_params, 4, 4)
    single = block.derivatives(params[1, 2])
    np.testing.assert_allclose(unitaries[1, 2], single[0], atol=1e-14)
    np.testing.assert_allclose(grads[1, 2], single[1], atol=1e-14)


def test_su4_exp_is_special_unitary_and_exports_floats_only() -> None:
    block = ansatz("su4-exp")
    params = np.random.default_rng(1).normal(size=15)
    assert np.isclose(np.linalg.det(block.unitaries(params)), 1.0)
    np.testing.assert_allclose(block.unitaries(np.zeros(15)), np.eye(4), atol=1e-15)
    with pytest.raises(ValueError, match="float angles"):
        block.append(QuantumCircuit(2), (0, 1), list(ParameterVector("t", 15)))


def test_parameterised_export_binds_to_the_same_matrix() -> None:
    for name in ("su4", "sim5", "sim14"):
        block = ansatz(name)
        theta = ParameterVector("t", block.n_params)
        template = QuantumCircuit(2)
        block.append(template, (0, 1), list(theta))
        params = np.random.default_rng(2).normal(size=block.n_params)
        bound = template.assign_parameters(params)
        np.testing.assert_allclose(Operator(bound).data, block.unitaries(params), atol=1e-12)


def test_reference_pooling_reads_out_like_measured_pooling() -> None:
    """CRZ(θ0), X, CRX(θ1) on (control, target): RZ(θ0) if the control is 1, else RX(θ1)."""
    params = np.array([0.3, 1.1])
    reference, measured = (
        pooling("reference").unitaries(params),
        pooling("measured").unitaries(params),
    )
    x_on_control = np.kron(np.eye(2), np.array([[0, 1], [1, 0]]))
    np.testing.assert_allclose(reference, x_on_control @ measured, atol=1e-14)
    shift = pooling("measured").shift_rules
    assert shift == ("four-term", "four-term")


def test_unknown_names_raise() -> None:
    with pytest.raises(ValueError, match="unknown ansatz"):
        ansatz("su5")
    with pytest.raises(ValueError, match="unknown pooling"):
        pooling("max")
    with pytest.raises(ValueError, match="takes 15 parameters"):
        ansatz("su4").unitaries(np.zeros(3))
