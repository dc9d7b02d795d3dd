"""Runtime-job plumbing that runs without an account: status mapping, handles, batches.

``runtime.submit`` is exercised for real on a fake backend, which the SDK runs
in local testing mode: the executor Sampler, Batch mode, job tags and the
execution-time limit all go through qiskit-ibm-runtime's own code.
"""

from __future__ import annotations

import json

import pytest
from qiskit import QuantumCircuit
from qorch_ibm import devices, runtime

from qorch import registry
from qorch.provider import JobRequest, JobState, TargetOptions


@pytest.mark.parametrize(
    ("ibm", "state"),
    [
        ("INITIALIZING", JobState.QUEUED),
        ("VALIDATING", JobState.QUEUED),
        ("QUEUED", JobState.QUEUED),
        ("RUNNING", JobState.RUNNING),
        ("DONE", JobState.DONE),
        ("COMPLETED", JobState.DONE),
        ("ERROR", JobState.FAILED),
        ("CANCELLED", JobState.CANCELLED),
    ],
)
def test_ibm_statuses_map_to_job_states(ibm: str, state: JobState) -> None:
    assert runtime.map_status(ibm).state is state
    assert runtime.map_status(ibm.lower()).state is state


def test_qiskit_job_status_enums_are_understood() -> None:
    from qiskit.providers.jobstatus import JobStatus

    assert runtime.map_status(JobStatus.DONE).state is JobState.DONE
    assert runtime.map_status(JobStatus.ERROR).state is JobState.FAILED


def _requests(group_size: int) -> list[JobRequest]:
    provider = registry.load("ibm")
    circuit = QuantumCircuit(2, 2, name="pair")
    circuit.x(0)
    circuit.measure([0, 1], [0, 1])
    options = TargetOptions(max_execution_time_s=60)
    payload = provider.translate(circuit, "fake_manila", options, seed=1)
    return [
        JobRequest(
            device="fake_manila",
            payload=payload,
            shots=50,
            seed=1,
            token=f"tok-{index}",
            options=options,
            tags={"qorch-run": "run-1"},
            group="run-1",
            group_size=group_size,
        )
        for index in range(group_size)
    ]


def test_jobs_of_one_run_share_a_batch_that_closes_after_the_last() -> None:
    backend = devices.fake_backend("fake_manila")
    first, second = _requests(2)
    handle = runtime.submit(first, backend)
    batch = runtime._batches[("run-1", "fake_manila")].batch
    assert batch.__class__.__name__ == "Batch"
    runtime.submit(second, backend)
    assert ("run-1", "fake_manila") not in runtime._batches  # closed once all jobs are in
    assert handle["kind"] == "runtime" and handle["backend"] == "fake_manila"
    assert handle["registers"] == [["c", [0, 1]]] and handle["num_clbits"] == 2
    assert json.loads(json.dumps(handle)) == handle


def test_a_single_job_runs_in_job_mode() -> None:
    (only,) = _requests(1)
    handle = runtime.submit(only, devices.fake_backend("fake_manila"))
    assert handle["batch_id"] is None
    assert not runtime._batches
