"""Against the real IBM Quantum service: skipped unless QISKIT_IBM_TOKEN is set.

Looking devices up is free. Tests that run a job on a QPU use paid (or quota)
QPU time, so they also need ``QORCH_IBM_SUBMIT=1``.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import pytest

from qorch.contract.errors import CancelUnsupportedError
from qorch.contract.provider import JobRequest, JobState, Provider, TargetOptions
from qorch.engine import registry
from qorch.testing import bell_circuit

pytestmark = [
    pytest.mark.cloud,
    pytest.mark.skipif(not os.environ.get("QISKIT_IBM_TOKEN"), reason="needs QISKIT_IBM_TOKEN"),
]
submits = pytest.mark.skipif(
    os.environ.get("QORCH_IBM_SUBMIT") != "1", reason="uses QPU time: set QORCH_IBM_SUBMIT=1"
)


@pytest.fixture(scope="module")
def provider() -> Provider:
    return registry.load("ibm")


@pytest.fixture(scope="module")
def qpu() -> str:
    from qorch_ibm.service import connect, service_call

    with service_call("finding the least busy QPU"):
        return str(connect().least_busy(operational=True, simulator=False).name)


def _request(provider: Provider, device: str, tmp_path: Path, shots: int = 100) -> JobRequest:
    payload = provider.translate(bell_circuit(), device, TargetOptions(), seed=1)
    return JobRequest(
        device=device,
        payload=payload,
        shots=shots,
        seed=1,
        token=f"qorch-cloud-test-{uuid.uuid4().hex[:12]}",
        tags={"qorch-run": "cloud-test"},
        workdir=tmp_path,
    )


def test_a_real_device_is_described_translated_and_priced(provider: Provider, qpu: str) -> None:
    assert provider.credentials().found
    info = provider.device(qpu)
    assert not info.local and not info.simulator and info.num_qubits >= 100
    assert info.price is not None and info.price.per_second_usd > 0
    payload = provider.translate(bell_circuit(), qpu, TargetOptions(), seed=1)
    assert payload.two_qubit_gates >= 1
    cost = provider.estimate_cost(qpu, payload, 1000)
    assert 0 < cost.usd < 20 and "QPU usage" in cost.basis


def test_recover_finds_nothing_for_an_unused_token(
    provider: Provider, qpu: str, tmp_path: Path
) -> None:
    assert provider.recover(_request(provider, qpu, tmp_path)) is None


@submits
def test_a_bell_job_round_trip_on_a_qpu(provider: Provider, qpu: str, tmp_path: Path) -> None:
    request = _request(provider, qpu, tmp_path)
    handle = provider.submit(request)
    found = provider.recover(request)
    assert found is not None and found["job_id"] == handle["job_id"]
    deadline = time.monotonic() + 3600
    while not (status := provider.status(handle)).state.final:
        assert time.monotonic() < deadline, "the QPU queue took more than an hour"
        time.sleep(10)
    assert status.state is JobState.DONE, status.message
    counts = provider.result(handle)
    assert sum(counts.values()) == 100
    assert counts.get("00", 0) + counts.get("11", 0) > 80
    with pytest.raises(CancelUnsupportedError, match="already finished"):
        provider.cancel(handle)


@submits
def test_a_queued_job_can_be_cancelled(provider: Provider, qpu: str, tmp_path: Path) -> None:
    handle = provider.submit(_request(provider, qpu, tmp_path))
    try:
        provider.cancel(handle)
    except CancelUnsupportedError:
        pytest.skip("the job finished before it could be cancelled")
    assert provider.status(handle).state is JobState.CANCELLED
