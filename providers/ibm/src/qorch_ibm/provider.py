"""The ``ibm`` provider: IBM Quantum devices for qorch.

Devices:

- ``fake_<name>`` (``fake_brisbane``, ``fake_manila``, ...): every fake backend
  shipped with qiskit-ibm-runtime, run on this machine in the Sampler's local
  testing mode — noisy simulations with a real device's calibration. This
  provider executes them (:meth:`IBMProvider.execute`); qorch runs each job in
  a detached local worker, like a cloud job.
- ``ibm_<name>`` (``ibm_torino``, ``ibm_fez``, ...): real QPUs, looked up on
  IBM Quantum when used; needs credentials (see :mod:`qorch_ibm.service`).

A request with ``parameter_values`` runs as one job on either kind: one
Sampler PUB with a row of values per set (see :mod:`qorch_ibm.sampling`);
its result is a list of Counts, one per set. Shots × sets per job is limited
to IBM's 10 million executions (:data:`qorch_ibm.devices.MAX_EXECUTIONS`).

This module imports neither qiskit-ibm-runtime nor qiskit-aer at load time,
so listing and validating stay fast; they are imported when needed.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any, ClassVar

from qorch.contract import payload
from qorch.contract.errors import OptionError, UnknownDeviceError
from qorch.contract.provider import (
    Cost,
    Credentials,
    Device,
    Handle,
    JobRequest,
    JobStatus,
    Payload,
    Provider,
    Result,
    TargetOptions,
)
from qorch_ibm import devices, service

if TYPE_CHECKING:
    from qiskit import QuantumCircuit
    from qiskit.providers import BackendV2


class IBMProvider(Provider):
    """IBM Quantum: fake backends locally, real QPUs through IBM Quantum Compute."""

    name: ClassVar[str] = "ibm"

    def device_names(self) -> list[str]:
        """The fake backends (real ``ibm_*`` devices are found on the service when used)."""
        return list(devices.fake_names())

    def check_device(self, name: str) -> None:
        """Accept fake backends, and names of the form ``ibm_<name>`` (checked when used)."""
        if devices.is_fake(name) or devices.is_real_name(name):
            return
        close = difflib.get_close_matches(name, self.device_names(), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise UnknownDeviceError(
            f"provider 'ibm' has no device '{name}' (devices are fake_<name> simulations "
            f"and real QPUs named ibm_<name>){hint}"
        )

    local_options: ClassVar[frozenset[str]] = frozenset({"queue_delay_s", "ideal"})

    def device_is_local(self, name: str) -> bool:
        return devices.is_fake(name)

    def unseedable_simulator(self, device: str) -> bool:
        return False  # fake backends take the seed; real QPUs are not simulators

    def warm_up(self, device: str, options: TargetOptions) -> None:
        if devices.is_fake(device):
            payload.load_transpiler_plugins()  # translate
            self._backend(device)  # reads the backend
            import qiskit_ibm_runtime.executor_sampler  # noqa: F401  (execute)

    def devices(self) -> list[Device]:
        """Every fake backend, as its shipped configuration describes it (``qorch backends``
        stays fast); :meth:`device` reads a backend itself. Real QPUs are not listed."""
        listed = [devices.fake_listing(self.name, name) for name in devices.fake_names()]
        found = [device for device in listed if device is not None]
        if len(found) == len(listed):
            return found
        return [self.device(name) for name in devices.fake_names()]

    def known_qubits(self, name: str) -> int | None:
        """A fake backend's qubits, from its shipped configuration file (no SDK import)."""
        return devices.fake_qubits(name)

    def check_options(self, device: str, options: TargetOptions) -> None:
        """Fake backends take ``queue_delay_s`` (seconds >= 0) and ``ideal`` (true: sample
        the device's translated circuit without its noise model); QPUs take no extra option.

        Raises OptionError, also for a ``noise`` option (IBM devices have their own).
        """
        super().check_options(device, options)
        delay = options.extra.get("queue_delay_s", 0)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise OptionError("option 'queue_delay_s' must be a number of seconds >= 0")
        if not isinstance(options.extra.get("ideal", False), bool):
            raise OptionError("option 'ideal' must be true or false")

    def credentials(self) -> Credentials:
        return service.find_credentials()

    def device(self, name: str) -> Device:
        """Capabilities of a fake backend (offline) or a real QPU (asks the service).

        Raises UnknownDeviceError; for real devices also CredentialsError or NetworkError.
        """
        self.check_device(name)
        backend = self._backend(name)
        if devices.is_fake(name):
            description = devices.fake_description(name)
        else:
            description = _real_description(name, backend)
        return devices.capabilities(
            self.name, name, backend, fake=devices.is_fake(name), description=description
        )

    def translate(
        self, circuit: QuantumCircuit, device: str, options: TargetOptions, seed: int
    ) -> Payload:
        """An ISA circuit for ``device`` via the preset pass manager, as QPY.

        Deterministic for a given circuit, device, options and ``seed``.
        Raises CapabilityError if the circuit is too wide, uses an operation the
        device cannot run, or has no classical register to read results from.
        """
        from qorch_ibm import translation

        self.check_device(device)
        backend = self._backend(device)
        target = f"{self.name}:{device}"
        return translation.translate(circuit, backend, target, options.optimization_level, seed)

    def estimates(self, device: str, options: TargetOptions) -> bool:
        """Fake backends estimate observables with the executor-based Estimator in local
        testing mode; real QPUs measure basis circuits through the Sampler."""
        return devices.is_fake(device)

    def readout_noise(self, device: str, options: TargetOptions) -> bool:
        """Every device but a fake backend simulated without its noise (``ideal: true``)."""
        return not (devices.is_fake(device) and options.extra.get("ideal", False))

    def translate_for_estimation(
        self, circuit: QuantumCircuit, device: str, options: TargetOptions, seed: int
    ) -> Payload:
        """An ISA circuit without measurements, for the Estimator."""
        from qorch_ibm import translation

        self.check_device(device)
        backend = self._backend(device)
        target = f"{self.name}:{device}"
        return translation.translate(circuit, backend, target, options.optimization_level, seed,
                                     estimator=True)  # fmt: skip

    def estimate_cost(
        self, device: str, payload: Payload, shots: int, parameter_sets: int = 0
    ) -> Cost:
        """Free for fake backends; for QPUs, estimated QPU seconds × IBM's pay-as-you-go rate.

        For a job with parameter sets, give ``parameter_sets`` (or, with the
        core's three-argument call, pass ``shots × sets`` as ``shots``): the
        QPU time is one job overhead plus shots × sets executions, so the cost
        of one set multiplied by the number of sets would overcount the overhead.
        """
        if devices.is_fake(device):
            return Cost(0.0, "free: local simulation")
        executions = shots * max(1, parameter_sets)
        seconds = devices.qpu_seconds(self._backend(device), payload, executions)
        price = devices.PAYG_PRICE
        return Cost(
            round(seconds * price.per_second_usd, 2),
            f"~{seconds:.1f} s of QPU usage (estimate) at US${price.per_second_usd:.2f}/s, "
            f"{price.source}, as of {price.as_of}; IBM bills the usage it measures",
        )

    def check_request(self, request: JobRequest) -> None:
        """Raise CapabilityError unless the parameter sets fit the payload and IBM's
        per-job limit (checked before anything is created or sent)."""
        from qorch_ibm import sampling

        circuit = payload.from_qpy(request.payload.data)
        sampling.check_parameter_sets(request, circuit, f"{self.name}:{request.device}")

    def submit(self, request: JobRequest) -> Handle:
        """Submit one job to a QPU; all its parameter sets go in that one job.

        Raises CapabilityError (before any network call) if the parameter sets
        do not fit the payload or IBM's per-job limit.
        """
        from qorch_ibm import runtime

        self.check_request(request)
        return runtime.submit(request, self._backend(request.device))

    def recover(self, request: JobRequest) -> Handle | None:
        from qorch_ibm import runtime

        return runtime.recover(request)

    def status(self, handle: Handle) -> JobStatus:
        from qorch_ibm import runtime

        return runtime.status(handle)

    def result(self, handle: Handle) -> Result:
        """Counts of a finished job; for a job with parameter sets, a list: one per set."""
        from qorch_ibm import runtime

        return runtime.result(handle)

    def cancel(self, handle: Handle) -> None:
        from qorch_ibm import runtime

        runtime.cancel(handle)

    def execute(self, request: JobRequest) -> Result:
        """Run a fake-backend job here (qorch calls it in a local worker).

        One Sampler call with one PUB for all the parameter sets; returns a
        list of Counts (one per set) if the request has parameter sets.
        """
        if not devices.is_fake(request.device):
            raise UnknownDeviceError(f"ibm:{request.device} does not execute locally")
        from qorch_ibm import sampling

        circuit = payload.from_qpy(request.payload.data)
        if request.observables:
            from qorch_ibm import estimation

            return estimation.run_local(
                devices.fake_backend(request.device),
                circuit,
                request,
                ideal=bool(request.options.extra.get("ideal", False)),
            )
        sampling.check_parameter_sets(request, circuit, f"{self.name}:{request.device}")
        backend = devices.fake_backend(request.device)
        tags = sampling.job_tags(request)
        counts = sampling.run_local(
            backend,
            circuit,
            request.shots,
            request.seed,
            tags,
            request.parameter_values,
            ideal=bool(request.options.extra.get("ideal", False)),
        )
        return counts if request.parameter_values else counts[0]

    def qiskit_backend(self, device: str) -> BackendV2:
        """The fake backend (target and noise model) of ``device``."""
        if not devices.is_fake(device):
            raise UnknownDeviceError(
                f"ibm:{device} has no local model; use one of the fake_<name> backends"
            )
        return devices.fake_backend(device)

    def _backend(self, name: str) -> Any:
        if devices.is_fake(name):
            return devices.fake_backend(name)
        from qorch_ibm import runtime

        return runtime.backend(name)


def _real_description(name: str, backend: Any) -> str:
    processor = devices.config_value(backend, "processor_type") or {}
    family = processor.get("family") if isinstance(processor, dict) else None
    kind = f"{family} QPU" if family else "QPU"
    return f"IBM Quantum {kind} {name}"
