"""Parameter sets: one payload, many sets of parameter values, one job, one Sampler PUB.

Columns follow the translated circuit's ``parameters`` (Qiskit's order: by
name, vector elements by index), results come back one Counts per set in row
order, IBM's per-job execution limit is enforced before submission, and the
fake path gives the right answers for parameterised controlled rotations,
which Aer gets wrong when their angles arrive as parameter values
(qiskit-aer #2323, #2391, #2403).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qiskit.quantum_info import Statevector
from qorch_ibm import devices, sampling

from qorch.contract.errors import CapabilityError, CredentialsError
from qorch.contract.payload import from_qpy
from qorch.contract.provider import Counts, JobRequest, JobState, Provider, TargetOptions
from qorch.engine import execution, registry

DEVICE = "fake_santiago"  # 5 qubits: a fast noise model


@pytest.fixture
def provider() -> Provider:
    return registry.load("ibm")


@pytest.fixture
def sampler_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[list[Any]]]:
    """Every call of the executor Sampler's ``run`` in this process: the PUBs it was given."""
    from qiskit_ibm_runtime.executor_sampler import Sampler

    calls: list[list[Any]] = []
    original = Sampler.run

    def run(self: Any, pubs: Any, **kwargs: Any) -> Any:
        calls.append(list(pubs))
        return original(self, calls[-1], **kwargs)

    monkeypatch.setattr(Sampler, "run", run)
    yield calls


def request_for(
    provider: Provider,
    circuit: QuantumCircuit,
    rows: tuple[tuple[float, ...], ...],
    shots: int = 500,
    device: str = DEVICE,
    workdir: Path = Path(".qorch/jobs"),
) -> JobRequest:
    payload = provider.translate(circuit, device, TargetOptions(), seed=3)
    return JobRequest(
        device=device,
        payload=payload,
        shots=shots,
        seed=17,
        token=f"qorch-sets-{circuit.name}-{time.time_ns()}",
        tags={"qorch-run": "sets"},
        workdir=workdir,
        parameter_values=rows,
    )


def wait(provider: Provider, handle: dict[str, Any], timeout_s: float = 120.0) -> JobState:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = execution.status(provider, handle).state
        if state.final:
            return state
        time.sleep(0.1)
    pytest.fail(f"job {handle['job_id']} not finished after {timeout_s} s")


def ry_pair() -> QuantumCircuit:
    """RY(a) on qubit 0 and RY(b) on qubit 1, measured."""
    circuit = QuantumCircuit(2, name="ry-pair")
    circuit.ry(Parameter("a"), 0)
    circuit.ry(Parameter("b"), 1)
    circuit.measure_all()
    return circuit


def one_probability(counts: Counts, clbit: int) -> float:
    """The share of shots in which ``clbit`` read 1."""
    shots = sum(counts.values())
    return sum(n for key, n in counts.items() if key[len(key) - 1 - clbit] == "1") / shots


def distance(counts: Counts, probabilities: Mapping[str, float]) -> float:
    """Total variation distance between sampled counts and exact probabilities."""
    shots = sum(counts.values())
    keys = set(counts) | set(probabilities)
    return 0.5 * sum(abs(counts.get(k, 0) / shots - probabilities.get(k, 0.0)) for k in keys)


# one job, one PUB -------------------------------------------------------------


def test_fifty_sets_run_as_one_local_job(provider: Provider, tmp_path: Path) -> None:
    angles = [math.pi * i / 49 for i in range(50)]
    rows = tuple((a, math.pi - a) for a in angles)
    request = request_for(provider, ry_pair(), rows, shots=300, workdir=tmp_path)
    handle = execution.submit(provider, request)
    assert handle["parameter_sets"] == 50
    assert wait(provider, handle) is JobState.DONE, execution.status(provider, handle).message
    results = execution.result(provider, handle)
    assert isinstance(results, list) and len(results) == 50
    assert all(sum(counts.values()) == 300 for counts in results)
    jobs = [entry for entry in tmp_path.iterdir() if not entry.name.startswith(".")]
    assert [entry.name for entry in jobs] == [request.token]  # one job for all fifty sets


