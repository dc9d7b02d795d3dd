"""Amazon Braket over the network: sessions, tasks, device look-ups, errors.

Tasks are created with the Braket client's ``create_quantum_task`` directly,
so that qorch's idempotency token is the request's ``clientToken``: a
retried or re-issued call returns the task the first call created instead
of creating (and billing) a second one. Nothing here ever resubmits a task
that failed. Credentials come from the standard AWS chain (environment,
``~/.aws``, SSO, roles) through botocore; qorch never handles, prints or
stores the secret.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import (
    CancelUnsupportedError,
    CredentialsError,
    NetworkError,
    ProviderError,
)
from qorch.contract.provider import Credentials, JobState, JobStatus

if TYPE_CHECKING:
    from braket.aws import AwsSession

CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
MAX_ATTEMPTS = 3  # botocore attempts per call; safe for create: the clientToken is fixed
DEFAULT_REGION = "us-east-1"
TOKEN_TAG = "qorch-token"
FINISHED = frozenset({"COMPLETED", "FAILED", "CANCELLED"})

_CREDENTIAL_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "AuthFailure", "ExpiredToken",
    "ExpiredTokenException", "IncompleteSignature", "InvalidAccessKeyId",
    "InvalidClientTokenId", "InvalidSignatureException", "MissingAuthenticationToken",
    "SignatureDoesNotMatch", "UnauthorizedOperation", "UnrecognizedClientException",
})  # fmt: skip
_METHODS = {
    "env": "environment",
    "shared-credentials-file": "shared credentials file",
    "config-file": "AWS config file",
    "sso": "AWS IAM Identity Center (SSO)",
    "assume-role": "assumed role",
    "assume-role-with-web-identity": "web identity token",
    "iam-role": "EC2 instance role",
    "container-role": "container role",
    "custom-process": "credential process",
}


@contextmanager
def aws_errors(action: str) -> Iterator[None]:
    """Turn botocore failures during ``action`` into qorch errors.

    Raises NetworkError (AWS unreachable), CredentialsError (missing, invalid
    or unauthorised credentials) or ProviderError (any other refusal).
    """
    from botocore import exceptions as bx

    try:
        yield
    except (bx.ConnectionError, bx.HTTPClientError) as error:
        raise NetworkError(f"{action}: cannot reach AWS: {error}") from None
    except (
        bx.NoCredentialsError, bx.PartialCredentialsError, bx.CredentialRetrievalError,
        bx.TokenRetrievalError, bx.SSOError, bx.ProfileNotFound,
    ) as error:  # fmt: skip
        raise CredentialsError(f"{action}: {error}") from None
    except bx.ClientError as error:
        code, message = error_code(error), error_message(error)
        if code in _CREDENTIAL_CODES:
            raise CredentialsError(
                f"{action}: AWS refused the credentials ({code}: {message})"
            ) from None
        raise ProviderError(f"{action}: {code}: {message}") from None


def error_code(error: Any) -> str:
    """The AWS error code of a botocore ClientError."""
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: Any) -> str:
    """The AWS error message of a botocore ClientError (with a program set's first failure)."""
    message = str(error.response.get("Error", {}).get("Message", ""))
    failures = error.response.get("programSetValidationFailures")
    if failures:
        message += f" (first of {len(failures)} program-set validation failures: {failures[0]})"
    return message


def client_config(
    connect_timeout_s: float | None = None, read_timeout_s: float | None = None,
    max_attempts: int | None = None,
) -> Any:  # fmt: skip
    """A botocore Config with qorch's timeouts (seconds) and retry budget."""
    from botocore.config import Config

    return Config(
        connect_timeout=connect_timeout_s or CONNECT_TIMEOUT_S,
        read_timeout=read_timeout_s or READ_TIMEOUT_S,
        retries={"mode": "standard", "total_max_attempts": max_attempts or MAX_ATTEMPTS},
    )


def make_session(region: str) -> AwsSession:
    """An AwsSession for ``region`` whose Braket client uses qorch's timeouts and retries.

    ``BRAKET_ENDPOINT`` overrides the Braket endpoint, as in the Braket SDK.
    """
    import boto3
    from braket.aws import AwsSession

    boto_session = boto3.Session(region_name=region)
    client = boto_session.client(
        "braket", config=client_config(), endpoint_url=os.environ.get("BRAKET_ENDPOINT")
    )
    return AwsSession(boto_session=boto_session, braket_client=client)


def default_region() -> str:
    """The region configured in the AWS chain (env, profile), else us-east-1."""
    import botocore.session

    return str(botocore.session.get_session().get_config_variable("region") or DEFAULT_REGION)


def client_token(token: str) -> str:
    """qorch's job token as a Braket clientToken (1–64 characters; longer ones are hashed)."""
    if 0 < len(token) <= 64 and re.fullmatch(r"[\w.:-]+", token):
        return token
    return "qorch-" + hashlib.sha256(token.encode()).hexdigest()[:58]


def create_task(
    session: AwsSession, *, device_arn: str, action: str, shots: int, token: str,
    tags: Mapping[str, str], bucket: str | None, prefix: str,
) -> str:  # fmt: skip
    """Create one quantum task and return its ARN; idempotent per ``token``.

    ``action`` is the task's action JSON: an OpenQASM program, or a program
    set (then ``shots`` is the total over its executables, as Braket counts
    them). ``bucket`` None means the SDK's default ``amazon-braket-<region>-<account>``.
    """
    with aws_errors(f"creating a Braket task on {device_arn}"):
        try:
            output_bucket = bucket or session.default_bucket()
        except ValueError as error:  # the default bucket name belongs to another account
            raise ProviderError(f"{error} Set the target option 's3_bucket'.") from None
        response = session.braket_client.create_quantum_task(
            clientToken=client_token(token),
            deviceArn=device_arn,
            action=action,
            shots=shots,
            outputS3Bucket=output_bucket,
            outputS3KeyPrefix=prefix,
            tags={
                _tag(key, 128): _tag(value, 256)
                for key, value in {**tags, TOKEN_TAG: token}.items()
            },
        )
    return str(response["quantumTaskArn"])


def _tag(text: str, limit: int) -> str:
    """``text`` made a valid AWS tag key or value (allowed characters, length limit)."""
    return re.sub(r"[^\w .:/=+@-]", "_", str(text))[:limit] or "_"


def task_metadata(session: AwsSession, arn: str) -> dict[str, Any]:
    """The task's GetQuantumTask record, re-attaching to it by ARN."""
    from braket.aws import AwsQuantumTask

    task = AwsQuantumTask(arn, aws_session=session, quiet=True)
    with aws_errors(f"reading Braket task {arn}"):
        return dict(task.metadata())


STATES = {
    "CREATED": JobState.QUEUED,
    "QUEUED": JobState.QUEUED,
    "RUNNING": JobState.RUNNING,
    "CANCELLING": JobState.RUNNING,
    "COMPLETED": JobState.DONE,
    "FAILED": JobState.FAILED,
    "CANCELLED": JobState.CANCELLED,
}


def job_status(metadata: Mapping[str, Any]) -> JobStatus:
    """A JobStatus from a GetQuantumTask record: Braket's state, failure reason, queue place."""
    state = str(metadata.get("status", ""))
    if state not in STATES:
        raise ProviderError(f"Braket reported an unknown task state '{state}'")
    message = state
    if state == "FAILED":
        message = f"FAILED: {metadata.get('failureReason') or 'no reason given'}"
    queue = metadata.get("queueInfo") or {}
    if state == "QUEUED" and queue.get("position") not in (None, "None"):
        message = f"QUEUED: position {queue['position']} ({queue.get('queuePriority', 'Normal')})"
    return JobStatus(STATES[state], message)


def task_counts(session: AwsSession, arn: str) -> tuple[dict[str, int], list[int]]:
    """Raw counts (Braket's bit order) and measured qubits of a COMPLETED task.

    Raises ProviderError if the task did not complete.
    """
    from braket.aws import AwsQuantumTask

    task = AwsQuantumTask(arn, aws_session=session, quiet=True)
    with aws_errors(f"fetching the result of Braket task {arn}"):
        _check_completed(arn, task.metadata())
        result = task.result()
    counts = {str(key): int(value) for key, value in result.measurement_counts.items()}
    return counts, [int(qubit) for qubit in result.measured_qubits]


def program_set_counts(
    session: AwsSession, arn: str, shots_per_executable: int
) -> list[tuple[dict[str, int], list[int]]]:
    """Raw counts and measured qubits of every executable of a COMPLETED program-set task.

    Executables come in program order, and within a program by ``inputsIndex``
    (row order). The result files are read from S3 with ``session``'s client
    (the SDK's own reader opens a default-region client): ``results.json``
    under the task's output directory, then the program and executable files
    it names relative to its ``s3Location`` (or the same documents inline).
    Raises ProviderError if the task did not complete or an executable failed.
    """
    from braket.aws import AwsQuantumTask

    task = AwsQuantumTask(arn, aws_session=session, quiet=True)
    with aws_errors(f"fetching the result of Braket task {arn}"):
        metadata = task.metadata()
        _check_completed(arn, metadata)
        bucket = str(metadata["outputS3Bucket"])
        directory = str(metadata["outputS3Directory"])
        document = _parse(session.retrieve_s3_object_body(bucket, f"{directory}/results.json"))
        if document.s3Location:
            bucket, directory = document.s3Location
        out: list[tuple[dict[str, int], list[int]]] = []
        for program in document.programResults:
            key = None
            if isinstance(program, str):
                key = f"{directory}/{program}"
                program = _parse(session.retrieve_s3_object_body(bucket, key))
            results = []
            for executable in program.executableResults:
                if isinstance(executable, str):
                    base = key.removesuffix("/results.json") if key else directory
                    executable = _parse(
                        session.retrieve_s3_object_body(bucket, f"{base}/{executable}")
                    )
                results.append(executable)
            results.sort(key=lambda found: int(found.inputsIndex))
            out.extend(_executable_counts(arn, found, shots_per_executable) for found in results)
    return out


def _check_completed(arn: str, metadata: Mapping[str, Any]) -> None:
    state = metadata.get("status")
    if state != "COMPLETED":
        reason = metadata.get("failureReason") or ""
        raise ProviderError(f"Braket task {arn} is {state}, no result: {reason}".rstrip(": "))


def _parse(text: str) -> Any:
    from braket.schema_common import BraketSchemaBase

    try:
        return BraketSchemaBase.parse_raw_schema(text)
    except (ValueError, TypeError, KeyError) as error:
        raise ProviderError(f"unreadable Braket result document: {error}") from None


def _executable_counts(arn: str, result: Any, shots: int) -> tuple[dict[str, int], list[int]]:
    """Counts and measured qubits of one executable result; ProviderError for a failure."""
    from braket.tasks.measurement_utils import (
        measurement_counts_from_measurements,
        measurements_from_measurement_probabilities,
    )

    failure = getattr(result, "failureMetadata", None)
    if failure is not None:
        raise ProviderError(
            f"Braket task {arn}: parameter set {result.inputsIndex} failed "
            f"({failure.category.value}): {failure.failureReason}"
        )
    if result.measurements:
        import numpy as np

        counts = measurement_counts_from_measurements(np.asarray(result.measurements, dtype=int))
    elif result.measurementProbabilities:
        counts = measurement_counts_from_measurements(
            measurements_from_measurement_probabilities(result.measurementProbabilities, shots)
        )
    else:
        raise ProviderError(
            f"Braket task {arn}: parameter set {result.inputsIndex} has no measurements"
        )
    qubits = [int(qubit) for qubit in result.measuredQubits or []]
    return {str(key): int(value) for key, value in counts.items()}, qubits


def cancel_task(session: AwsSession, arn: str) -> None:
    """Ask Braket to cancel a task. Raises CancelUnsupportedError if it has finished."""
    from botocore.exceptions import ClientError

    state = task_metadata(session, arn).get("status")
    if state in FINISHED:
        raise CancelUnsupportedError(f"Braket task {arn} has already finished ({state})")
    with aws_errors(f"cancelling Braket task {arn}"):
        try:
            session.cancel_quantum_task(arn)
        except ClientError as error:
            if error_code(error) in ("ConflictException", "ValidationException"):
                raise CancelUnsupportedError(
                    f"Braket refused to cancel task {arn}: {error_message(error)}"
                ) from None
            raise


def device_capabilities(session: AwsSession, arn: str) -> dict[str, Any]:
    """GetDevice for ``arn``: name, type, status and the parsed capabilities."""
    with aws_errors(f"looking up Braket device {arn}"):
        info = session.braket_client.get_device(deviceArn=arn)
    capabilities = info.get("deviceCapabilities", "{}")
    if isinstance(capabilities, str):
        capabilities = json.loads(capabilities)
    return {**info, "deviceCapabilities": capabilities}


def pricing_client() -> Any:
    """A Price List API client (us-east-1), with short timeouts and one attempt."""
    import boto3

    return boto3.Session().client(
        "pricing", region_name="us-east-1", config=client_config(3.0, 10.0, 1)
    )


def price_list_items(client: Any, families: tuple[str, ...]) -> list[str]:
    """Every AmazonBraket price-list item (JSON strings) of the given product families."""
    items: list[str] = []
    with aws_errors("reading Braket prices from the AWS Price List API"):
        for family in families:
            kwargs: dict[str, Any] = {
                "ServiceCode": "AmazonBraket",
                "FormatVersion": "aws_v1",
                "Filters": [{"Type": "TERM_MATCH", "Field": "productFamily", "Value": family}],
                "MaxResults": 100,
            }
            while True:
                response = client.get_products(**kwargs)
                items.extend(response.get("PriceList", []))
                if not response.get("NextToken"):
                    break
                kwargs["NextToken"] = response["NextToken"]
    return items


def credentials_report() -> Credentials:
    """Whether the AWS credential chain finds credentials, and from where (never the secret)."""
    import botocore.session
    from botocore import exceptions as bx

    session = botocore.session.Session()
    try:
        found = session.get_credentials()
    except (bx.BotoCoreError, ValueError) as error:
        return Credentials(found=False, source="", detail=f"AWS credential chain failed: {error}")
    if found is None:
        return Credentials(
            found=False,
            detail="no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "AWS_PROFILE, or run 'aws configure' / 'aws sso login'",
        )
    source = _METHODS.get(str(found.method), str(found.method))
    parts = []
    profile = session.get_config_variable("profile")
    if profile:
        parts.append(f"profile {profile}")
    region = session.get_config_variable("region")
    parts.append(f"region {region}" if region else f"no region set (using {DEFAULT_REGION})")
    return Credentials(found=True, source=source, detail=", ".join(parts))
