"""A device's noise on the qubits a circuit uses, not on all of its qubits.

``AerSimulator.from_backend`` builds a noise model for every qubit of the
device: for IBM's 127-qubit fake Kyiv that takes seconds (thermal relaxation
and depolarising channels for ~400 gate instances, the backend's properties
converted again) before a 5-qubit GHZ circuit runs. A circuit transpiled to
the device touches a few of its qubits; the channels on the others never act.
:func:`compact_noisy_run` keeps the device's target restricted to the used
qubits (renumbered 0..k-1 in device order, couplings and gate properties
kept), builds Aer's noise model from that, and runs the circuits moved onto
those k qubits: the same channels on the same gates, at a fraction of the cost.
Part of the provider contract: the IBM plugin's fake backends use it too.
"""

from __future__ import annotations

from typing import Any

from qiskit import QuantumCircuit
from qiskit.transpiler import Target

__all__ = [
    "compact_noisy_run",
    "compact_simulator",
    "compacted",
    "restricted_target",
    "used_qubits",
]


def used_qubits(circuits: list[QuantumCircuit]) -> list[int]:
    """Indices of the qubits any instruction of ``circuits`` acts on, ascending."""
    used: set[int] = set()
    for circuit in circuits:
        position = {qubit: index for index, qubit in enumerate(circuit.qubits)}
        for instruction in circuit.data:
            used.update(position[qubit] for qubit in instruction.qubits)
    return sorted(used)


def restricted_target(target: Target, qubits: list[int]) -> Target:
    """``target`` on ``qubits`` only, renumbered by their position in ``qubits``."""
    index = {qubit: position for position, qubit in enumerate(qubits)}
    properties = target.qubit_properties
    sub = Target(
        num_qubits=len(qubits),
        dt=target.dt,
        qubit_properties=None if properties is None else [properties[q] for q in qubits],
    )
    for name in target.operation_names:
        by_qargs = target[name]
        kept: dict[tuple[int, ...] | None, Any] = {}
        for qargs, instruction_properties in by_qargs.items():
            if qargs is None:
                kept[None] = instruction_properties
            elif all(qubit in index for qubit in qargs):
                kept[tuple(index[qubit] for qubit in qargs)] = instruction_properties
        operation = target.operation_from_name(name)
        if kept == {None: None}:  # a global instruction (control flow): no properties
            sub.add_instruction(operation, name=name)
        elif kept:
            sub.add_instruction(operation, kept, name=name)
    return sub


def compacted(circuit: QuantumCircuit, qubits: list[int]) -> QuantumCircuit:
    """``circuit`` moved onto ``len(qubits)`` qubits (device qubit ``qubits[i]`` → ``i``),
    its classical bits, registers, name and metadata kept.

    Each instruction is re-targeted and appended unchecked (it was valid on the
    device): per-instruction ``find_bit`` and ``append`` made this 7x slower, seconds
    for a few dozen bound copies of one circuit transpiled to a 127-qubit device."""
    out = QuantumCircuit(len(qubits), name=circuit.name, global_phase=circuit.global_phase)
    out.metadata = dict(circuit.metadata or {})
    out.add_bits(circuit.clbits)  # in the circuit's order, registers or not
    for register in circuit.cregs:
        out.add_register(register)
    moved = {circuit.qubits[qubit]: out.qubits[position] for position, qubit in enumerate(qubits)}
    for instruction in circuit.data:
        out._append(instruction.replace(qubits=tuple(moved[q] for q in instruction.qubits)))
    return out


class _TargetBackend:
    """The attributes of a BackendV2 that ``NoiseModel.from_backend`` reads."""

    version = 2

    def __init__(self, target: Target) -> None:
        self.target = target
        self.operation_names = list(target.operation_names)
        self.dt = target.dt


def compact_simulator(
    circuits: list[QuantumCircuit], target: Target, *, method: str = "automatic"
) -> tuple[Any, list[QuantumCircuit]] | None:
    """An ``AerSimulator`` with the device's noise on the qubits ``circuits`` (transpiled to
    the device of ``target``) use, and the circuits moved onto those qubits; None if a
    circuit has control flow (its blocks name the device's qubits) or no gate: run those
    on the whole device."""
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel

    if any(getattr(i.operation, "blocks", ()) for c in circuits for i in c.data):
        return None
    qubits = used_qubits(circuits)
    if not qubits:
        return None
    model = NoiseModel.from_backend(_TargetBackend(restricted_target(target, qubits)))
    simulator = AerSimulator(method=method, noise_model=model)
    return simulator, [compacted(circuit, qubits) for circuit in circuits]


def compact_noisy_run(
    circuits: list[QuantumCircuit], target: Target, *, method: str, shots: int, seed: int
) -> Any:
    """Aer's result of ``circuits`` under the device's noise restricted to the qubits they
    use (see :func:`compact_simulator`); None where that does not apply."""
    found = compact_simulator(circuits, target, method=method)
    if found is None:
        return None
    simulator, small = found
    return simulator.run(small, shots=shots, seed_simulator=seed).result()
