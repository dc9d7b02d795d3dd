"""Make exported QCNN circuits safe for Qiskit Aer.

qiskit-aer (0.16–0.18 at least; issues Qiskit/qiskit-aer#2323, #2391, #2403) mis-binds
*run-time* parameter values (``backend.run(..., parameter_binds=...)``, ``SamplerV2`` /
``EstimatorV2`` PUB values) of controlled rotations and controlled phases (CRX, CRY, CRZ,
CP): the gate acts as if the angle were 0, or the wrong value is used. Circuits with the
angles bound as floats before submission, or with those gates decomposed into CX and
single-qubit rotations, simulate correctly.

:func:`bind_for_aer` binds values into a template (the safe path for one parameter set);
:func:`decompose_controlled_rotations` rewrites a template so Aer may bind it at run time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["CONTROLLED_ROTATIONS", "bind_for_aer", "decompose_controlled_rotations"]

CONTROLLED_ROTATIONS = ("crx", "cry", "crz", "cp")


def bind_for_aer(
    circuit: Any, values: Mapping[Any, float] | Sequence[float], decompose: bool = False
) -> Any:
    """``circuit`` with its parameters bound to float ``values`` (a mapping, or a sequence in
    ``circuit.parameters`` order), optionally with controlled rotations decomposed.

    Raises ValueError (Qiskit's CircuitError) if values are missing or extra.
    """
    if not isinstance(values, Mapping):
        values = [float(v) for v in values]
    bound = circuit.assign_parameters(values, inplace=False, strict=True)
    return decompose_controlled_rotations(bound) if decompose else bound


def _rewrite(circuit: Any, name: str, theta: Any, control: Any, target: Any) -> None:
    """Append an exact CX/RZ/RY decomposition of a controlled rotation to ``circuit``."""
    if name == "cp":  # CP(λ) = P(λ/2) c · CX · P(-λ/2) t · CX · P(λ/2) t
        circuit.p(theta / 2, control)
        circuit.cx(control, target)
        circuit.p(-theta / 2, target)
        circuit.cx(control, target)
        circuit.p(theta / 2, target)
        return
    rotate = circuit.ry if name == "cry" else circuit.rz
    if name == "crx":  # H RZ H = RX
        circuit.h(target)
    rotate(theta / 2, target)
    circuit.cx(control, target)
    rotate(-theta / 2, target)
    circuit.cx(control, target)
    if name == "crx":
        circuit.h(target)


def decompose_controlled_rotations(circuit: Any) -> Any:
    """An equal circuit (exactly, global phase included) with every CRX, CRY, CRZ and CP
    replaced by CX and single-qubit rotations, inside control flow too.

    Parameters stay parameters, so the result may be bound at run time by Aer.
    """
    out = circuit.copy_empty_like()
    for instruction in circuit.data:
        op = instruction.operation
        if op.name in CONTROLLED_ROTATIONS and not getattr(op, "condition", None):
            control, target = instruction.qubits
            _rewrite(out, op.name, op.params[0], control, target)
        elif getattr(op, "blocks", ()):
            blocks = [decompose_controlled_rotations(block) for block in op.blocks]
            out.append(op.replace_blocks(blocks), instruction.qubits, instruction.clbits)
        else:
            out.append(op, instruction.qubits, instruction.clbits)
    return out
