"""Make a cut sub-experiment runnable on any qorch provider (pure).

qiskit-addon-cutting's sub-experiments write two classical registers and may
measure mid-circuit. :func:`make_runnable` rewrites one so that it has

- one classical register ``c`` (the add-on's ``observable_measurements`` and
  ``qpd_measurements`` registers merged), its layout kept in :class:`Readout`;
- no mid-circuit measurement: a measurement that nothing but diagonal gates
  and another measurement follow is read from that later measurement; one
  with nothing after it becomes terminal; any other is deferred (``cx`` onto a
  fresh ancilla qubit, measured at the end — the deferred measurement
  principle; exact, as nothing is classically conditioned).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import PlanError

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

DIAGONAL_GATES = frozenset({"id", "z", "s", "sdg", "t", "tdg", "rz", "p", "u1", "barrier"})
"""Single-qubit operations that leave Z-basis outcomes unchanged."""


@dataclass(frozen=True)
class Readout:
    """Where a sub-experiment's outcome bits are in its merged classical register.

    ``observable_bits[j]`` / ``qpd_bits[j]``: clbit of the add-on's j-th
    observable / QPD bit (two may share a clbit: an aliased measurement);
    -1 for a bit the sub-experiment never writes (it reads 0).
    """

    num_clbits: int
    observable_bits: tuple[int, ...]
    qpd_bits: tuple[int, ...]


def make_runnable(sub: QuantumCircuit, name: str) -> tuple[QuantumCircuit, Readout]:
    """A sub-experiment with one classical register and only terminal measurements.

    Raises PlanError for operations no provider can run from a plain circuit
    (resets, classically conditioned operations).
    """
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister

    data = [ins for ins in sub.data if ins.operation.name != "barrier"]
    plan = _measurement_plan(sub, data)
    clbit_of, num_clbits, num_ancillas = _layout(sub, data, plan)
    qreg = QuantumRegister(sub.num_qubits, "q")
    out = QuantumCircuit(qreg, name=name)
    ancillas = QuantumRegister(num_ancillas, "anc") if num_ancillas else None
    if ancillas is not None:
        out.add_register(ancillas)
    creg = ClassicalRegister(num_clbits, "c")
    out.add_register(creg)
    deferred: list[tuple[int, int]] = []  # (ancilla, clbit)
    for index, ins in enumerate(data):
        qubits = [qreg[sub.find_bit(q).index] for q in ins.qubits]
        action = plan.get(index)
        if action is None:
            if ins.clbits or ins.operation.name == "reset" or ins.operation.name in _DROPPED:
                raise PlanError(
                    f"cut sub-experiment has '{ins.operation.name}', which qorch cannot run"
                )
            out.append(ins.operation, qubits)
        elif action == "terminal":
            out.measure(qubits[0], creg[clbit_of[index]])
        elif action == "defer":
            ancilla = len(deferred)
            out.cx(qubits[0], out.qubits[sub.num_qubits + ancilla])
            deferred.append((ancilla, clbit_of[index]))
        # "alias" and "drop": nothing to emit
    for ancilla, clbit in deferred:
        out.measure(out.qubits[sub.num_qubits + ancilla], creg[clbit])
    return out, _readout(sub, data, clbit_of, num_clbits)


_DROPPED = frozenset({"if_else", "while_loop", "for_loop", "switch_case", "box"})


def _measurement_plan(sub: QuantumCircuit, data: list[Any]) -> dict[int, str]:
    """Per instruction index: 'terminal', 'alias', 'defer' (measurements) or 'drop'."""
    plan: dict[int, str] = {}
    for index, ins in enumerate(data):
        if ins.operation.name != "measure" or plan.get(index) == "drop":
            continue
        qubit = ins.qubits[0]
        later = [(j, data[j]) for j in range(index + 1, len(data)) if qubit in data[j].qubits]
        blocking = [(j, d) for j, d in later if d.operation.name not in DIAGONAL_GATES]
        if not blocking:
            plan[index] = "terminal"
            plan.update(dict.fromkeys((j for j, _ in later), "drop"))
        elif blocking[0][1].operation.name == "measure":
            plan[index] = "alias"
        else:
            plan[index] = "defer"
    return plan


def _layout(
    sub: QuantumCircuit, data: list[Any], plan: Mapping[int, str]
) -> tuple[dict[int, int], int, int]:
    """Merged clbit of each measurement instruction, clbit count and ancilla count.

    Clbits follow the add-on's clbit order (observable bits, then QPD bits),
    skipping aliased measurements, which read the clbit of the measurement they alias.
    """
    measures = [i for i in sorted(plan) if plan[i] in ("terminal", "defer", "alias")]
    ordered = sorted(measures, key=lambda i: sub.find_bit(data[i].clbits[0]).index)
    clbit_of: dict[int, int] = {}
    for index in ordered:
        if plan[index] != "alias":
            clbit_of[index] = len(clbit_of)
    num_clbits = len(clbit_of)
    for index in sorted(measures, reverse=True):  # aliases point forward: resolve from the end
        if plan[index] == "alias":
            qubit = data[index].qubits[0]
            target = next(
                j
                for j in range(index + 1, len(data))
                if qubit in data[j].qubits and data[j].operation.name == "measure"
            )
            clbit_of[index] = clbit_of[target]
    num_ancillas = sum(1 for i in measures if plan[i] == "defer")
    return clbit_of, num_clbits, num_ancillas


def _readout(
    sub: QuantumCircuit, data: list[Any], clbit_of: Mapping[int, int], num_clbits: int
) -> Readout:
    """Map the add-on's two registers onto the merged clbits."""
    source: dict[Any, int] = {}
    for index, clbit in clbit_of.items():
        source[data[index].clbits[0]] = clbit
    registers = {reg.name: reg for reg in sub.cregs}

    def bits(name: str) -> tuple[int, ...]:
        register = registers.get(name)
        return () if register is None else tuple(source.get(bit, -1) for bit in register)

    return Readout(num_clbits, bits("observable_measurements"), bits("qpd_measurements"))
