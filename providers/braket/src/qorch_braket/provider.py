"""The ``braket`` provider: Amazon Braket's local simulators, managed simulators and QPUs.

Devices (``braket:NAME``): ``local`` and ``local_dm`` (Braket's LocalSimulator,
state vector and density matrix, on this machine, no account: this provider
executes their jobs, which qorch runs in its local workers), ``sv1``,
``dm1``, ``tn1``, and the IonQ, IQM and Rigetti QPUs by short name (see
:mod:`qorch_braket.devices`) — or any Braket device by its full ARN, e.g.
``braket:arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1``.

Importing this module imports neither the Braket SDK nor boto3: listing and
checking devices reads a static table; SDKs load when a circuit is
translated or a job is run.

Target options: ``queue_delay_s`` (local devices); ``s3_bucket`` and
``s3_prefix`` (where AWS writes results; default bucket
``amazon-braket-<region>-<account>``), ``region`` (managed simulators;
default: the AWS profile's region) and ``verbatim`` (IonQ QPUs: run the
native gates as translated, without Braket's compiler).

Parameter sets (``JobRequest.parameter_values``) run in one job: one program
set on devices that run program sets (the LocalSimulator and every QPU),
within the device's limits on executables and total shots; the managed
simulators, which run no program sets, take one set per job (one task with
the set's values as inputs) and refuse more with a CapabilityError rather
than creating one task per set behind the caller's back.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from qorch.contract.errors import CapabilityError, OptionError, ProviderError, UnknownDeviceError
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
from qorch_braket import devices
from qorch_braket.devices import LOCAL_BACKENDS, DeviceSpec

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from qorch_braket import parameters

AWS_OPTIONS = frozenset({"s3_bucket", "s3_prefix", "region", "verbatim"})
DEFAULT_PREFIX = "qorch-tasks"
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


class BraketProvider(Provider):
    """Amazon Braket through the Braket SDK, qiskit-braket-provider and boto3."""

    name: ClassVar[str] = "braket"

    def device_names(self) -> list[str]:
        return devices.names()

    def check_device(self, name: str) -> None:
        if devices.lookup(name) is None and not devices.is_arn(name):
            super().check_device(name)

    def known_qubits(self, name: str) -> int | None:
        spec = devices.lookup(name)  # the shipped device table: no SDK import
        return None if spec is None else spec.num_qubits

    def device_is_local(self, name: str) -> bool:
        spec = devices.lookup(name)
        return spec is not None and spec.local

    def warm_up(self, device: str, options: TargetOptions) -> None:
        if self.device_is_local(device):
            import braket.devices  # noqa: F401  (execute: LocalSimulator)
            import qiskit_braket_provider  # noqa: F401  (translate)

            from qorch.contract.payload import load_transpiler_plugins

            load_transpiler_plugins()  # its converter transpiles

    def device(self, name: str) -> Device:
        from qorch_braket import pricing

        spec = self.spec(name)
        price = None if spec.local else pricing.device_price(spec, pricing.current_table(False))
        compiled = (
            ""
            if spec.simulator
            else (
                f"; programs use its {len(spec.gates)} supported gates, which Braket compiles "
                "to these native ones"
            )
        )
        return Device(
            provider=self.name,
            name=name,
            num_qubits=spec.num_qubits,
            simulator=spec.simulator,
            native_gates=spec.native,
            max_shots=spec.max_shots,
            max_parameter_sets=spec.max_parameter_sets,
            max_total_shots=spec.max_total_shots if spec.program_sets else None,
            local=spec.local,
            seedable=False,  # neither LocalSimulator nor Braket's managed simulators take a seed
            price=price,
            description=spec.description + compiled,
        )

    def spec(self, name: str) -> DeviceSpec:
        """The device's capabilities: the shipped table, or AWS GetDevice for other ARNs."""
        spec = devices.lookup(name)
        if spec is not None:
            return spec
        self.check_device(name)
        return _looked_up(name)

    def credentials(self) -> Credentials:
        from qorch_braket import aws

        return aws.credentials_report()

    def check_options(self, device: str, options: TargetOptions) -> None:
        target = f"{self.name}:{device}"
        if options.noise is not None:
            raise OptionError(f"{target} does not take a noise model")
        spec = devices.lookup(device)
        if spec is not None and spec.local:
            for key, value in options.extra.items():
                if key not in self.local_options:
                    raise OptionError(
                        f"option '{key}' is not accepted by {target} (accepted: queue_delay_s)"
                    )
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise OptionError(f"{target}: option 'queue_delay_s' must be seconds >= 0")
            return
        for key, value in options.extra.items():
            if key not in AWS_OPTIONS:
                known = ", ".join(sorted(AWS_OPTIONS))
                raise OptionError(f"option '{key}' is not accepted by {target} (accepted: {known})")
            _check_aws_option(target, spec, key, value)

    def translate(
        self, circuit: QuantumCircuit, device: str, options: TargetOptions, seed: int
    ) -> Payload:
        from qorch_braket.translate import translate

        spec = self.spec(device)
        verbatim = bool(options.extra.get("verbatim", False))
        if verbatim:
            _check_aws_option(f"{self.name}:{device}", spec, "verbatim", True)
        return translate(
            circuit, spec, f"{self.name}:{device}", options.optimization_level, seed, verbatim
        )

    def estimates(self, device: str, options: TargetOptions) -> bool:
        """The LocalSimulator estimates observables with expectation result types; managed
        devices and QPUs measure basis circuits (program sets) instead."""
        return device in LOCAL_BACKENDS

    def translate_for_estimation(
        self, circuit: QuantumCircuit, device: str, options: TargetOptions, seed: int
    ) -> Payload:
        """The circuit measured on every qubit (the measurements say where each qubit went;
        :mod:`qorch_braket.estimation` replaces them with result types)."""
        measured = circuit.copy()
        measured.measure_all()
        return self.translate(measured, device, options, seed)

    def estimate_cost(
        self, device: str, payload: Payload, shots: int, parameter_sets: int = 0
    ) -> Cost:
        """Estimated USD of one job: ``shots`` per parameter set, ``parameter_sets`` sets.

        A program set is one task: the per-task fee is billed once and the
        per-shot fee for every shot of every executable, so with the core's
        three-argument call, passing ``shots × sets`` as ``shots`` gives the
        same figure; multiplying a one-set estimate by the number of sets
        would count the per-task fee once per set.
        """
        from qorch_braket import pricing

        spec = self.spec(device)
        if spec.local:
            return Cost(0.0, "Braket LocalSimulator runs on this machine: free")
        return pricing.estimate(
            spec, shots, pricing.current_table(refresh=True), parameter_sets=parameter_sets
        )

    def check_request(self, request: JobRequest) -> None:
        """Raise CapabilityError unless the parameter sets fit the payload and the device."""
        _check_parameter_sets(self.spec(request.device), request)

    def submit(self, request: JobRequest) -> Handle:
        return self._create(self.spec(request.device), request)

    def recover(self, request: JobRequest) -> Handle | None:
        """Re-attach to the AWS task a crashed ``submit`` may have created.

        The create call is re-issued with the same ``clientToken``; Braket
        answers with the task the earlier call created instead of creating a
        second one (and creates it now if the earlier call never reached AWS, which is what
        the caller would do next anyway). Chosen over searching tasks by the
        ``qorch-token`` tag because SearchQuantumTasks cannot filter on tags
        (a client-side scan of every task on the device) and its index lags
        behind task creation, while the token answer is exact and atomic.
        """
        return self._create(self.spec(request.device), request)

    def status(self, handle: Handle) -> JobStatus:
        from qorch_braket import aws

        session = aws.make_session(str(handle["region"]))
        return aws.job_status(aws.task_metadata(session, str(handle["job_id"])))

    def result(self, handle: Handle) -> Result:
        """Counts in Qiskit order; with parameter sets, a list in row order.

        A program-set task's executables are read from S3 one by one and
        mapped through the program's qubit → clbit table, each with the
        qubits its own result says it measured.
        """
        from qorch_braket import aws
        from qorch_braket.translate import counts_to_qiskit

        session = aws.make_session(str(handle["region"]))
        arn = str(handle["job_id"])
        mapping = {int(qubit): int(clbit) for qubit, clbit in handle["qubit_clbits"]}
        measured = [int(clbit) for clbit in handle["measured_clbits"]]
        num_clbits = int(handle["num_clbits"])
        sets = int(handle.get("parameter_sets") or 0)  # handles from before parameter sets: 0
        if sets and handle.get("program_set"):
            found = aws.program_set_counts(session, arn, int(handle["shots"]))
            if len(found) != sets:
                raise ProviderError(
                    f"Braket task {arn} returned {len(found)} results for {sets} parameter sets"
                )
            return [
                counts_to_qiskit(raw, qubits, mapping, num_clbits, measured)
                for raw, qubits in found
            ]
        raw, measured_qubits = aws.task_counts(session, arn)
        counts = counts_to_qiskit(raw, measured_qubits, mapping, num_clbits, measured)
        return [counts] if sets else counts

    def cancel(self, handle: Handle) -> None:
        from qorch_braket import aws

        aws.cancel_task(aws.make_session(str(handle["region"])), str(handle["job_id"]))

    def execute(self, request: JobRequest) -> Result:
        from qorch_braket.localsim import run_local

        if request.observables:
            from qorch_braket import estimation

            backend = LOCAL_BACKENDS.get(request.device)
            if backend is None:
                raise UnknownDeviceError(f"braket:{request.device} does not run on this machine")
            return estimation.run_local(request, backend)
        return run_local(request)

    def _create(self, spec: DeviceSpec, request: JobRequest) -> Handle:
        from qorch_braket import aws, parameters
        from qorch_braket.translate import qubit_clbits

        payload = request.payload
        if payload.format != "openqasm3":
            raise ProviderError(
                f"braket:{request.device} takes OpenQASM 3 payloads, not {payload.format}"
            )
        if request.shots < 1 or (spec.max_shots is not None and request.shots > spec.max_shots):
            limit = f"1..{spec.max_shots}" if spec.max_shots else ">= 1"
            raise CapabilityError(
                f"braket:{request.device} takes {limit} shots, not {request.shots}"
            )
        program = _check_parameter_sets(spec, request)
        rows = request.parameter_values
        program_set = bool(rows) and spec.program_sets
        if program_set:
            action = parameters.program_set_action(program, rows).json()
            shots = request.shots * len(rows)  # Braket counts a program set's total shots
        else:
            action = parameters.program_action(program, rows[0] if rows else None).json()
            shots = request.shots
        region = spec.region or str(request.options.extra.get("region") or aws.default_region())
        arn = aws.create_task(
            aws.make_session(region),
            device_arn=str(spec.arn),
            action=action,
            shots=shots,
            token=request.token,
            tags=dict(request.tags),
            bucket=request.options.extra.get("s3_bucket"),
            prefix=str(request.options.extra.get("s3_prefix") or DEFAULT_PREFIX),
        )
        mapping = qubit_clbits(program.source, payload.measured_clbits)
        handle: Handle = {
            "job_id": arn,
            "kind": "aws",
            "region": region,
            "device": request.device,
            "num_clbits": payload.num_clbits,
            "measured_clbits": list(payload.measured_clbits),
            "qubit_clbits": sorted([qubit, clbit] for qubit, clbit in mapping.items()),
        }
        if rows:  # results: one per set, executable k (by inputsIndex) being row k
            handle.update(parameter_sets=len(rows), program_set=program_set, shots=request.shots)
        return handle


