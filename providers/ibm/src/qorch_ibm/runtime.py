"""Jobs on real IBM QPUs through IBM Quantum Compute (qiskit-ibm-runtime).

Submission uses the executor-based Sampler, in job mode, or in batch mode when
a run sends several jobs to one device (one Batch per run and device in this
process, closed once the run's last job is in). Each job is tagged with the
run's qorch tags and the job's idempotency token, so :func:`recover` finds a
job that a crashed submit created. Status, result and cancel re-attach from
the handle alone with ``QiskitRuntimeService.job(job_id)``.

A job with parameter sets is one PUB with a row of values per set (see
:mod:`qorch_ibm.sampling`); its handle records ``parameter_sets``, and its
result is a list of Counts, one per set, in row order.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from qorch.contract.errors import (
    CancelUnsupportedError,
    ProviderError,
    QorchError,
    UnknownDeviceError,
)
from qorch.contract.payload import from_qpy
from qorch.contract.provider import Handle, JobRequest, JobState, JobStatus, Result
from qorch_ibm import sampling
from qorch_ibm.failures import scrub
from qorch_ibm.service import connect, secrets, service_call

STATES: dict[str, JobState] = {
    "INITIALIZING": JobState.QUEUED,
    "VALIDATING": JobState.QUEUED,
    "QUEUED": JobState.QUEUED,
    "RUNNING": JobState.RUNNING,
    "DONE": JobState.DONE,
    "COMPLETED": JobState.DONE,
    "ERROR": JobState.FAILED,
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
}
"""IBM job statuses (as the SDK or the REST API spell them) → qorch job states."""


@dataclass
class _OpenBatch:
    batch: Any
    submitted: int = 0


_batches: dict[tuple[str, str], _OpenBatch] = {}
_backends: dict[tuple[int, str], Any] = {}


def backend(name: str) -> Any:
    """The IBMBackend ``name`` on the service (looked up once per process).

    Raises UnknownDeviceError if the account has no such device, and
    CredentialsError or NetworkError as :func:`qorch_ibm.service.connect`.
    """
    service = connect()
    key = (id(service), name)
    if key in _backends:
        return _backends[key]
    with service_call(f"looking up {name}"):
        from qiskit.providers.exceptions import QiskitBackendNotFoundError

        try:
            _backends[key] = service.backend(name)
            return _backends[key]
        except QiskitBackendNotFoundError:
            available = sorted(b.name for b in service.backends())
        raise UnknownDeviceError(
            f"IBM Quantum has no device '{name}' for this account "
            f"(available: {', '.join(available) or 'none'})"
        )


def map_status(status: Any, message: str = "") -> JobStatus:
    """The qorch JobStatus for an IBM job status (a string or a Qiskit JobStatus enum)."""
    name = str(getattr(status, "name", status)).upper()
    state = STATES.get(name, JobState.QUEUED)
    return JobStatus(state, message or name.lower())


def submit(request: JobRequest, ibm_backend: Any) -> Handle:
    """Submit one job (one Sampler PUB, all its parameter sets) to a device; returns its handle.

    Raises CapabilityError if the parameter sets do not fit the circuit or IBM's limits.
    """
    circuit = from_qpy(request.payload.data)
    sampling.check_parameter_sets(request, circuit, f"ibm:{request.device}")
    with service_call(f"submitting '{circuit.name}' to {request.device}"):
        mode, batch_id = _mode(request, ibm_backend)
        sampler = sampling.make_sampler(mode, request.shots, sampling.job_tags(request))
        sampler.options.max_execution_time = request.options.max_execution_time_s
        pub = sampling.sampler_pub(circuit, request.parameter_values, request.shots)
        job = sampler.run([pub])
        job_id = str(job.job_id())
    _count_submission(request)
    return _handle(job_id, request.device, circuit, batch_id, request.parameter_sets)


def recover(request: JobRequest) -> Handle | None:
    """The handle of the job tagged with ``request.token``, or None if IBM has none."""
    service = connect()
    with service_call(f"looking for job {request.token} on {request.device}"):
        jobs = service.jobs(job_tags=[request.token], backend_name=request.device, limit=1)
        if not jobs:
            return None
        job_id, batch_id = str(jobs[0].job_id()), jobs[0].session_id
    circuit = from_qpy(request.payload.data)
    return _handle(job_id, request.device, circuit, batch_id, request.parameter_sets)


def status(handle: Handle) -> JobStatus:
    """The job's state, and IBM's error message when it failed."""
    job = _job(handle)
    with service_call(f"reading the status of job {handle['job_id']}"):
        current = map_status(job.status())
        if current.state is JobState.FAILED:
            message = _one_line(job.error_message() or "failed")
            return JobStatus(JobState.FAILED, scrub(message, secrets()))
    return current


def result(handle: Handle) -> Result:
    """Counts of a finished job over every clbit, in Qiskit's order (a list: one per set)."""
    job = _job(handle)
    with service_call(f"fetching the result of job {handle['job_id']}"):
        primitive_result = job.result()
    return result_from(primitive_result, handle)


