"""The one exception hierarchy of qorch, and the process exit codes.

Every error a user can cause (a bad plan, an unknown device, a refused budget,
an unreachable provider) is a :class:`QorchError`. The CLI prints its message
as one line on stderr and exits with its ``exit_code``; any other exception
is a bug and keeps its traceback.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in the README and relied on by CI and cron."""

    OK = 0
    ERROR = 1  # qorch error: bad plan, provider failure, budget refused
    USAGE = 2  # bad command-line usage
    PENDING = 3  # submitted, not finished yet: run again later to collect
    JOBS_FAILED = 4  # the run finished, but some jobs failed or were cancelled
    CHECKS_FAILED = 5  # the run finished, and a check of the plan's checks: list failed
    INTERRUPTED = 130  # Ctrl-C


class QorchError(Exception):
    """Base class of every error a user can cause or meet; the CLI prints one line."""

    exit_code: ExitCode = ExitCode.ERROR

    def __init__(self, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        if self.location:
            return f"{self.location}: {self.message}"
        return self.message


class UsageError(QorchError):
    """The command line itself is wrong (a missing argument, a conflicting flag)."""

    exit_code = ExitCode.USAGE


class PlanError(QorchError):
    """The plan file is malformed or names something that does not exist."""


class CircuitError(PlanError):
    """A circuit cannot be loaded or built (missing or malformed QASM, bad generator input)."""


class CapabilityError(QorchError):
    """A target cannot run a circuit: too many qubits, an unsupported gate."""


class BudgetError(QorchError):
    """The plan would exceed its shot or cost budget; nothing was submitted."""


class ProviderError(QorchError):
    """A provider failed or refused a request."""


class UnknownProviderError(ProviderError):
    """No provider plugin of that name is installed."""


class UnknownDeviceError(ProviderError):
    """The provider has no device of that name."""


class OptionError(ProviderError):
    """A target option is not accepted by the provider or device."""


class CredentialsError(ProviderError):
    """Credentials are missing, invalid or not authorised for the request."""


class NetworkError(ProviderError):
    """The provider's service could not be reached (DNS, connection, TLS, timeout)."""


class CancelUnsupportedError(ProviderError):
    """The job cannot be cancelled (already finished, or the provider has no cancel)."""


class StateError(QorchError):
    """The state store is missing, locked or does not hold the requested run."""


__all__ = [
    "BudgetError",
    "CancelUnsupportedError",
    "CapabilityError",
    "CircuitError",
    "CredentialsError",
    "ExitCode",
    "NetworkError",
    "OptionError",
    "PlanError",
    "ProviderError",
    "QorchError",
    "StateError",
    "UnknownDeviceError",
    "UnknownProviderError",
    "UsageError",
]
