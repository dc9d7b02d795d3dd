"""Build a circuit spec: a generator or an OpenQASM 2/3 file, with errors located in the plan."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import CircuitError
from qorch.engine.inputfile import InputFileError, bad_utf8_line, read_regular_file
from qorch.engine.limits import MAX_QASM3_BYTES, MAX_QASM_BYTES
from qorch.workloads.sources.spec import (
    AnyCircuitSpec,
    GhzCircuit,
    QaoaMaxcutCircuit,
    QasmCircuit,
    QftCircuit,
    RandomCircuit,
)

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from qorch.engine.planfile import LoadedPlan


def build_spec(
    loaded: LoadedPlan, spec: AnyCircuitSpec, key: tuple[str | int, ...], *, symbolic: bool = False
) -> QuantumCircuit:
    """The circuit of ``spec`` (written at field ``key``), measured at the end.

    ``symbolic``: the circuit may keep unbound parameters (a plan that sweeps them).
    Raises CircuitError located at ``key``.
    """
    if isinstance(spec, QasmCircuit):
        path = _absolute(loaded.base_dir / spec.qasm)
        try:
            circuit = load_qasm(path, spec.qasm)
        except CircuitError as error:
            raise loaded.error((*key, "qasm"), error.message, CircuitError) from None
    else:
        try:
            circuit = generate(spec)
        except ValueError as error:
            raise loaded.error(key, str(error), CircuitError) from None
    if circuit.parameters:
        circuit = pinned_parameters(circuit)
    circuit.name = spec.name
    circuit.metadata = {}
    if circuit.parameters and not symbolic:
        names = ", ".join(sorted(p.name for p in circuit.parameters))
        message = f"circuit has unbound parameters ({names}); bind them in the QASM file"
        if "parameters" in type(spec).model_fields:
            message += " or give their values in 'parameters:'"
        raise loaded.error(key, message, CircuitError)
    if circuit.num_clbits == 0:
        circuit.measure_all()
    return circuit


def pinned_parameters(circuit: QuantumCircuit) -> QuantumCircuit:
    """``circuit`` with each parameter's UUID derived from its name (and index in its
    vector). Qiskit draws a random UUID for every Parameter and QPY stores it, so the
    payloads of a swept OpenQASM circuit differed from one compile to the next: a plan
    must give the same bundle bytes every time, in any process."""
    import uuid

    from qiskit.circuit import Parameter, ParameterVectorElement

    def uuid_of(name: str) -> uuid.UUID:
        return uuid.uuid5(uuid.NAMESPACE_OID, f"qorch.parameter.{name}")

    mapping: dict[Any, Any] = {}
    for parameter in circuit.parameters:
        if isinstance(parameter, ParameterVectorElement):
            root = uuid_of(f"{parameter.vector.name}[]").int  # elements: root + index
            element = uuid.UUID(int=(root + parameter.index) % (1 << 128))
            mapping[parameter] = ParameterVectorElement(parameter.vector, parameter.index,
                                                        uuid=element)  # fmt: skip
        else:
            mapping[parameter] = Parameter(parameter.name, uuid=uuid_of(parameter.name))
    pinned = circuit.assign_parameters(mapping)
    pinned.name, pinned.metadata = circuit.name, circuit.metadata  # a copy is renamed
    return pinned


def generate(spec: AnyCircuitSpec) -> QuantumCircuit:
    """Build a generator circuit. Raises ValueError on impossible inputs."""
    from qorch.workloads.sources import generators  # qiskit: imported when a circuit is built

    if isinstance(spec, GhzCircuit):
        return generators.ghz(spec.qubits)
    if isinstance(spec, QftCircuit):
        return generators.qft(spec.qubits, spec.value, swaps=spec.swaps)
    if isinstance(spec, RandomCircuit):
        return generators.random(spec.qubits, spec.depth, spec.seed, spec.max_operands)
    if isinstance(spec, QaoaMaxcutCircuit):
        gammas, betas = _angles(spec.gammas, spec.betas)
        return generators.qaoa_maxcut(spec.qubits, spec.degree, gammas, betas, spec.seed)
    raise ValueError(f"not a generator circuit: {spec!r}")


def _angles(*lists: Sequence[float | str]) -> list[list[Any]]:
    """Angle lists with each name (a string) made a Qiskit Parameter, one per name."""
    from qiskit.circuit import Parameter

    named: dict[str, Parameter] = {}
    return [[named.setdefault(a, Parameter(a)) if isinstance(a, str) else a for a in angles]
            for angles in lists]  # fmt: skip


def _absolute(path: Path) -> Path:
    """``path`` made absolute, symlinks resolved where possible (a loop is left for open)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return Path(os.path.abspath(path))


