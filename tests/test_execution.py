"""The core's one execution path (issue 10, item 3): local devices of every provider run in
qorch's local workers, cloud devices at their providers, and handles of older qorch
versions are still read.

Old handles are written here by hand, in the forms older versions stored: the
``local`` provider's ``{"job_id", "dir"}``, the ``ibm`` provider's fake-backend
handles (``"kind": "local"``, ``"backend"``, ``"parameter_sets"``), the
``braket`` provider's LocalSimulator handles (``"kind": "local"``), with
absolute or relative ``dir``. Their job directories are written by hand too,
finished, so no worker runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from qorch.contract.errors import CancelUnsupportedError, ProviderError
from qorch.contract.provider import (
    Handle,
    JobRequest,
    JobState,
    JobStatus,
    Result,
    TargetOptions,
)
from qorch.engine import execution, registry
from qorch.local import LocalProvider
from qorch.testing import ProviderConformance, bell_circuit


class Untouchable(LocalProvider):
    """A provider that fails the test if asked about a job: local jobs are the core's."""

    name: ClassVar[str] = "untouchable"

    def device_is_local(self, name: str) -> bool:
        return name != "cloud"

    def submit(self, request: JobRequest) -> Handle:
        raise AssertionError("the provider was asked to submit a local job")

    def recover(self, request: JobRequest) -> Handle | None:
        raise AssertionError("the provider was asked to recover a local job")

    def status(self, handle: Handle) -> JobStatus:
        raise AssertionError(f"the provider was asked about {handle}")

    def result(self, handle: Handle) -> Result:
        raise AssertionError(f"the provider was asked for the result of {handle}")

    def cancel(self, handle: Handle) -> None:
        raise AssertionError(f"the provider was asked to cancel {handle}")


class Cloud(LocalProvider):
    """A cloud provider (device ``statevector``, not local) that runs each job at once, in
    process, and keeps its counts; ``recover`` finds a job only if ``remembers``."""

    name: ClassVar[str] = "cloud"
    remembers: ClassVar[bool] = True

    def __init__(self) -> None:
        self.jobs: dict[str, Result] = {}
        self.calls: list[str] = []

    def device_is_local(self, name: str) -> bool:
        return False

    def submit(self, request: JobRequest) -> Handle:
        self.calls.append("submit")
        self.jobs[request.token] = self.execute(request)
        return {"job_id": request.token, "kind": "cloud"}

    def recover(self, request: JobRequest) -> Handle | None:
        self.calls.append("recover")
        if self.remembers and request.token in self.jobs:
            return {"job_id": request.token, "kind": "cloud"}
        return None

    def status(self, handle: Handle) -> JobStatus:
        self.calls.append("status")
        return JobStatus(JobState.DONE)

    def result(self, handle: Handle) -> Result:
        self.calls.append("result")
        return self.jobs[handle["job_id"]]

    def cancel(self, handle: Handle) -> None:
        self.calls.append("cancel")
        raise CancelUnsupportedError("finished")


class Forgetful(Cloud):
    """A cloud provider whose ``recover`` never finds the job it was given."""

    name: ClassVar[str] = "forgetful"
    remembers: ClassVar[bool] = False


class CloudSuite(ProviderConformance):
    """The conformance suite on the test providers above (not collected: no Test prefix)."""

    provider_name = "cloud"
    device = "statevector"
    shots = 100


def make_request(workdir: Path, queue_delay_s: float = 0.0) -> JobRequest:
    """A Bell job on device ``statevector`` (each test provider's)."""
    options = TargetOptions(extra={"queue_delay_s": queue_delay_s} if queue_delay_s else {})
    payload = LocalProvider().translate(bell_circuit(), "statevector", options, seed=1)
    return JobRequest(
        device="statevector",
        payload=payload,
        shots=100,
        seed=7,
        token="qorch-exec-0000",
        options=options,
        workdir=workdir,
    )


def finished_job(state: Path, token: str, counts: Any) -> Path:
    """A finished local job directory, as a worker leaves it, under ``state/jobs``."""
    directory = state / "jobs" / token
    directory.mkdir(parents=True)
    (directory / "request.json").write_text(json.dumps({"provider": "ibm", "token": token}))
    (directory / "result.json").write_text(json.dumps({"counts": counts, "seconds": 0.1}))
    return directory


# the conformance suite's recover test ----------------------------------------


def test_recover_test_fails_a_provider_whose_recover_finds_nothing(tmp_path: Path) -> None:
    """Regression: the conformance test passed vacuously when ``recover`` returned None."""
    with pytest.raises(AssertionError, match="no trace of a job"):
        CloudSuite().test_recover_finds_the_submitted_job(Forgetful(), tmp_path)


