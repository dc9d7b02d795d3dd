"""The IBM Quantum account: where credentials come from, and the one service per process.

Credentials are found the way qiskit-ibm-runtime finds them, in this order:

1. the environment: ``QISKIT_IBM_TOKEN`` (the IBM Cloud API key), with
   ``QISKIT_IBM_INSTANCE`` (instance CRN or name), ``QISKIT_IBM_CHANNEL``
   (``ibm_quantum_platform``, the default, or ``ibm_cloud``) and
   ``QISKIT_IBM_URL`` (API base URL) optional;
2. the account saved by ``QiskitRuntimeService.save_account`` in
   ``~/.qiskit/qiskit-ibm.json``.

Every call to the service goes through :func:`service_call`, which turns the
SDK's exceptions into qorch's (see :mod:`qorch_ibm.failures`) and keeps the
SDK's log lines and warnings off the terminal. Secrets are never returned,
logged or put into messages.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from qorch.contract.errors import CredentialsError, QorchError
from qorch.contract.provider import Credentials
from qorch_ibm import failures

TOKEN_VAR = "QISKIT_IBM_TOKEN"
ENV_VARS = ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_CHANNEL", "QISKIT_IBM_URL")
CHANNELS = ("ibm_quantum_platform", "ibm_cloud")
DEFAULT_URL = "https://cloud.ibm.com"  # the SDK's default; it derives the API and IAM hosts

_services: dict[str, Any] = {}


def account_file() -> Path:
    """Where ``QiskitRuntimeService.save_account`` keeps accounts: ``~/.qiskit/qiskit-ibm.json``."""
    return Path.home() / ".qiskit" / "qiskit-ibm.json"


def find_credentials() -> Credentials:
    """Whether credentials exist and where (never the secret). Reads no network."""
    found, source, detail = _locate()
    return Credentials(found, source, detail if found else f"{detail}; {failures.HOW_TO_SET}")


def secrets() -> list[str]:
    """Every token this process could send, so that messages can be scrubbed of them."""
    found = [os.environ.get(TOKEN_VAR, "")]
    with contextlib.suppress(OSError, ValueError):
        found += [str(a.get("token", "")) for a in _saved_accounts(account_file()).values()]
    return [secret for secret in found if secret]


def service_url() -> str:
    """The base URL the service is reached at (for messages)."""
    if os.environ.get(TOKEN_VAR):
        return os.environ.get("QISKIT_IBM_URL") or DEFAULT_URL
    with contextlib.suppress(OSError, ValueError):
        accounts = _saved_accounts(account_file())
        name = _default_account(accounts)
        if name is not None:
            return str(accounts[name].get("url") or DEFAULT_URL)
    return DEFAULT_URL


@contextlib.contextmanager
def service_call(action: str) -> Iterator[None]:
    """Run SDK calls quietly; re-raise their failures as qorch errors.

    ``action`` says what was being done ("looking up ibm_fez") for the message.
    Raises NetworkError, CredentialsError or ProviderError; other exceptions
    (bugs) pass through unchanged.
    """
    sdk_logger = logging.getLogger("qiskit_ibm_runtime")
    level = sdk_logger.level
    sdk_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except QorchError:
        raise
    except Exception as error:
        if not failures.is_service_failure(error):
            raise  # a bug: keep its traceback
        raise failures.classify(error, action, service_url(), secrets()) from None
    finally:
        sdk_logger.setLevel(level)


def connect() -> Any:
    """The process's QiskitRuntimeService for the credentials found now.

    Raises CredentialsError when there are none, NetworkError when the
    service cannot be reached, CredentialsError when it refuses them.
    """
    found, _, reason = _locate()
    if not found:
        raise CredentialsError(
            f"no IBM Quantum credentials ({reason}); to use IBM devices, {failures.HOW_TO_SET}"
        )
    key = _fingerprint()
    if key not in _services:
        with service_call("connecting to IBM Quantum"):
            from qiskit_ibm_runtime import QiskitRuntimeService

            _services[key] = QiskitRuntimeService(filename=str(account_file()))
    return _services[key]


def _locate() -> tuple[bool, str, str]:
    """(found, source, detail or why not), as the SDK would find the account."""
    if os.environ.get(TOKEN_VAR):
        return True, f"environment ({TOKEN_VAR})", _env_detail()
    path = account_file()
    shown = _display(path)
    if not path.is_file():
        return False, "", f"none in the environment or {shown}"
    try:
        accounts = _saved_accounts(path)
    except (OSError, ValueError) as error:
        return False, shown, f"cannot read {shown}: {type(error).__name__}"
    name = _default_account(accounts)
    if name is None:
        return False, shown, f"no usable account in {shown}"
    channel = accounts[name]["channel"]
    instance = "instance set" if accounts[name].get("instance") else "no instance saved"
    return True, f"saved account '{name}' in {shown}", f"{channel}, {instance}"


def _fingerprint() -> str:
    """Identifies the account configuration (hashed: the key holds no secret)."""
    path = account_file()
    mtime = path.stat().st_mtime_ns if path.is_file() else 0
    parts = [os.environ.get(var, "") for var in (*ENV_VARS, "IAM_URL")] + [str(path), str(mtime)]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _saved_accounts(path: Path) -> dict[str, dict[str, Any]]:
    """Accounts in the SDK's account file usable by this SDK (token set, current channel)."""
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return {
        name: account
        for name, account in data.items()
        if isinstance(account, dict) and account.get("token") and account.get("channel") in CHANNELS
    }


def _default_account(accounts: dict[str, dict[str, Any]]) -> str | None:
    """The saved account the SDK picks when none is named, as ``AccountManager.get`` does."""
    for name, account in accounts.items():
        if account.get("is_default_account"):
            return name
    channel = os.environ.get("QISKIT_IBM_CHANNEL") or CHANNELS[0]
    default_names = {CHANNELS[0]: "default-ibm-quantum-platform", CHANNELS[1]: "default-ibm-cloud"}
    of_channel = [name for name, account in accounts.items() if account["channel"] == channel]
    if default_names.get(channel) in of_channel:
        return default_names[channel]
    if of_channel:
        return of_channel[-1]
    for name in default_names.values():
        if name in accounts:
            return name
    return None


def _env_detail() -> str:
    channel = os.environ.get("QISKIT_IBM_CHANNEL") or CHANNELS[0]
    if os.environ.get("QISKIT_IBM_INSTANCE"):
        instance = "QISKIT_IBM_INSTANCE set"
    else:
        instance = "QISKIT_IBM_INSTANCE not set: the SDK picks one of your instances"
    custom = os.environ.get("QISKIT_IBM_URL")
    url = f", URL {failures.origin(custom)}" if custom else ""
    return f"{channel}, {instance}{url}"


def _display(path: Path) -> str:
    """``path`` with the home directory shown as ``~``."""
    with contextlib.suppress(ValueError):
        return str(Path("~") / path.relative_to(Path.home()))
    return str(path)
