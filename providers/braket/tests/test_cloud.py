"""A real round trip on Amazon SV1: runs only where AWS credentials exist (marked ``cloud``)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from qorch_braket import aws

from qorch.contract.provider import JobRequest, JobState, TargetOptions
from qorch.engine import registry
from qorch.testing import bit_order_circuit


@pytest.mark.cloud
def test_sv1_round_trip_in_qiskit_bit_order() -> None:
    if not aws.credentials_report().found:
        pytest.skip("no AWS credentials")
    provider: Any = registry.load("braket")
    options = TargetOptions()
    payload = provider.translate(bit_order_circuit(), "sv1", options, seed=1)
    request = JobRequest("sv1", payload, shots=10, seed=1, token=f"qorch-cloud-{time.time_ns()}",
                         options=options, tags={"qorch-run": "cloud-test"})  # fmt: skip
    handle = provider.submit(request)
    deadline = time.monotonic() + 600
    while not (status := provider.status(handle)).state.final:
        assert time.monotonic() < deadline, status
        time.sleep(2)
    assert status.state is JobState.DONE, status.message
    assert provider.result(handle) == {"100": 10}