def test_recover_test_passes_a_provider_that_finds_its_job(tmp_path: Path) -> None:
    provider = Cloud()
    CloudSuite().test_recover_finds_the_submitted_job(provider, tmp_path)
    assert provider.calls[:2] == ["submit", "recover"]


# routing --------------------------------------------------------------------------


@pytest.mark.detached_workers  # a job still queued or running
def test_a_local_device_never_reaches_its_provider(tmp_path: Path) -> None:
    """Submit, recover, status, cancel and result of a local device's job are the core's,
    for any provider; the handle has the one local form."""
    provider = Untouchable()
    request = make_request(tmp_path / "jobs", queue_delay_s=30)
    handle = execution.submit(provider, request)
    assert handle == {
        "job_id": request.token,
        "local": True,
        "dir": str((tmp_path / "jobs" / request.token).resolve()),
        "provider": "untouchable",
        "device": "statevector",
        "parameter_sets": 0,
    }
    assert execution.recover(provider, request) == handle
    assert execution.status(provider, handle).state in (JobState.QUEUED, JobState.RUNNING)
    execution.cancel(provider, handle)
    assert execution.status(provider, handle).state is JobState.CANCELLED
    finished = finished_job(tmp_path / "state", "qorch-done", {"00": 3})
    with pytest.raises(CancelUnsupportedError, match="already finished"):
        execution.cancel(provider, {"job_id": "qorch-done", "local": True, "dir": str(finished)})


def test_a_cloud_device_goes_to_its_provider(tmp_path: Path) -> None:
    provider = Cloud()
    request = make_request(tmp_path / "jobs")
    handle = execution.submit(provider, request)
    assert execution.recover(provider, request) == handle
    assert execution.status(provider, handle).state is JobState.DONE
    assert sum(execution.result(provider, handle).values()) == 100  # type: ignore[union-attr]
    with pytest.raises(CancelUnsupportedError):
        execution.cancel(provider, handle)
    assert provider.calls == ["submit", "recover", "status", "result", "cancel"]
    assert not (tmp_path / "jobs").exists(), "no local job was created"
    assert execution.portable_handle(handle, tmp_path) == handle
    assert execution.resolve_handle(handle, tmp_path) == handle


def test_a_local_job_the_provider_refuses_is_never_created(tmp_path: Path) -> None:
    class Refusing(Untouchable):
        def check_request(self, request: JobRequest) -> None:
            raise ProviderError("refused")

    with pytest.raises(ProviderError, match="refused"):
        execution.submit(Refusing(), make_request(tmp_path / "jobs"))
    assert not (tmp_path / "jobs" / "qorch-exec-0000").exists()


# handles of older qorch versions ---------------------------------------------------


OLD_LOCAL_HANDLES = {
    "local, absolute": {"job_id": "TOKEN", "dir": "/gone/project/.qorch/jobs/TOKEN"},
    "local, relative": {"job_id": "TOKEN", "dir": "jobs/TOKEN"},
    "ibm fake backend": {
        "job_id": "TOKEN",
        "dir": "/gone/project/.qorch/jobs/TOKEN",
        "kind": "local",
        "backend": "fake_manila",
        "parameter_sets": 0,
    },
    "ibm fake backend, before parameter sets": {
        "job_id": "TOKEN",
        "dir": "/gone/project/.qorch/jobs/TOKEN",
        "kind": "local",
        "backend": "fake_manila",
    },
    "braket local": {"job_id": "TOKEN", "dir": "/gone/project/.qorch/jobs/TOKEN", "kind": "local"},
}


@pytest.mark.parametrize("form", sorted(OLD_LOCAL_HANDLES))
def test_old_local_handles_are_read_by_the_core(form: str, tmp_path: Path) -> None:
    """A project moved since an older qorch stored the handle: the job is found under the
    state directory by its token, answered by the core (never the provider)."""
    state = tmp_path / "moved" / ".qorch"
    token = "qorch-20250101-000000-abc123-0000"
    directory = finished_job(state, token, {"00": 60, "11": 40})
    stored = json.loads(json.dumps(OLD_LOCAL_HANDLES[form]).replace("TOKEN", token))
    assert execution.is_local(stored)
    live = execution.resolve_handle(stored, state)
    assert Path(live["dir"]) == directory
    provider = Untouchable()
    assert execution.status(provider, live).state is JobState.DONE
    assert execution.result(provider, live) == {"00": 60, "11": 40}
    with pytest.raises(CancelUnsupportedError, match="already finished"):
        execution.cancel(provider, live)
    assert execution.restart(live) is None
    portable = execution.portable_handle(live, state)
    assert portable["dir"] == f"jobs/{token}"
    assert {k: v for k, v in portable.items() if k != "dir"} == {
        k: v for k, v in stored.items() if k != "dir"
    }


