"""Turn qiskit-ibm-runtime's exceptions into qorch's: network, credentials, or provider.

The SDK often wraps a transport failure in an account error whose message
blames the token ("Unable to retrieve instances. Please check that you are
using a valid API token."). :func:`classify` walks the whole exception chain
(``__cause__`` and ``__context__``) and reports what really happened: an
unreachable service as :class:`~qorch.contract.errors.NetworkError`, an HTTP 401/403
as :class:`~qorch.contract.errors.CredentialsError`, anything else as
:class:`~qorch.contract.errors.ProviderError`. Every message is scrubbed of secrets.
"""

from __future__ import annotations

import re
import socket
import ssl
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from qorch.contract.errors import CredentialsError, NetworkError, ProviderError, QorchError

HOW_TO_SET = (
    "set QISKIT_IBM_TOKEN (an IBM Cloud API key) and QISKIT_IBM_INSTANCE (the instance CRN), "
    "or save an account once with "
    "QiskitRuntimeService.save_account(token=..., instance=..., set_as_default=True)"
)
_SECRET_PATTERNS = (
    # header forms first: "Bearer eyJ...", "apikey AbC..." (long values only)
    (re.compile(r"(?i)\b(bearer|apikey)\s+[A-Za-z0-9._\-]{16,}"), r"\1 ***"),
    # key=value and "key": "value" forms: apikey=..., "access_token": "...", token: ...
    (
        re.compile(
            r"(?i)\b(api[_-]?key|[a-z_]*token|authorization|password)"
            r"([\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+"
        ),
        r"\1\2***",
    ),
)


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception it was raised from or during, outermost first."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        pending.extend(a for a in current.args if isinstance(a, BaseException))
        reason = getattr(current, "reason", None)  # urllib3's MaxRetryError keeps it here
        if isinstance(reason, BaseException):
            pending.append(reason)


def is_service_failure(error: BaseException) -> bool:
    """True if ``error`` comes from the SDK or the transport, not from a bug.

    Qiskit and qiskit-ibm-runtime errors, ``requests``/``urllib3`` errors, IBM
    Cloud SDK API errors and OS-level network errors count, anywhere in the chain.
    """
    import requests
    import urllib3.exceptions
    from qiskit.exceptions import QiskitError

    families = (QiskitError, requests.RequestException, urllib3.exceptions.HTTPError, OSError)
    return any(
        isinstance(link, families) or type(link).__name__ == "ApiException"
        for link in exception_chain(error)
    )


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret, and anything that looks like a key or token, masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def classify(
    error: BaseException, action: str, service_url: str, secrets: Iterable[str] = ()
) -> QorchError:
    """The qorch error for ``error``, raised while ``action`` (e.g. "looking up ibm_fez").

    ``service_url`` is named when the failing request's own URL is unknown.
    """
    secrets = tuple(secrets)
    chain = list(exception_chain(error))
    network = _network_failure(chain)
    if network is not None:
        url, reason = network
        return NetworkError(
            scrub(f"cannot reach IBM Quantum at {url or service_url}: {reason}", secrets)
        )
    answered = _http_answer(chain)
    if answered is not None:
        status, said = answered
        detail = scrub(said, secrets).rstrip(".")
        if status in (401, 403):
            meaning = "rejected the credentials" if status == 401 else "refused access"
            return CredentialsError(
                f"IBM Quantum {meaning} (HTTP {status}) while {action}: {detail}. Check that "
                "the API key is current and that QISKIT_IBM_INSTANCE names an instance it can "
                f"use; to replace it, {HOW_TO_SET}"
            )
        return ProviderError(f"IBM Quantum answered HTTP {status} while {action}: {detail}")
    detail = scrub(_one_line(error), secrets)
    if _is_account_error(chain):
        return CredentialsError(
            f"IBM Quantum account problem while {action}: {detail}; {HOW_TO_SET}"
        )
    return ProviderError(f"IBM Quantum failed while {action}: {detail}")


def _network_failure(chain: list[BaseException]) -> tuple[str, str] | None:
    """(URL, reason) if a link of the chain is a transport failure, else None."""
    import requests
    import urllib3.exceptions

    failure: BaseException | None = None
    url = ""
    for link in chain:
        if isinstance(link, requests.RequestException) and link.response is not None:
            return None  # the server answered: not a network failure
        transport = isinstance(
            link,
            requests.ConnectionError
            | requests.Timeout
            | urllib3.exceptions.NewConnectionError
            | urllib3.exceptions.TimeoutError
            | urllib3.exceptions.ProtocolError
            | ssl.SSLError
            | socket.gaierror
            | ConnectionError
            | TimeoutError,
        )
        if transport and failure is None:
            failure = link
        request = getattr(link, "request", None)
        if not url and request is not None and getattr(request, "url", None):
            url = origin(str(request.url))
    if failure is None:
        return None
    return url, _reason(chain)


def _reason(chain: list[BaseException]) -> str:
    """A short human reason for a transport failure."""
    import requests
    import urllib3.exceptions

    for link in chain:
        if isinstance(link, ssl.SSLError | requests.exceptions.SSLError):
            return f"TLS handshake failed ({_innermost(chain)})"
    for link in chain:
        if isinstance(link, socket.gaierror | urllib3.exceptions.NameResolutionError):
            return f"DNS lookup failed ({_innermost(chain)})"
    for link in chain:
        if isinstance(link, ConnectionRefusedError):
            return "connection refused"
    for link in chain:
        if isinstance(link, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
            return "timed out"
    return _innermost(chain)


def _innermost(chain: list[BaseException]) -> str:
    return _one_line(chain[-1])


def _http_answer(chain: list[BaseException]) -> tuple[int, str] | None:
    """(HTTP status, what was said) from the outermost link that carries a status."""
    for link in chain:
        code = getattr(link, "status_code", None)
        if code is None:
            response = getattr(link, "response", None) or getattr(link, "http_response", None)
            code = getattr(response, "status_code", None)
        if type(link).__name__ == "IBMNotAuthorizedError":
            code = 401
        if isinstance(code, int) and code > 0:
            said = getattr(link, "message", None)
            return code, _one_line(said if isinstance(said, str) and said else link)
    return None


def _is_account_error(chain: list[BaseException]) -> bool:
    names = {"AccountNotFoundError", "InvalidAccountError", "IBMAccountError", "AccountsError"}
    return any(type(link).__name__ in names for link in chain)


def origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL: no path, query or credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}" if parts.scheme else url


def _one_line(error: BaseException | str) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 300 else text[:297] + "..."
