"""Translate circuits for IBM devices: ISA circuits via the preset pass manager, as QPY.

The payload bytes are a pure function of the input (qorch's compile is
byte-for-byte reproducible): :func:`qorch.contract.payload.to_qpy` writes QPY with the
deterministic writer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qorch.contract import payload
from qorch.contract.errors import CapabilityError
from qorch.contract.provider import Payload

if TYPE_CHECKING:
    from qiskit import QuantumCircuit


def translate(
    circuit: QuantumCircuit,
    backend: Any,
    target: str,
    level: int,
    seed: int,
    *,
    estimator: bool = False,
) -> Payload:
    """An ISA circuit for ``backend`` (``target`` names it in errors), as a QPY Payload.

    ``level`` is the preset pass manager's optimization level, ``seed`` its
    transpiler seed; ``estimator``: for the Estimator, which reads no classical
    register. Raises CapabilityError if the circuit is too wide, has no
    classical register (for the Sampler), or uses an operation the device cannot run.
    """
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit.transpiler.exceptions import TranspilerError

    payload.check_width(circuit, target, backend.num_qubits)
    if not circuit.cregs and not estimator:
        raise CapabilityError(
            f"circuit '{circuit.name}' has no classical register: IBM's Sampler returns "
            "only classical registers, so there would be no result to read"
        )
    manager = generate_preset_pass_manager(
        backend=backend, optimization_level=level, seed_transpiler=seed
    )
    try:
        isa = manager.run(circuit)
    except TranspilerError as error:
        raise payload.transpile_error(circuit, target, error) from None
    isa.name = circuit.name
    payload.check_gates(isa, target, backend.target.operation_names)
    return payload.qpy_payload(isa)
