"""Check an OpenQASM file before a parser sees it: widths, includes, nesting, broadcast.

qiskit's parsers trust their input: ``qreg q[100000000]`` makes the OpenQASM 2
parser abort the interpreter, ``qubit[10000*10000] q`` or ``h $100000000`` makes
the OpenQASM 3 importer allocate 10^8 qubits, an include cycle opens files until
the process runs out of descriptors, 20k nested parentheses keep the OpenQASM 3
importer busy for minutes, and ``h q;`` on a wide register is one gate per qubit.
This module reads the declarations and structure with regular expressions and
numpy (fast on the largest file allowed) and refuses, with the file and line,
anything beyond :mod:`qorch.engine.limits`.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qorch.contract.errors import CircuitError
from qorch.engine.inputfile import InputFileError, read_regular_file
from qorch.engine.limits import (
    MAX_QASM3_STATEMENT_CHARS,
    MAX_QASM_BYTES,
    MAX_QASM_CLBITS,
    MAX_QASM_INCLUDES,
    MAX_QASM_INSTRUCTIONS,
    MAX_QASM_NESTING,
    MAX_QASM_QUBITS,
)

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
_INCLUDE = re.compile(r'\binclude\s+"([^"\n]*)"\s*;')
_BUILTIN_INCLUDES = {"qelib1.inc", "stdgates.inc"}
# (kind, name, width) in the groups "kind", "name", "width" (width absent: 1)
_DECLARATIONS = {
    2: [re.compile(rf"\b(?P<kind>qreg|creg)\s+(?P<name>{_IDENT})\s*\[(?P<width>[^\]]*)\]")],
    3: [
        re.compile(rf"\b(?P<kind>qreg|creg)\s+(?P<name>{_IDENT})\s*(?:\[(?P<width>[^\]]*)\])?"),
        re.compile(rf"\b(?P<kind>qubit|bit)\s*\[(?P<width>[^\]]*)\]\s*(?P<name>{_IDENT})"),
        re.compile(rf"\b(?P<kind>qubit|bit)\s+(?P<name>{_IDENT})"),
    ],
}
_PHYSICAL = re.compile(r"\$([0-9]+)")
_QUANTUM = {"qreg", "qubit"}
_BIG = 2**64  # any width at or above this is reported as "more than"


@dataclass(frozen=True)
class Source:
    """One file's text with comments blanked out (newlines kept, so lines stay right)."""

    name: str
    text: str

    def line_at(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1


def check_qasm(text: str, version: int, path: Path, shown: str) -> None:
    """Refuse ``text`` (the file ``shown`` at ``path``) if it is beyond qorch's limits.

    Raises CircuitError naming the file (or included file) and line.
    """
    sources = [Source(shown, _blank_comments(text))]
    if version == 2:
        sources += _included(sources[0], path.parent, [shown], [0])
    widths = _check_declarations(sources, version)
    if version >= 3:
        for source in sources:
            _check_physical_qubits(source)
            _check_nesting(source)
            _check_statement_length(source)
    _check_broadcast(sources, version, widths)


def _blank_comments(text: str) -> str:
    return _COMMENT.sub(lambda match: "\n" * match.group().count("\n") or " ", text)


def _included(source: Source, directory: Path, chain: list[str], count: list[int]) -> list[Source]:
    """The files ``source`` includes (OpenQASM 2 searches the top file's directory)."""
    found: list[Source] = []
    for match in _INCLUDE.finditer(source.text):
        name = match.group(1)
        if name in _BUILTIN_INCLUDES:
            continue
        line = source.line_at(match.start())
        if name in chain:
            cycle = " → ".join([*chain[chain.index(name) :], name])
            raise CircuitError(f"{source.name} line {line}: include cycle {cycle}")
        count[0] += 1
        if count[0] > MAX_QASM_INCLUDES:
            raise CircuitError(
                f"{source.name} line {line}: more than {MAX_QASM_INCLUDES} includes in all"
            )
        candidate = Path(name) if Path(name).is_absolute() else directory / name
        if not candidate.exists() and not candidate.is_symlink():
            continue  # the parser reports it as not found, with its line
        try:
            data = read_regular_file(candidate, MAX_QASM_BYTES)
            text = data.decode("utf-8")
        except InputFileError as error:
            raise CircuitError(
                f"{source.name} line {line}: cannot read {name} (included by {source.name}): "
                f"{error.reason}"
            ) from None
        except UnicodeDecodeError:
            raise CircuitError(f"{source.name} line {line}: {name} is not UTF-8 text") from None
        included = Source(name, _blank_comments(text))
        found += [included, *_included(included, directory, [*chain, name], count)]
    return found


def _check_declarations(sources: list[Source], version: int) -> dict[str, int]:
    """Every register's width, checked one by one and in all; name → width."""
    widths: dict[str, int] = {}
    totals = {True: 0, False: 0}
    for source in sources:
        for pattern in _DECLARATIONS[version]:
            for match in pattern.finditer(source.text):
                kind, name = match.group("kind"), match.group("name")
                quantum = kind in _QUANTUM
                line = source.line_at(match.start())
                width = _width(match.group("width"), source, line, name, version)
                limit, unit = (MAX_QASM_QUBITS, "qubits") if quantum else (MAX_QASM_CLBITS, "bits")
                if width > limit:
                    amount = f"more than {limit}" if width >= _BIG else str(width)
                    raise CircuitError(
                        f"{source.name} line {line}: register '{name}' declares {amount} {unit}; "
                        f"qorch accepts at most {limit} {unit} in a circuit"
                    )
                totals[quantum] += width
                if totals[quantum] > limit:
                    raise CircuitError(
                        f"{source.name} line {line}: the registers declare more than {limit} "
                        f"{unit} in all; qorch accepts at most {limit} {unit} in a circuit"
                    )
                widths[name] = width
    return widths


def _width(text: str | None, source: Source, line: int, name: str, version: int) -> int:
    if text is None:
        return 1
    value = designator_value(text)
    if value is None:
        if version == 2:
            return 0  # not an integer: the OpenQASM 2 parser refuses it with its own message
        raise CircuitError(
            f"{source.name} line {line}: the width of register '{name}' ({text.strip()!r}) is "
            "not a constant integer qorch can check before parsing"
        )
    return value


def designator_value(text: str) -> int | None:
    """The value of a register width: an integer literal or a small constant expression.

    Literals as OpenQASM 3 writes them (``1_000``, ``0x10``, ``0o17``, ``0b101``),
    combined with + - * / % ** and parentheses. None if it is anything else;
    values of 2**64 or more come back as 2**64.
    """
    text = text.strip()
    if not text or len(text) > 200 or not re.fullmatch(r"[0-9A-Fa-fXxOoBb_+\-*/%() \t\n]+", text):
        return None
    try:
        tree = ast.parse(text.replace("_", ""), mode="eval")
    except (SyntaxError, ValueError):
        return None
    value = _evaluate(tree.body)
    return None if value is None else min(abs(value), _BIG)


def _evaluate(node: ast.expr) -> int | None:
    if isinstance(node, ast.Constant):
        return node.value if type(node.value) is int else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand)
        return None if value is None else (-value if isinstance(node.op, ast.USub) else value)
    if not isinstance(node, ast.BinOp):
        return None
    left, right = _evaluate(node.left), _evaluate(node.right)
    if left is None or right is None:
        return None
    op = node.op
    if isinstance(op, ast.Pow):
        if right < 0:
            return None
        if abs(left) > 1 and right * abs(left).bit_length() > 128:
            return _BIG  # too large to matter: refused as wider than any limit
        result = left**right
    elif isinstance(op, ast.Add | ast.Sub | ast.Mult):
        result = left + right if isinstance(op, ast.Add) else left - right
        result = left * right if isinstance(op, ast.Mult) else result
    elif isinstance(op, ast.Div | ast.FloorDiv | ast.Mod) and right != 0:
        result = left % right if isinstance(op, ast.Mod) else left // right
    else:
        return None
    return max(min(result, _BIG), -_BIG)


