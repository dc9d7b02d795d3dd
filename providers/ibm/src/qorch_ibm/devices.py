"""IBM devices: the fake backends shipped with qiskit-ibm-runtime, and real QPUs.

Fake backends (``fake_brisbane``, ``fake_manila``, ...) carry a snapshot of a
real device's target and calibration; qorch runs them locally, as noisy
simulations, through the Sampler's local testing mode. Real devices
(``ibm_torino``, ``ibm_fez``, ...) are looked up on the service when used.

:func:`fake_names` lists the fake backends from the installed package's files,
without importing qiskit-ibm-runtime, so that ``qorch validate`` stays fast.
"""

from __future__ import annotations

import importlib.util
import re
import statistics
import warnings
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qorch.contract.provider import Device, Payload, Price

if TYPE_CHECKING:
    from qiskit.providers import BackendV2
    from qiskit.transpiler import Target

FAKE_PREFIX = "fake_"
REAL_NAME = re.compile(r"ibm_[a-z0-9_]+")

PAYG_PRICE = Price(
    per_second_usd=1.60,
    as_of="2026-05-25",
    source="IBM Quantum Pay-As-You-Go plan, US$96 per minute of QPU usage "
    "(https://www.ibm.com/quantum/pricing)",
)
"""IBM's published pay-as-you-go rate: US$96 per minute = US$1.60 per QPU second."""

JOB_OVERHEAD_S = 3.0
"""Fixed QPU usage per job (loading, setup, readout streaming), in seconds.

Calibrated on IBM's published usage example: a 2-qubit Bell circuit with
4096 shots reports about 4.1 quantum seconds, of which about 1.05 s are the
shots themselves (``4096 × (250 µs rep delay + gate and readout time)``).
"""
DEFAULT_REP_DELAY_S = 250e-6  # IBM's default repetition delay when a device does not say
DEFAULT_TWO_QUBIT_S = 660e-9  # Eagle's ECR duration: a conservative default per layer
DEFAULT_MEASURE_S = 4e-6

MAX_EXECUTIONS = 10_000_000
"""IBM's limit on one Sampler job: shots × parameter sets (the circuits after the PUB
is broadcast) may be at most 10 million. The job validation service enforces it
(https://quantum.cloud.ibm.com/docs/guides/job-limits, read 2026-05); the SDK
does not check it before submitting, and no longer reports it (``max_experiments``
and ``max_circuits`` are obsolete), so qorch checks it at submission. Fake
backends get the same limit, so that a plan tried on a fake fits the QPU.
"""


@cache
def fake_names() -> tuple[str, ...]:
    """Names of the fake backends in the installed qiskit-ibm-runtime, without importing it.

    Each lives in ``qiskit_ibm_runtime/fake_provider/backends/<name>/`` and is
    called ``fake_<name>``. Empty if qiskit-ibm-runtime is not installed.
    """
    spec = importlib.util.find_spec("qiskit_ibm_runtime")
    if spec is None or not spec.submodule_search_locations:
        return ()
    root = Path(next(iter(spec.submodule_search_locations))) / "fake_provider" / "backends"
    if not root.is_dir():
        return ()
    return tuple(
        sorted(
            FAKE_PREFIX + entry.name
            for entry in root.iterdir()
            if entry.is_dir() and (entry / "__init__.py").is_file()
        )
    )


_N_QUBITS = re.compile(rb'"n_qubits"\s*:\s*([0-9]+)')
_NOT_GATES = frozenset({"measure", "reset", "delay", "barrier", "init_qubits",
                        "if_else", "for_loop", "switch_case", "while_loop"})  # fmt: skip


def _fake_conf(name: str) -> Path | None:
    """The shipped ``conf_<name>.json`` of a fake backend (no SDK import); None if none."""
    if not is_fake(name):
        return None
    spec = importlib.util.find_spec("qiskit_ibm_runtime")
    if spec is None or not spec.submodule_search_locations:
        return None
    short = name.removeprefix(FAKE_PREFIX)
    root = Path(next(iter(spec.submodule_search_locations))) / "fake_provider" / "backends"
    return root / short / f"conf_{short}.json"


@cache
def fake_qubits(name: str) -> int | None:
    """A fake backend's qubit count from its configuration file (``n_qubits``), read
    without importing qiskit-ibm-runtime; None if it is not a fake backend or says none."""
    conf = _fake_conf(name)
    try:
        found = None if conf is None else _N_QUBITS.search(conf.read_bytes())
    except OSError:
        return None
    return int(found.group(1)) if found else None


