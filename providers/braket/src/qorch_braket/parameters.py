"""Parameterised circuits on Braket: safe input names, and parameter sets as Braket actions.

Qiskit parameter names cannot go to Braket as they are: ``b`` and ``q`` are
the names of Braket's bit and qubit registers, OpenQASM keywords (``input``,
``pi``...) are not identifiers, ``x[1]`` of a ParameterVector becomes ``x_1``
(which may be another parameter's name), and names inside expressions are
read by sympy (``E``, ``I``, ``pi`` mean constants there). So translation
renames the circuit's parameters, column by column, to ``p0``, ``p1``, … —
column ``i`` being the i-th of the circuit's ``parameters`` (Qiskit's order:
by name, ParameterVector elements by index), which is the column order of
``JobRequest.parameter_values``.

The mapping is recorded in the payload itself, as the line after
``OPENQASM 3.0;``::

    // qorch-parameters: [["p0", "alpha"], ["p1", "x[2]"], ["p2", "x[11]"]]

(position = column; input name; original Qiskit name), followed by the
``input float`` declarations in column order (Braket's serialiser emits them
in set order, which varies between processes). A parameter the transpiler
removed (e.g. one that only set the global phase) keeps its column but has no
declaration, and its values are not sent. The header line is removed from the
program Braket receives.

Parameter sets run as one program set: one OpenQASM program whose
``inputs`` hold one list per input, executable ``k`` being row ``k``; a
payload without inputs is repeated once per row instead.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import CapabilityError, ProviderError

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

HEADER = "// qorch-parameters: "
_INPUT = re.compile(r"^input\s+float(?:\[\d+\])?\s+([A-Za-z_][A-Za-z0-9_]*)\s*;$")
_PREVIEW = 4

Rows = Sequence[Sequence[float]]


def input_name(column: int) -> str:
    """The OpenQASM input name of parameter column ``column``."""
    return f"p{column}"


def rename(circuit: QuantumCircuit) -> tuple[QuantumCircuit, list[tuple[str, str]]]:
    """``circuit`` with its parameters renamed ``p0, p1, …`` in ``circuit.parameters`` order.

    Returns the renamed circuit and ``[(input name, original name), ...]`` by
    column. Renaming goes through temporary names so that an original
    parameter already called e.g. ``p0`` cannot clash with a new name.
    """
    parameters = list(circuit.parameters)
    if not parameters:
        return circuit, []
    from qiskit.circuit import Parameter

    originals = [parameter.name for parameter in parameters]
    temporary = "_qorch_"
    while any(name.startswith(temporary) for name in originals):
        temporary = "_" + temporary
    staged = circuit.assign_parameters(
        {parameter: Parameter(f"{temporary}{i}") for i, parameter in enumerate(parameters)}
    )
    by_name = {parameter.name: parameter for parameter in staged.parameters}
    renamed = staged.assign_parameters(
        {by_name[f"{temporary}{i}"]: Parameter(input_name(i)) for i in range(len(parameters))}
    )
    return renamed, [(input_name(i), name) for i, name in enumerate(originals)]


def annotate(source: str, columns: Sequence[tuple[str, str]]) -> str:
    """Braket's OpenQASM ``source`` with the qorch header and inputs in column order.

    A source without parameters is returned unchanged. Raises ProviderError
    if the program declares an input that is not one of ``columns``.
    """
    if not columns:
        return source
    lines = source.split("\n")
    declared = {m.group(1) for line in lines if (m := _INPUT.match(line.strip()))}
    known = {name for name, _ in columns}
    if not declared <= known:
        raise ProviderError(f"translation declared unexpected inputs {sorted(declared - known)}")
    body = [line for line in lines if not _INPUT.match(line.strip())]
    if not body or not body[0].startswith("OPENQASM"):
        raise ProviderError("the translated program does not start with its OpenQASM version")
    header = HEADER + json.dumps([list(column) for column in columns], ensure_ascii=True)
    inputs = [f"input float {name};" for name, _ in columns if name in declared]
    return "\n".join([body[0], header, *inputs, *body[1:]])


@dataclass(frozen=True)
class Program:
    """A payload's program as Braket receives it, and its parameter columns."""

    source: str  # without the qorch header
    columns: tuple[tuple[str, str], ...]  # (input name, original name) per column
    declared: frozenset[str]  # inputs the program declares (a subset of the columns' names)

    @property
    def parameter_names(self) -> list[str]:
        """The original (Qiskit) parameter names, by column."""
        return [original for _, original in self.columns]