def _check_parameter_sets(spec: DeviceSpec, request: JobRequest) -> parameters.Program:
    """The request's program; CapabilityError unless its parameter sets fit it and the device.

    Beyond the payload's own checks (:func:`qorch_braket.parameters.check_rows`):
    a device without program sets takes one set per job; a program set holds
    at most the device's ``max_executables`` sets and ``max_total_shots``
    shots summed over its sets.
    """
    from qorch_braket import parameters

    target = f"braket:{request.device}"
    program = parameters.read(request.payload.data.decode("utf-8"))
    rows = request.parameter_values
    parameters.check_rows(program, rows, target)
    sets = len(rows)
    if sets > 1 and not spec.program_sets:
        raise CapabilityError(
            f"{target} runs no program sets (Braket runs them on QPUs and the LocalSimulator "
            f"only), so {sets} parameter sets would be {sets} tasks; it takes one set per "
            "job: split the sets over jobs, or use a QPU or braket:local"
        )
    if spec.program_sets and spec.max_executables is not None and sets > spec.max_executables:
        raise CapabilityError(
            f"{target}: {sets} parameter sets, over Braket's limit of {spec.max_executables} "
            "executables per program set; split the sets over several jobs"
        )
    total = request.shots * sets
    if spec.program_sets and spec.max_total_shots is not None and total > spec.max_total_shots:
        fit = spec.max_total_shots // max(1, request.shots)
        raise CapabilityError(
            f"{target}: {sets} parameter sets × {request.shots:,} shots = {total:,} shots, over "
            f"Braket's limit of {spec.max_total_shots:,} per program set (at {request.shots:,} "
            f"shots a job holds at most {fit} sets); split the sets or use fewer shots"
        )
    return program


