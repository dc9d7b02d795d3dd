"""QCNN model: engine vs Qiskit statevectors, adjoint gradients vs finite differences,
layouts, read-out, serialisation, exported circuits and the Aer binding workaround."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import qiskit_aer
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.quantum_info import Statevector
from qiskit_aer import AerSimulator

from qorch.workloads.qcnn.ansatz import ANSATZ_NAMES
from qorch.workloads.qcnn.encoding import (
    ENCODING_NAMES,
    append_encoding,
    encode_states,
    input_size,
    input_values,
    required_features,
)
from qorch.workloads.qcnn.export import bind_for_aer, decompose_controlled_rotations
from qorch.workloads.qcnn.layout import REFERENCE, make_layout
from qorch.workloads.qcnn.loss import LOSS_NAMES
from qorch.workloads.qcnn.model import QCNN, QCNNSpec, build


def _features(encoding: str, n: int, rng: np.random.Generator, batch: int) -> np.ndarray:
    width = required_features(encoding, n)
    if encoding.startswith(("amplitude", "hde")):
        return rng.normal(size=(batch, width))  # signed amplitudes
    return rng.uniform(0, np.pi, size=(batch, width))


def _qiskit_readout(model: QCNN, params: np.ndarray, x: np.ndarray) -> np.ndarray:
    circuit = model.circuit(params, x, dynamic=False)
    circuit.remove_final_measurements()
    return Statevector(circuit).probabilities(list(model.layout.readout))


def _check_gradient(model: QCNN, params, X, y, kind: str, indices=None) -> None:
    value, grad = model.loss_and_grad(params, X, y, kind)
    assert np.isclose(value, model.loss(params, X, y, kind), rtol=1e-12)
    h = 1e-5
    for j in range(model.n_params) if indices is None else indices:
        step = np.zeros(model.n_params)
        step[j] = h
        fd = (model.loss(params + step, X, y, kind) - model.loss(params - step, X, y, kind)) / (
            2 * h
        )
        assert abs(fd - grad[j]) <= 1e-6 * max(1.0, abs(fd)), (j, fd, grad[j])


@pytest.mark.parametrize("encoding", ENCODING_NAMES)
@pytest.mark.parametrize("ansatz", ANSATZ_NAMES)
def test_every_ansatz_and_encoding(ansatz: str, encoding: str) -> None:
    model = build(QCNNSpec(ansatz=ansatz, encoding=encoding))
    seed = 100 * ANSATZ_NAMES.index(ansatz) + ENCODING_NAMES.index(encoding)
    rng = np.random.default_rng(seed)
    params = model.init_params(rng)
    X = _features(encoding, 8, rng, 2)
    probs = model.probabilities(params, X)
    for i in range(2):
        np.testing.assert_allclose(probs[i], _qiskit_readout(model, params, X[i]), atol=1e-9)
    for kind in LOSS_NAMES:
        _check_gradient(model, params, X, np.array([0, 1]), kind)


@pytest.mark.parametrize(
    ("encoding", "n"),
    [(e, 8) for e in ENCODING_NAMES] + [("hde-2", 8), ("hae-2", 8), ("hde", 6), ("hae-3", 7),
                                        ("iqp-1", 5), ("amplitude", 3), ("compact-angle", 3)],
)  # fmt: skip
def test_encoding_states_equal_their_circuits(encoding: str, n: int) -> None:
    rng = np.random.default_rng(n)
    X = _features(encoding, n, rng, 3)
    states = encode_states(encoding, X, n)
    np.testing.assert_allclose(np.linalg.norm(states, axis=1), 1.0, atol=1e-12)
    template = QuantumCircuit(n)
    append_encoding(template, encoding, ParameterVector("x", input_size(encoding, n)))
    values = input_values(encoding, X, n)
    for i in range(3):
        direct = QuantumCircuit(n)
        append_encoding(direct, encoding, X[i])
        for circuit in (direct, template.assign_parameters(values[i])):
            overlap = np.vdot(Statevector(circuit).data, states[i])
            assert abs(abs(overlap) - 1) < 1e-12  # equal up to a global phase


def test_reference_feature_counts_and_amplitude_order() -> None:
    counts = {e: required_features(e, 8) for e in ENCODING_NAMES}
    assert counts == {"amplitude": 256, "angle": 8, "compact-angle": 16, "hde": 32, "hae": 30,
                      "iqp": 8}  # fmt: skip
    assert required_features("hae-2", 8) == 12 and required_features("hde-2", 8) == 16
    x = np.zeros((1, 8))
    x[0, 1] = 1.0  # PennyLane index 1 = wire 2 set (wire 0 most significant) -> Qiskit index 4
    assert np.argmax(np.abs(encode_states("amplitude", x))) == 4
    with pytest.raises(ValueError, match="takes 8 features"):
        encode_states("angle", np.zeros((2, 7)), 8)


def test_reference_model() -> None:
    model = build(QCNNSpec())
    assert model.n_params == 51
    assert model.layout is REFERENCE and model.layout.readout == (4,)
    assert make_layout("general", 8).layers == REFERENCE.layers
    assert REFERENCE.layers[0].conv == (
        (0, 7),
        (0, 1),
        (2, 3),
        (4, 5),
        (6, 7),
        (1, 2),
        (3, 4),
        (5, 6),
    )
    assert [layer.pool for layer in REFERENCE.layers] == [
        ((1, 0), (3, 2), (5, 4), (7, 6)), ((2, 0), (6, 4)), ((0, 4),)
    ]  # fmt: skip
    assert [layer.kept for layer in REFERENCE.layers] == [(0, 2, 4, 6), (0, 4), (4,)]
    # parameter order of QCNN_structure: conv1, conv2, conv3, pool1, pool2, pool3
    assert list(model.block_params[0]) == list(range(15))
    assert list(model.block_params[8]) == [45, 46]
    with pytest.raises(ValueError, match="8 qubits"):
        build(QCNNSpec(num_qubits=6))


@pytest.mark.parametrize("share", [True, False])
@pytest.mark.parametrize("n", [4, 6, 8, 12])
@pytest.mark.parametrize("layout", ["chain", "general"])
def test_layouts(layout: str, n: int, share: bool) -> None:
    model = build(QCNNSpec(num_qubits=n, layout=layout, ansatz="so4", share=share))
    assert len(model.layout.readout) == 1
    alive = set(range(n))
    for layer in model.layout.layers:
        assert all(a in alive and b in alive for a, b in layer.conv + layer.pool)
        alive -= {control for control, _ in layer.pool}
        assert alive == set(layer.kept)
    rng = np.random.default_rng(n)
    params = model.init_params(rng)
    X = _features("angle", n, rng, 2)
    np.testing.assert_allclose(
        model.probabilities(params, X)[0], _qiskit_readout(model, params, X[0]), atol=1e-9
    )
    indices = rng.choice(model.n_params, size=min(12, model.n_params), replace=False)
    _check_gradient(model, params, X, np.array([1, 0]), "cross-entropy", indices)


def test_per_layer_sharing() -> None:
    shared = build(QCNNSpec(num_qubits=6, layout="general", ansatz="sim15", share=True))
    mixed = build(
        QCNNSpec(num_qubits=6, layout="general", ansatz="sim15", share=(False, True, True))
    )
    assert len(shared.layout.layers) == 3
    first = shared.layout.layers[0]
    assert mixed.n_params == shared.n_params + (len(first.conv) - 1) * 4 + (len(first.pool) - 1) * 2
    rng = np.random.default_rng(0)
    params = shared.init_params(rng)
    X = _features("angle", 6, rng, 2)
    twin = shared.unshared()
    np.testing.assert_allclose(
        twin.probabilities(shared.expand(params), X), shared.probabilities(params, X), atol=1e-14
    )
    with pytest.raises(ValueError, match="share has 2 entries"):
        build(QCNNSpec(num_qubits=6, layout="general", share=(True, False)))


@pytest.mark.parametrize(
    ("classes", "readout"), [(3, "renormalize"), (3, "raw"), (4, "renormalize")]
)
def test_multi_class_readout(classes: int, readout: str) -> None:
    model = build(
        QCNNSpec(
            num_qubits=6, layout="general", ansatz="sim13", num_classes=classes, readout=readout
        )
    )
    assert len(model.layout.readout) == 2 and model.n_outcomes == 4
    rng = np.random.default_rng(classes)
    params = model.init_params(rng)
    X = _features("angle", 6, rng, 3)
    outcomes = model.probabilities(params, X)
    np.testing.assert_allclose(outcomes.sum(axis=1), 1.0, atol=1e-12)
    for i in range(3):
        np.testing.assert_allclose(outcomes[i], _qiskit_readout(model, params, X[i]), atol=1e-9)
    q = model.class_probabilities(outcomes)
    assert q.shape == (3, classes)
    if readout == "renormalize":
        np.testing.assert_allclose(q.sum(axis=1), 1.0, atol=1e-12)
    predicted = model.predict(params, X)
    assert set(predicted.tolist()) <= set(range(-1 if readout == "raw" else 0, classes))
    for kind in LOSS_NAMES:
        _check_gradient(model, params, X, np.array([0, 2, 1]), kind)


def test_to_dict_round_trip() -> None:
    spec = QCNNSpec(num_qubits=6, layout="chain", ansatz="sim6", pooling="measured",
                    encoding="hae-2", share=(True, False), num_classes=3)  # fmt: skip
    model = build(spec)
    params = model.init_params(np.random.default_rng(5))
    data = json.loads(json.dumps(model.to_dict(params)))
    again, loaded = QCNN.from_dict(data)
    assert again.spec == spec and np.array_equal(loaded, params)
    X = _features("hae-2", 6, np.random.default_rng(6), 2)
    np.testing.assert_array_equal(again.probabilities(loaded, X), model.probabilities(params, X))
    with pytest.raises(ValueError, match="not a QCNN model"):
        QCNN.from_dict({"format": "something else"})


def _operation_names(circuit: QuantumCircuit) -> set[str]:
    names = set()
    for instruction in circuit.data:
        names.add(instruction.operation.name)
        for block in getattr(instruction.operation, "blocks", ()):
            names |= _operation_names(block)
    return names


@pytest.mark.parametrize("encoding", ENCODING_NAMES)
def test_exported_templates_have_no_u_and_bind_fast(encoding: str) -> None:
    model = build(QCNNSpec(encoding=encoding, pooling="measured"))
    params = model.init_params(np.random.default_rng(1))
    template = model.circuit(params)
    assert not _operation_names(template) & {"u", "u1", "u2", "u3", "unitary"}
    assert [r.name for r in template.cregs] == ["readout", "pool"]
    X = _features(encoding, 8, np.random.default_rng(2), 1)
    start = time.perf_counter()
    template.assign_parameters(input_values(encoding, X)[0])
    assert time.perf_counter() - start < 0.5
    weights = model.circuit(params, X[0], dynamic=False, bind_weights=False)
    start = time.perf_counter()
    bound = weights.assign_parameters(params)
    assert time.perf_counter() - start < 0.5
    bound.remove_final_measurements()
    probs = Statevector(bound).probabilities([4])
    np.testing.assert_allclose(probs, model.probabilities(params, X)[0], atol=1e-9)


def _aer_distribution(counts: dict[str, int], width: int) -> np.ndarray:
    out = np.zeros(1 << width)
    for key, count in counts.items():
        out[int(key.split()[-1], 2)] += count  # the readout register is rightmost
    return out / out.sum()


def test_dynamic_measured_pooling_on_aer_matches_engine() -> None:
    model = build(QCNNSpec(encoding="hae", pooling="measured", ansatz="sim14"))
    params = model.init_params(np.random.default_rng(3))
    X = _features("hae", 8, np.random.default_rng(4), 1)
    circuit = bind_for_aer(model.circuit(params), input_values("hae", X)[0])
    shots = 20000
    counts = AerSimulator(seed_simulator=11).run(circuit, shots=shots).result().get_counts()
    expected = model.probabilities(params, X)[0]
    sigma = np.sqrt(expected * (1 - expected) / shots)
    assert np.all(np.abs(_aer_distribution(counts, 1) - expected) < 5 * sigma + 1e-12)


def _aer_run(circuit: QuantumCircuit, binds=None, shots: int = 20000) -> np.ndarray:
    kwargs = {} if binds is None else {"parameter_binds": [binds]}
    result = AerSimulator(seed_simulator=5).run(circuit, shots=shots, **kwargs).result()
    return _aer_distribution(result.get_counts(), circuit.num_clbits)


@pytest.mark.parametrize("gate", ["crx", "cry", "crz"])
def test_aer_runtime_binding_of_controlled_rotations(gate: str) -> None:
    """qiskit-aer #2323/#2391/#2403: run-time bound CRX/CRY/CRZ angles are mis-applied."""
    theta = Parameter("θ")
    circuit = QuantumCircuit(2, 2)
    circuit.x(0)
    if gate == "crz":
        circuit.h(1)
    getattr(circuit, gate)(theta, 0, 1)
    if gate == "crz":
        circuit.h(1)
    circuit.measure([0, 1], [0, 1])
    value = 2.0
    exact = Statevector(circuit.remove_final_measurements(inplace=False).assign_parameters([value]))
    expected = exact.probabilities()
    runtime = _aer_run(circuit, {theta: [value]})
    if qiskit_aer.__version__ == "0.18.2":  # the bug as installed: the rotation is skipped
        assert abs(runtime[3] - expected[3]) > 0.5
    for safe in (
        _aer_run(bind_for_aer(circuit, [value])),
        _aer_run(decompose_controlled_rotations(circuit), {theta: [value]}),
    ):
        np.testing.assert_allclose(safe, expected, atol=0.02)


