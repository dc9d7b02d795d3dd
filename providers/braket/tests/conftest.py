"""Fixtures for the Braket plugin's tests: an isolated AWS environment and stubbed clients.

Shared helpers and constants reach the tests through the ``bk`` fixture
(test modules cannot import conftest under ``--import-mode=importlib``).

AWS clients are real boto3 clients; ``botocore.stub.Stubber`` answers their
calls with responses validated against the service models, so nothing
leaves this machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from qorch_braket import aws, pricing

from qorch.contract.provider import JobRequest, Provider, TargetOptions
from qorch.engine import registry

FAKE_KEY_ID = "AKIAQORCHTESTKEY0001"
FAKE_SECRET = "qorch/test+secret+that+must+never+be+printed"
FORTE_ARN = "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1"
TASK_ARN = "arn:aws:braket:us-east-1:123456789012:quantum-task/2f1a9c6e-3b7d-4d6e-9c51-0a5b8e4f7d21"
BUCKET = "qorch-test-results"
_AWS_VARS = (
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI", "BRAKET_ENDPOINT", "AMZN_BRAKET_OUT_S3_BUCKET",
)  # fmt: skip


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An environment where the AWS credential chain finds nothing (and never asks EC2)."""
    for name in _AWS_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv(pricing.CACHE_ENV, str(tmp_path / "cache" / "braket-prices.json"))
    monkeypatch.delenv(pricing.REFRESH_ENV, raising=False)
    pricing.current_table.cache_clear()
    yield
    pricing.current_table.cache_clear()


@pytest.fixture
def aws_env(no_aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake static credentials in the environment (requests are signed, never sent)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@dataclass
class Stubs:
    """Stubbers for the Braket, S3 and STS clients of the session the provider gets."""

    braket: Any
    s3: Any
    sts: Any
    regions: list[str]

    def done(self) -> None:
        for stubber in (self.braket, self.s3, self.sts):
            stubber.assert_no_pending_responses()


@cache
def _service_models() -> Any:
    """One botocore loader for every test: each new session's loader parsed the Braket,
    S3 and STS service models again (about a second of every stubbed test's setup)."""
    from botocore.loaders import create_loader

    return create_loader()


def _boto3_session() -> Any:
    """A fresh boto3 session (credentials and configuration read from this test's
    environment) that reads service models through the shared loader."""
    import boto3
    import botocore.session

    core = botocore.session.get_session()
    loader = _service_models()
    core.register_component("data_loader", loader)
    session = boto3.Session(botocore_session=core, region_name="us-east-1")
    loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))  # boto3 appends its own
    return session


@pytest.fixture
def stubs(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Stubs:
    """Patch ``aws.make_session`` to hand out one AwsSession whose clients are stubbed."""
    from botocore.stub import Stubber
    from braket.aws import AwsSession

    boto_session = _boto3_session()
    session = AwsSession(boto_session=boto_session, braket_client=boto_session.client("braket"))
    s3 = boto_session.resource("s3")  # AwsSession reads results through an S3 resource
    monkeypatch.setattr(boto_session, "resource", lambda name, **_: s3)
    session._s3 = s3.meta.client
    session._sts = boto_session.client("sts")
    found = Stubs(Stubber(session.braket_client), Stubber(session._s3), Stubber(session._sts), [])
    for stubber in (found.braket, found.s3, found.sts):
        stubber.activate()

    def make_session(region: str) -> AwsSession:
        found.regions.append(region)
        return session

    monkeypatch.setattr(aws, "make_session", make_session)
    yield found
    for stubber in (found.braket, found.s3, found.sts):
        stubber.deactivate()


@pytest.fixture
def provider() -> Provider:
    return registry.load("braket")


def make_request(provider: Provider, circuit: Any, device: str, **extra: Any) -> JobRequest:
    """A JobRequest for ``circuit`` on ``device`` with qorch-like token and tags."""
    options = TargetOptions(extra=extra)
    return JobRequest(
        device=device,
        payload=provider.translate(circuit, device, options, seed=11),
        shots=100,
        seed=7,
        token="qorch-20261120-120000-abc123-0003",
        options=options,
        tags={"qorch-run": "20261120-120000-abc123", "qorch-plan": "tests"},
    )


def task_record(status: str, reason: str | None = None, arn: str = TASK_ARN) -> dict[str, Any]:
    """A GetQuantumTask response as Braket sends it."""
    record: dict[str, Any] = {
        "quantumTaskArn": arn,
        "status": status,
        "deviceArn": FORTE_ARN,
        "deviceParameters": "{}",
        "shots": 100,
        "outputS3Bucket": BUCKET,
        "outputS3Directory": "qorch-tasks/" + arn.rsplit("/", 1)[-1],
        "createdAt": datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc),
        "actionMetadata": {"actionType": "braket.ir.openqasm.program", "programCount": 1},
        "queueInfo": {
            "queue": "QUANTUM_TASKS_QUEUE",
            "position": "None",
            "queuePriority": "Normal",
        },
        "tags": {"qorch-token": "qorch-20261120-120000-abc123-0003"},
    }
    if status == "QUEUED":
        record["queueInfo"]["position"] = "7"
    if reason is not None:
        record["failureReason"] = reason
    return record


def get_task_params(arn: str = TASK_ARN) -> dict[str, Any]:
    """What AwsSession.get_quantum_task sends."""
    return {"quantumTaskArn": arn, "additionalAttributeNames": ["QueueInfo"]}


@pytest.fixture
def bk() -> SimpleNamespace:
    """The helpers and constants above, for tests."""
    return SimpleNamespace(
        make_request=make_request,
        task_record=task_record,
        get_task_params=get_task_params,
        FAKE_KEY_ID=FAKE_KEY_ID,
        FAKE_SECRET=FAKE_SECRET,
        FORTE_ARN=FORTE_ARN,
        TASK_ARN=TASK_ARN,
        BUCKET=BUCKET,
    )
