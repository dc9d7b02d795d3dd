"""The built-in ``local`` provider: qorch's numpy statevector engine and Qiskit Aer.

Devices:

- ``local:statevector`` — the built-in numpy engine: exact probabilities and
  seeded sampling, terminal measurements only.
- ``local:aer`` — Qiskit Aer, ideal, or with the noise model (and coupling
  map) of a device another provider models, e.g. ``noise: ibm:fake_brisbane``.

Both devices are local: the provider translates and executes; qorch runs each
job in a detached worker (as it does for every provider's local devices), so
they behave like cloud jobs. Option ``queue_delay_s`` makes a job wait that
many seconds before it runs: a stand-in for a hardware queue in tests and demos.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from qorch.contract import payload
from qorch.contract.errors import CapabilityError, OptionError, UnknownDeviceError
from qorch.contract.provider import (
    Counts,
    Device,
    JobRequest,
    Payload,
    Provider,
    Result,
    TargetOptions,
    expectations_result,
    normalise_counts,
)

if TYPE_CHECKING:
    from qiskit import QuantumCircuit
    from qiskit.providers import BackendV2

STATEVECTOR_MAX_QUBITS = 28
AER_MAX_QUBITS = 30
AER_BASIS: tuple[str, ...] = ("id", "x", "y", "z", "h", "s", "sdg", "t", "tdg", "sx", "sxdg")
AER_BASIS += ("rx", "ry", "rz", "p", "u", "cx", "cy", "cz", "cp", "crx", "cry", "crz")
AER_BASIS += ("swap", "rxx", "ryy", "rzz", "rzx", "ecr", "ccx", "cswap", "reset", "if_else")
# A circuit may carry its own Aer noise model (NoiseModel.to_dict(serializable=True)) in its
# metadata under this key; distributed plans use it for link and idle noise.
NOISE_MODEL_KEY = "qorch_noise_model"
# Aer simulation methods a local:aer target may ask for (option ``method``).
AER_METHODS = ("automatic", "statevector", "density_matrix", "matrix_product_state", "stabilizer")


class LocalProvider(Provider):
    """Simulators on this machine; no account, no cost."""

    name: ClassVar[str] = "local"

    def device_names(self) -> list[str]:
        return ["statevector", "aer"]

    def device_is_local(self, name: str) -> bool:
        return True

    def warm_up(self, device: str, options: TargetOptions) -> None:
        payload.load_transpiler_plugins()  # translate
        if device == "aer":
            import qiskit_aer  # noqa: F401  (execute)

            if options.noise is not None:
                noise_backend(options.noise)
        else:
            import qorch.sim.statevector_qiskit  # noqa: F401  (execute)

    def known_qubits(self, name: str) -> int | None:
        return {"statevector": STATEVECTOR_MAX_QUBITS, "aer": AER_MAX_QUBITS}.get(name)

    def device(self, name: str) -> Device:
        if name == "statevector":
            from qorch.sim.statevector_qiskit import SUPPORTED_GATES

            return Device(
                provider=self.name,
                name=name,
                num_qubits=STATEVECTOR_MAX_QUBITS,
                simulator=True,
                native_gates=tuple(SUPPORTED_GATES),
                exact=True,
                local=True,
                description="qorch's built-in numpy statevector engine",
            )
        if name == "aer":
            return Device(
                provider=self.name,
                name=name,
                num_qubits=AER_MAX_QUBITS,
                simulator=True,
                native_gates=AER_BASIS,
                exact=True,
                local=True,
                description="Qiskit Aer; 'noise: PROVIDER:DEVICE' borrows a device's noise model",
            )
        self.check_device(name)
        raise UnknownDeviceError(name)  # pragma: no cover - check_device raised

    def check_options(self, device: str, options: TargetOptions) -> None:
        if options.noise is not None and device != "aer":
            raise OptionError(f"local:{device} does not take a noise model (local:aer does)")
        for key, value in options.extra.items():
            if key == "method" and device == "aer":
                if value not in AER_METHODS:
                    raise OptionError(f"option 'method' must be one of {', '.join(AER_METHODS)}")
                continue
            if key != "queue_delay_s":
                raise OptionError(f"option '{key}' is not accepted by local:{device}")
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise OptionError("option 'queue_delay_s' must be a number of seconds >= 0")

    def translate(
        self, circuit: QuantumCircuit, device: str, options: TargetOptions, seed: int
    ) -> Payload:
        from qiskit import transpile
        from qiskit.transpiler.exceptions import TranspilerError

        info = self.device(device)
        if device == "aer" and options.noise is not None:
            return self._translate_noisy(circuit, options, seed)
        payload.check_width(circuit, info.target, info.num_qubits)
        try:
            isa = transpile(
                circuit,
                basis_gates=[*info.native_gates, "measure"],
                optimization_level=options.optimization_level,
                seed_transpiler=seed,
            )
        except TranspilerError as error:
            raise payload.transpile_error(circuit, info.target, error) from None
        isa.name = circuit.name
        payload.check_gates(isa, info.target, info.native_gates)
        if device == "statevector":
            _check_statevector_program(isa)
        return payload.qpy_payload(isa)

    def _translate_noisy(
        self, circuit: QuantumCircuit, options: TargetOptions, seed: int
    ) -> Payload:
        from qiskit.transpiler import generate_preset_pass_manager
        from qiskit.transpiler.exceptions import TranspilerError

        backend = noise_backend(options.noise or "")
        target = f"local:aer (noise {options.noise})"
        payload.check_width(circuit, target, backend.num_qubits)
        manager = generate_preset_pass_manager(
            optimization_level=options.optimization_level, backend=backend, seed_transpiler=seed
        )
        try:
            isa = manager.run(circuit)
        except TranspilerError as error:
            raise payload.transpile_error(circuit, target, error) from None
        isa.name = circuit.name
        from qorch.contract.device_noise import with_device_noise

        return payload.qpy_payload(with_device_noise(isa, backend.target))

    def estimates(self, device: str, options: TargetOptions) -> bool:
        """Exact expectation values on ``local:statevector`` (the numpy engine's state) and on
        ideal ``local:aer`` (Aer's EstimatorV2); a noisy Aer target measures basis circuits."""
        return device == "statevector" or (device == "aer" and options.noise is None)

    def readout_noise(self, device: str, options: TargetOptions) -> bool:
        """Only ``local:aer`` with a device's noise model (``noise:``) has readout errors."""
        return device == "aer" and options.noise is not None

    def execute(self, request: JobRequest) -> Result:
        circuit = payload.from_qpy(request.payload.data)
        if request.observables:
            return _estimate(circuit, request)
        circuits = bind_rows(circuit, request.parameter_values)
        if request.device == "statevector":
            results = _run_statevector(circuits, request.shots, request.seed)
        elif request.device == "aer":
            method = str(request.options.extra.get("method", "automatic"))
            results = _run_aer(circuits, request.shots, request.seed, request.options.noise, method)
        else:
            raise UnknownDeviceError(f"local has no device '{request.device}'")
        return results if request.parameter_values else results[0]


def noise_backend(reference: str) -> BackendV2:
    """The Qiskit backend (target and noise) of ``provider:device``, from its provider."""
    from qorch.engine import registry

    provider_name, device = registry.split_target(reference)
    provider = registry.load(provider_name)
    provider.check_device(device)
    return provider.qiskit_backend(device)


def bind_rows(circuit: QuantumCircuit, rows: tuple[tuple[float, ...], ...]) -> list[QuantumCircuit]:
    """One bound copy of ``circuit`` per row of parameter values (columns in
    ``circuit.parameters`` order); the circuit itself if there are no rows.

    Binding before simulation also sidesteps Aer's wrong results for CRZ/CRX
    whose angles arrive as runtime parameter values (qiskit-aer #2323, #2391).
    """
    if not rows:
        return [circuit]
    parameters = list(circuit.parameters)
    for row in rows:
        if len(row) != len(parameters):
            raise ValueError(
                f"a parameter set has {len(row)} values; the circuit has {len(parameters)}"
            )
    return [circuit.assign_parameters(dict(zip(parameters, row, strict=True))) for row in rows]


def _estimate(circuit: QuantumCircuit, request: JobRequest) -> Result:
    """Exact expectation values of the request's observables on the circuit's final state."""
    operators = payload.pauli_operators(circuit, request.observables)
    if request.device == "statevector":
        from qiskit.quantum_info import Statevector

        from qorch.sim.statevector import run
        from qorch.sim.statevector_qiskit import program_from_circuit

        state = Statevector(run(program_from_circuit(circuit))[0])  # little-endian: Qiskit's
        values = [state.expectation_value(operator).real for operator in operators]
        return expectations_result(values, [0.0] * len(values), 0, "exact (statevector)")
    if request.device == "aer" and request.options.noise is None:
        from qiskit_aer.primitives import EstimatorV2

        method = str(request.options.extra.get("method", "automatic"))
        options = {"backend_options": {"method": method},
                   "run_options": {"seed_simulator": request.seed}}  # fmt: skip
        estimator = EstimatorV2(options=options)
        data = estimator.run([(circuit, operators)]).result()[0].data
        return expectations_result(data.evs, data.stds, 0, "exact (Aer EstimatorV2)")
    raise UnknownDeviceError(f"local:{request.device} does not estimate observables here")


def _check_statevector_program(circuit: QuantumCircuit) -> None:
    from qorch.sim.statevector import UnsupportedOperation
    from qorch.sim.statevector_qiskit import program_from_circuit

    if circuit.parameters:
        circuit = circuit.assign_parameters([0.0] * circuit.num_parameters)
    try:
        program_from_circuit(circuit)
    except UnsupportedOperation as error:
        raise CapabilityError(f"local:statevector cannot run '{circuit.name}': {error}") from None


def _run_statevector(circuits: list[QuantumCircuit], shots: int, seed: int) -> list[Counts]:
    import numpy as np

    from qorch.sim.statevector import sample_counts
    from qorch.sim.statevector_qiskit import program_from_circuit

    rng = np.random.default_rng(seed)
    return [sample_counts(program_from_circuit(c), shots, rng) for c in circuits]


def _run_aer(
    circuits: list[QuantumCircuit],
    shots: int,
    seed: int,
    noise: str | None,
    method: str = "automatic",
) -> list[Counts]:
    from qiskit_aer import AerSimulator

    if noise:
        from qorch.contract.device_noise import compact_noisy_run, embedded_simulator

        carried = embedded_simulator(circuits, method=method)  # compiled in: no device SDK
        if carried is not None:
            simulator, small = carried
            result = simulator.run(small, shots=shots, seed_simulator=seed).result()
            return _counts_of(result, circuits)
        backend = noise_backend(noise)
        result = compact_noisy_run(circuits, backend.target, method=method, shots=shots,
                                   seed=seed)  # fmt: skip
        if result is not None:
            return _counts_of(result, circuits)
        simulator = AerSimulator.from_backend(backend, method=method)
    else:
        simulator = AerSimulator(method=method)
    embedded = (circuits[0].metadata or {}).get(NOISE_MODEL_KEY) if circuits else None
    if embedded is not None and noise is None:
        import warnings

        from qiskit_aer.noise import NoiseModel

        with warnings.catch_warnings():  # from_dict is deprecated, with no successor yet
            warnings.simplefilter("ignore", DeprecationWarning)
            model = NoiseModel.from_dict(embedded)
        simulator = AerSimulator(method=method, noise_model=model)
    return _counts_of(simulator.run(circuits, shots=shots, seed_simulator=seed).result(), circuits)


def _counts_of(result: Any, circuits: list[QuantumCircuit]) -> list[Counts]:
    return [
        normalise_counts(result.get_counts(index), circuit.num_clbits)
        for index, circuit in enumerate(circuits)
    ]