def _check_aws_option(target: str, spec: DeviceSpec | None, key: str, value: Any) -> None:
    """Raise OptionError unless ``key: value`` suits an AWS device (``spec`` None: unknown ARN)."""
    if key == "s3_bucket" and not (isinstance(value, str) and _BUCKET.match(value)):
        raise OptionError(f"{target}: option 's3_bucket' must be an S3 bucket name")
    if key == "s3_prefix" and not (isinstance(value, str) and 0 < len(value) <= 1024):
        raise OptionError(f"{target}: option 's3_prefix' must be a non-empty S3 key prefix")
    if key == "region":
        if not (isinstance(value, str) and _REGION.match(value)):
            raise OptionError(f"{target}: option 'region' must be an AWS region like us-east-1")
        if spec is not None and spec.region is not None:
            raise OptionError(f"{target}: option 'region': the device is in {spec.region} only")
    if key == "verbatim":
        if not isinstance(value, bool):
            raise OptionError(f"{target}: option 'verbatim' must be true or false")
        if value and spec is not None and (spec.simulator or not spec.all_to_all):
            raise OptionError(
                f"{target}: option 'verbatim' needs a QPU whose qubit connectivity qorch knows "
                "offline (all-to-all: the IonQ devices); leave it out to let Braket compile"
            )


@lru_cache(maxsize=32)
def _looked_up(arn: str) -> DeviceSpec:
    """A device outside the table, described by AWS GetDevice (needs credentials; cached)."""
    from qorch_braket import aws

    region = devices.region_of_arn(arn) or aws.default_region()
    info = aws.device_capabilities(aws.make_session(region), arn)
    try:
        return devices.spec_from_capabilities(arn, info, region)
    except ValueError as error:
        raise CapabilityError(str(error)) from None