def test_fifty_sets_are_one_sampler_call_with_one_pub(
    provider: Provider, sampler_runs: list[list[Any]]
) -> None:
    angles = [math.pi * i / 49 for i in range(50)]
    rows = tuple((a, math.pi - a) for a in angles)
    results = provider.execute(request_for(provider, ry_pair(), rows, shots=1000))
    assert len(sampler_runs) == 1 and len(sampler_runs[0]) == 1  # one call, one PUB
    circuit, values = sampler_runs[0][0]
    assert [p.name for p in circuit.parameters] == ["a", "b"]
    (columns, array), *_ = values.items()
    assert [p.name for p in columns] == ["a", "b"] and array.shape == (50, 2)
    assert isinstance(results, list) and len(results) == 50
    for (a, b), counts in zip(rows, results, strict=True):
        assert sum(counts.values()) == 1000
        # noisy device: readout and gate errors of a few per cent, 1000 shots
        assert one_probability(counts, 0) == pytest.approx(math.sin(a / 2) ** 2, abs=0.1)
        assert one_probability(counts, 1) == pytest.approx(math.sin(b / 2) ** 2, abs=0.1)


# column order ---------------------------------------------------------------


def coded_circuit() -> tuple[QuantumCircuit, dict[str, int]]:
    """15 parameters on 4 qubits: parameter j is an RY on every qubit whose bit is set in
    its code. With one parameter at π and the rest 0 the outcome is that parameter's code;
    with several at π, the XOR of their codes.

    Parameters are added in an order unlike Qiskit's (by name, vector elements by index):
    ``zeta`` first, ``x[11]`` down to ``x[0]`` (``x[10]`` must sort after ``x[9]``), then
    ``beta`` and ``alpha``.
    """
    x = ParameterVector("x", 12)
    inserted = [Parameter("zeta"), *reversed(list(x)), Parameter("beta"), Parameter("alpha")]
    circuit = QuantumCircuit(4, name="coded")
    codes: dict[str, int] = {}
    for index, parameter in enumerate(inserted):
        code = index + 1  # 1..15: distinct, non-zero
        codes[parameter.name] = code
        for qubit in range(4):
            if code >> qubit & 1:
                circuit.ry(parameter, qubit)
    circuit.measure_all()
    return circuit, codes


QISKIT_ORDER = ["alpha", "beta", *(f"x[{i}]" for i in range(12)), "zeta"]


def test_translated_columns_are_in_qiskits_order(provider: Provider) -> None:
    circuit, _ = coded_circuit()
    payload = provider.translate(circuit, DEVICE, TargetOptions(), seed=3)
    translated = from_qpy(payload.data)
    assert [p.name for p in translated.parameters] == QISKIT_ORDER
    assert list(translated.parameters) == list(circuit.parameters)  # the same Parameters


def test_each_column_drives_its_own_parameter(provider: Provider) -> None:
    circuit, codes = coded_circuit()
    one_hot = [tuple(math.pi if c == r else 0.0 for c in range(15)) for r in range(15)]
    pairs = [(0, 14), (2, 13), (11, 12), (1, 3)]  # alpha+zeta, x[0]+x[11], x[9]+x[10], ...
    two_hot = [tuple(math.pi if c in pair else 0.0 for c in range(15)) for pair in pairs]
    rows = (*one_hot, *two_hot, (0.0,) * 15)
    expected = [codes[name] for name in QISKIT_ORDER]
    expected += [codes[QISKIT_ORDER[i]] ^ codes[QISKIT_ORDER[j]] for i, j in pairs]
    expected += [0]
    results = provider.execute(request_for(provider, circuit, rows, shots=400))
    assert isinstance(results, list) and len(results) == len(rows)
    for row, counts, code in zip(rows, results, expected, strict=True):
        top = max(counts, key=lambda key: counts[key])
        assert top == format(code, "04b"), (row, counts)


# Aer and parameterised controlled rotations --------------------------------


def controlled_rotations() -> QuantumCircuit:
    """CRZ, CRX and CP with parameters: the gates Aer mis-binds (#2323, #2391, #2403)."""
    a, b, c = Parameter("a"), Parameter("b"), Parameter("c")
    circuit = QuantumCircuit(3, name="controlled")
    circuit.h([0, 1])
    circuit.crz(a, 0, 1)
    circuit.h(1)
    circuit.crx(b, 1, 2)
    circuit.h(0)
    circuit.cp(c, 2, 0)
    circuit.h(0)
    circuit.measure_all()
    return circuit


