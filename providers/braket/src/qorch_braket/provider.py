"""The ``braket`` provider: Amazon Braket's local simulators, managed simulators and QPUs.

Devices (``braket:NAME``): ``local`` and ``local_dm`` (Braket's LocalSimulator,
state vector and density matrix, on this machine, no account), ``sv1``,
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
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

from qorch import localjob
from qorch.errors import CancelUnsupportedError, CapabilityError, OptionError, ProviderError
from qorch.provider import (
    Cost,
    Counts,
    Credentials,
    Device,
    Handle,
    JobRequest,
    JobStatus,
    Payload,
    Provider,
    TargetOptions,
)
from qorch_braket import devices
from qorch_braket.devices import DeviceSpec

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

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

    def device_is_local(self, name: str) -> bool:
        spec = devices.lookup(name)
        return spec is not None and spec.local

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
            local=spec.local,
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

    def estimate_cost(self, device: str, payload: Payload, shots: int) -> Cost:
        from qorch_braket import pricing

        spec = self.spec(device)
        if spec.local:
            return Cost(0.0, "Braket LocalSimulator runs on this machine: free")
        return pricing.estimate(spec, shots, pricing.current_table(refresh=True))

    def submit(self, request: JobRequest) -> Handle:
        spec = self.spec(request.device)
        if spec.local:
            return {**localjob.submit(request, self.name), "kind": "local"}
        return self._create(spec, request)

    def recover(self, request: JobRequest) -> Handle | None:
        """Re-attach to the job a crashed ``submit`` may have created.

        Local jobs: the job directory named by the token. AWS: the create call
        is re-issued with the same ``clientToken``; Braket answers with the
        task the earlier call created instead of creating a second one (and
        creates it now if the earlier call never reached AWS, which is what
        the caller would do next anyway). Chosen over searching tasks by the
        ``qorch-token`` tag because SearchQuantumTasks cannot filter on tags
        (a client-side scan of every task on the device) and its index lags
        behind task creation, while the token answer is exact and atomic.
        """
        spec = self.spec(request.device)
        if spec.local:
            found = localjob.recover(request)
            return None if found is None else {**found, "kind": "local"}
        return self._create(spec, request)

    def status(self, handle: Handle) -> JobStatus:
        if handle.get("kind") != "aws":
            return localjob.status(handle)
        from qorch_braket import aws

        session = aws.make_session(str(handle["region"]))
        return aws.job_status(aws.task_metadata(session, str(handle["job_id"])))

    def result(self, handle: Handle) -> Counts:
        if handle.get("kind") != "aws":
            return localjob.result(handle)
        from qorch_braket import aws
        from qorch_braket.translate import counts_to_qiskit

        session = aws.make_session(str(handle["region"]))
        raw, measured_qubits = aws.task_counts(session, str(handle["job_id"]))
        mapping = {int(qubit): int(clbit) for qubit, clbit in handle["qubit_clbits"]}
        measured = [int(clbit) for clbit in handle["measured_clbits"]]
        return counts_to_qiskit(raw, measured_qubits, mapping, int(handle["num_clbits"]), measured)

    def cancel(self, handle: Handle) -> None:
        if handle.get("kind") != "aws":
            if not localjob.cancel(handle):
                raise CancelUnsupportedError(f"job {handle['job_id']} has already finished")
            return
        from qorch_braket import aws

        aws.cancel_task(aws.make_session(str(handle["region"])), str(handle["job_id"]))

    def execute(self, request: JobRequest) -> Counts:
        from qorch_braket.localsim import run_local

        return run_local(request)

    def _create(self, spec: DeviceSpec, request: JobRequest) -> Handle:
        from qorch_braket import aws
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
        region = spec.region or str(request.options.extra.get("region") or aws.default_region())
        source = payload.data.decode("utf-8")
        arn = aws.create_task(
            aws.make_session(region),
            device_arn=str(spec.arn),
            source=source,
            shots=request.shots,
            token=request.token,
            tags=dict(request.tags),
            bucket=request.options.extra.get("s3_bucket"),
            prefix=str(request.options.extra.get("s3_prefix") or DEFAULT_PREFIX),
        )
        mapping = qubit_clbits(source, payload.measured_clbits)
        return {
            "job_id": arn,
            "kind": "aws",
            "region": region,
            "device": request.device,
            "num_clbits": payload.num_clbits,
            "measured_clbits": list(payload.measured_clbits),
            "qubit_clbits": sorted([qubit, clbit] for qubit, clbit in mapping.items()),
        }


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