def load_qasm(path: Path, shown: str) -> QuantumCircuit:
    """Parse an OpenQASM 2 or 3 file (version from its header).

    Only a regular file within the size limits is read (a FIFO or device is refused
    without blocking), and its declared widths, includes and structure are checked
    (:mod:`qorch.workloads.sources.qasmscan`) before a parser sees it. Raises CircuitError with the
    file, line and reason.
    """
    from qorch.workloads.sources.qasmscan import check_qasm

    try:
        raw = read_regular_file(path, MAX_QASM_BYTES)
    except InputFileError as error:
        if error.missing:
            raise CircuitError(f"QASM file not found: {shown} (looked at {path})") from None
        raise CircuitError(f"cannot read QASM file {shown}: {error.reason}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = bad_utf8_line(raw, error)
        raise CircuitError(f"cannot read QASM file {shown}: line {line} is not UTF-8") from None
    version = qasm_version(text)
    if version is None:
        raise CircuitError(f"{shown}: not OpenQASM (expected an 'OPENQASM 2.0;' or '3' header)")
    if version >= 3 and len(raw) > MAX_QASM3_BYTES:
        raise CircuitError(
            f"cannot read QASM file {shown}: the file is {len(raw)} bytes; the limit for "
            f"OpenQASM 3 is {MAX_QASM3_BYTES} bytes (qiskit's OpenQASM 3 importer needs about "
            "a minute and 1 GB for that much)"
        )
    check_qasm(text, version, path, shown)
    if version == 2:
        return _load_qasm2(text, path, shown)
    return _load_qasm3(text, shown)


def qasm_version(text: str) -> int | None:
    """The major version in the OPENQASM header, ignoring comments; None if absent."""
    for raw in text.splitlines():
        line = raw.split("//", 1)[0].strip()
        if not line:
            continue
        if line.upper().startswith("OPENQASM"):
            number = line[len("OPENQASM") :].strip().rstrip(";").strip()
            with contextlib.suppress(ValueError):
                return int(float(number))
        return None
    return None


def _load_qasm2(text: str, path: Path, shown: str) -> QuantumCircuit:
    from qiskit import qasm2

    try:
        return qasm2.loads(
            text,
            include_path=(str(path.parent),),
            custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS,
        )
    except qasm2.QASM2Error as error:
        message = str(error).strip('"').replace("<input>:", "")
        raise CircuitError(f"malformed OpenQASM 2 in {shown}: line {message}") from None


def _load_qasm3(text: str, shown: str) -> QuantumCircuit:
    from qiskit import qasm3

    sink = io.StringIO()
    try:
        with contextlib.redirect_stderr(sink):
            return qasm3.loads(text)
    except Exception as error:  # the OpenQASM 3 parser raises assorted types
        raise CircuitError(f"malformed OpenQASM 3 in {shown}: {_qasm3_reason(error)}") from None


def _qasm3_reason(error: BaseException) -> str:
    """The parser's reason with its line, dug out of the exception chain."""
    seen: BaseException | None = error
    while seen is not None:
        for candidate in (seen, *seen.args):
            token = getattr(candidate, "offendingToken", None)
            if token is not None:
                return f"line {token.line}: unexpected {token.text!r}"
        seen = seen.__cause__ or seen.__context__
    text = str(error).strip() or type(error).__name__
    if text[:1].isdigit() and "," in text.split(":", 1)[0]:
        return "line " + text.replace(",", ", column ", 1)
    return text