CONTROLLED_ROWS = (
    (0.4, 2.1, 1.3),
    (math.pi, math.pi, math.pi),
    (2.9, 0.7, 5.1),
    (1.6, 4.4, 0.2),
    (5.5, 1.2, 3.0),
)


def exact(circuit: QuantumCircuit, row: tuple[float, ...]) -> dict[str, float]:
    """Outcome probabilities of ``circuit`` bound to ``row`` (measure_all: qubit i → clbit i)."""
    bound = circuit.remove_final_measurements(inplace=False).assign_parameters(row)
    return {str(k): float(v) for k, v in Statevector(bound).probabilities_dict().items()}


def sample_swept(circuit: QuantumCircuit, rows: Any, shots: int) -> list[Counts]:
    """``circuit`` swept over ``rows`` as one PUB on a noiseless AerSimulator, never bound."""
    from qiskit_aer import AerSimulator

    sampler = sampling.make_sampler(AerSimulator(), shots, [])
    sampler.options.simulator.seed_simulator = 5
    result = sampler.run([sampling.sampler_pub(circuit, rows, shots)]).result()
    return sampling.counts_of_pub(
        result[0], sampling.registers_of(circuit), circuit.num_clbits, len(rows)
    )


def test_the_exactness_check_catches_aers_controlled_rotation_bug() -> None:
    """The control experiment: the untranslated circuit, swept in Aer, is wrong."""
    circuit = controlled_rotations()
    results = sample_swept(circuit, CONTROLLED_ROWS, shots=4000)
    pairs = zip(results, CONTROLLED_ROWS, strict=True)
    worst = max(distance(counts, exact(circuit, row)) for counts, row in pairs)
    if worst < 0.05:
        pytest.skip("this qiskit-aer binds parameterised controlled gates correctly")
    assert worst > 0.2


def test_translated_controlled_rotations_are_exact_when_swept(provider: Provider) -> None:
    """After translation for an IBM device (cx + rz/sx/x) the bug has nothing to bite on."""
    circuit = controlled_rotations()
    payload = provider.translate(circuit, DEVICE, TargetOptions(), seed=3)
    assert not {"crz", "crx", "cp"} & set(payload.gate_counts)
    translated = from_qpy(payload.data)
    assert not sampling.has_parameterised_controlled_gate(translated)
    results = sample_swept(translated, CONTROLLED_ROWS, shots=20_000)
    for row, counts in zip(CONTROLLED_ROWS, results, strict=True):
        # 20 000 shots over 8 outcomes: sampling alone keeps the distance near 0.01
        assert distance(counts, exact(circuit, row)) < 0.03, (row, counts)


def test_fake_device_gives_the_right_distribution_for_controlled_rotations(
    provider: Provider,
) -> None:
    circuit = controlled_rotations()
    results = provider.execute(request_for(provider, circuit, CONTROLLED_ROWS, shots=4000))
    assert isinstance(results, list)
    for row, counts in zip(CONTROLLED_ROWS, results, strict=True):
        assert distance(counts, exact(circuit, row)) < 0.15, (row, counts)  # device noise


def test_an_untranslated_controlled_rotation_is_bound_before_running(
    sampler_runs: list[list[Any]],
) -> None:
    """The guard: a circuit that still has one is bound per set (one call, a PUB per set)."""
    from qiskit_aer import AerSimulator

    circuit = controlled_rotations()
    assert sampling.has_parameterised_controlled_gate(circuit)
    results = sampling.run_local(AerSimulator(), circuit, 4000, 5, [], CONTROLLED_ROWS)
    assert len(sampler_runs) == 1 and len(sampler_runs[0]) == len(CONTROLLED_ROWS)
    for row, counts in zip(CONTROLLED_ROWS, results, strict=True):
        assert distance(counts, exact(circuit, row)) < 0.04, (row, counts)


# checks and limits ------------------------------------------------------------


def test_a_parameterised_circuit_without_values_is_refused(
    provider: Provider, tmp_path: Path
) -> None:
    request = request_for(provider, ry_pair(), (), workdir=tmp_path)
    with pytest.raises(CapabilityError, match=r"'ry-pair' on ibm:fake_santiago has 2 unbound"):
        execution.submit(provider, request)
    assert not any(tmp_path.iterdir())  # nothing was created


