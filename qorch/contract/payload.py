"""Helpers for providers whose payloads are Qiskit circuits (part of the provider contract).

Translation to an ISA circuit happens in each provider; these functions turn
the result into a :class:`~qorch.contract.provider.Payload` (QPY bytes plus the
figures the manifest reports) and check it against a device's gate set.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import CapabilityError
from qorch.contract.provider import Observables, Payload

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

NON_GATES = frozenset({"measure", "barrier", "delay"})


def load_transpiler_plugins() -> None:
    """Load every installed transpiler stage plugin now, as Qiskit's preset pass managers
    do on first use: for a provider's ``warm_up``. Loading them imports their packages
    (qiskit-ibm-runtime's plugins: ~0.65 s), whichever provider transpiles first."""
    from qiskit.transpiler.preset_passmanagers.plugin import PassManagerStagePluginManager

    PassManagerStagePluginManager()


def to_qpy(circuit: QuantumCircuit) -> bytes:
    """Serialise one circuit to QPY bytes, the same bytes on every run.

    Qiskit 2.x's Rust QPY writer (format ≥ 17) writes a transpiled circuit's
    layout registers (``q``, ``ancilla``) in hash-map order, which changes
    from process to process; so this writes the last format version that
    uses the deterministic Python writer, which every QPY reader loads.
    """
    from qiskit import qpy
    from qiskit.qpy import common

    version = common.QPY_VERSION
    rust_from = getattr(common, "QPY_RUST_WRITE_MIN_VERSION", None)
    if rust_from is not None and rust_from - 1 >= common.QPY_COMPATIBILITY_VERSION:
        version = rust_from - 1
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer, version=version)
    return buffer.getvalue()


def from_qpy(data: bytes) -> QuantumCircuit:
    """Load the one circuit in a QPY payload."""
    from qiskit import qpy

    circuits = qpy.load(io.BytesIO(data))
    return circuits[0]


def measured_clbits(circuit: QuantumCircuit) -> tuple[int, ...]:
    """Indices of the classical bits that a measurement writes, in ascending order."""
    clbits = {
        circuit.find_bit(clbit).index
        for instruction in circuit.data
        if instruction.operation.name == "measure"
        for clbit in instruction.clbits
    }
    return tuple(sorted(clbits))


def two_qubit_gate_count(circuit: QuantumCircuit) -> int:
    """Number of gates acting on two or more qubits (measurements and barriers excluded)."""
    return sum(
        1
        for instruction in circuit.data
        if len(instruction.qubits) >= 2 and instruction.operation.name not in NON_GATES
    )


def describe(circuit: QuantumCircuit, fmt: str, data: bytes) -> Payload:
    """A Payload for ``data`` (the serialised ``circuit``) with its depth and gate figures."""
    counts = {str(name): int(n) for name, n in sorted(circuit.count_ops().items())}
    return Payload(
        format=fmt,
        data=data,
        num_qubits=circuit.num_qubits,
        num_clbits=circuit.num_clbits,
        depth=int(circuit.depth(lambda inst: inst.operation.name not in NON_GATES)),
        two_qubit_gates=two_qubit_gate_count(circuit),
        gate_counts=counts,
        measured_clbits=measured_clbits(circuit),
    )


def qpy_payload(circuit: QuantumCircuit) -> Payload:
    """A QPY Payload of an already translated circuit."""
    return describe(circuit, "qpy", to_qpy(circuit))


def check_width(circuit: QuantumCircuit, target: str, num_qubits: int) -> None:
    """Raise CapabilityError if ``circuit`` needs more qubits than the device has."""
    if circuit.num_qubits > num_qubits:
        raise CapabilityError(
            f"circuit '{circuit.name}' needs {circuit.num_qubits} qubits "
            f"but {target} has {num_qubits}"
        )


def check_gates(circuit: QuantumCircuit, target: str, allowed: Collection[str]) -> None:
    """Raise CapabilityError if the translated circuit uses a gate ``target`` cannot run."""
    used = {instruction.operation.name for instruction in circuit.data}
    missing = sorted(used - set(allowed) - NON_GATES)
    if missing:
        raise CapabilityError(
            f"circuit '{circuit.name}' uses {', '.join(missing)} after translation, "
            f"which {target} cannot run (native: {', '.join(sorted(allowed))})"
        )


def pauli_operators(circuit: QuantumCircuit, observables: Observables) -> list[Any]:
    """Each observable as a ``SparsePauliOp`` on ``circuit``'s qubits: its terms are over
    the circuit before translation, so a translated circuit's layout (kept in QPY) maps
    them onto the physical qubits it uses."""
    from qiskit.quantum_info import SparsePauliOp

    operators = []
    for terms in observables:
        operator = SparsePauliOp([label for label, _ in terms], [c for _, c in terms])
        if circuit.layout is not None:
            operator = operator.apply_layout(circuit.layout)
        elif operator.num_qubits != circuit.num_qubits:
            operator = operator.apply_layout(None, circuit.num_qubits)
        operators.append(operator)
    return operators


def transpile_error(circuit: QuantumCircuit, target: str, error: Exception) -> CapabilityError:
    """A CapabilityError for a transpiler failure, in one line."""
    reason = " ".join(str(error).split())
    if len(reason) > 300:
        reason = reason[:297] + "..."
    return CapabilityError(f"circuit '{circuit.name}' cannot be translated for {target}: {reason}")


__all__ = [
    "NON_GATES",
    "check_gates",
    "check_width",
    "describe",
    "from_qpy",
    "measured_clbits",
    "pauli_operators",
    "qpy_payload",
    "to_qpy",
    "transpile_error",
    "two_qubit_gate_count",
]
