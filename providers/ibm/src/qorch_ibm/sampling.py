"""Sampling with qiskit-ibm-runtime's executor-based Sampler, and reading its counts.

A job is one Sampler PUB. Without parameter sets it is ``(circuit,)``; with
them, ``(circuit, values)`` where ``values`` has one row per set and one
column per parameter, in ``circuit.parameters`` order (Qiskit's: by name,
vector elements by index) — so IBM runs every set in one job, and returns
one :class:`~qiskit.primitives.BitArray` of shape ``(sets,)`` per classical
register. :func:`counts_of_pub` maps them back onto the circuit's classical
bits, so counts cover every clbit in Qiskit's order whatever the registers'
layout (unregistered clbits, which the Sampler does not return, read 0).

A payload whose translation has no parameters left runs its sets as one PUB
of ``shots × sets`` shots, cut into sets of ``shots`` (the SDK rejects
parameter values of width 0).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import CapabilityError, ProviderError
from qorch.contract.provider import Counts, JobRequest, normalise_counts
from qorch_ibm import devices

if TYPE_CHECKING:
    from qiskit import QuantumCircuit
    from qiskit.providers import BackendV2

Registers = list[tuple[str, list[int]]]
"""(register name, circuit clbit index of each register bit), in circuit order."""

Rows = tuple[tuple[float, ...], ...]
"""Parameter sets: one row per set, columns in ``circuit.parameters`` order."""


def registers_of(circuit: QuantumCircuit) -> Registers:
    """The circuit's classical registers and the clbit index of each of their bits."""
    return [
        (register.name, [circuit.find_bit(bit).index for bit in register])
        for register in circuit.cregs
    ]


def job_tags(request: JobRequest) -> list[str]:
    """IBM job tags for a request: its qorch tags as ``key:value``, and its idempotency token."""
    return [*(f"{key}:{value}" for key, value in sorted(request.tags.items())), request.token]


def make_sampler(mode: Any, shots: int, tags: Sequence[str]) -> Any:
    """An executor-based Sampler on ``mode`` (a backend or a Batch) with shots and job tags."""
    from qiskit_ibm_runtime.executor_sampler import Sampler

    sampler = Sampler(mode=mode)
    sampler.options.default_shots = shots
    sampler.options.environment.job_tags = list(tags)
    return sampler


def check_parameter_sets(request: JobRequest, circuit: QuantumCircuit, target: str) -> None:
    """Raise CapabilityError unless ``request`` fits ``circuit`` (its translated payload) and IBM.

    Every parameter needs a value: a circuit with parameters needs parameter
    sets, and each set has one finite value per parameter. Shots × sets must
    not exceed IBM's per-job limit (:data:`qorch_ibm.devices.MAX_EXECUTIONS`).
    """
    names = [parameter.name for parameter in circuit.parameters]
    shown = _preview(names)
    sets = request.parameter_sets
    if not sets and names:
        raise CapabilityError(
            f"'{circuit.name}' on {target} has {len(names)} unbound parameter(s) ({shown}) "
            "and the job has no parameter values for them"
        )
    for index, row in enumerate(request.parameter_values):
        if len(row) != len(names):
            raise CapabilityError(
                f"parameter set {index} for '{circuit.name}' on {target} has {len(row)} "
                f"value(s); the translated circuit has {len(names)} parameter(s)"
                + (f" ({shown})" if names else "")
            )
        if not all(isinstance(v, numbers.Real) and math.isfinite(v) for v in row):
            raise CapabilityError(
                f"parameter set {index} for '{circuit.name}' on {target} has a value "
                "that is not a finite number"
            )
    executions = request.shots * max(1, sets)
    if executions > devices.MAX_EXECUTIONS:
        fit = devices.max_parameter_sets(request.shots)
        raise CapabilityError(
            f"'{circuit.name}' on {target}: {max(1, sets):,} parameter set(s) × "
            f"{request.shots:,} shots = {executions:,} executions, over IBM's limit of "
            f"{devices.MAX_EXECUTIONS:,} per Sampler job (at {request.shots:,} shots a job "
            f"holds at most {fit:,} sets); split the sets over several jobs or use fewer shots"
        )


def sampler_pub(circuit: QuantumCircuit, rows: Rows, shots: int) -> tuple[Any, ...]:
    """The one Sampler PUB that runs ``circuit`` for every row of ``rows`` (or once)."""
    import numpy as np

    if not rows:
        return (circuit,)
    if circuit.num_parameters == 0:
        return (circuit, None, shots * len(rows))
    values = np.asarray(rows, dtype=float).reshape(len(rows), circuit.num_parameters)
    return (circuit, {tuple(circuit.parameters): values})