def result_from(primitive_result: Any, handle: Handle) -> Result:
    """The job's Result from the Sampler's ``PrimitiveResult``, with what the handle recorded."""
    registers = sampling.registers_from_record(handle["registers"])
    sets = int(handle.get("parameter_sets") or 0)  # handles from before parameter sets: 0
    counts = sampling.counts_of_pub(primitive_result[0], registers, int(handle["num_clbits"]), sets)
    return counts if sets else counts[0]


def cancel(handle: Handle) -> None:
    """Cancel the job. Raises CancelUnsupportedError if it has already finished."""
    job = _job(handle)
    job_id = handle["job_id"]
    with service_call(f"cancelling job {job_id}"):
        from qiskit_ibm_runtime.exceptions import RuntimeInvalidStateError

        current = map_status(job.status())
        if current.state.final:
            raise CancelUnsupportedError(
                f"job {job_id} on {handle['backend']} has already finished "
                f"({current.state.value}); there is nothing to cancel"
            )
        try:
            job.cancel()
        except RuntimeInvalidStateError as error:
            raise CancelUnsupportedError(
                f"IBM Quantum cannot cancel job {job_id}: {error}"
            ) from None


def _job(handle: Handle) -> Any:
    """Re-attach to a runtime job from its handle."""
    service = connect()
    job_id = str(handle["job_id"])
    with service_call(f"looking up job {job_id}"):
        from qiskit_ibm_runtime.exceptions import RuntimeJobNotFound

        try:
            return service.job(job_id)
        except RuntimeJobNotFound:
            raise ProviderError(
                f"IBM Quantum has no job {job_id} visible to this account "
                "(deleted, or submitted with another account or instance)"
            ) from None


def _mode(request: JobRequest, ibm_backend: Any) -> tuple[Any, str | None]:
    """The backend (job mode), or this run's open Batch on the device (batch mode)."""
    if request.group_size <= 1:
        return ibm_backend, None
    key = (request.group, request.device)
    if key not in _batches:
        from qiskit_ibm_runtime import Batch

        _batches[key] = _OpenBatch(Batch(backend=ibm_backend))
    batch = _batches[key].batch
    return batch, batch.session_id


def _count_submission(request: JobRequest) -> None:
    """Close the run's Batch once all its jobs for this device are in (they still run)."""
    entry = _batches.get((request.group, request.device))
    if entry is None or request.group_size <= 1:
        return
    entry.submitted += 1
    if entry.submitted >= request.group_size:
        del _batches[(request.group, request.device)]
        with contextlib.suppress(QorchError), service_call("closing the batch"):
            entry.batch.close()


def _handle(
    job_id: str, device: str, circuit: Any, batch_id: str | None, parameter_sets: int
) -> Handle:
    return {
        "job_id": job_id,
        "kind": "runtime",
        "backend": device,
        "batch_id": batch_id,
        "num_clbits": circuit.num_clbits,
        "registers": sampling.registers_record(sampling.registers_of(circuit)),
        "parameter_sets": parameter_sets,
    }


def _one_line(text: str) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= 500 else line[:497] + "..."
