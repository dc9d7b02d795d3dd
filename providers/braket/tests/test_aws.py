"""AWS execution against stubbed Braket, S3 and STS clients (botocore Stubber), and real errors."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.response import StreamingBody
from braket.ir.openqasm import Program
from qorch_braket import aws

from qorch.contract.errors import (
    CancelUnsupportedError,
    CredentialsError,
    NetworkError,
    ProviderError,
)
from qorch.contract.provider import JobState, Provider
from qorch.testing import bell_circuit, bit_order_circuit


def create_params(bk: Any, request: Any, bucket: str | None = None) -> dict[str, Any]:
    """The CreateQuantumTask parameters the provider must send for ``request``."""
    return {
        "clientToken": request.token,
        "deviceArn": bk.FORTE_ARN,
        "action": Program(source=request.payload.data.decode()).json(),
        "shots": request.shots,
        "outputS3Bucket": bucket or bk.BUCKET,
        "outputS3KeyPrefix": "qorch-tasks",
        "tags": {**request.tags, "qorch-token": request.token},
    }


def test_create_sends_client_token_tags_and_program(
    provider: Provider, stubs: Any, bk: Any
) -> None:
    request = bk.make_request(provider, bit_order_circuit(), "ionq_forte1", s3_bucket=bk.BUCKET)
    params = create_params(bk, request)  # the expected clientToken is qorch's job token
    for _ in range(3):  # AWS answers a repeated clientToken with the task it created first
        stubs.braket.add_response("create_quantum_task", {"quantumTaskArn": bk.TASK_ARN}, params)
    first = provider.submit(request)
    retried = provider.submit(request)  # e.g. a retry after a lost response: same token
    recovered = provider.recover(request)  # after a crash: same token again
    stubs.done()
    assert first == retried == recovered
    assert first["job_id"] == bk.TASK_ARN and first["kind"] == "aws"
    assert first["region"] == "us-east-1" and stubs.regions == ["us-east-1"] * 3
    assert first["qubit_clbits"] == [[0, 2], [1, 0]] and first["num_clbits"] == 3
    assert json.loads(json.dumps(first)) == first


def test_recover_reissues_create_with_the_same_token(
    provider: Provider, stubs: Any, bk: Any
) -> None:
    request = bk.make_request(provider, bell_circuit(), "ionq_forte1", s3_bucket=bk.BUCKET)
    stubs.braket.add_response(
        "create_quantum_task", {"quantumTaskArn": bk.TASK_ARN}, create_params(bk, request)
    )
    handle = provider.recover(request)
    stubs.done()
    assert handle is not None and handle["job_id"] == bk.TASK_ARN


def test_default_bucket_is_the_sdk_default(provider: Provider, stubs: Any, bk: Any) -> None:
    request = bk.make_request(provider, bell_circuit(), "ionq_forte1")
    bucket = "amazon-braket-us-east-1-123456789012"
    stubs.sts.add_response(
        "get_caller_identity",
        {
            "UserId": "AIDAQORCH",
            "Account": "123456789012",
            "Arn": "arn:aws:iam::123456789012:user/q",
        },
    )
    stubs.s3.add_response("create_bucket", {"Location": "/" + bucket}, {"Bucket": bucket})
    stubs.braket.add_response(
        "create_quantum_task", {"quantumTaskArn": bk.TASK_ARN}, create_params(bk, request, bucket)
    )
    provider.submit(request)
    stubs.done()


@pytest.mark.parametrize(
    ("braket_state", "state"),
    [
        ("CREATED", JobState.QUEUED),
        ("QUEUED", JobState.QUEUED),
        ("RUNNING", JobState.RUNNING),
        ("CANCELLING", JobState.RUNNING),
        ("COMPLETED", JobState.DONE),
        ("FAILED", JobState.FAILED),
        ("CANCELLED", JobState.CANCELLED),
    ],
)
def test_status_mapping(
    provider: Provider, stubs: Any, bk: Any, braket_state: str, state: JobState
) -> None:
    reason = "Device calibration failed" if braket_state == "FAILED" else None
    stubs.braket.add_response(
        "get_quantum_task", bk.task_record(braket_state, reason), bk.get_task_params()
    )
    status = provider.status({"job_id": bk.TASK_ARN, "kind": "aws", "region": "us-east-1"})
    stubs.done()
    assert status.state is state
    assert braket_state in status.message
    if reason:
        assert reason in status.message
    if braket_state == "QUEUED":
        assert "position 7" in status.message


def test_failed_task_is_never_resubmitted(provider: Provider, stubs: Any, bk: Any) -> None:
    request = bk.make_request(provider, bell_circuit(), "ionq_forte1", s3_bucket=bk.BUCKET)
    stubs.braket.add_response(
        "create_quantum_task", {"quantumTaskArn": bk.TASK_ARN}, create_params(bk, request)
    )
    handle = provider.submit(request)
    failed = bk.task_record("FAILED", "Execution error on the QPU")
    for _ in range(3):
        stubs.braket.add_response("get_quantum_task", failed, bk.get_task_params())
    assert provider.status(handle).state is JobState.FAILED
    assert provider.status(handle).message.endswith("Execution error on the QPU")
    with pytest.raises(ProviderError, match="FAILED"):
        provider.result(handle)
    stubs.done()  # one create only: any further create would have found no stubbed answer


def results_json(bk: Any, measured_qubits: list[int], rows: list[list[int]]) -> bytes:
    from braket.task_result import AdditionalMetadata, GateModelTaskResult, TaskMetadata

    result = GateModelTaskResult(
        measurements=rows,
        measuredQubits=measured_qubits,
        taskMetadata=TaskMetadata(id=bk.TASK_ARN, shots=len(rows), deviceId=bk.FORTE_ARN),
        additionalMetadata=AdditionalMetadata(action=Program(source="OPENQASM 3.0;")),
    )
    return result.json().encode()


@pytest.mark.parametrize(("measured_qubits", "row"), [([1, 0], [0, 1]), ([0, 1], [1, 0])])
def test_result_reattaches_by_arn_and_normalises(
    provider: Provider, stubs: Any, bk: Any, measured_qubits: list[int], row: list[int]
) -> None:
    request = bk.make_request(provider, bit_order_circuit(), "ionq_forte1", s3_bucket=bk.BUCKET)
    stubs.braket.add_response(
        "create_quantum_task", {"quantumTaskArn": bk.TASK_ARN}, create_params(bk, request)
    )
    handle = json.loads(json.dumps(provider.submit(request)))  # through the state store
    done = bk.task_record("COMPLETED")
    for _ in range(3):
        stubs.braket.add_response("get_quantum_task", done, bk.get_task_params())
    body = results_json(bk, measured_qubits, [row] * 6)
    key = f"{done['outputS3Directory']}/results.json"
    stubs.s3.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentLength": len(body)},
        {"Bucket": bk.BUCKET, "Key": key},
    )
    assert provider.status(handle).state is JobState.DONE
    assert provider.result(handle) == {"100": 6}  # qubit 0 (flipped) -> clbit 2
    stubs.done()


def test_cancel_a_queued_task(provider: Provider, stubs: Any, bk: Any) -> None:
    stubs.braket.add_response("get_quantum_task", bk.task_record("QUEUED"), bk.get_task_params())
    stubs.braket.add_response(
        "cancel_quantum_task",
        {"quantumTaskArn": bk.TASK_ARN, "cancellationStatus": "CANCELLING"},
        {"quantumTaskArn": bk.TASK_ARN},  # botocore adds its own clientToken afterwards
    )
    provider.cancel({"job_id": bk.TASK_ARN, "kind": "aws", "region": "us-east-1"})
    stubs.done()


def test_cancel_a_finished_task_says_so(provider: Provider, stubs: Any, bk: Any) -> None:
    stubs.braket.add_response("get_quantum_task", bk.task_record("COMPLETED"), bk.get_task_params())
    with pytest.raises(CancelUnsupportedError, match=r"already finished.*COMPLETED"):
        provider.cancel({"job_id": bk.TASK_ARN, "kind": "aws", "region": "us-east-1"})
    stubs.braket.add_response("get_quantum_task", bk.task_record("RUNNING"), bk.get_task_params())
    stubs.braket.add_client_error(
        "cancel_quantum_task", "ConflictException", "Task is already completing"
    )
    with pytest.raises(CancelUnsupportedError, match="already completing"):
        provider.cancel({"job_id": bk.TASK_ARN, "kind": "aws", "region": "us-east-1"})
    stubs.done()


def test_refused_credentials_are_credentials_errors(
    provider: Provider, stubs: Any, bk: Any
) -> None:
    stubs.braket.add_client_error(
        "get_quantum_task", "UnrecognizedClientException", "The security token is invalid", 403
    )
    with pytest.raises(CredentialsError) as raised:
        provider.status({"job_id": bk.TASK_ARN, "kind": "aws", "region": "us-east-1"})
    assert bk.FAKE_SECRET not in str(raised.value) and bk.FAKE_KEY_ID not in str(raised.value)
    stubs.braket.add_client_error("get_quantum_task", "AccessDeniedException", "not allowed", 403)
    with pytest.raises(CredentialsError, match="AccessDenied"):
        provider.status({"job_id": bk.TASK_ARN, "kind": "aws", "region": "us-east-1"})


def test_missing_credentials(provider: Provider, no_aws: None, monkeypatch: Any, bk: Any) -> None:
    monkeypatch.setenv("BRAKET_ENDPOINT", "http://127.0.0.1:9")
    request = bk.make_request(provider, bell_circuit(), "ionq_forte1", s3_bucket=bk.BUCKET)
    with pytest.raises(CredentialsError, match="credentials"):
        provider.submit(request)
    report = provider.credentials()
    assert not report.found and "AWS_ACCESS_KEY_ID" in report.detail


def test_unreachable_aws_is_a_network_error(
    provider: Provider, aws_env: None, monkeypatch: Any, bk: Any
) -> None:
    monkeypatch.setenv("BRAKET_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on port 9
    monkeypatch.setattr(aws, "MAX_ATTEMPTS", 1)
    monkeypatch.setattr(aws, "CONNECT_TIMEOUT_S", 1.0)
    handle = {"job_id": bk.TASK_ARN, "kind": "aws", "region": "us-east-1"}
    with pytest.raises(NetworkError, match="cannot reach AWS"):
        provider.status(handle)
    request = bk.make_request(provider, bell_circuit(), "ionq_forte1", s3_bucket=bk.BUCKET)
    with pytest.raises(NetworkError):
        provider.submit(request)


def test_credentials_report_never_shows_the_secret(
    provider: Provider, aws_env: None, bk: Any
) -> None:
    report = provider.credentials()
    assert report.found and report.source == "environment"
    assert "region us-east-1" in report.detail
    text = repr(report) + json.dumps(report.__dict__)
    assert bk.FAKE_SECRET not in text and bk.FAKE_KEY_ID not in text


def test_unknown_arn_is_described_by_get_device(provider: Provider, stubs: Any) -> None:
    arn = "arn:aws:braket:eu-north-1::device/qpu/aqt/Ibex-Q1"
    capabilities = {
        "action": {"braket.ir.openqasm.program": {"supportedOperations": ["prx", "rz", "cz", "x"]}},
        "paradigm": {"qubitCount": 12, "nativeGateSet": ["prx", "xx"],
                     "connectivity": {"fullyConnected": True, "connectivityGraph": {}}},
    }  # fmt: skip
    stubs.braket.add_response(
        "get_device",
        {
            "deviceArn": arn, "deviceName": "Ibex-Q1", "providerName": "AQT", "deviceType": "QPU",
            "deviceStatus": "ONLINE", "deviceCapabilities": json.dumps(capabilities),
        },
        {"deviceArn": arn},
    )  # fmt: skip
    provider.check_device(arn)  # cheap: syntax only
    device = provider.device(arn)
    assert device.num_qubits == 12 and not device.simulator
    assert device.native_gates == ("r", "rxx")
    assert stubs.regions == ["eu-north-1"]
    stubs.done()