def _check_physical_qubits(source: Source) -> None:
    for match in _PHYSICAL.finditer(source.text):
        digits = match.group(1)
        if len(digits) > 18 or int(digits) >= MAX_QASM_QUBITS:
            shown = digits if len(digits) <= 20 else digits[:17] + "..."
            raise CircuitError(
                f"{source.name} line {source.line_at(match.start())}: physical qubit ${shown} "
                f"needs more than {MAX_QASM_QUBITS} qubits; qorch accepts at most "
                f"{MAX_QASM_QUBITS} in a circuit"
            )


def _bytes(source: Source) -> np.ndarray:
    return np.frombuffer(source.text.encode("utf-8"), dtype=np.uint8)


def _check_nesting(source: Source) -> None:
    data = _bytes(source)
    steps = np.isin(data, list(b"([{")).astype(np.int32) - np.isin(data, list(b")]}"))
    depth = np.cumsum(steps)
    if depth.size and int(depth.max()) > MAX_QASM_NESTING:
        offset = int(np.argmax(depth > MAX_QASM_NESTING))
        line = int(np.count_nonzero(data[:offset] == ord("\n"))) + 1
        raise CircuitError(
            f"{source.name} line {line}: brackets nested deeper than {MAX_QASM_NESTING} levels"
        )


