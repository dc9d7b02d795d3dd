"""The distributed program: the contract between lowering, scheduling and simulation.

A distributed program is one qiskit circuit (``combined``) over named registers,
plus one circuit per node (``per_node``). The conventions every stage relies on:

- Quantum registers are named ``data_<node>`` (a node's data qubits) and
  ``comm_<node>`` (its communication qubits); ``<node>`` is the node's name in the
  plan. Every qubit of ``combined`` belongs to exactly one such register, so the
  node of any instruction is known from its qubits alone.
- Entanglement between two nodes is created *only* by :class:`EPRGate`, an
  instruction named ``"epr"`` on one communication qubit of each node
  (``|Φ+⟩ = (|00⟩ + |11⟩)/√2`` from ``|00⟩``). No other instruction acts on
  qubits of two different nodes. So the number of ``epr`` instructions is the
  program's EPR cost, and every other two-qubit gate is local.
- Classically controlled corrections use ``QuantumCircuit.if_test`` on
  mid-circuit measurement bits (dynamic circuits); a correction on node B that is
  conditioned on a bit measured on node A implies one classical message A → B.
- The final measurement writes logical qubit ``i`` of the source circuit to bit
  ``i`` of a classical register named ``meas`` (where the qubit lives at the end,
  after any teleportation), so counts marginalised to ``meas`` compare directly
  with the monolithic circuit's ``measure_all`` counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from qiskit.circuit import Bit, Gate, QuantumCircuit, Qubit

EPR_NAME = "epr"
DATA_PREFIX = "data_"
COMM_PREFIX = "comm_"
FINAL_REGISTER = "meas"


class EPRGate(Gate):
    """Create a Bell pair |Φ+⟩ between two communication qubits of different nodes.

    Its definition (H, CX) makes the ideal program simulable anywhere; the
    simulator swaps it for the noisy state the link model delivers.
    """

    def __init__(self, label: str | None = None) -> None:
        super().__init__(EPR_NAME, 2, [], label=label)

    def _define(self) -> None:
        qc = QuantumCircuit(2, name=EPR_NAME)
        qc.h(0)
        qc.cx(0, 1)
        self.definition = qc


def node_of(circuit: QuantumCircuit, qubit: Qubit) -> str:
    """The node that holds ``qubit``, read from its register name (``data_<n>``/``comm_<n>``)."""
    loc = circuit.find_bit(qubit)
    for register, _ in loc.registers:
        for prefix in (DATA_PREFIX, COMM_PREFIX):
            if register.name.startswith(prefix):
                return register.name[len(prefix) :]
    raise ValueError(f"qubit {loc.index} is in no data_/comm_ register")


def is_comm(circuit: QuantumCircuit, qubit: Qubit) -> bool:
    """Whether ``qubit`` is a communication qubit."""
    return any(r.name.startswith(COMM_PREFIX) for r, _ in circuit.find_bit(qubit).registers)


def bit_index(bits: Sequence[Bit]) -> dict[Bit, int]:
    """Each bit's index: ``find_bit`` per use was a fifth of scheduling 1.3 M instructions."""
    return {bit: i for i, bit in enumerate(bits)}


def count_epr_pairs(circuit: QuantumCircuit) -> Counter[tuple[str, str]]:
    """EPR pairs in ``circuit`` per unordered node pair (names sorted), control flow included.

    A block with no EPR pair in it is not entered: lowering's 79 000 corrections at 256
    qubits share a few one-gate branches, and visiting each was most of the count.
    """
    pairs: Counter[tuple[str, str]] = Counter()
    holds: dict[int, bool] = {}  # id(block) -> has an EPR pair (blocks live with circuit)

    def has_pairs(qc: QuantumCircuit) -> bool:
        if id(qc) not in holds:
            holds[id(qc)] = any(
                inst.name == EPR_NAME
                or (inst.is_control_flow() and any(map(has_pairs, inst.operation.blocks)))
                for inst in qc.data
            )
        return holds[id(qc)]

    def visit(qc: QuantumCircuit, outer: QuantumCircuit, qubits: list[Qubit]) -> None:
        where = bit_index(qc.qubits)
        for inst in qc.data:
            if inst.name == EPR_NAME:  # the name, not .operation: no gate object is built
                a, b = sorted(node_of(outer, qubits[where[q]]) for q in inst.qubits)
                pairs[(a, b)] += 1
            elif inst.is_control_flow():
                mapped = [qubits[where[q]] for q in inst.qubits]
                for block in inst.operation.blocks:
                    if has_pairs(block):
                        visit(block, outer, mapped)

    visit(circuit, circuit, list(circuit.qubits))
    return pairs


@dataclass(frozen=True)
class DistributedProgram:
    """A lowered program: the combined circuit, one circuit per node, and its EPR bill.

    ``nodes`` lists node names in plan order. ``epr_pairs_per_pair`` maps an
    unordered node pair (names sorted) to the number of end-to-end EPR pairs the
    program consumes between them; it always equals ``count_epr_pairs(combined)``.
    ``teleports`` and ``cat_groups`` count how the cross-node gates were realised;
    ``comm_peak`` is, per node, the most communication qubits the program holds at once
    (both ends of every EPR pair, cat copies and teleports alike).
    """

    nodes: tuple[str, ...]
    combined: QuantumCircuit
    per_node: Mapping[str, QuantumCircuit]  # lowering's is split from combined on first use
    epr_pairs_per_pair: dict[tuple[str, str], int]
    cat_groups: int = 0
    teleports: int = 0
    comm_peak: dict[str, int] = field(default_factory=dict)  # node -> most comm qubits held at once
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def epr_pairs(self) -> int:
        """Total end-to-end EPR pairs consumed."""
        return sum(self.epr_pairs_per_pair.values())
