"""The provider conformance suite: every provider plugin's tests subclass it.

Usage in a plugin's tests::

    from qorch.testing import ProviderConformance

    class TestBraketLocal(ProviderConformance):
        provider_name = "braket"
        device = "local"          # a device that runs here, without an account

The suite checks that capabilities are sane, translation is deterministic,
submit → status → result gives the right distribution for Bell and GHZ
circuits in Qiskit's bit order, cancel works or says plainly that it cannot,
a crashed submission is recovered, and handles survive a round trip through
the state store. Jobs go through qorch's own path (:mod:`qorch.engine.execution`),
as a run's do: a local device's jobs run in qorch's local workers, which call
the provider's ``execute``; a cloud device's go to the provider's ``submit``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
import time
from base64 import b64decode
from pathlib import Path
from typing import Any, ClassVar

import pytest

from qorch.contract.errors import CancelUnsupportedError, QorchError, UnknownDeviceError
from qorch.contract.provider import (
    Counts,
    Handle,
    JobRequest,
    JobState,
    Provider,
    TargetOptions,
    expectation_rows,
)
from qorch.engine import execution, registry
from qorch.store.state import NewJob, StateStore


def bell_circuit() -> Any:
    """|00⟩+|11⟩, measured."""
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(2, name="bell")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.measure_all()
    return circuit


def ghz_circuit(num_qubits: int = 3) -> Any:
    """GHZ on ``num_qubits`` qubits, measured."""
    from qorch.workloads.circuits.generators import ghz

    circuit = ghz(num_qubits)
    circuit.name = f"ghz{num_qubits}"
    return circuit


def two_parameter_circuit() -> Any:
    """RY(a) on qubit 0 and RY(b) on qubit 1, measured: (π, 0) gives '01', (0, π) '10'."""
    from qiskit import QuantumCircuit
    from qiskit.circuit import Parameter

    circuit = QuantumCircuit(2, name="ry2")
    circuit.ry(Parameter("a"), 0)
    circuit.ry(Parameter("b"), 1)
    circuit.measure_all()
    return circuit


def bit_order_circuit() -> Any:
    """Qubit 0 flipped and measured into clbit 2 of 3: the only outcome is '100'.

    Catches a provider that reverses bit order (Braket's differs from Qiskit's).
    """
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(2, 3, name="bitorder")
    circuit.x(0)
    circuit.measure(0, 2)
    circuit.measure(1, 0)
    return circuit


# Observables a native estimator is asked for (see test_native_observables_match_exact_values):
# every term distinguishes the qubits, so a reversed qubit order gives other values.
OBSERVABLES = (
    (("IIZ", 1.0), ("IYI", 0.5)),
    (("ZIX", 1.0),),
    (("XYZ", 0.3), ("III", 1.0)),
)


def observables_circuit() -> Any:
    """Three distinguishable qubits without measurements: q0 ry(0.8), q1 |+i>, q2 ry(2.0)."""
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(3, name="observables")
    circuit.ry(0.8, 0)
    circuit.h(1)
    circuit.s(1)
    circuit.ry(2.0, 2)
    return circuit


class ProviderConformance:
    """Behaviour every provider must show on a device that runs without an account."""

    provider_name: ClassVar[str]
    device: ClassVar[str]
    shots: ClassVar[int] = 2000
    min_fidelity: ClassVar[float] = 0.85  # share of shots in the ideal outcomes (noisy devices)
    timeout_s: ClassVar[float] = 180.0
    options: ClassVar[dict[str, Any]] = {}

    @pytest.fixture
    def provider(self) -> Provider:
        return registry.load(self.provider_name)

    def request(self, provider: Provider, circuit: Any, workdir: Path, **extra: Any) -> JobRequest:
        """A JobRequest for ``circuit`` on the suite's device."""
        options = TargetOptions(extra={**self.options, **extra})
        payload = provider.translate(circuit, self.device, options, seed=11)
        token = f"qorch-conformance-{circuit.name}-{time.time_ns()}"
        return JobRequest(
            device=self.device,
            payload=payload,
            shots=self.shots,
            seed=7,
            token=token,
            options=options,
            tags={"qorch-run": "conformance"},
            workdir=workdir,
        )

    def wait(self, provider: Provider, handle: Handle) -> JobState:
        """Poll until the job is final; fail the test on timeout."""
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            state = execution.status(provider, handle).state
            if state.final:
                return state
            time.sleep(0.1)
        pytest.fail(f"job {handle.get('job_id')} not finished after {self.timeout_s} s")

    def run_circuit(self, provider: Provider, circuit: Any, workdir: Path) -> Counts:
        """Submit, wait and return counts."""
        handle = execution.submit(provider, self.request(provider, circuit, workdir))
        state = self.wait(provider, handle)
        assert state is JobState.DONE, execution.status(provider, handle).message
        counts = execution.result(provider, handle)
        assert isinstance(counts, dict), "a job without parameter sets returns one Counts"
        return counts

    # capabilities ---------------------------------------------------------

    def test_registered_by_entry_point(self) -> None:
        assert self.provider_name in registry.provider_names()

    def test_capabilities_sane(self, provider: Provider) -> None:
        names = provider.device_names()
        assert self.device in names
        assert len(names) == len(set(names))
        info = provider.device(self.device)
        assert info.provider == self.provider_name and info.name == self.device
        assert info.target == f"{self.provider_name}:{self.device}"
        assert info.num_qubits >= 3
        assert info.native_gates, "a device must list the gates it runs"
        if info.price is not None:
            assert min(info.price.per_task_usd, info.price.per_shot_usd) >= 0
        json.dumps(info.to_dict())

    def test_warm_up_and_seed_answer_agree_with_the_device(self, provider: Provider) -> None:
        """What ``qorch run`` asks before it compiles (see :mod:`qorch.engine.warmpool`):
        a local device warms up without error; the cheap seed answer is the device's."""
        if provider.device_is_local(self.device):
            provider.warm_up(self.device, TargetOptions(extra=dict(self.options)))
        info = provider.device(self.device)
        unseedable = info.simulator and not info.seedable
        assert provider.unseedable_simulator(self.device) == unseedable

    def test_unknown_device_is_a_clear_error(self, provider: Provider) -> None:
        with pytest.raises(UnknownDeviceError, match="no-such-device"):
            provider.check_device("no-such-device")

    # translation ----------------------------------------------------------

    def test_translate_is_deterministic(self, provider: Provider) -> None:
        options = TargetOptions(extra=dict(self.options))
        payloads = [
            provider.translate(ghz_circuit(3), self.device, options, seed=5) for _ in range(5)
        ]
        assert len({payload.data for payload in payloads}) == 1
        first = payloads[0]
        assert first.num_qubits >= 3 and first.num_clbits == 3
        assert first.two_qubit_gates >= 2
        other = translated_elsewhere(type(self))
        assert other == first.data, "translation differs in a fresh process"

    def test_cost_estimate_is_non_negative(self, provider: Provider) -> None:
        payload = provider.translate(bell_circuit(), self.device, TargetOptions(), seed=1)
        assert provider.estimate_cost(self.device, payload, 1000).usd >= 0

    # execution ------------------------------------------------------------

    def test_bell_round_trip(self, provider: Provider, tmp_path: Path) -> None:
        counts = self.run_circuit(provider, bell_circuit(), tmp_path)
        assert sum(counts.values()) == self.shots
        assert all(len(key) == 2 for key in counts)
        good = counts.get("00", 0) + counts.get("11", 0)
        assert good / self.shots >= self.min_fidelity, counts
        assert min(counts.get("00", 0), counts.get("11", 0)) > 0.35 * self.shots, counts

    def test_ghz_round_trip(self, provider: Provider, tmp_path: Path) -> None:
        counts = self.run_circuit(provider, ghz_circuit(4), tmp_path)
        assert sum(counts.values()) == self.shots
        good = counts.get("0000", 0) + counts.get("1111", 0)
        assert good / self.shots >= self.min_fidelity, counts

    def test_counts_are_in_qiskit_bit_order(self, provider: Provider, tmp_path: Path) -> None:
        counts = self.run_circuit(provider, bit_order_circuit(), tmp_path)
        top = max(counts, key=lambda key: counts[key])
        assert top == "100", counts

    def test_handle_survives_the_state_store(self, provider: Provider, tmp_path: Path) -> None:
        """The handle is stored as a run stores it (a local job's directory relative to the
        state directory) and works from the store alone, in a project since moved."""
        state = tmp_path / "state"
        store = StateStore(state)
        run, _ = store.open_run(
            idem_key="conformance",
            new=False,
            plan_path="p.yaml",
            plan_name="p",
            plan_hash="0",
            kind="circuits",
            bundle_dir="b",
            jobs=[NewJob("bell", f"{self.provider_name}:{self.device}", self.shots, "x")],
        )
        request = self.request(provider, bell_circuit(), state / execution.JOBS_DIR)
        handle = execution.submit(provider, request)
        if provider.device_is_local(self.device):
            assert handle["local"] is True and handle["job_id"] == request.token
            assert handle["provider"] == self.provider_name and handle["device"] == self.device
        stored = execution.portable_handle(handle, state)
        store.record_handle(run.run_id, 0, stored)
        store.close()
        if provider.device_is_local(self.device):
            assert stored["dir"] == f"{execution.JOBS_DIR}/{request.token}"
            self.wait(provider, handle)  # the worker finishes before the project moves
            state = state.rename(tmp_path / "moved")
        reloaded = StateStore(state).job(run.run_id, 0).handle
        assert reloaded == json.loads(json.dumps(stored))
        assert reloaded is not None
        live = execution.resolve_handle(reloaded, state)
        assert self.wait(provider, live) is JobState.DONE
        counts = execution.result(provider, live)
        assert isinstance(counts, dict) and sum(counts.values()) == self.shots

    def test_parameter_sets_run_in_one_job(self, provider: Provider, tmp_path: Path) -> None:
        """One parameterised payload, three parameter sets, one job, results in row order."""
        request = self.request(provider, two_parameter_circuit(), tmp_path)
        rows = ((math.pi, 0.0), (0.0, math.pi), (math.pi, math.pi))
        request = dataclasses.replace(request, parameter_values=rows)
        handle = execution.submit(provider, request)
        status = execution.status
        assert self.wait(provider, handle) is JobState.DONE, status(provider, handle).message
        results = execution.result(provider, handle)
        assert isinstance(results, list) and len(results) == 3
        for counts, expected in zip(results, ("01", "10", "11"), strict=True):
            assert sum(counts.values()) == self.shots
            assert counts.get(expected, 0) / self.shots >= self.min_fidelity, (expected, counts)

    def test_recover_finds_the_submitted_job(self, provider: Provider, tmp_path: Path) -> None:
        """A submission whose handle was lost (a crash right after the call) is found again
        by its token: the same job, never a second one."""
        request = self.request(provider, bell_circuit(), tmp_path)
        handle = execution.submit(provider, request)
        found = execution.recover(provider, request)
        self.wait(provider, handle)
        assert found is not None, "recover found no trace of a job submitted with its token"
        assert found["job_id"] == handle["job_id"]
        assert self.wait(provider, found) is JobState.DONE

    def test_cancel_works_or_says_plainly_it_cannot(
        self, provider: Provider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("QORCH_LOCAL_JOBS", "detached")  # an inline job is done at submit
        extra = {"queue_delay_s": 30} if provider.device_is_local(self.device) else {}
        handle = execution.submit(
            provider, self.request(provider, bell_circuit(), tmp_path, **extra)
        )
        try:
            execution.cancel(provider, handle)
        except CancelUnsupportedError as error:
            assert str(error).strip(), "a refusal must say why"
            return
        except QorchError as error:  # pragma: no cover - a provider-specific refusal
            pytest.fail(f"cancel raised {type(error).__name__}, not CancelUnsupportedError")
        assert self.wait(provider, handle) is JobState.CANCELLED

    def test_native_observables_match_exact_values(
        self, provider: Provider, tmp_path: Path
    ) -> None:
        """A device whose provider ``estimates`` returns each observable's value with its
        standard error, in request order and Qiskit's qubit order: within 4σ of the exact
        value, plus what noise may take (twice the infidelity allowed, times Σ|c|)."""
        from qiskit.quantum_info import SparsePauliOp, Statevector

        options = TargetOptions(extra=dict(self.options))
        if not provider.estimates(self.device, options):
            pytest.skip(f"{self.provider_name}:{self.device} has no native estimator")
        circuit = observables_circuit()
        payload = provider.translate_for_estimation(circuit, self.device, options, seed=11)
        request = dataclasses.replace(
            self.request(provider, bell_circuit(), tmp_path),
            payload=payload,
            token=f"qorch-conformance-observables-{time.time_ns()}",
            observables=OBSERVABLES,
        )
        handle = execution.submit(provider, request)
        status = execution.status
        assert self.wait(provider, handle) is JobState.DONE, status(provider, handle).message
        result = execution.result(provider, handle)
        rows = expectation_rows(result)
        assert rows is not None, result
        assert len(rows) == len(OBSERVABLES)
        state = Statevector(circuit)
        for terms, row in zip(OBSERVABLES, rows, strict=True):
            operator = SparsePauliOp([label for label, _ in terms], [c for _, c in terms])
            exact = float(state.expectation_value(operator).real)
            allowance = 2 * (1 - self.min_fidelity) * sum(abs(c) for _, c in terms)
            assert row["std_error"] >= 0 and row["shots"] >= 0
            assert abs(row["value"] - exact) <= 4 * row["std_error"] + allowance + 1e-9, (
                terms,
                row,
                exact,
            )

    def test_local_device_executes_in_process(self, provider: Provider) -> None:
        """A local device's ``execute`` runs a job synchronously: what qorch's worker calls."""
        if not provider.device_is_local(self.device):
            pytest.skip(f"{self.provider_name}:{self.device} is not a local device")
        request = self.request(provider, bell_circuit(), Path("unused"))
        counts = provider.execute(request)
        assert isinstance(counts, dict) and sum(counts.values()) == self.shots
        good = counts.get("00", 0) + counts.get("11", 0)
        assert good / self.shots >= self.min_fidelity, counts


# Translations of GHZ-3 by a fresh interpreter, per (provider, device, options): one
# interpreter per provider translates for every conformance class of that provider (its
# start-up and SDK imports cost seconds; the suites of one provider share them).
_ELSEWHERE: dict[tuple[str, str, str], bytes | str] = {}

_TRANSLATE_ELSEWHERE = """
import base64, json, sys, traceback
from qorch.contract.provider import TargetOptions
from qorch.engine import registry
from qorch.testing import ghz_circuit

provider = registry.load(sys.argv[1])
found = []
for device, options in json.loads(sys.argv[2]):
    try:
        data = provider.translate(ghz_circuit(3), device, TargetOptions(extra=options), seed=5).data
        found.append(base64.b64encode(data).decode())
    except Exception:
        found.append({"error": traceback.format_exc()})
print(json.dumps(found))
"""


def translated_elsewhere(suite: type[ProviderConformance]) -> bytes:
    """``suite``'s GHZ-3 translation (seed 5) by a fresh ``python``: another hash seed,
    nothing shared with this process. The first call for a provider translates for
    every conformance class of that provider defined here, in one interpreter."""
    key = _elsewhere_key(suite)
    if key not in _ELSEWHERE:
        siblings = [suite] + [
            other
            for other in _conformance_suites()
            if other.provider_name == suite.provider_name and _elsewhere_key(other) != key
        ]
        keys = list(dict.fromkeys(_elsewhere_key(other) for other in siblings))
        targets = json.dumps([[device, json.loads(options)] for _, device, options in keys])
        script = [sys.executable, "-c", _TRANSLATE_ELSEWHERE, suite.provider_name, targets]
        other = subprocess.run(script, capture_output=True, text=True)
        assert other.returncode == 0, other.stderr
        for each, item in zip(keys, json.loads(other.stdout.splitlines()[-1]), strict=True):
            _ELSEWHERE[each] = item["error"] if isinstance(item, dict) else b64decode(item)
    found = _ELSEWHERE[key]
    if isinstance(found, str):
        pytest.fail(f"translation in a fresh process failed:\n{found}")
    return found


def _elsewhere_key(suite: type[ProviderConformance]) -> tuple[str, str, str]:
    return suite.provider_name, suite.device, json.dumps(dict(suite.options), sort_keys=True)


def _conformance_suites() -> list[type[ProviderConformance]]:
    """Every subclass of ProviderConformance defined so far that names a provider and device."""
    found, pending = [], list(ProviderConformance.__subclasses__())
    while pending:
        suite = pending.pop()
        pending.extend(suite.__subclasses__())
        if isinstance(getattr(suite, "provider_name", None), str) and isinstance(
            getattr(suite, "device", None), str
        ):
            found.append(suite)
    return found
