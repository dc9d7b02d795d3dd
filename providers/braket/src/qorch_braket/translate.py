"""Qiskit circuit → Braket OpenQASM 3 payload, and Braket counts → Qiskit counts.

Translation goes through qiskit-braket-provider's ``to_braket`` (the
maintained converter: plain ``qiskit.qasm3.dumps`` output does not run on
Braket), transpiling to the device's gate set, then Braket's own OpenQASM
serialiser. Pure: no network, deterministic for a given seed.

Parameters are renamed to safe OpenQASM input names first, and the payload
records which column is which input (:mod:`qorch_braket.parameters`).

Bit order. The converter emits one ``b[k] = measure q[j];`` per measured
clbit, in ascending clbit order, so position ``k`` of a Braket bitstring is
Qiskit clbit ``measured_clbits[k]`` (the k-th smallest measured clbit), what
the classical registers may be. Braket also reports which qubit each
position measured; results are mapped through qubit → clbit, which holds
even if a device reported its measured qubits in another order.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qorch.contract import payload as qpayload
from qorch.contract.errors import CapabilityError, ProviderError
from qorch.contract.provider import Counts, Payload, normalise_counts
from qorch_braket import parameters
from qorch_braket.devices import BRAKET_TO_QISKIT, DeviceSpec

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

CONTROL_FLOW = frozenset({"if_else", "while_loop", "for_loop", "switch_case", "box"})
_MEASURE = re.compile(r"^b\[(\d+)\]\s*=\s*measure\s+(?:q\[(\d+)\]|\$(\d+))\s*;$")
_QUBIT = re.compile(r"q\[(\d+)\]|\$(\d+)")
_SKIP = ("OPENQASM", "bit[", "qubit[", "#pragma", "box", "}", "include", "input ", "//")


def translate(
    circuit: QuantumCircuit, spec: DeviceSpec, target: str, optimization_level: int, seed: int,
    verbatim: bool = False,
) -> Payload:  # fmt: skip
    """Translate ``circuit`` for ``spec``'s device into an OpenQASM 3 Payload.

    ``verbatim`` transpiles to the hardware-native gates inside a Braket
    verbatim box (Braket then skips its own compilation). Raises
    CapabilityError (naming ``target``) if the circuit is too wide or the
    converter cannot express it (reset, mid-circuit measurement, control flow).
    """
    qpayload.check_width(circuit, target, spec.num_qubits)
    check_expressible(circuit, target)
    basis = spec.native if verbatim else spec.gates
    renamed, columns = parameters.rename(circuit)
    braket_circuit = _convert(renamed, target, basis, optimization_level, seed)
    if verbatim:
        braket_circuit = _in_verbatim_box(braket_circuit)
    from braket.circuits.serialization import IRType

    source = braket_circuit.to_ir(IRType.OPENQASM).source
    return describe(circuit, parameters.annotate(source, columns) + "\n", target)


def check_expressible(circuit: QuantumCircuit, target: str) -> None:
    """Raise CapabilityError unless a Braket circuit can express ``circuit``."""
    measured: set[int] = set()
    where = f"circuit '{circuit.name}' cannot run on {target}"
    for instruction in circuit.data:
        name = instruction.operation.name
        qubits = [circuit.find_bit(qubit).index for qubit in instruction.qubits]
        if name in CONTROL_FLOW:
            raise CapabilityError(f"{where}: Braket circuits have no control flow ({name})")
        if name == "reset":
            raise CapabilityError(f"{where}: Braket circuits cannot reset qubits")
        if name == "measure":
            if measured.intersection(qubits):
                raise CapabilityError(f"{where}: qubit {qubits[0]} is measured twice")
            measured.update(qubits)
        elif name != "barrier" and measured.intersection(qubits):
            raise CapabilityError(
                f"{where}: '{name}' acts on qubit {min(measured.intersection(qubits))} after "
                "it was measured (mid-circuit measurement is not supported)"
            )
    if not measured:
        raise CapabilityError(
            f"circuit '{circuit.name}' measures nothing, so {target} would return no counts "
            "for its classical bits (Braket measures every qubit instead); add measurements"
        )


def _convert(
    circuit: QuantumCircuit, target: str, basis: Sequence[str], level: int, seed: int
) -> Any:
    from qiskit.exceptions import QiskitError
    from qiskit_braket_provider import to_braket

    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # dropped barriers and global phase: no effect on counts
            return to_braket(
                circuit, basis_gates=list(basis), optimization_level=level, seed_transpiler=seed
            )
    except (NotImplementedError, ValueError, TypeError, KeyError, QiskitError) as error:
        raise qpayload.transpile_error(circuit, target, error) from None


def _in_verbatim_box(braket_circuit: Any) -> Any:
    from braket.circuits import Circuit
    from braket.circuits.measure import Measure

    gates = [ins for ins in braket_circuit.instructions if not isinstance(ins.operator, Measure)]
    boxed = Circuit().add_verbatim_box(Circuit(gates))
    for ins in braket_circuit.instructions:
        if isinstance(ins.operator, Measure):
            boxed.measure(ins.target)
    return boxed


def describe(circuit: QuantumCircuit, source: str, target: str) -> Payload:
    """A Payload for the OpenQASM ``source`` translated from ``circuit``, with its figures.

    Figures come from the program text itself: gate counts (Qiskit names),
    depth and two-qubit gate count, measurements excluded.
    """
    measured = qpayload.measured_clbits(circuit)
    statements = [line.strip() for line in source.splitlines() if line.strip()]
    if len(qubit_clbits(source, measured)) != len(measured):
        raise ProviderError(f"translation for {target} lost measurements of '{circuit.name}'")
    counts: Counter[str] = Counter()
    levels: dict[int, int] = {}
    two_qubit = 0
    width = 0
    for line in statements:
        if line.startswith("qubit["):
            width = max(width, int(line[6 : line.index("]")]))
        if line.startswith(_SKIP) or _MEASURE.match(line):
            continue
        gate = line.rsplit("@", 1)[-1].strip()  # drop modifiers such as "ctrl @"
        name = re.split(r"[\s(]", gate, maxsplit=1)[0]
        qubits = [int(a or b) for a, b in _QUBIT.findall(line)]
        width = max([width, *(q + 1 for q in qubits)])
        counts[BRAKET_TO_QISKIT.get(name, name)] += 1
        two_qubit += len(qubits) >= 2
        level = 1 + max((levels.get(q, 0) for q in qubits), default=0)
        levels.update(dict.fromkeys(qubits, level))
    return Payload(
        format="openqasm3",
        data=source.encode("utf-8"),
        num_qubits=width,
        num_clbits=circuit.num_clbits,
        depth=max(levels.values(), default=0),
        two_qubit_gates=two_qubit,
        gate_counts=dict(sorted(counts.items())),
        measured_clbits=measured,
    )


def qubit_clbits(source: str, measured_clbits: Sequence[int]) -> dict[int, int]:
    """Qubit → Qiskit clbit, from the program's ``b[k] = measure q[j];`` statements."""
    mapping: dict[int, int] = {}
    for line in source.splitlines():
        match = _MEASURE.match(line.strip())
        if match and int(match.group(1)) < len(measured_clbits):
            qubit = int(match.group(2) or match.group(3))
            mapping[qubit] = measured_clbits[int(match.group(1))]
    return mapping


def counts_to_qiskit(
    raw: Mapping[str, int], measured_qubits: Sequence[int], qubit_to_clbit: Mapping[int, int],
    num_clbits: int, measured_clbits: Sequence[int],
) -> Counts:  # fmt: skip
    """Braket counts (position k = ``measured_qubits[k]``) as qorch counts (Qiskit order).

    Raises ProviderError if the result does not match the program's measurements.
    """
    width = len(next(iter(raw), ""))
    if (
        measured_qubits
        and len(measured_qubits) == width
        and all(qubit in qubit_to_clbit for qubit in measured_qubits)
    ):
        order = tuple(qubit_to_clbit[qubit] for qubit in measured_qubits)
    elif len(measured_clbits) == width:
        order = tuple(measured_clbits)
    else:
        raise ProviderError(
            f"Braket measured qubits {list(measured_qubits)} but the program measures "
            f"clbits {list(measured_clbits)}"
        )
    return normalise_counts(raw, num_clbits, order)