def fake_listing(provider: str, name: str) -> Device | None:
    """A fake backend as its configuration file describes it (qubits, basis gates, coupling
    map, shots), for ``qorch backends``: building all ~70 backends' targets takes many
    seconds. :func:`capabilities` of the backend itself is what compile uses."""
    import json

    conf = _fake_conf(name)
    try:
        data = json.loads(conf.read_text()) if conf is not None else None
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or "n_qubits" not in data:
        return None
    pairs = data.get("coupling_map")
    return Device(
        provider=provider,
        name=name,
        num_qubits=int(data["n_qubits"]),
        simulator=True,
        native_gates=tuple(sorted(set(data.get("basis_gates") or ()) - _NOT_GATES)),
        coupling=None if not pairs else tuple(sorted({(int(a), int(b)) for a, b in pairs})),
        max_shots=data.get("max_shots"),
        max_parameter_sets=MAX_EXECUTIONS,
        max_total_shots=MAX_EXECUTIONS,
        local=True,
        description=fake_description(name),
    )


def is_fake(name: str) -> bool:
    """True if ``name`` is a fake backend shipped with qiskit-ibm-runtime."""
    return name in fake_names()


def is_real_name(name: str) -> bool:
    """True if ``name`` has the form of an IBM QPU name (``ibm_torino``)."""
    return REAL_NAME.fullmatch(name) is not None


@cache
def _fake_provider() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "properties of fake_nighthawk are not typical"
        from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

        return FakeProviderForBackendV2()


@cache
def fake_backend(name: str) -> BackendV2:
    """The fake backend called ``name`` (one instance per process: it caches its noise model)."""
    backend: BackendV2 = _fake_provider().backend(name)
    return backend


def native_gates(target: Target) -> tuple[str, ...]:
    """The gates a target runs natively (no measure, reset, delay or control flow)."""
    from qiskit.circuit import Gate

    return tuple(
        sorted(
            name
            for name in target.operation_names
            if isinstance(target.operation_from_name(name), Gate)
        )
    )


def capabilities(
    provider: str, name: str, backend: BackendV2, *, fake: bool, description: str
) -> Device:
    """A Device describing ``backend`` (from its target and configuration)."""
    coupling = backend.coupling_map
    edges = None if coupling is None else tuple(sorted({(int(a), int(b)) for a, b in coupling}))
    return Device(
        provider=provider,
        name=name,
        num_qubits=backend.num_qubits,
        simulator=fake,
        native_gates=native_gates(backend.target),
        coupling=edges,
        max_shots=config_value(backend, "max_shots"),
        exact=False,
        # the most sets a job can hold (at one shot each): shots × sets <= MAX_EXECUTIONS
        max_parameter_sets=MAX_EXECUTIONS,
        max_total_shots=MAX_EXECUTIONS,
        local=fake,
        price=None if fake else PAYG_PRICE,
        description=description,
    )


def fake_description(name: str) -> str:
    """What a fake backend is, in one line."""
    device = name.removeprefix(FAKE_PREFIX)
    return f"noisy local simulation of IBM {device} (calibration snapshot from qiskit-ibm-runtime)"


def max_parameter_sets(shots: int) -> int:
    """How many parameter sets one job can hold at ``shots`` shots each (IBM's execution limit)."""
    return MAX_EXECUTIONS // max(1, shots)


def qpu_seconds(backend: BackendV2, payload: Payload, shots: int) -> float:
    """Estimated QPU usage of one job, in seconds.

    ``JOB_OVERHEAD_S + shots × (rep_delay + depth × two-qubit gate time +
    measurement time)``, with the device's default repetition delay and its
    median two-qubit gate and measurement durations. For a job with parameter
    sets, ``shots`` is the executions, shots × sets: the overhead is paid once
    per job. Every layer is counted at the two-qubit gate's duration, so deep
    single-qubit layers are overestimated slightly; IBM bills the usage it
    measures, not this.
    """
    rep_delay = config_value(backend, "default_rep_delay") or DEFAULT_REP_DELAY_S
    two_qubit = _median_duration(backend.target, 2) or DEFAULT_TWO_QUBIT_S
    measure = _median_duration(backend.target, 0) or DEFAULT_MEASURE_S
    per_shot = float(rep_delay) + payload.depth * two_qubit + measure
    return JOB_OVERHEAD_S + shots * per_shot


def _median_duration(target: Target, num_qubits: int) -> float | None:
    """Median duration (s) of the target's two-qubit gates (2) or of ``measure`` (0)."""
    if num_qubits == 0:
        names = ["measure"] if "measure" in target.operation_names else []
    else:
        names = [
            name
            for name in native_gates(target)
            if getattr(target.operation_from_name(name), "num_qubits", 0) == num_qubits
        ]
    durations = [
        properties.duration
        for name in names
        for properties in target[name].values()
        if properties is not None and properties.duration
    ]
    return float(statistics.median(durations)) if durations else None


def config_value(backend: BackendV2, key: str) -> Any:
    """A value of the backend's configuration, or None where it has none."""
    configuration = getattr(backend, "configuration", None)
    if configuration is None:
        return None
    try:
        return getattr(configuration(), key, None)
    except AttributeError:
        return None
