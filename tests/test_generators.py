"""Built-in generators produce the states they promise."""

from __future__ import annotations

import pytest
from qiskit.quantum_info import Statevector

from qorch.workloads.sources import generators


def exact(circuit):  # type: ignore[no-untyped-def]
    bare = circuit.remove_final_measurements(inplace=False)
    probabilities = Statevector(bare).probabilities_dict()
    return {key: value for key, value in probabilities.items() if value > 1e-9}


def test_ghz_is_half_zeros_half_ones() -> None:
    probabilities = exact(generators.ghz(5))
    assert probabilities.keys() == {"00000", "11111"}
    assert probabilities["00000"] == pytest.approx(0.5)


@pytest.mark.parametrize("value", [0, 1, 6, 13, 31])
def test_qft_with_value_returns_the_value(value: int) -> None:
    probabilities = exact(generators.qft(5, value))
    assert probabilities == {format(value, "05b"): pytest.approx(1.0)}


def test_plain_qft_of_zero_is_uniform() -> None:
    probabilities = exact(generators.qft(3))
    assert len(probabilities) == 8
    assert all(value == pytest.approx(1 / 8) for value in probabilities.values())


def test_random_circuit_is_seeded() -> None:
    a, b = generators.random(4, 6, seed=3), generators.random(4, 6, seed=3)
    assert a == b
    assert generators.random(4, 6, seed=4) != a


def test_regular_graph_is_regular_simple_and_seeded() -> None:
    edges = generators.random_regular_graph(10, 3, seed=5)
    assert edges == generators.random_regular_graph(10, 3, seed=5)
    degree = [0] * 10
    for a, b in edges:
        assert a < b
        degree[a] += 1
        degree[b] += 1
    assert degree == [3] * 10 and len(set(edges)) == 15
    with pytest.raises(ValueError):
        generators.random_regular_graph(5, 3, seed=1)


def test_qaoa_at_zero_angles_is_uniform_and_layers_match_p() -> None:
    flat = exact(generators.qaoa_maxcut(4, 3, [0.0], [0.0], seed=1))
    assert len(flat) == 16
    circuit = generators.qaoa_maxcut(6, 3, [0.3, 0.5], [0.7, 0.2], seed=2)
    ops = circuit.count_ops()
    assert ops["rzz"] == 2 * 9 and ops["rx"] == 2 * 6


def test_qaoa_favours_large_cuts() -> None:
    """At a good p=1 angle, the expected cut beats a random assignment's (|E|/2)."""
    edges = generators.random_regular_graph(6, 3, seed=4)
    probabilities = exact(generators.qaoa_maxcut(6, 3, [0.39], [-0.39], seed=4))
    expected_cut = 0.0
    for bits, probability in probabilities.items():
        side = [int(bit) for bit in reversed(bits)]
        expected_cut += probability * sum(side[a] != side[b] for a, b in edges)
    assert expected_cut > len(edges) / 2 + 0.5
