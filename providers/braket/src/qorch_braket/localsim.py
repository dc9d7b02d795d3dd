"""Running a payload on Braket's LocalSimulator (in the detached local job worker).

The LocalSimulator cannot be seeded: its samplers draw from a fresh
``numpy.random.default_rng()`` per run, and ``run`` takes no seed. So the
request's seed is not used and repeated runs give different (equally
distributed) counts.
"""

from __future__ import annotations

import warnings

from qorch.errors import UnknownDeviceError
from qorch.provider import Counts, JobRequest
from qorch_braket.devices import LOCAL_BACKENDS
from qorch_braket.translate import counts_to_qiskit, qubit_clbits


def run_local(request: JobRequest) -> Counts:
    """Run ``request`` on the LocalSimulator backend of its device; counts in Qiskit order.

    Raises UnknownDeviceError if the device is not a local one.
    """
    backend = LOCAL_BACKENDS.get(request.device)
    if backend is None:
        raise UnknownDeviceError(f"braket:{request.device} does not run on this machine")
    from braket.devices import LocalSimulator
    from braket.ir.openqasm import Program

    source = request.payload.data.decode("utf-8")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are running a noise-free circuit")
        task = LocalSimulator(backend).run(Program(source=source), shots=request.shots)
    result = task.result()
    raw = {str(key): int(value) for key, value in result.measurement_counts.items()}
    measured = request.payload.measured_clbits
    return counts_to_qiskit(
        raw,
        [int(qubit) for qubit in result.measured_qubits],
        qubit_clbits(source, measured),
        request.payload.num_clbits,
        measured,
    )
