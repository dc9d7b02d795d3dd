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

:func:`with_device_noise` does the restriction at compile time: the payload of a
``local:aer`` job with a device's noise carries the used qubits and the device's
properties on them (what the noise model is built from) in its metadata, so the
bundle pins the noise it was compiled against, and the job's worker builds and runs
it (:func:`embedded_simulator`) without importing the device's SDK
(qiskit-ibm-runtime's fake provider takes seconds to import).
"""

from __future__ import annotations

from typing import Any

from qiskit import QuantumCircuit
from qiskit.transpiler import Target

__all__ = [
    "DEVICE_NOISE_KEY",
    "compact_noisy_run",
    "compact_simulator",
    "compacted",
    "embedded_simulator",
    "restricted_target",
    "stable_noise_dict",
    "target_from_record",
    "target_record",
    "used_qubits",
    "with_device_noise",
]

DEVICE_NOISE_KEY = "qorch_device_noise"  # circuit metadata: {"qubits": [...], "target": {...}}


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


def stable_noise_dict(noise: Any) -> dict[str, Any]:
    """``NoiseModel.to_dict`` with its random error ids replaced by their positions,
    so that the same plan compiles to the same bytes."""
    data: dict[str, Any] = noise.to_dict(serializable=True)
    for position, error in enumerate(data.get("errors", [])):
        if "id" in error:
            error["id"] = f"error-{position}"
    return data


def _compactable(circuits: list[QuantumCircuit]) -> list[int] | None:
    """The qubits ``circuits`` use; None if a circuit has control flow (its blocks name
    the device's qubits) or no gate."""
    if any(getattr(i.operation, "blocks", ()) for c in circuits for i in c.data):
        return None
    return used_qubits(circuits) or None


def compact_simulator(
    circuits: list[QuantumCircuit], target: Target, *, method: str = "automatic"
) -> tuple[Any, list[QuantumCircuit]] | None:
    """An ``AerSimulator`` with the device's noise on the qubits ``circuits`` (transpiled to
    the device of ``target``) use, and the circuits moved onto those qubits; None if a
    circuit has control flow (its blocks name the device's qubits) or no gate: run those
    on the whole device."""
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel

    qubits = _compactable(circuits)
    if qubits is None:
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


def target_record(target: Target) -> dict[str, Any]:
    """What ``NoiseModel.from_backend`` reads of ``target``, as JSON: each qubit's T1, T2
    and frequency, each standard instruction's error and duration per qubit tuple (floats
    round-trip exactly through JSON)."""
    from qiskit.circuit.library import get_standard_gate_name_mapping

    standard = get_standard_gate_name_mapping()
    properties = target.qubit_properties
    qubits = None if properties is None else [
        None if p is None else {"t1": p.t1, "t2": p.t2, "frequency": p.frequency}
        for p in properties
    ]  # fmt: skip
    instructions = []
    for name in sorted(target.operation_names):  # sorted: the same bytes in every process
        if name not in standard:  # control flow: no noise of its own
            continue
        known = sorted((qargs, props) for qargs, props in target[name].items()
                       if qargs is not None and props is not None)  # fmt: skip
        rows = [[list(qargs), props.error, props.duration] for qargs, props in known]
        instructions.append({"name": name, "properties": rows})
    return {"num_qubits": target.num_qubits, "dt": target.dt, "qubit_properties": qubits,
            "instructions": instructions}  # fmt: skip


def target_from_record(record: dict[str, Any]) -> Target:
    """The :class:`Target` :func:`target_record` describes (standard gates only)."""
    from qiskit.circuit.library import get_standard_gate_name_mapping
    from qiskit.providers import QubitProperties
    from qiskit.transpiler import InstructionProperties

    standard = get_standard_gate_name_mapping()
    qubits = record["qubit_properties"]
    target = Target(
        num_qubits=int(record["num_qubits"]),
        dt=record["dt"],
        qubit_properties=None if qubits is None else [
            None if q is None else QubitProperties(t1=q["t1"], t2=q["t2"], frequency=q["frequency"])
            for q in qubits
        ],
    )  # fmt: skip
    for entry in record["instructions"]:
        rows = {tuple(int(q) for q in qargs): InstructionProperties(duration=duration, error=error)
                for qargs, error, duration in entry["properties"]}  # fmt: skip
        target.add_instruction(standard[entry["name"]], rows, name=entry["name"])
    return target


def with_device_noise(circuit: QuantumCircuit, target: Target) -> QuantumCircuit:
    """``circuit`` (transpiled to ``target``'s device) carrying, in its metadata, the qubits
    it uses and the device's properties on them (:func:`target_record`: the noise model's
    inputs, small and deterministic JSON); unchanged where :func:`compact_simulator` does
    not apply."""
    qubits = _compactable([circuit])
    if qubits is None:
        return circuit
    carried = {"qubits": qubits, "target": target_record(restricted_target(target, qubits))}
    circuit.metadata = {**(circuit.metadata or {}), DEVICE_NOISE_KEY: carried}
    return circuit


def embedded_simulator(
    circuits: list[QuantumCircuit], *, method: str = "automatic"
) -> tuple[Any, list[QuantumCircuit]] | None:
    """An ``AerSimulator`` with the noise of the device properties ``circuits`` carry
    (:func:`with_device_noise`), built as :func:`compact_simulator` builds it, and the
    circuits moved onto those qubits; None unless every circuit carries the same record."""
    from qiskit_aer import AerSimulator
    from qiskit_aer.noise import NoiseModel

    carried = [(c.metadata or {}).get(DEVICE_NOISE_KEY) for c in circuits]
    if not carried or carried[0] is None or any(entry != carried[0] for entry in carried):
        return None
    qubits = [int(q) for q in carried[0]["qubits"]]
    if not set(used_qubits(circuits)) <= set(qubits):  # the circuit is not the one compiled
        return None
    model = NoiseModel.from_backend(_TargetBackend(target_from_record(carried[0]["target"])))
    simulator = AerSimulator(method=method, noise_model=model)
    return simulator, [compacted(circuit, qubits) for circuit in circuits]
