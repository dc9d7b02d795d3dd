"""Sampling with qiskit-ibm-runtime's executor-based Sampler, and reading its counts.

The Sampler returns one :class:`~qiskit.primitives.BitArray` per classical
register. :func:`counts_from_result` maps them back onto the circuit's
classical bits, so counts cover every clbit in Qiskit's order whatever the
registers' layout (unregistered clbits, which the Sampler does not return,
read 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qorch.provider import Counts, JobRequest, normalise_counts

if TYPE_CHECKING:
    from qiskit import QuantumCircuit
    from qiskit.providers import BackendV2

Registers = list[tuple[str, list[int]]]
"""(register name, circuit clbit index of each register bit), in circuit order."""


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


def run_local(
    backend: BackendV2, circuit: QuantumCircuit, shots: int, seed: int, tags: Sequence[str]
) -> Counts:
    """Sample ``circuit`` on a fake backend in local testing mode (noisy, seeded).

    The same ``seed`` gives the same counts. Returns counts over every clbit.
    """
    sampler = make_sampler(backend, shots, tags)
    sampler.options.simulator.seed_simulator = seed
    result = sampler.run([circuit]).result()
    return counts_from_result(result, registers_of(circuit), circuit.num_clbits)


def counts_from_result(result: Any, registers: Registers, num_clbits: int) -> Counts:
    """Counts of the first PUB of a Sampler ``PrimitiveResult``, over all ``num_clbits`` clbits."""
    import numpy as np

    data = result[0].data
    arrays = {name: getattr(data, name) for name, _ in registers if hasattr(data, name)}
    if not arrays:
        raise ValueError("the Sampler returned no classical registers")
    shots = next(iter(arrays.values())).num_shots
    bits = np.zeros((shots, num_clbits), dtype=bool)
    for name, clbits in registers:
        if name not in arrays:
            continue
        # column k is register bit k; Qiskit writes clbit i at string position n-1-i
        values = arrays[name].to_bool_array(order="little").reshape(shots, len(clbits))
        for position, clbit in enumerate(clbits):
            bits[:, num_clbits - 1 - clbit] = values[:, position]
    rows, counts = np.unique(bits, axis=0, return_counts=True)
    raw = {
        "".join("1" if bit else "0" for bit in row): int(n)
        for row, n in zip(rows, counts, strict=True)
    }
    return normalise_counts(raw, num_clbits)


def registers_from_record(record: Sequence[Any]) -> Registers:
    """Registers from their JSON form in a handle."""
    return [(str(name), [int(i) for i in clbits]) for name, clbits in record]


def registers_record(registers: Registers) -> list[list[Any]]:
    """Registers in JSON-ready form, for a handle."""
    return [[name, list(clbits)] for name, clbits in registers]