def _check_statement_length(source: Source) -> None:
    """No statement (between ';', '{' and '}') holds more than the limit of non-blanks."""
    data = _bytes(source)
    separators = np.flatnonzero(np.isin(data, list(b";{}")))
    filled = np.cumsum(~np.isin(data, list(b" \t\r\n")))
    ends = np.concatenate([separators, [data.size]])
    counts = np.concatenate([[0], filled])[ends]
    starts = np.concatenate([[0], counts[:-1]])
    lengths = counts - starts
    if lengths.size and int(lengths.max()) > MAX_QASM3_STATEMENT_CHARS:
        index = int(np.argmax(lengths > MAX_QASM3_STATEMENT_CHARS))
        offset = int(separators[index - 1]) + 1 if index else 0
        rest = data[offset:]
        offset += int(np.argmax(~np.isin(rest, list(b" \t\r\n")))) if rest.size else 0
        line = int(np.count_nonzero(data[:offset] == ord("\n"))) + 1
        raise CircuitError(
            f"{source.name} line {line}: a statement longer than {MAX_QASM3_STATEMENT_CHARS} "
            "characters (qiskit's OpenQASM 3 importer would take minutes on it)"
        )


def _check_broadcast(sources: list[Source], version: int, widths: dict[str, int]) -> None:
    """Instructions after register broadcast: one per statement, plus width − 1 per bare use."""
    wide = {name: width for name, width in widths.items() if width > 1}
    statements = sum(source.text.count(";") for source in sources)
    if not wide or statements * max(wide.values()) * 4 <= MAX_QASM_INSTRUCTIONS:
        return  # cannot reach the limit: not worth a scan
    extra = 0
    bare = re.compile(rf"\b{_IDENT}\b(?!\s*\[)")
    for source in sources:
        text = source.text
        for pattern in _DECLARATIONS[version]:
            text = pattern.sub(" ", text)
        uses = Counter(bare.findall(text))
        extra += sum(uses[name] * (width - 1) for name, width in wide.items())
    estimate = statements + extra
    if estimate > MAX_QASM_INSTRUCTIONS:
        name, width = max(wide.items(), key=lambda item: item[1])
        raise CircuitError(
            f"{sources[0].name}: about {estimate} instructions after register broadcast "
            f"(each 'h {name};' on the {width}-qubit register '{name}' is {width} gates); "
            f"qorch accepts at most {MAX_QASM_INSTRUCTIONS}"
        )
