"""Ideal distributions of a run's circuits, for ``qorch results --plot`` to overlay.

The bundle's references come first (compile stores them when a check needs
them). Otherwise a circuit's smallest QPY payload in the bundle is simulated
exactly (:func:`qorch.sim.reference.ideal_distribution`) once its idle qubits are
dropped, so a 5-qubit circuit transpiled onto a 127-qubit device is still
5 qubits wide. Transpilation keeps a circuit's distribution over its classical
bits, so any payload of it gives the same ideal. None where nothing is known.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from qorch.engine.manifest import ManifestJob

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

Distribution = dict[str, float]


def ideal_distributions(
    references: dict[str, Distribution | None],
    jobs: dict[int, tuple[ManifestJob, Path]],
    circuits: list[str],
) -> dict[str, Distribution | None]:
    """For each of ``circuits``: its reference, else its smallest QPY payload's exact
    distribution, else None. ``jobs``: manifest records with their bundle directories."""
    out: dict[str, Distribution | None] = {}
    for circuit in circuits:
        known = references.get(circuit)
        out[circuit] = known if known is not None else _from_payload(circuit, jobs)
    return out


def _from_payload(circuit: str, jobs: dict[int, tuple[ManifestJob, Path]]) -> Distribution | None:
    from qorch.sim.reference import MAX_REFERENCE_QUBITS, ideal_distribution

    candidates = sorted(
        ((spec.num_qubits, spec.index, directory / spec.payload)
         for spec, directory in jobs.values()
         if spec.circuit == circuit and spec.format == "qpy" and not spec.parameter_values),
    )  # fmt: skip
    for _, _, path in candidates:
        try:
            data = path.read_bytes()
        except OSError:
            continue  # removed by qorch gc: try another
        compact = _without_idle_qubits(_load_qpy(data))
        if compact is None or compact.num_qubits > MAX_REFERENCE_QUBITS:
            continue
        return ideal_distribution(compact)
    return None


def _load_qpy(data: bytes) -> QuantumCircuit | None:
    from qiskit import qpy

    try:
        circuits = qpy.load(io.BytesIO(data))
    except Exception:  # a payload this qiskit cannot read: no overlay, not an error
        return None
    return circuits[0] if len(circuits) == 1 else None


def _without_idle_qubits(circuit: QuantumCircuit | None) -> QuantumCircuit | None:
    """``circuit`` on only the qubits its operations touch (barriers dropped); None for a
    circuit with classical control or resets, which has no reference anyway (rebuilding
    one without its registers crashed qiskit)."""
    if circuit is None:
        return None
    for instruction in circuit.data:
        name = instruction.operation.name
        plain = name in ("barrier", "measure") or not instruction.clbits
        if not plain or name == "reset" or getattr(instruction.operation, "blocks", ()):
            return None
    from qiskit import QuantumCircuit

    used: list[int] = []
    for instruction in circuit.data:
        if instruction.operation.name == "barrier":
            continue
        for qubit in instruction.qubits:
            index = circuit.find_bit(qubit).index
            if index not in used:
                used.append(index)
    position = {index: new for new, index in enumerate(sorted(used))}
    compact = QuantumCircuit(max(1, len(used)), circuit.num_clbits)
    for instruction in circuit.data:
        if instruction.operation.name == "barrier":
            continue
        qubits = [position[circuit.find_bit(q).index] for q in instruction.qubits]
        clbits = [circuit.find_bit(c).index for c in instruction.clbits]
        compact.append(instruction.operation, qubits, clbits)
    return compact
