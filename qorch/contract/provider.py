"""The provider contract: what every backend plugin implements.

A provider is a plugin registered in the entry-point group ``qorch.providers``
(the built-in ``local`` provider is registered the same way). It lists
devices and their capabilities, translates a circuit into a device payload
(pure, no network) and estimates cost. Then, by where a device runs:

- a **local** device (:meth:`Provider.device_is_local`) only needs
  :meth:`Provider.execute`: run one job synchronously, in-process, and return
  its counts. qorch itself runs every local job in a detached worker process
  that calls it, so local jobs, like cloud jobs, survive the death of the
  process that submitted them, are re-attached to, restarted and cancelled
  the same way for every provider;
- a **cloud** device is the provider's own: :meth:`Provider.submit` returns a
  JSON-serialisable handle, from which alone :meth:`Provider.status`,
  :meth:`Provider.result` (counts in Qiskit's bit order) and
  :meth:`Provider.cancel` work; :meth:`Provider.recover` finds a job by its
  token after a crash. Handles are stored in the state store, so a later
  process can re-attach to a job from its handle.

Plugins import the contract only: this module, :mod:`qorch.contract.errors`
and :mod:`qorch.contract.payload` (or their re-exports ``qorch.provider``,
``qorch.errors``, ``qorch.payload``).
"""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from qorch.contract.errors import (
    CancelUnsupportedError,
    OptionError,
    ProviderError,
    UnknownDeviceError,
)

if TYPE_CHECKING:
    from qiskit import QuantumCircuit
    from qiskit.providers import BackendV2

Counts = dict[str, int]
"""Bitstring → count. Bitstrings cover every classical bit, in Qiskit's order
(clbit n-1 leftmost, clbit 0 rightmost), without spaces."""

Expectations = dict[str, Any]
"""A natively estimated job's result: ``{"expectations": [{"value", "std_error",
"shots"}, ...], "method": "..."}``, one entry per requested observable, in order
(``std_error`` 0 and ``shots`` 0: an exact value). See :func:`expectations_result`."""

Result = Counts | list[Counts] | Expectations
"""A job's result: one Counts, or one per parameter set when the request had
``parameter_values``, or Expectations when it had ``observables``."""

Handle = dict[str, Any]
"""A JSON-serialisable reference to a submitted job; always has ``job_id``."""

Observables = tuple[tuple[tuple[str, float], ...], ...]
"""Observables to estimate: each a sum of (Pauli string, coefficient) terms, one letter of
I/X/Y/Z per qubit of the circuit given to ``translate``, in Qiskit's order (rightmost
letter = qubit 0). A translated payload maps them through its own layout."""


@dataclass(frozen=True)
class Price:
    """A device's price model in US dollars, with where and when it was read."""

    per_task_usd: float = 0.0
    per_shot_usd: float = 0.0
    per_second_usd: float = 0.0
    as_of: str = ""
    source: str = ""