def read(text: str) -> Program:
    """The program and parameter columns of payload text (see the module docstring).

    Raises ProviderError if the header is malformed or disagrees with the declarations.
    """
    lines = text.split("\n")
    columns: tuple[tuple[str, str], ...] = ()
    kept = []
    for line in lines:
        if line.startswith(HEADER):
            try:
                found = json.loads(line[len(HEADER) :])
                columns = tuple((str(name), str(original)) for name, original in found)
            except (ValueError, TypeError) as error:
                raise ProviderError(f"malformed qorch parameter header: {error}") from None
            continue
        kept.append(line)
    declared = frozenset(m.group(1) for line in kept if (m := _INPUT.match(line.strip())))
    if not declared <= {name for name, _ in columns}:
        missing = sorted(declared - {name for name, _ in columns})
        raise ProviderError(f"the program declares inputs {missing} that no parameter column names")
    return Program("\n".join(kept), columns, declared)


def check_rows(program: Program, rows: Rows, target: str) -> None:
    """Raise CapabilityError unless ``rows`` give every parameter of ``program`` a finite value.

    A program with parameters needs rows; each row has one value per column.
    """
    names = program.parameter_names
    shown = _preview(names)
    if not rows and program.declared:
        raise CapabilityError(
            f"the payload for {target} has {len(names)} unbound parameter(s) ({shown}) "
            "and the job has no parameter values for them"
        )
    for index, row in enumerate(rows):
        if len(row) != len(names):
            raise CapabilityError(
                f"parameter set {index} for {target} has {len(row)} value(s); the translated "
                f"circuit has {len(names)} parameter(s)" + (f" ({shown})" if names else "")
            )
        for value in row:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise CapabilityError(
                    f"parameter set {index} for {target}: {value!r} is not a number"
                )
            if not math.isfinite(value):
                raise CapabilityError(
                    f"parameter set {index} for {target} has a value that is not a finite number"
                )


def inputs_by_name(program: Program, rows: Rows) -> dict[str, list[float]]:
    """One list of values per declared input (element k: row k), for a program-set program."""
    return {
        name: [float(row[column]) for row in rows]
        for column, (name, _) in enumerate(program.columns)
        if name in program.declared
    }


def program_set_action(program: Program, rows: Rows) -> Any:
    """The ``braket.ir.openqasm.ProgramSet`` that runs ``program`` once per row, in row order."""
    from braket.ir.openqasm import Program as OpenQASMProgram
    from braket.ir.openqasm import ProgramSet

    inputs = inputs_by_name(program, rows)
    if inputs:
        return ProgramSet(programs=[OpenQASMProgram(source=program.source, inputs=inputs)])
    return ProgramSet(programs=[OpenQASMProgram(source=program.source) for _ in rows])


def program_action(program: Program, row: Sequence[float] | None = None) -> Any:
    """The ``braket.ir.openqasm.Program`` of ``program``, bound to ``row`` if given."""
    from braket.ir.openqasm import Program as OpenQASMProgram

    if row is None or not program.declared:
        return OpenQASMProgram(source=program.source)
    values = {
        name: float(row[column])
        for column, (name, _) in enumerate(program.columns)
        if name in program.declared
    }
    return OpenQASMProgram(source=program.source, inputs=values)


def _preview(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_PREVIEW])
    return shown + (f", … ({len(names) - _PREVIEW} more)" if len(names) > _PREVIEW else "")
