"""Ideal output distributions of circuits, computed once at compile time to judge runs by.

A circuit of at most :data:`MAX_REFERENCE_QUBITS` qubits, with measurements
only at the end and no free parameters, is simulated exactly on qorch's numpy
engine; its distribution over the classical bits (Qiskit's bit order, clbit 0
rightmost) is kept if it has at most :data:`MAX_REFERENCE_OUTCOMES` outcomes
above :data:`CUTOFF`, with probabilities rounded to 12 significant digits so a
bundle is byte-identical on every machine. Anything else has no reference
(``None``): metrics that need one are then not produced for that circuit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

# 2**24 amplitudes of complex128 are 256 MiB: the largest state compile builds for a reference.
MAX_REFERENCE_QUBITS = 24
# A reference is stored in the bundle's manifest: a uniform distribution over 2**16
# outcomes is ~2 MB of JSON, the most a manifest should carry per circuit.
MAX_REFERENCE_OUTCOMES = 1 << 16
CUTOFF = 1e-12


def ideal_distribution(circuit: QuantumCircuit) -> dict[str, float] | None:
    """The exact distribution of ``circuit``'s classical bits, or None if qorch keeps none.

    None for circuits too wide, with unbound parameters, with mid-circuit
    measurements, resets or classical control, or whose distribution is too
    broad to store compactly.
    """
    if circuit.num_qubits > MAX_REFERENCE_QUBITS or circuit.parameters or not circuit.num_clbits:
        return None
    from qiskit import transpile
    from qiskit.transpiler.exceptions import TranspilerError

    from qorch.sim.statevector import UnsupportedOperation, marginal_clbit_probabilities
    from qorch.sim.statevector_qiskit import SUPPORTED_GATES, program_from_circuit

    try:  # as it is: transpiling loads every transpiler plugin (an IBM SDK import, ~1 s)
        program = program_from_circuit(circuit)
    except UnsupportedOperation:
        try:
            lowered = transpile(
                circuit, basis_gates=[*SUPPORTED_GATES, "measure"], optimization_level=0
            )
            program = program_from_circuit(lowered)
        except (UnsupportedOperation, TranspilerError):
            return None  # mid-circuit measurement, reset, classical control, unknown gate
    distribution = marginal_clbit_probabilities(program, CUTOFF)
    if len(distribution) > MAX_REFERENCE_OUTCOMES:
        return None
    total = sum(distribution.values())
    return {key: float(f"{value / total:.12g}") for key, value in sorted(distribution.items())}


def ideal_outcomes(distribution: dict[str, float], threshold: float = 1e-9) -> frozenset[str]:
    """The outcomes an ideal device produces: those of probability above ``threshold``."""
    return frozenset(key for key, value in distribution.items() if value > threshold)