@dataclass(frozen=True)
class Device:
    """A device's capabilities, as far as the provider knows them offline."""

    provider: str
    name: str
    num_qubits: int
    simulator: bool
    native_gates: tuple[str, ...] = ()
    coupling: tuple[tuple[int, int], ...] | None = None
    max_shots: int | None = None
    exact: bool = False  # exact probabilities (statevector) available
    max_parameter_sets: int | None = None  # parameter sets per job; None: no limit
    max_total_shots: int | None = None  # shots summed over a job's parameter sets; None: no limit
    local: bool = False  # executes on this machine
    seedable: bool = True  # a job's seed makes its counts repeatable (simulators that take one)
    price: Price | None = None
    description: str = ""

    def sets_per_job(self, shots: int) -> int:
        """How many parameter sets of ``shots`` shots each one job can hold (at least 1)."""
        limit = self.max_parameter_sets if self.max_parameter_sets is not None else 1 << 62
        if self.max_total_shots is not None:
            limit = min(limit, self.max_total_shots // max(1, shots))
        return max(1, limit)

    @property
    def target(self) -> str:
        """The ``provider:device`` string users write in plans."""
        return f"{self.provider}:{self.name}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (coupling omitted: it can be large)."""
        data = asdict(self)
        data["target"] = self.target
        data["coupling_edges"] = len(self.coupling) if self.coupling is not None else None
        del data["coupling"]
        return data


@dataclass(frozen=True)
class TargetOptions:
    """Per-target options from the plan, handed to the provider."""

    optimization_level: int = 1
    noise: str | None = None  # "provider:device" whose noise model a simulator uses
    max_execution_time_s: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # provider-specific options


@dataclass(frozen=True)
class Payload:
    """A circuit translated for one device: the bytes that will be submitted.

    ``format`` is ``"qpy"`` (Qiskit's binary format) or ``"openqasm3"``.
    ``num_clbits`` and ``measured_clbits`` let results be normalised to the
    full classical register in Qiskit's bit order.
    """

    format: str
    data: bytes
    num_qubits: int
    num_clbits: int
    depth: int
    two_qubit_gates: int
    gate_counts: Mapping[str, int] = field(default_factory=dict)
    measured_clbits: tuple[int, ...] = ()

    @property
    def extension(self) -> str:
        """File extension for the payload in a bundle."""
        return {"qpy": "qpy", "openqasm3": "qasm"}.get(self.format, "bin")


@dataclass(frozen=True)
class Cost:
    """An estimated price in US dollars and how it was computed."""

    usd: float
    basis: str = ""


@dataclass(frozen=True)
class JobRequest:
    """Everything a provider needs to submit one job.

    ``token`` is qorch's idempotency token for the job: deterministic for a
    (run, job) pair, so a submission retried after a crash can be matched
    (Braket's client token, an IBM job tag, the local job directory name).
    ``parameter_values`` runs one parameterised payload for many parameter
    sets in one job (IBM: one Sampler PUB; Braket: a program set): one row per
    set, columns in the order of the translated circuit's ``parameters``
    (Qiskit's order: by name, vector elements by index). The result is then a
    list of Counts, one per row. ``observables`` asks a device whose provider
    :meth:`~Provider.estimates` for their expectation values instead of counts
    (the payload is then a circuit without measurements); the result is an
    :data:`Expectations`. ``workdir`` is where qorch keeps the
    directories of locally executed jobs. ``group`` (the run id) and
    ``group_size`` (how many jobs the run sends to this device) let a
    provider batch a run's jobs (IBM's Batch mode).
    """

    device: str
    payload: Payload
    shots: int
    seed: int
    token: str
    options: TargetOptions = field(default_factory=TargetOptions)
    tags: Mapping[str, str] = field(default_factory=dict)
    workdir: Path = Path(".qorch/jobs")
    group: str = ""
    group_size: int = 1
    parameter_values: tuple[tuple[float, ...], ...] = ()
    observables: Observables = ()

    @property
    def parameter_sets(self) -> int:
        """How many parameter sets the job runs (0: the payload has no parameters)."""
        return len(self.parameter_values)


class JobState(str, Enum):
    """Where a job is in its life; ``DONE``, ``FAILED`` and ``CANCELLED`` are final."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """True once the job can no longer change."""
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class JobStatus:
    """A job's state with the provider's own words about it."""

    state: JobState
    message: str = ""


@dataclass(frozen=True)
class Credentials:
    """Whether credentials were found, and from where (never the secret itself)."""

    found: bool
    source: str = ""
    detail: str = ""


class Provider(ABC):
    """A backend plugin. Subclasses set ``name`` and implement the abstract methods,
    :meth:`execute` for local devices, and :meth:`submit`, :meth:`status`,
    :meth:`result` (and :meth:`recover`, :meth:`cancel`) for cloud devices.

    Methods must not print; they raise :class:`qorch.contract.errors.QorchError`
    subclasses for anything a user can fix or meet (network, credentials).
    """

    name: ClassVar[str]
    local_options: ClassVar[frozenset[str]] = frozenset({"queue_delay_s"})

    @abstractmethod
    def device_names(self) -> list[str]:
        """Names of the devices this provider offers, cheaply (no SDK import if possible)."""

    @abstractmethod
    def device(self, name: str) -> Device:
        """Capabilities of one device. Raises UnknownDeviceError."""

    def devices(self) -> list[Device]:
        """Capabilities of every device this provider offers."""
        return [self.device(name) for name in self.device_names()]

    def known_qubits(self, name: str) -> int | None:
        """The device's qubits where known without importing a vendor SDK (``qorch validate``
        refuses a circuit wider than this); None where only the SDK or the cloud knows."""
        return None

    def check_device(self, name: str) -> None:
        """Raise UnknownDeviceError (with close matches) unless ``name`` is a device here."""
        names = self.device_names()
        if name in names:
            return
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownDeviceError(f"provider '{self.name}' has no device '{name}'{hint}")

    def check_options(self, device: str, options: TargetOptions) -> None:
        """Raise OptionError if an option is not accepted for ``device``."""
        allowed = self.local_options if self.device_is_local(device) else frozenset()
        for key in options.extra:
            if key not in allowed:
                known = ", ".join(sorted(allowed)) or "none"
                raise OptionError(
                    f"option '{key}' is not accepted by {self.name}:{device} (accepted: {known})"
                )
        if options.noise is not None:
            raise OptionError(f"{self.name}:{device} does not take a noise model")

    def device_is_local(self, name: str) -> bool:
        """True if the device executes on this machine (cheap; no SDK import): qorch then
        runs its jobs in local workers that call :meth:`execute`."""
        return False

    def unseedable_simulator(self, device: str) -> bool:
        """True if ``device`` is a simulator whose counts a seed cannot make repeatable
        (``qorch run`` warns a plan that sets one). Default: from :meth:`device`; a
        provider whose ``device`` is costly answers from what it knows cheaply."""
        info = self.device(device)
        return info.simulator and not info.seedable

    def warm_up(self, device: str, options: TargetOptions) -> None:
        """Import what :meth:`translate` and :meth:`execute` need for the local ``device``:
        ``qorch run`` starts a local worker before compiling and calls this there, so
        the vendor SDK loads while the plan compiles. Default: nothing."""
        return None

    def credentials(self) -> Credentials:
        """Whether credentials for the cloud service were found (local-only: always)."""
        return Credentials(found=True, source="not needed")

    @abstractmethod
    def translate(
        self, circuit: QuantumCircuit, device: str, options: TargetOptions, seed: int
    ) -> Payload:
        """Compile ``circuit`` for ``device``: pure and deterministic, no network.

        Raises CapabilityError if the device cannot run it.
        """

    def translate_for_estimation(
        self, circuit: QuantumCircuit, device: str, options: TargetOptions, seed: int
    ) -> Payload:
        """Compile a circuit without measurements for a job with ``observables`` (only
        called where :meth:`estimates` is True). Default: :meth:`translate`."""
        return self.translate(circuit, device, options, seed)

    def estimate_cost(
        self, device: str, payload: Payload, shots: int, parameter_sets: int = 0
    ) -> Cost:
        """Estimated price of one job: ``shots`` shots for each of ``parameter_sets`` sets
        (0: a payload without parameters, run once)."""
        price = self.device(device).price
        if price is None:
            return Cost(0.0, "free")
        usd = price.per_task_usd + price.per_shot_usd * shots * max(1, parameter_sets)
        return Cost(round(usd, 6), f"{price.source} ({price.as_of})".strip())

    def estimates(self, device: str, options: TargetOptions) -> bool:
        """True if jobs on ``device`` with these options may carry ``observables``: the
        device estimates them natively (an Estimator primitive, exact simulation) and
        returns :data:`Expectations`. qorch then sends it the circuit without
        measurements; otherwise it measures observables through basis circuits.
        The default: no native estimator."""
        return False

    def readout_noise(self, device: str, options: TargetOptions) -> bool:
        """True if counts from ``device`` with these options carry readout errors worth
        mitigating (qorch then runs readout calibration jobs for ``mitigation: {readout:
        m3}``); False makes readout mitigation a no-op. Default: every non-simulator."""
        return not self.device(device).simulator

    def check_request(self, request: JobRequest) -> None:
        """Raise CapabilityError if the job cannot run on its device (e.g. parameter sets
        that do not fit the payload or the device's limits). qorch calls it before it
        creates a local job; :meth:`submit` checks cloud jobs itself. The default accepts."""
        return None

    def execute(self, request: JobRequest) -> Result:
        """Run a job on a local device, synchronously and in this process: its counts in
        Qiskit's bit order (a list, one per parameter set, if it has ``parameter_values``).

        qorch calls it in a detached worker process, once per job, and records what it
        returns or raises. Not called for cloud devices.
        """
        raise UnknownDeviceError(f"{self.name}:{request.device} does not execute locally")

    def submit(self, request: JobRequest) -> Handle:
        """Submit one job to a cloud device and return its handle. Called once per job
        token; never for a local device (qorch runs those)."""
        raise UnknownDeviceError(f"provider '{self.name}' submits no jobs to {request.device}")

    def recover(self, request: JobRequest) -> Handle | None:
        """Find the job a crashed earlier ``submit`` of this request may have created.

        Returns its handle, or None if the provider has no trace of it (then
        it is safe to submit). A provider whose submission is idempotent by
        token (Braket's client token) may recover by submitting again. The
        default knows of no trace. Cloud devices only (qorch finds local jobs).
        """
        return None

    def status(self, handle: Handle) -> JobStatus:
        """A cloud job's current state (re-attaching from the handle alone)."""
        raise ProviderError(f"provider '{self.name}' has no job {handle.get('job_id')}")

    def result(self, handle: Handle) -> Result:
        """Counts of a finished cloud job in Qiskit's bit order (a list: one per parameter
        set).

        Only the handle is given, so a handle carries whatever normalising
        the counts needs (e.g. the payload's ``num_clbits``).
        """
        raise ProviderError(f"provider '{self.name}' has no job {handle.get('job_id')}")

    def cancel(self, handle: Handle) -> None:
        """Cancel a cloud job. Raises CancelUnsupportedError if it cannot."""
        raise CancelUnsupportedError(f"provider '{self.name}' cannot cancel jobs")

    def qiskit_backend(self, device: str) -> BackendV2:
        """A Qiskit backend modelling ``device`` (its target and noise), if the SDK has one."""
        raise UnknownDeviceError(f"{self.name}:{device} has no Qiskit backend model")


def normalise_counts(
    raw: Mapping[str, int], num_clbits: int, measured_clbits: tuple[int, ...] | None = None
) -> Counts:
    """Map counts to qorch's convention: every clbit, Qiskit order, no spaces.

    ``raw`` keys are either Qiskit-style (spaces between registers allowed,
    clbit 0 rightmost) when ``measured_clbits`` is None, or, when it is given,
    strings whose k-th character (left to right) is the value of clbit
    ``measured_clbits[k]`` — Braket's order. Unmeasured clbits read 0.
    """
    out: Counts = {}
    for key, count in raw.items():
        bits = key.replace(" ", "")
        if measured_clbits is not None:
            full = ["0"] * num_clbits
            for position, clbit in enumerate(measured_clbits):
                full[num_clbits - 1 - clbit] = bits[position]
            bits = "".join(full)
        bits = bits.zfill(num_clbits)
        out[bits] = out.get(bits, 0) + int(count)
    return dict(sorted(out.items()))


def unseen_variance_floor(bound: float, shots: int) -> float:
    """The least per-shot variance to report for a quantity within ±``bound`` measured on
    ``shots`` shots: when every shot agrees the sample variance is 0, a certainty no finite
    sample gives. As if the other extreme had Laplace's one-in-(N+2) chance: 4 B² p (1 − p),
    p = 1/(N+2) (an error of about 2B/N on the mean). Shared by every shot-based estimator."""
    chance = 1.0 / (shots + 2)
    return 4.0 * bound * bound * chance * (1.0 - chance)


def expectations_result(values: Any, std_errors: Any, shots: int, method: str) -> Expectations:
    """An :data:`Expectations` result from per-observable values and standard errors
    (sequences of floats; ``shots`` used for each, 0 for an exact value)."""
    rows = [{"value": float(value), "std_error": float(error), "shots": int(shots)}
            for value, error in zip(values, std_errors, strict=True)]  # fmt: skip
    return {"expectations": rows, "method": method}


def observables_from_json(data: Any) -> Observables:
    """:data:`Observables` from their JSON form (lists of ``[label, coefficient]`` lists)."""
    return tuple(tuple((str(label), float(c)) for label, c in terms) for terms in data or ())


def is_expectations(result: Any) -> bool:
    """True if ``result`` is an :data:`Expectations` (not counts)."""
    return isinstance(result, dict) and isinstance(result.get("expectations"), list)


def expectation_rows(result: Any) -> list[dict[str, Any]] | None:
    """The per-observable rows of an :data:`Expectations` result (None for counts)."""
    if not is_expectations(result):
        return None
    return [dict(row) for row in result["expectations"]]


def options_error(target: str, key: str, message: str) -> OptionError:
    """An OptionError for one option of one target."""
    return OptionError(f"{target}: option '{key}': {message}")


__all__ = [
    "Cost",
    "Counts",
    "Credentials",
    "Device",
    "Expectations",
    "Handle",
    "JobRequest",
    "JobState",
    "JobStatus",
    "Observables",
    "Payload",
    "Price",
    "Provider",
    "Result",
    "TargetOptions",
    "expectation_rows",
    "expectations_result",
    "is_expectations",
    "normalise_counts",
    "observables_from_json",
    "options_error",
]