def test_sets_of_the_wrong_width_or_not_finite_are_refused(provider: Provider) -> None:
    request = request_for(provider, ry_pair(), ((1.0, 2.0), (1.0,)))
    with pytest.raises(CapabilityError, match=r"parameter set 1 .* has 1 value.*2 parameter"):
        execution.submit(provider, request)
    request = dataclasses.replace(request, parameter_values=((1.0, math.nan),))
    with pytest.raises(CapabilityError, match="not a finite number"):
        execution.submit(provider, request)


def test_ibms_execution_limit_is_the_devices_and_is_enforced(
    provider: Provider, isolated_account: Path
) -> None:
    assert provider.device(DEVICE).max_parameter_sets == devices.MAX_EXECUTIONS == 10_000_000
    assert devices.max_parameter_sets(4096) == 2441
    fits = request_for(provider, ry_pair(), ((0.0, 0.0),) * 2441, shots=4096)
    sampling.check_parameter_sets(fits, from_qpy(fits.payload.data), "ibm:fake_santiago")
    over = dataclasses.replace(fits, parameter_values=((0.0, 0.0),) * 2442)
    message = r"2,442 parameter set\(s\) × 4,096 shots = 10,002,432 executions.*at most 2,441"
    with pytest.raises(CapabilityError, match=message):
        execution.submit(provider, over)
    # a real device is refused the same way, before any network call (no account here)
    with pytest.raises(CapabilityError, match=message) as caught:
        provider.submit(dataclasses.replace(over, device="ibm_torino"))
    assert not isinstance(caught.value, CredentialsError)


def test_a_circuit_with_no_parameters_left_runs_its_sets_as_slices_of_one_pub(
    provider: Provider, sampler_runs: list[list[Any]]
) -> None:
    circuit = QuantumCircuit(2, name="fixed")
    circuit.x(1)
    circuit.measure_all()
    results = provider.execute(request_for(provider, circuit, ((), (), ()), shots=200))
    assert len(sampler_runs) == 1 and len(sampler_runs[0]) == 1
    assert sampler_runs[0][0][2] == 600  # one PUB of shots × sets
    assert isinstance(results, list) and len(results) == 3
    for counts in results:
        assert sum(counts.values()) == 200 and max(counts, key=lambda k: counts[k]) == "10"


def test_cost_counts_the_job_overhead_once_for_all_sets(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    # price a real device's job from fake_torino's figures (no account needed)
    monkeypatch.setattr(provider, "_backend", lambda name: devices.fake_backend("fake_torino"))
    payload = provider.translate(ry_pair(), DEVICE, TargetOptions(), seed=1)
    one = provider.estimate_cost("ibm_torino", payload, 1000)
    ten = provider.estimate_cost("ibm_torino", payload, 1000, parameter_sets=10)
    assert ten == provider.estimate_cost("ibm_torino", payload, 10_000)  # shots × sets
    assert one.usd < ten.usd < 10 * one.usd
    assert provider.estimate_cost(DEVICE, payload, 1000, parameter_sets=10).usd == 0.0


def test_results_are_in_row_order(provider: Provider) -> None:
    rows = ((0.0, 0.0), (math.pi, 0.0), (0.0, math.pi), (math.pi, math.pi)) * 3
    results = provider.execute(request_for(provider, ry_pair(), rows[::-1], shots=200))
    assert isinstance(results, list)
    tops = [max(counts, key=lambda k: counts[k]) for counts in results]
    assert tops == ["11", "10", "01", "00"] * 3


def test_counts_of_pub_refuses_a_result_of_the_wrong_shape() -> None:
    from qiskit.primitives import BitArray, DataBin, SamplerPubResult

    from qorch.contract.errors import ProviderError

    bits = BitArray.from_bool_array(np.zeros((2, 10, 1), dtype=bool), order="little")
    result = SamplerPubResult(DataBin(c=bits, shape=(2,)))
    assert len(sampling.counts_of_pub(result, [("c", [0])], 1, 2)) == 2
    with pytest.raises(ProviderError, match=r"results for 2 parameter set.*ran 3"):
        sampling.counts_of_pub(result, [("c", [0])], 1, 3)
