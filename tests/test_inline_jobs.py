"""``QORCH_LOCAL_JOBS=inline``: local jobs run in the ``qorch`` process itself, through the
claim → execute → publish path a detached worker takes, and are judged alive by another
process while that ``qorch`` runs (never restarted under it: no second execution)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qorch.contract import settings
from qorch.contract.provider import JobRequest, JobState, TargetOptions
from qorch.engine import localjob, registry, workerproc
from qorch.testing import bell_circuit

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def bell_request(tmp_path: Path) -> JobRequest:
    provider = registry.load("local")
    options = TargetOptions()
    return JobRequest(
        device="statevector",
        payload=provider.translate(bell_circuit(), "statevector", options, seed=3),
        shots=200,
        seed=7,
        token=f"qorch-test-{time.time_ns()}",
        options=options,
        workdir=tmp_path / "jobs",
    )


@pytest.mark.parametrize(
    ("value", "inline"),
    [("inline", True), ("INLINE", True), ("detached", False), ("", False), ("x", False)],
)
def test_only_inline_runs_jobs_in_process(
    value: str, inline: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QORCH_LOCAL_JOBS", value)
    assert settings.local_jobs_inline() is inline


def test_an_inline_job_is_done_when_submit_returns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QORCH_LOCAL_JOBS", "inline")
    handle = localjob.submit(bell_request(tmp_path), "local")
    directory = Path(handle["dir"])
    assert localjob.status(handle).state is JobState.DONE
    counts = localjob.result(handle)
    assert sum(counts.values()) == 200 and set(counts) <= {"00", "11"}
    claim = json.loads((directory / "claim").read_text())
    assert claim["inline"] is True and claim["pid"] == os.getpid()
    assert not (directory / "spawn").exists()  # no worker process was started
    log = (directory / "worker.log").read_text()
    assert "runs the job inline" in log and log.count("result written") == 1


@linux_only
def test_an_inline_claim_of_a_live_qorch_is_alive_not_dead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen from another process while the inline ``qorch`` executes: running, so no death
    is recorded and nothing restarts the job (a second execution). Once that process is
    gone without a result, the job is a dead worker's, restarted as usual."""
    monkeypatch.setenv("QORCH_LOCAL_JOBS", "detached")
    request = bell_request(tmp_path)
    directory = localjob.job_dir(request)
    with localjob.batched_workers():
        handle = localjob.submit(request, "local")
        localjob._batch.clear()  # type: ignore[union-attr]  # no worker: we write the claim
    runner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        ident = workerproc.identify(runner.pid).to_record()
        (directory / "claim").write_text(json.dumps({**ident, "attempt": 1, "inline": True}))
        status = localjob.status(handle)
        assert status.state in (JobState.QUEUED, JobState.RUNNING), status
        assert localjob.restart(handle) is None
        assert not (directory / "attempts.json").exists()
    finally:
        runner.kill()
        runner.wait()
    status = localjob.status(handle)
    assert status.state is JobState.QUEUED and localjob.RESTART_PENDING in status.message, status
