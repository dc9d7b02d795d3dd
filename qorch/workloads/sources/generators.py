"""Built-in circuit generators: pure functions from parameters to measured circuits.

Every circuit is deterministic for its inputs (seeded where random), named by
the caller and measured into one classical register, so compile output is
byte-stable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit.library import QFTGate
from qiskit.circuit.random import random_circuit as _qiskit_random_circuit


def ghz(num_qubits: int) -> QuantumCircuit:
    """GHZ state (|0…0⟩ + |1…1⟩)/√2: H on qubit 0, then a CNOT chain."""
    circuit = QuantumCircuit(num_qubits, name="ghz")
    circuit.h(0)
    for qubit in range(num_qubits - 1):
        circuit.cx(qubit, qubit + 1)
    circuit.measure_all()
    return circuit


def qft(num_qubits: int, value: int | None = None, *, swaps: bool = True) -> QuantumCircuit:
    """The quantum Fourier transform on ``num_qubits`` qubits.

    With ``value``: prepare the Fourier state QFT|value⟩ with H and phase
    gates, then apply the inverse QFT, so the ideal outcome is ``value``.
    With ``swaps=False`` (no ``value``): the bare H + controlled-phase ladder,
    without the final qubit reversal — the usual distributed-computing benchmark.
    """
    circuit = QuantumCircuit(num_qubits, name="qft")
    if not swaps:
        from qiskit.synthesis import synth_qft_full

        ladder = synth_qft_full(num_qubits, do_swaps=False)
        if value is None:
            circuit.compose(ladder, inplace=True)
            circuit.measure_all()
            return circuit
        # The swap-free QFT of |value⟩ is the product state of QFT|value⟩ with the
        # qubits in reverse order: prepare it, then undo the ladder.
        for qubit in range(num_qubits):
            angle = 2 * math.pi * value * 2 ** (num_qubits - 1 - qubit) / 2**num_qubits
            circuit.h(qubit)
            circuit.p(math.remainder(angle, 2 * math.pi), qubit)
        circuit.compose(ladder.inverse(), inplace=True)
    elif value is None:
        circuit.append(QFTGate(num_qubits), range(num_qubits))
    else:
        for qubit in range(num_qubits):
            circuit.h(qubit)
            angle = 2 * math.pi * value * 2**qubit / 2**num_qubits
            circuit.p(math.remainder(angle, 2 * math.pi), qubit)
        circuit.append(QFTGate(num_qubits).inverse(), range(num_qubits))
    circuit.measure_all()
    return circuit


def random(num_qubits: int, depth: int, seed: int, max_operands: int = 2) -> QuantumCircuit:
    """Qiskit's seeded ``random_circuit`` of ``depth`` layers, measured at the end."""
    circuit = _qiskit_random_circuit(
        num_qubits, depth, max_operands=max_operands, measure=False, seed=seed
    )
    circuit.measure_all()
    return circuit


def random_regular_graph(num_nodes: int, degree: int, seed: int) -> list[tuple[int, int]]:
    """Edges of a uniformly sampled ``degree``-regular simple graph (pairing model).

    Raises ValueError if no such graph exists.
    """
    if degree >= num_nodes or (degree * num_nodes) % 2:
        raise ValueError(f"no {degree}-regular graph on {num_nodes} nodes")
    rng = np.random.default_rng(seed)
    stubs = np.repeat(np.arange(num_nodes), degree)
    for _ in range(10_000):
        rng.shuffle(stubs)
        pairs = stubs.reshape(-1, 2)
        edges = {tuple(sorted((int(a), int(b)))) for a, b in pairs}
        if len(edges) == len(pairs) and all(a != b for a, b in edges):
            return sorted(edges)  # type: ignore[arg-type]
    raise ValueError(f"could not sample a {degree}-regular graph on {num_nodes} nodes")


def qaoa_maxcut(
    num_qubits: int, degree: int, gammas: Sequence[float], betas: Sequence[float], seed: int
) -> QuantumCircuit:
    """QAOA for MaxCut on a seeded random regular graph.

    Cost Hamiltonian C = Σ_(i,j)∈E Z_i Z_j (its minimum is the maximum cut):
    each layer applies RZZ(2γ) on every edge, then the mixer RX(2β) on every
    qubit, after an initial layer of H. Raises ValueError if len(gammas) !=
    len(betas).
    """
    if len(gammas) != len(betas):
        raise ValueError("gammas and betas must have the same length p")
    edges = random_regular_graph(num_qubits, degree, seed)
    circuit = QuantumCircuit(num_qubits, name="qaoa-maxcut")
    circuit.h(range(num_qubits))
    for gamma, beta in zip(gammas, betas, strict=True):
        for a, b in edges:
            circuit.rzz(2 * gamma, a, b)
        circuit.rx(2 * beta, range(num_qubits))
    circuit.measure_all()
    return circuit
