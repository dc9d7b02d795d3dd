"""The Braket devices qorch knows offline, and how target names resolve to them.

Pure data: importing this module imports no SDK. Gate names are Qiskit's
names as qiskit-braket-provider understands them (``cx`` for Braket's
``cnot``, ``r`` for ``prx``, ``rzz`` for ``zz``, ``gpi``/``gpi2``/``ms`` for
IonQ's native gates).

Each device has two gate sets:

- ``gates``: what a normal (non-verbatim) Braket program for the device may
  use — the device's ``supportedOperations``. qorch translates to this set
  and Braket's device compiler maps it to hardware (placement, routing,
  native decomposition), as for any Braket task.
- ``native``: the hardware's native set (``paradigm.nativeGateSet``), used
  only with the ``verbatim: true`` target option.

Program sets (several executables in one quantum task, action
``braket.ir.openqasm.program_set``) run on every gate-based QPU and on the
LocalSimulator, not on the managed simulators SV1, DM1 and TN1 (Amazon Braket
developer guide, "Running multiple programs"). A QPU's limits are in its
GetDevice capabilities (``maximumExecutables``, ``maximumTotalShots``); the
table uses 100 executables (Braket's published limit) and 200,000 total shots
(the figure the SDK's simulators advertise), and AWS's own validation at task
creation is final. The LocalSimulator advertises the same limits but does not
enforce them, so local devices have none.

Sources: the installed SDK's ``braket.devices.Devices`` enum (ARNs), the
Amazon Braket developer guide (supported and verbatim gates, qubit counts)
and ``LocalSimulator(...).properties`` (local simulators).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

LOCAL_BACKENDS = {"local": "braket_sv", "local_dm": "braket_dm"}

_SIM_GATES = (
    "ccx", "cp", "cswap", "cx", "cy", "cz", "ecr", "h", "id", "iswap", "p", "rx", "rxx", "ry",
    "ryy", "rz", "rzz", "s", "sdg", "swap", "sx", "sxdg", "t", "tdg", "x", "y", "z",
)  # fmt: skip
_IONQ_GATES = (
    "cx", "h", "rx", "rxx", "ry", "ryy", "rz", "rzz", "s", "sdg", "swap", "sx", "sxdg", "t",
    "tdg", "x", "y", "z",
)  # fmt: skip
_IQM_GATES = (
    "ccx", "cp", "cswap", "cx", "cy", "cz", "ecr", "h", "id", "iswap", "p", "rx", "rxx", "ry",
    "ryy", "rz", "rzz", "s", "sdg", "swap", "sx", "sxdg", "t", "tdg", "x", "y", "z",
)  # fmt: skip
_RIGETTI_GATES = (
    "ccx", "cp", "cswap", "cx", "cz", "h", "id", "iswap", "p", "rx", "ry", "rz", "s", "sdg",
    "swap", "t", "tdg", "x", "y", "z",
)  # fmt: skip

PROGRAM_SET_ACTION = "braket.ir.openqasm.program_set"
QPU_MAX_EXECUTABLES = 100
QPU_MAX_TOTAL_SHOTS = 200_000

KNOWN_GATES = frozenset({*_SIM_GATES, "r", "u", "gpi", "gpi2", "ms"})
ARN_PATTERN = re.compile(r"^arn:aws:braket:([a-z0-9-]*)::device/(qpu|quantum-simulator)/[^/]+/.+$")


@dataclass(frozen=True)
class DeviceSpec:
    """What qorch knows about one Braket device without asking AWS."""

    name: str
    num_qubits: int
    gates: tuple[str, ...]
    native: tuple[str, ...]
    simulator: bool
    arn: str | None = None  # None: a local simulator
    region: str | None = None  # None: any Braket region (managed simulators, local)
    all_to_all: bool = False  # every qubit pair can interact (verbatim needs no coupling map)
    max_shots: int | None = None
    description: str = ""
    program_sets: bool = False  # runs program sets (many executables in one task)
    max_executables: int | None = None  # per program set; None: no limit
    max_total_shots: int | None = None  # shots summed over a program set's executables

    @property
    def local(self) -> bool:
        """True if the device runs on this machine (Braket's LocalSimulator)."""
        return self.arn is None

    @property
    def max_parameter_sets(self) -> int | None:
        """Parameter sets one job can hold: a program set's executables, else one task's one set."""
        return self.max_executables if self.program_sets else 1

    @property
    def price_key(self) -> str:
        """The device's name in AWS price lists: the last part of its ARN (e.g. ``Forte-1``)."""
        return (self.arn or self.name).rsplit("/", 1)[-1]


def _qpu(name: str, arn: str, qubits: int, gates: tuple[str, ...], native: tuple[str, ...],
         description: str, all_to_all: bool = False) -> DeviceSpec:  # fmt: skip
    region = ARN_PATTERN.match(arn)
    return DeviceSpec(
        name=name,
        num_qubits=qubits,
        gates=gates,
        native=native,
        simulator=False,
        arn=arn,
        region=region.group(1) if region else None,
        all_to_all=all_to_all,
        description=description,
        program_sets=True,
        max_executables=QPU_MAX_EXECUTABLES,
        max_total_shots=QPU_MAX_TOTAL_SHOTS,
    )


_DEVICES: tuple[DeviceSpec, ...] = (
    DeviceSpec("local", 26, _SIM_GATES, _SIM_GATES, True, all_to_all=True, program_sets=True,
               description="Braket LocalSimulator('braket_sv'): state vector, on this machine"),
    DeviceSpec("local_dm", 13, _SIM_GATES, _SIM_GATES, True, all_to_all=True, program_sets=True,
               description="Braket LocalSimulator('braket_dm'): density matrix, on this machine"),
    DeviceSpec("sv1", 34, _SIM_GATES, _SIM_GATES, True,
               "arn:aws:braket:::device/quantum-simulator/amazon/sv1", all_to_all=True,
               max_shots=100_000, description="Amazon SV1 managed state-vector simulator"),
    DeviceSpec("dm1", 17, _SIM_GATES, _SIM_GATES, True,
               "arn:aws:braket:::device/quantum-simulator/amazon/dm1", all_to_all=True,
               max_shots=100_000, description="Amazon DM1 managed density-matrix simulator"),
    DeviceSpec("tn1", 50, _SIM_GATES, _SIM_GATES, True,
               "arn:aws:braket:::device/quantum-simulator/amazon/tn1", all_to_all=True,
               description="Amazon TN1 managed tensor-network simulator"),
    _qpu("ionq_forte1", "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1", 36, _IONQ_GATES,
         ("gpi", "gpi2", "rzz"), "IonQ Forte-1 trapped-ion QPU", all_to_all=True),
    _qpu("ionq_forte_enterprise1", "arn:aws:braket:us-east-1::device/qpu/ionq/Forte-Enterprise-1",
         36, _IONQ_GATES, ("gpi", "gpi2", "rzz"), "IonQ Forte-Enterprise-1 trapped-ion QPU",
         all_to_all=True),
    _qpu("iqm_garnet", "arn:aws:braket:eu-north-1::device/qpu/iqm/Garnet", 20, _IQM_GATES,
         ("r", "cz"), "IQM Garnet superconducting QPU (square lattice)"),
    _qpu("iqm_emerald", "arn:aws:braket:eu-north-1::device/qpu/iqm/Emerald", 54, _IQM_GATES,
         ("r", "cz"), "IQM Emerald superconducting QPU (square lattice)"),
    _qpu("rigetti_ankaa3", "arn:aws:braket:us-west-1::device/qpu/rigetti/Ankaa-3", 84,
         _RIGETTI_GATES, ("rx", "rz", "iswap"), "Rigetti Ankaa-3 superconducting QPU"),
    _qpu("rigetti_cepheus1_108q", "arn:aws:braket:us-west-1::device/qpu/rigetti/Cepheus-1-108Q",
         108, _RIGETTI_GATES, ("rx", "rz", "iswap"),
         "Rigetti Cepheus-1-108Q superconducting QPU (multi-chip)"),
)  # fmt: skip

DEVICES: dict[str, DeviceSpec] = {spec.name: spec for spec in _DEVICES}
BY_ARN: dict[str, DeviceSpec] = {spec.arn: spec for spec in _DEVICES if spec.arn}

BRAKET_TO_QISKIT = {
    "cnot": "cx", "ccnot": "ccx", "phaseshift": "p", "cphaseshift": "cp", "si": "sdg",
    "ti": "tdg", "v": "sx", "vi": "sxdg", "i": "id", "xx": "rxx", "yy": "ryy", "zz": "rzz",
    "prx": "r", "gphase": "global_phase",
}  # fmt: skip
QISKIT_TO_BRAKET = {qiskit: braket for braket, qiskit in BRAKET_TO_QISKIT.items()}


def names() -> list[str]:
    """Short names of the devices in the table, in table order."""
    return list(DEVICES)


def is_arn(name: str) -> bool:
    """True if ``name`` is a well-formed Braket device ARN."""
    return ARN_PATTERN.match(name) is not None


def lookup(name: str) -> DeviceSpec | None:
    """The table entry for a short name or an ARN in the table; None if not in the table.

    An ARN that is in the table keeps the ARN as the device name, so the
    target the user wrote is the one reported back.
    """
    if name in DEVICES:
        return DEVICES[name]
    spec = BY_ARN.get(name)
    if spec is None:
        return None
    return DeviceSpec(**{**spec.__dict__, "name": name})


def region_of_arn(arn: str) -> str | None:
    """The region in a device ARN, or None for region-less (managed simulator) ARNs."""
    match = ARN_PATTERN.match(arn)
    return (match.group(1) or None) if match else None


def qiskit_gate_names(braket_names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Braket operation names (as in device properties) as Qiskit gate names, sorted."""
    out = {BRAKET_TO_QISKIT.get(name.lower(), name.lower()) for name in braket_names}
    return tuple(sorted(out))


def braket_gate_name(qiskit_name: str) -> str:
    """The Braket (OpenQASM) name of a Qiskit gate name."""
    return QISKIT_TO_BRAKET.get(qiskit_name, qiskit_name)


def spec_from_capabilities(arn: str, info: dict[str, Any], region: str) -> DeviceSpec:
    """A DeviceSpec for a device not in the table, from its GetDevice record.

    ``info["deviceCapabilities"]`` is the parsed capabilities document. Only
    gates the translator knows are kept. Raises ValueError if the device does
    not run OpenQASM gate programs.
    """
    capabilities = info["deviceCapabilities"]
    action = capabilities.get("action", {}).get("braket.ir.openqasm.program")
    if action is None:
        raise ValueError(f"{arn} does not run OpenQASM gate-model programs")
    paradigm = capabilities.get("paradigm", {})
    gates = tuple(g for g in qiskit_gate_names(action["supportedOperations"]) if g in KNOWN_GATES)
    native = tuple(
        g for g in qiskit_gate_names(paradigm.get("nativeGateSet", [])) if g in KNOWN_GATES
    )
    connectivity = paradigm.get("connectivity", {})
    status = info.get("deviceStatus", "unknown status")
    program_set = capabilities.get("action", {}).get(PROGRAM_SET_ACTION)
    return DeviceSpec(
        name=arn,
        num_qubits=int(paradigm.get("qubitCount", 0)),
        gates=gates,
        native=native or gates,
        simulator=info.get("deviceType") == "SIMULATOR",
        arn=arn,
        region=region_of_arn(arn) or region,
        all_to_all=bool(connectivity.get("fullyConnected", False)),
        description=f"{info.get('providerName', '')} {info.get('deviceName', '')} "
        f"(from AWS GetDevice, {status})".strip(),
        program_sets=program_set is not None,
        max_executables=_limit(program_set, "maximumExecutables"),
        max_total_shots=_limit(program_set, "maximumTotalShots"),
    )


def _limit(action: dict[str, Any] | None, key: str) -> int | None:
    value = (action or {}).get(key)
    return int(value) if isinstance(value, int) and value > 0 else None
