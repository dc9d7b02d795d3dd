"""Qiskit front end of the numpy statevector engine (:mod:`qorch.sim.statevector`).

:func:`program_from_circuit` turns a bound, transpiled ``QuantumCircuit`` into a
:class:`~qorch.sim.statevector.Program`; :data:`SUPPORTED_GATES` is the basis qorch transpiles
to for the ``local:statevector`` device.
"""

from __future__ import annotations

import math
from typing import Any

from qiskit import QuantumCircuit
from qiskit.circuit import CircuitInstruction, Gate, ParameterExpression

from qorch.sim.statevector import (
    FIXED_GATES,
    NO_OPS,
    PARAMETRIC_GATES,
    Op,
    Program,
    UnsupportedOperation,
)

SUPPORTED_GATES: tuple[str, ...] = (
    *("id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "sxdg"),
    *("rx", "ry", "rz", "p", "u", "cx", "cy", "cz", "ch", "cp", "crx", "cry", "crz"),
    *("swap", "iswap", "rxx", "ryy", "rzz", "rzx", "ecr", "ccx", "cswap"),
)
_ALIASES = {"u3": "u", "u1": "p", "cu1": "cp", "cnot": "cx", "toffoli": "ccx", "fredkin": "cswap"}
_NAMED = {name: name for name in (*FIXED_GATES, *PARAMETRIC_GATES)} | _ALIASES
_MAX_MATRIX_QUBITS = 3  # other gates up to this size run as their matrix


def _number(value: Any, name: str) -> float:
    """A gate parameter as a float; raises UnsupportedOperation if it is unbound."""
    try:
        return float(value)
    except TypeError:
        if isinstance(value, ParameterExpression) and value.parameters:
            names = ", ".join(sorted(p.name for p in value.parameters))
            raise UnsupportedOperation(
                f"'{name}' has unbound parameter(s) {names}; bind them first"
            ) from None
        raise UnsupportedOperation(f"'{name}' has a non-real parameter {value!r}") from None


def _other(instruction: CircuitInstruction, qubits: tuple[int, ...]) -> Op:
    """An instruction outside the named gates, as an engine op (or UnsupportedOperation)."""
    name = instruction.name
    if instruction.is_control_flow():
        raise UnsupportedOperation(f"control flow ('{name}', classical control) is not supported")
    if name == "reset":
        raise UnsupportedOperation("'reset' is not supported (the engine keeps a pure state)")
    if name == "u2":
        phi, lam = (_number(p, name) for p in instruction.params)
        return "u", qubits, (math.pi / 2, phi, lam)
    operation = instruction.operation
    if isinstance(operation, Gate) and operation.num_qubits <= _MAX_MATRIX_QUBITS:
        for value in operation.params:
            if isinstance(value, ParameterExpression):
                _number(value, name)  # raises if unbound
        try:
            return "unitary", qubits, (operation.to_matrix(),)
        except Exception:  # no matrix definition: refused below
            pass
    raise UnsupportedOperation(
        f"operation '{name}' is not supported by local:statevector; "
        f"transpile to {', '.join(SUPPORTED_GATES)}"
    )


def program_from_circuit(circuit: QuantumCircuit) -> Program:
    """Convert a bound ``QuantumCircuit`` to an engine :class:`Program`.

    Gates keep Qiskit's qubit order; measurements must be terminal. Raises
    UnsupportedOperation (a ValueError) naming the operation for: an unsupported gate, an
    unbound parameter, ``reset``, control flow (``if_else``, loops, ...), or any operation
    on a qubit after it was measured (mid-circuit measurement).
    """
    qubit_index = {bit: i for i, bit in enumerate(circuit.qubits)}
    clbit_index = {bit: i for i, bit in enumerate(circuit.clbits)}
    ops: list[Op] = []
    measurements: list[tuple[int, int]] = []
    measured: set[int] = set()
    for instruction in circuit.data:
        name = instruction.name
        qubits = tuple([qubit_index[q] for q in instruction.qubits])
        if name == "measure":
            measurements.append((qubits[0], clbit_index[instruction.clbits[0]]))
            measured.add(qubits[0])
            continue
        if name in NO_OPS:
            continue
        if measured and not measured.isdisjoint(qubits):
            raise UnsupportedOperation(
                f"'{name}' acts on qubit {min(measured.intersection(qubits))} after it was "
                "measured: only terminal measurements are supported (mid-circuit measurement)"
            )
        engine_name = _NAMED.get(name)
        if engine_name is None:
            ops.append(_other(instruction, qubits))
        else:
            params = tuple([_number(p, name) for p in instruction.params])
            ops.append((engine_name, qubits, params))
    phase = _number(circuit.global_phase, "global_phase")
    if phase:
        ops.append(("global_phase", (), (phase,)))
    return Program(circuit.num_qubits, circuit.num_clbits, tuple(ops), tuple(measurements))