def test_aer_safe_qcnn_template() -> None:
    model = build(QCNNSpec(encoding="hae", ansatz="sim5"))  # CRY inputs, CRZ/CRX weights
    params = model.init_params(np.random.default_rng(8))
    X = _features("hae", 8, np.random.default_rng(9), 1)
    template = model.circuit(params)
    values = input_values("hae", X)[0]
    binds = {p: [v] for p, v in zip(template.parameters, values, strict=True)}
    expected = model.probabilities(params, X)[0]
    for run in (_aer_run(bind_for_aer(template, values)),
                _aer_run(decompose_controlled_rotations(template), binds)):  # fmt: skip
        np.testing.assert_allclose(run, expected, atol=0.02)


def test_models_pickle_for_worker_processes() -> None:
    import pickle

    from qorch.workloads.qcnn.layout import readout_qubits

    model = build(QCNNSpec(num_qubits=6, layout="general", ansatz="su4-exp", num_classes=3))
    params = model.init_params(np.random.default_rng(0))
    X = _features("angle", 6, np.random.default_rng(1), 2)
    model.loss_and_grad(params, X, np.array([0, 2]), "cross-entropy")  # fills the workspace
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.probabilities(params, X), model.probabilities(params, X))
    assert readout_qubits(model.layout, 3) == model.layout.readout
    with pytest.raises(ValueError, match="need 1"):
        readout_qubits(model.layout, 2)