def test_an_old_absolute_handle_of_a_project_not_moved_is_used_as_it_is(tmp_path: Path) -> None:
    state = tmp_path / ".qorch"
    directory = finished_job(state, "qorch-here", {"1": 5})
    stored = {"job_id": "qorch-here", "dir": str(directory), "kind": "local"}
    assert execution.resolve_handle(stored, tmp_path / "elsewhere")["dir"] == str(directory)


@pytest.mark.parametrize(
    "handle",
    [
        {"job_id": "ibm-job", "kind": "runtime", "backend": "ibm_torino", "num_clbits": 2},
        {"job_id": "arn:aws:braket:task/1", "kind": "aws", "region": "us-east-1"},
        {"job_id": "x", "local": False, "dir": "jobs/x"},
    ],
)
def test_cloud_handles_are_not_local(handle: Handle) -> None:
    assert not execution.is_local(handle)
    assert execution.resolve_handle(handle, Path("/nowhere")) == handle


def test_a_local_result_must_match_the_parameter_sets_its_handle_recorded(
    tmp_path: Path,
) -> None:
    """Moved from the ibm provider into the core: now checked for every provider."""
    state = tmp_path / ".qorch"
    finished_job(state, "qorch-sets", [{"0": 5}, {"1": 5}])
    handle = {"job_id": "qorch-sets", "local": True, "dir": "jobs/qorch-sets"}
    live = execution.resolve_handle({**handle, "parameter_sets": 2}, state)
    assert execution.result(Untouchable(), live) == [{"0": 5}, {"1": 5}]
    with pytest.raises(ProviderError, match=r"returned 2 result\(s\); it ran 3 parameter set"):
        execution.result(Untouchable(), {**live, "parameter_sets": 3})
    with pytest.raises(ProviderError, match=r"returned 2 result\(s\); it ran 0 parameter set"):
        execution.result(Untouchable(), {**live, "parameter_sets": 0})
    no_sets = {k: v for k, v in live.items() if k != "parameter_sets"}
    assert execution.result(Untouchable(), no_sets) == [{"0": 5}, {"1": 5}]  # trusted


def test_the_worker_asks_the_jobs_provider_to_execute(tmp_path: Path, monkeypatch: Any) -> None:
    """The detached worker calls the provider named in the job's request (in process here)."""
    from qorch.engine import localjob, worker

    calls: list[str] = []

    class Recording(Untouchable):
        def execute(self, request: JobRequest) -> Result:
            calls.append(request.token)
            return {"00": request.shots}

    monkeypatch.setattr(localjob, "_spawn", lambda directory, attempt: None)
    monkeypatch.setattr(registry, "load", lambda name: Recording())
    handle = execution.submit(Recording(), make_request(tmp_path / "jobs"))
    assert worker.run(Path(handle["dir"])) == 0
    assert calls == ["qorch-exec-0000"]
    assert execution.result(Recording(), handle) == {"00": 100}


def _job(idx: int, status: str, handle: dict[str, Any] | None) -> Any:
    from qorch.store.records import JobRecord

    return JobRecord(
        run_id="r", idx=idx, circuit="c", target="t", shots=1, payload="p", token=f"t{idx}",
        status=status, handle=handle, message="", submitted=None, finished=None, result_file=None,
    )  # fmt: skip


def test_waiting_on_local_workers_polls_every_tenth_of_a_second(monkeypatch: Any) -> None:
    """The run ends soon after the last local result lands: no pause grows past 0.1 s
    while only local workers run (it grew to poll_s, adding up to 2 s to a local run);
    a cloud job's pause still grows by half up to poll_s."""
    from qorch.engine import jobs as run_jobs

    local = {"job_id": "a", "dir": "jobs/a", "local": True}
    cloud = {"job_id": "b", "local": False}
    polls = iter(range(12))
    slept: list[float] = []

    def refresh(ctx: Any) -> list[Any]:
        n = next(polls)
        if n == 11:
            return [_job(0, "done", local), _job(1, "done", cloud)]
        return [_job(0, "running", local), _job(1, "done" if n < 6 else "running", cloud)]

    monkeypatch.setattr(run_jobs, "refresh", refresh)
    monkeypatch.setattr(run_jobs.time, "sleep", slept.append)
    assert run_jobs.wait(object(), timeout_s=None, poll_s=2.0)  # type: ignore[arg-type]
    assert slept[:6] == [0.1] * 6, slept
    assert slept[6:] == pytest.approx([0.15, 0.225, 0.3375, 0.50625, 0.759375]), slept
