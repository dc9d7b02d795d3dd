"""Runtime-job plumbing that runs without an account: status mapping, handles, batches.

``runtime.submit`` is exercised for real on a fake backend, which the SDK runs
in local testing mode: the executor Sampler, Batch mode, job tags and the
execution-time limit all go through qiskit-ibm-runtime's own code.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import pytest
from qiskit import QuantumCircuit
from qorch_ibm import devices, runtime

from qorch.contract.provider import JobRequest, JobState, TargetOptions
from qorch.engine import registry


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
    assert handle["parameter_sets"] == 0
    assert json.loads(json.dumps(handle)) == handle


def test_a_single_job_runs_in_job_mode() -> None:
    (only,) = _requests(1)
    handle = runtime.submit(only, devices.fake_backend("fake_manila"))
    assert handle["batch_id"] is None
    assert not runtime._batches


def test_parameter_sets_go_as_one_pub_and_come_back_one_counts_per_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """submit → handle → status → result, re-attaching from the handle (the job is kept here:
    in local testing mode the SDK has no service to look it up from)."""
    import math

    from qiskit.circuit import Parameter
    from qorch_ibm import sampling

    runs: list[list[Any]] = []
    jobs: dict[str, Any] = {}
    make_sampler = sampling.make_sampler

    def keeping_sampler(*args: Any, **kwargs: Any) -> Any:
        sampler = make_sampler(*args, **kwargs)
        run = sampler.run

        def run_and_keep(pubs: Any, **options: Any) -> Any:
            runs.append(list(pubs))
            job = run(runs[-1], **options)
            jobs[str(job.job_id())] = job
            return job

        sampler.run = run_and_keep
        return sampler

    monkeypatch.setattr(sampling, "make_sampler", keeping_sampler)
    monkeypatch.setattr(runtime, "_job", lambda handle: jobs[handle["job_id"]])

    circuit = QuantumCircuit(2, name="ry2")
    circuit.ry(Parameter("b"), 0)  # "b" on qubit 0: columns (a, b) differ from qubit order
    circuit.ry(Parameter("a"), 1)
    circuit.measure_all()
    (plain,) = _requests(1)
    rows = ((math.pi, 0.0), (0.0, math.pi), (math.pi, math.pi), (0.0, 0.0))
    payload = registry.load("ibm").translate(circuit, "fake_manila", TargetOptions(), seed=1)
    request = dataclasses.replace(
        plain, payload=payload, parameter_values=rows, token="tok-sets", shots=400
    )
    handle = runtime.submit(request, devices.fake_backend("fake_manila"))
    assert handle["parameter_sets"] == 4
    handle = json.loads(json.dumps(handle))  # as the state store keeps it

    (pub,) = runs[0]  # one Sampler call, one PUB: the circuit and a row per set
    (columns, values), *_ = pub[1].items()
    assert [p.name for p in columns] == ["a", "b"] and values.shape == (4, 2)

    provider = registry.load("ibm")
    deadline = time.monotonic() + 60
    while not provider.status(handle).state.final:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert provider.status(handle).state is JobState.DONE
    results = provider.result(handle)
    assert isinstance(results, list) and len(results) == 4
    tops = [max(counts, key=lambda key: counts[key]) for counts in results]
    assert tops == ["10", "01", "11", "00"]  # a on qubit 1 (clbit 1), b on qubit 0
    assert all(sum(counts.values()) == 400 for counts in results)

    # a handle from before parameter sets (no "parameter_sets") still gives one Counts
    old = runtime.submit(plain, devices.fake_backend("fake_manila"))
    del old["parameter_sets"]
    counts = runtime.result_from(jobs[old["job_id"]].result(), old)
    assert isinstance(counts, dict) and max(counts, key=lambda key: counts[key]) == "01"
