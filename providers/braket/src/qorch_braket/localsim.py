"""Running a payload on Braket's LocalSimulator (in the detached local job worker).

The LocalSimulator cannot be seeded: its samplers draw from a fresh
``numpy.random.default_rng()`` per run, and ``run`` takes no seed. So the
request's seed is not used and repeated runs give different (equally
distributed) counts.

A request with parameter sets runs as one program set: the LocalSimulator
accepts the ``braket.ir.openqasm.program_set`` action (both ``braket_sv``
and ``braket_dm``), takes the total shots (shots × sets, split evenly over
the executables) and returns one result per executable in order. It
advertises AWS's limits (100 executables, 200,000 total shots) but does not
enforce them, so a local job holds any number of sets.

The LocalSimulator parses each executable's OpenQASM with its pure-Python ANTLR
parser twice (once to validate the set, once to run it): ~90 % of a program
set's time. :func:`parse_once` parses each distinct source once per job.
Before running a set it also interprets every executable once more only to
check its instructions, which running the executable checks again:
:func:`validate_first_executables` checks the first executable of each program
up front (the set still fails before anything runs if its source has an
unsupported instruction); the rest are checked as they run.
"""

from __future__ import annotations

import contextlib
import pickle
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from qorch.contract.errors import ProviderError, UnknownDeviceError
from qorch.contract.provider import Counts, JobRequest, Result
from qorch_braket import parameters
from qorch_braket.devices import LOCAL_BACKENDS
from qorch_braket.translate import counts_to_qiskit, qubit_clbits


def run_local(request: JobRequest) -> Result:
    """Run ``request`` on the LocalSimulator backend of its device; counts in Qiskit order.

    With parameter sets, one program set runs and the result is one Counts
    per set, in row order. Raises UnknownDeviceError if the device is not a
    local one, CapabilityError if the parameter values do not fit the payload.
    """
    backend = LOCAL_BACKENDS.get(request.device)
    if backend is None:
        raise UnknownDeviceError(f"braket:{request.device} does not run on this machine")
    program = parameters.read(request.payload.data.decode("utf-8"))
    rows = request.parameter_values
    parameters.check_rows(program, rows, f"braket:{request.device}")
    if rows:
        action = parameters.program_set_action(program, rows)
        result = _run(backend, action, request.shots * len(rows))
        executables = [entry for composite in result.entries for entry in composite.entries]
        if len(executables) != len(rows):
            raise ProviderError(
                f"the LocalSimulator returned {len(executables)} results for {len(rows)} sets"
            )
        return [_counts(request, program.source, entry) for entry in executables]
    return _counts(
        request, program.source, _run(backend, parameters.program_action(program), request.shots)
    )


@contextlib.contextmanager
def parse_once() -> Iterator[None]:
    """While running one job: the simulator's OpenQASM parser parses each distinct source
    once; every use gets a fresh copy of the tree (the interpreter rewrites the tree it
    visits). Does nothing if the SDK no longer has the hook (then it is only slower)."""
    from braket.default_simulator.openqasm import interpreter

    original: Callable[[str], Any] | None = getattr(interpreter, "parse", None)
    if original is None:
        yield
        return
    trees: dict[str, bytes] = {}

    def parse(source: str) -> Any:
        if source not in trees:
            trees[source] = pickle.dumps(original(source), pickle.HIGHEST_PROTOCOL)
        return pickle.loads(trees[source])  # a fresh copy, ~10x faster than deepcopy

    interpreter.parse = parse
    try:
        yield
    finally:
        interpreter.parse = original


@contextlib.contextmanager
def validate_first_executables() -> Iterator[None]:
    """While running one job: the simulator's up-front check of a program set's
    instructions interprets the first executable of each program, not all of them
    (``run_openqasm`` checks each executable's instructions when it runs it: a third of
    a parameter set's time went to interpreting every executable twice). Does nothing
    if the SDK no longer has the hook."""
    from braket.default_simulator.simulator import BaseLocalSimulator

    name = "_validate_program_set_instructions_compatibility"
    original: Callable[[Any, Any], None] | None = getattr(BaseLocalSimulator, name, None)
    if original is None:
        yield
        return
    check_all: Callable[[Any, Any], None] = original

    def check_first(simulator: Any, program_set: Any) -> None:
        firsts = [_first_executable(program) for program in program_set.programs]
        check_all(simulator, program_set.copy(update={"programs": firsts}))

    setattr(BaseLocalSimulator, name, check_first)
    try:
        yield
    finally:
        setattr(BaseLocalSimulator, name, original)


def _first_executable(program: Any) -> Any:
    """``program`` with only its first set of input values (all of them if not lists)."""
    inputs = getattr(program, "inputs", None)
    if not inputs or not all(isinstance(values, list) for values in inputs.values()):
        return program
    return program.copy(update={"inputs": {key: values[:1] for key, values in inputs.items()}})


def _run(backend: str, action: Any, shots: int) -> Any:
    from braket.devices import LocalSimulator

    with warnings.catch_warnings(), parse_once(), validate_first_executables():
        warnings.filterwarnings("ignore", message="You are running a noise-free circuit")
        return LocalSimulator(backend).run(action, shots=shots).result()


def _counts(request: JobRequest, source: str, result: Any) -> Counts:
    """Qiskit-order counts of one executable (a GateModelQuantumTaskResult or MeasuredEntry)."""
    raw = getattr(result, "measurement_counts", None)
    if raw is None:
        raw = getattr(result, "counts", None)
    if raw is None:  # a ProgramSetExecutableFailure
        reason = getattr(getattr(result, "failureMetadata", None), "failureReason", "")
        raise ProviderError(f"the LocalSimulator failed a parameter set: {reason or result!r}")
    measured_qubits: Sequence[int] = getattr(result, "measured_qubits", None) or []
    measured = request.payload.measured_clbits
    return counts_to_qiskit(
        {str(key): int(value) for key, value in raw.items()},
        [int(qubit) for qubit in measured_qubits],
        qubit_clbits(source, measured),
        request.payload.num_clbits,
        measured,
    )
