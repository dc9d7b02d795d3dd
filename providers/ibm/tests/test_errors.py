"""A network failure is reported as a network failure, a refused key as a credentials error.

These drive the real SDK against local endpoints: a closed port, an unresolvable
host, and small HTTP servers answering 401/403/404. Nothing leaves this machine.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from qorch_ibm.failures import classify, scrub

from qorch.contract.errors import CredentialsError, NetworkError, ProviderError
from qorch.contract.provider import Provider
from qorch.engine import registry

SECRET = "qorch-test-secret-4f9c2a7e1b"
"""A fake API key: tests check that it never appears in output or messages."""
Responder = Callable[[str, str], tuple[int, dict]]
CRN = "crn:v1:bluemix:public:quantum-computing:us-east:a/0123456789abcdef0123456789abcdef::"
RUNTIME_HANDLE = {
    "job_id": "d1abc",
    "kind": "runtime",
    "backend": "ibm_torino",
    "batch_id": None,
    "num_clbits": 2,
    "registers": [["c", [0, 1]]],
}
SETS_HANDLE = {**RUNTIME_HANDLE, "job_id": "d1sets", "parameter_sets": 3}
"""A handle of a job with three parameter sets: re-attaching to it fails the same way."""


@pytest.fixture
def provider() -> Provider:
    return registry.load("ibm")


def _use_token(monkeypatch: pytest.MonkeyPatch, url: str, iam_url: str | None = None) -> None:
    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    monkeypatch.setenv("QISKIT_IBM_URL", url)
    if iam_url is not None:
        monkeypatch.setenv("IAM_URL", iam_url)


def test_no_credentials_is_a_credentials_error(provider: Provider, isolated_account: Path) -> None:
    found = provider.credentials()
    assert not found.found
    assert "QISKIT_IBM_TOKEN" in found.detail and "save_account" in found.detail
    for call in (lambda: provider.device("ibm_torino"), lambda: provider.status(RUNTIME_HANDLE)):
        with pytest.raises(CredentialsError, match=r"QISKIT_IBM_TOKEN.*save_account"):
            call()
    assert not (isolated_account / ".qiskit").exists()  # nothing written on the user's behalf


def test_refused_connection_is_a_network_error(
    provider: Provider, isolated_account: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    _use_token(monkeypatch, url, iam_url=url)
    started = time.monotonic()
    with pytest.raises(NetworkError) as caught:
        provider.device("ibm_torino")
    assert str(caught.value) == f"cannot reach IBM Quantum at {url}: connection refused"
    assert not isinstance(caught.value, CredentialsError)
    assert time.monotonic() - started < 15


def test_unresolvable_host_is_a_network_error(
    provider: Provider, isolated_account: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _use_token(monkeypatch, "https://cloud.qorch-test.invalid")  # IAM host derived by the SDK
    with pytest.raises(
        NetworkError,
        match=r"cannot reach IBM Quantum at https://iam\.cloud\.qorch"
        r"-test\.invalid: DNS lookup failed",
    ) as caught:
        provider.device("ibm_fez")
    assert SECRET not in str(caught.value)


def test_rejected_api_key_is_a_credentials_error(
    provider: Provider,
    isolated_account: Path,
    http_server: Callable[[Responder], str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    iam = http_server(
        lambda method, path: (
            401,
            {"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."},
        )
    )
    _use_token(monkeypatch, iam, iam_url=iam)
    with pytest.raises(CredentialsError) as caught:
        provider.device("ibm_torino")
    message = str(caught.value)
    assert "HTTP 401" in message and "Provided API key could not be found" in message
    assert "QISKIT_IBM_TOKEN" in message and SECRET not in message


def _fake_iam_token() -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    now = int(time.time())
    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part({'iat': now, 'exp': now + 3600})}.c2ln"


@pytest.fixture
def runtime_api(
    isolated_account: Path, http_server: Callable[[Responder], str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[int], list[str]]]:
    """Point the SDK's runtime REST client at a local server answering ``status`` to job calls.

    IAM issues a token; QISKIT_FUNCTIONS_EXPERIMENTAL and an ``/experimental`` URL are the
    SDK's own switches to skip IBM Cloud's instance search and use the URL as the API base.
    """
    seen: list[str] = []

    def start(status: int) -> list[str]:
        def answer(method: str, path: str) -> tuple[int, dict]:
            seen.append(f"{method} {path}")
            if path.startswith("/identity/token"):
                token = _fake_iam_token()
                return 200, {
                    "access_token": token,
                    "refresh_token": "r",
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "expiration": int(time.time()) + 3600,
                }
            return status, {"errors": [{"message": f"answer {status}", "code": status}]}

        url = http_server(answer)
        _use_token(monkeypatch, f"{url}/experimental", iam_url=url)
        monkeypatch.setenv("QISKIT_IBM_INSTANCE", CRN)
        monkeypatch.setenv("QISKIT_FUNCTIONS_EXPERIMENTAL", "1")
        return seen

    yield start


@pytest.mark.parametrize("status", [401, 403])
def test_refusal_by_the_runtime_api_is_a_credentials_error(
    provider: Provider, runtime_api: Callable[[int], list[str]], status: int
) -> None:
    seen = runtime_api(status)
    for call in (provider.status, provider.result, provider.cancel):
        for handle in (RUNTIME_HANDLE, SETS_HANDLE):
            with pytest.raises(CredentialsError, match=f"HTTP {status}") as caught:
                call(handle)
            assert SECRET not in str(caught.value)
    assert any(line.startswith("GET /experimental/jobs/d1abc") for line in seen)
    assert any(line.startswith("GET /experimental/jobs/d1sets") for line in seen)


def test_an_unknown_job_is_a_provider_error(
    provider: Provider, runtime_api: Callable[[int], list[str]]
) -> None:
    runtime_api(404)
    with pytest.raises(ProviderError, match="IBM Quantum has no job d1abc") as caught:
        provider.status(RUNTIME_HANDLE)
    assert not isinstance(caught.value, CredentialsError | NetworkError)


def test_a_timeout_inside_the_sdks_own_session_is_a_network_error() -> None:
    from qiskit_ibm_runtime.api.session import RetrySession

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        session = RetrySession(
            f"http://127.0.0.1:{port}", retries_total=0, retries_connect=0, timeout=(0.5, 0.3)
        )
        with pytest.raises(Exception) as caught:
            session.get("/jobs")
        threading.Thread(target=silent.close).start()
    assert type(caught.value).__name__ == "RequestsApiError"  # the SDK's wrapper, status -1
    error = classify(caught.value, "reading a job", "https://cloud.ibm.com")
    assert isinstance(error, NetworkError)
    assert str(error) == f"cannot reach IBM Quantum at http://127.0.0.1:{port}: timed out"


def test_credentials_report_the_source_never_the_token(
    provider: Provider, isolated_account: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qiskit_ibm_runtime import QiskitRuntimeService

    path = isolated_account / ".qiskit" / "qiskit-ibm.json"
    QiskitRuntimeService.save_account(
        token=SECRET, instance=CRN, filename=str(path), set_as_default=True
    )
    saved = provider.credentials()
    assert saved.found
    assert (
        saved.source == "saved account 'default-ibm-quantum-platform' in ~/.qiskit/qiskit-ibm.json"
    )
    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    from_env = provider.credentials()
    assert from_env.found and from_env.source == "environment (QISKIT_IBM_TOKEN)"
    for found in (saved, from_env):
        assert SECRET not in json.dumps([found.source, found.detail])


def test_the_saved_account_is_what_connects(
    provider: Provider, isolated_account: Path, closed_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qiskit_ibm_runtime import QiskitRuntimeService

    url = f"http://127.0.0.1:{closed_port}"
    QiskitRuntimeService.save_account(
        token=SECRET,
        url=url,
        filename=str(isolated_account / ".qiskit" / "qiskit-ibm.json"),
        set_as_default=True,
    )
    monkeypatch.setenv("IAM_URL", url)
    with pytest.raises(NetworkError, match=f"at {url}: connection refused"):
        provider.device("ibm_torino")


def test_scrub_masks_secrets_and_key_like_values() -> None:
    text = f"POST /token apikey={SECRET} Authorization: Bearer abcdefghijklmnopqrstuvwxyz {SECRET}"
    cleaned = scrub(text, [SECRET])
    assert SECRET not in cleaned and "abcdefghijklmnopqrstuvwxyz" not in cleaned
    assert scrub("Please check that you are using a valid API token.") == (
        "Please check that you are using a valid API token."
    )