def run_local(
    backend: BackendV2,
    circuit: QuantumCircuit,
    shots: int,
    seed: int,
    tags: Sequence[str],
    rows: Rows = (),
    *,
    ideal: bool = False,
) -> list[Counts]:
    """Sample ``circuit`` in the Sampler's local testing mode (noisy on a fake backend, seeded;
    ``ideal``: with an empty noise model, so only the device's translation remains).

    One Sampler call, one PUB: returns one Counts per row of ``rows`` (one
    Counts if there are none), over every clbit. The same ``seed`` gives the
    same counts. ``backend`` is normally a fake backend; any backend the SDK
    simulates locally works (an ``AerSimulator`` samples without noise).

    Aer gives wrong results for parameterised controlled gates (CRX, CRZ, CP,
    ...) whose angles arrive as parameter values (qiskit-aer #2323, #2391,
    #2403). ISA circuits for IBM devices have none (they are decomposed into
    rz/sx/x and ecr/cz/cx), but should one ever contain such a gate, each set
    is bound here first and run as its own PUB — still one Sampler call.
    """
    if ideal:  # the executor Sampler takes no noise-model option: sample on ideal Aer
        from qiskit_aer import AerSimulator

        backend = AerSimulator()
    else:
        backend, circuit = compact_device(backend, circuit)
    sampler = make_sampler(backend, shots, tags)
    sampler.options.simulator.seed_simulator = seed
    registers = registers_of(circuit)
    if rows and has_parameterised_controlled_gate(circuit):
        bound = [
            circuit.assign_parameters(dict(zip(circuit.parameters, row, strict=True)))
            for row in rows
        ]
        results = sampler.run([(each,) for each in bound]).result()
        return [counts_of_pub(result, registers, circuit.num_clbits)[0] for result in results]
    result = sampler.run([sampler_pub(circuit, rows, shots)]).result()
    return counts_of_pub(result[0], registers, circuit.num_clbits, len(rows))


def compact_device(backend: BackendV2, circuit: QuantumCircuit) -> tuple[Any, QuantumCircuit]:
    """The fake device's noise on the qubits ``circuit`` uses, as an ``AerSimulator``, and
    the circuit moved onto them (:mod:`qorch.contract.device_noise`): the Sampler's local mode
    otherwise builds a noise model for all 127 qubits of a fake Kyiv for every job, which
    costs seconds; the channels of the used qubits, and the seeded counts, are the same.
    The backend and circuit as they are where that does not apply."""
    from qorch.contract.device_noise import compact_simulator

    found = compact_simulator([circuit], backend.target)
    if found is None:
        return backend, circuit
    simulator, (small,) = found
    return simulator, small


def has_parameterised_controlled_gate(circuit: QuantumCircuit) -> bool:
    """True if a controlled gate in ``circuit`` (or its control-flow blocks) has a parameter."""
    from qiskit.circuit import ControlledGate, ParameterExpression

    for instruction in circuit.data:
        operation = instruction.operation
        if isinstance(operation, ControlledGate) and any(
            isinstance(value, ParameterExpression) and value.parameters
            for value in operation.params
        ):
            return True
        if any(
            has_parameterised_controlled_gate(block) for block in getattr(operation, "blocks", ())
        ):
            return True
    return False


def counts_of_pub(
    pub_result: Any, registers: Registers, num_clbits: int, sets: int = 0
) -> list[Counts]:
    """Counts of one Sampler PUB result over all ``num_clbits`` clbits: one per parameter set.

    ``sets`` is how many parameter sets the PUB ran (0: none, one Counts
    returned). A PUB of shape ``(sets,)`` gives one Counts per element; a PUB
    of shape ``()`` that ran ``shots × sets`` shots (no parameters left) is cut
    into ``sets`` equal slices. Raises ProviderError if the shapes disagree.
    """
    import numpy as np

    bits = _clbit_array(pub_result.data, registers, num_clbits)  # (*shape, shots, clbits)
    groups = bits.reshape(-1, bits.shape[-2], num_clbits)
    wanted = max(1, sets)
    if len(groups) == 1 and wanted > 1 and groups.shape[1] % wanted == 0:
        groups = groups.reshape(wanted, -1, num_clbits)
    if len(groups) != wanted:
        raise ProviderError(
            f"the Sampler returned results for {len(groups)} parameter set(s); the job ran {sets}"
        )
    out = []
    for group in groups:
        rows, counts = np.unique(group, axis=0, return_counts=True)
        raw = {
            "".join("1" if bit else "0" for bit in row): int(n)
            for row, n in zip(rows, counts, strict=True)
        }
        out.append(normalise_counts(raw, num_clbits))
    return out


def _clbit_array(data: Any, registers: Registers, num_clbits: int) -> Any:
    """The PUB's outcomes as booleans of shape ``(*pub_shape, shots, num_clbits)``, Qiskit order."""
    import numpy as np

    arrays = {name: getattr(data, name) for name, _ in registers if hasattr(data, name)}
    if not arrays:
        raise ValueError("the Sampler returned no classical registers")
    first = next(iter(arrays.values()))
    bits = np.zeros((*first.shape, first.num_shots, num_clbits), dtype=bool)
    for name, clbits in registers:
        if name not in arrays:
            continue
        # column k is register bit k; Qiskit writes clbit i at string position n-1-i
        values = arrays[name].to_bool_array(order="little")
        for position, clbit in enumerate(clbits):
            bits[..., num_clbits - 1 - clbit] = values[..., position]
    return bits


def _preview(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f", ... ({len(names) - limit} more)" if len(names) > limit else "")


def registers_from_record(record: Sequence[Any]) -> Registers:
    """Registers from their JSON form in a handle."""
    return [(str(name), [int(i) for i in clbits]) for name, clbits in record]


def registers_record(registers: Registers) -> list[list[Any]]:
    """Registers in JSON-ready form, for a handle."""
    return [[name, list(clbits)] for name, clbits in registers]
