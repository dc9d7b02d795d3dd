"""Parameter sets: safe input names, column order, one program set per job (local and AWS)."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.response import StreamingBody
from braket.ir.openqasm import Program, ProgramSet
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qorch_braket import parameters, pricing

from qorch.contract.errors import CapabilityError, ProviderError
from qorch.contract.provider import JobRequest, JobState, Provider, TargetOptions
from qorch.engine import execution
from qorch.testing import two_parameter_circuit

PI = math.pi
PROGRAM_SET_KEY = "qorch-tasks/ps-task"


def ry_circuit(params: list[Any], name: str = "ry") -> QuantumCircuit:
    """RY(params[k]) on qubit k, every qubit measured: a value of π flips exactly that qubit."""
    circuit = QuantumCircuit(len(params), name=name)
    for qubit, parameter in enumerate(params):
        circuit.ry(parameter, qubit)
    circuit.measure_all()
    return circuit


def one_hot(width: int, column: int) -> tuple[float, ...]:
    return tuple(PI if index == column else 0.0 for index in range(width))


def outcome(num_qubits: int, flipped: int) -> str:
    """The Qiskit-order bitstring with only qubit (= clbit) ``flipped`` set."""
    return "".join("1" if bit == flipped else "0" for bit in reversed(range(num_qubits)))


def execute(provider: Provider, circuit: QuantumCircuit, rows: Any, device: str = "local") -> Any:
    """Translate and execute in this process (what the detached worker does), 20 shots a set."""
    options = TargetOptions()
    payload = provider.translate(circuit, device, options, seed=3)
    request = JobRequest(device, payload, 20, 1, "t", options=options, parameter_values=rows)
    return provider.execute(request)


def with_rows(request: JobRequest, rows: Any, shots: int | None = None) -> JobRequest:
    return dataclasses.replace(
        request, parameter_values=tuple(tuple(r) for r in rows), shots=shots or request.shots
    )


# translation --------------------------------------------------------------


def test_parameters_become_p_inputs_in_qiskit_column_order(provider: Provider) -> None:
    zeta, alpha, mu = Parameter("zeta"), Parameter("alpha"), Parameter("mu")
    circuit = ry_circuit([zeta, alpha, mu])  # inserted zeta, alpha, mu; Qiskit order by name
    payload = provider.translate(circuit, "local", TargetOptions(), seed=1)
    program = parameters.read(payload.data.decode())
    assert program.columns == (("p0", "alpha"), ("p1", "mu"), ("p2", "zeta"))
    assert "ry(p2) q[0];" in program.source and "ry(p0) q[1];" in program.source
    assert parameters.HEADER not in program.source
    assert payload.gate_counts == {"ry": 3} and payload.depth == 1  # inputs are not gates
    results = execute(provider, circuit, [one_hot(3, k) for k in range(3)])
    # alpha (column 0) is on qubit 1, mu on qubit 2, zeta on qubit 0
    assert results == [{outcome(3, 1): 20}, {outcome(3, 2): 20}, {outcome(3, 0): 20}]


def test_parameter_vector_elements_in_index_order(provider: Provider) -> None:
    x = ParameterVector("x", 12)
    a = Parameter("a")  # sorts before the vector: column 0
    circuit = ry_circuit([*x, a], name="vector")
    payload = provider.translate(circuit, "local", TargetOptions(), seed=1)
    program = parameters.read(payload.data.decode())
    assert program.parameter_names == ["a"] + [f"x[{i}]" for i in range(12)]  # x[2] < x[10]
    declarations = [line for line in program.source.splitlines() if line.startswith("input")]
    assert declarations == [f"input float p{i};" for i in range(13)]
    rows = [one_hot(13, column) for column in range(13)]
    results = execute(provider, circuit, rows)
    expected = [outcome(13, 12)] + [outcome(13, i) for i in range(12)]
    assert [next(iter(counts)) for counts in results] == expected
    assert all(counts == {key: 20} for counts, key in zip(results, expected, strict=True))


def test_reserved_and_colliding_names(provider: Provider) -> None:
    x = ParameterVector("x", 2)  # x[1] is x_1 to qiskit-braket-provider: collides with "x_1"
    names = ["b", "q", "pi", "input", "E", "I", "x_1", "p1", "p0"]
    params = [Parameter(name) for name in names] + list(x)
    circuit = ry_circuit(params, name="reserved")
    payload = provider.translate(circuit, "local", TargetOptions(), seed=1)
    program = parameters.read(payload.data.decode())
    order = [p.name for p in circuit.parameters]
    assert program.parameter_names == order
    assert [name for name, _ in program.columns] == [f"p{i}" for i in range(len(order))]
    for column, name in enumerate(order):  # each original lands on its own qubit
        qubit = [p.name for p in params].index(name)
        assert f"ry(p{column}) q[{qubit}];" in program.source, name
    width = len(order)
    results = execute(provider, circuit, [one_hot(width, k) for k in range(width)])
    for column, counts in enumerate(results):
        assert counts == {outcome(width, [p.name for p in params].index(order[column])): 20}
    # QPU gate sets translate the same names too (expressions go through sympy there)
    expression = QuantumCircuit(2, name="expr")
    expression.rzz(Parameter("E") * 2 + Parameter("pi"), 0, 1)
    expression.rx(Parameter("b") / 3, 0)
    expression.measure_all()
    for device in ("iqm_garnet", "rigetti_ankaa3", "ionq_forte1"):
        translated = provider.translate(expression, device, TargetOptions(), seed=1)
        program = parameters.read(translated.data.decode())
        assert program.parameter_names == ["E", "b", "pi"], device
        assert program.declared <= {"p0", "p1", "p2"}, device


TRANSLATE = """
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector
from qorch.engine import registry
from qorch.contract.provider import TargetOptions
x = ParameterVector("x", 11)
circuit = QuantumCircuit(12, name="det")
for i in range(11):
    circuit.ry(x[i], i)
circuit.rx(Parameter("b") + 2 * Parameter("q"), 11)
circuit.measure_all()
payload = registry.load("braket").translate(circuit, "local", TargetOptions(), 5)
"""


def test_parameterised_translation_is_deterministic_across_processes() -> None:
    # Braket's serialiser declares inputs in set order, which follows str hashing
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    script = TRANSLATE + "import sys; sys.stdout.buffer.write(payload.data)"
    env = {**os.environ, "PYTHONHASHSEED": seed}
    other = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, check=True, env=env, timeout=120
    )
    here: dict[str, Any] = {}
    exec(TRANSLATE, here)  # this process: another hash seed
    assert other.stdout == here["payload"].data and b"input float p11;" in other.stdout


# local execution ------------------------------------------------------------


def test_fifty_sets_run_as_one_local_job(provider: Provider, tmp_path: Path) -> None:
    options = TargetOptions()
    payload = provider.translate(two_parameter_circuit(), "local", options, seed=1)
    rows = [((k % 2) * PI, (k // 2 % 2) * PI) for k in range(50)]
    request = JobRequest("local", payload, 20, 1, "qorch-fifty", options=options,
                         workdir=tmp_path, parameter_values=tuple(rows))  # fmt: skip
    handle = json.loads(json.dumps(execution.submit(provider, request)))
    deadline = time.monotonic() + 120
    while not (status := execution.status(provider, handle)).state.final:
        assert time.monotonic() < deadline, status
        time.sleep(0.1)
    assert status.state is JobState.DONE, status.message
    jobs = [path.name for path in tmp_path.iterdir() if (path / "request.json").exists()]
    assert jobs == ["qorch-fifty"]  # one local job
    results = execution.result(provider, handle)
    expected = [f"{int(b > 0)}{int(a > 0)}" for a, b in rows]
    assert results == [{key: 20} for key in expected]


def test_sets_run_as_one_program_set_on_the_local_simulator(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from braket.devices import LocalSimulator

    calls: list[tuple[Any, int]] = []
    original = LocalSimulator.run

    def spy(self: Any, task_specification: Any, shots: int | None = None, **kwargs: Any) -> Any:
        calls.append((task_specification, int(shots or 0)))
        return original(self, task_specification, shots=shots, **kwargs)

    monkeypatch.setattr(LocalSimulator, "run", spy)
    rows = [(PI * (k % 2), 0.0) for k in range(50)]
    for device in ("local", "local_dm"):
        calls.clear()
        results = execute(provider, two_parameter_circuit(), rows, device)
        assert len(calls) == 1, device
        action, shots = calls[0]
        assert isinstance(action, ProgramSet) and action.num_executables == 50
        assert shots == 50 * 20  # total shots, split evenly over the executables
        assert [next(iter(counts)) for counts in results] == ["00", "01"] * 25


def test_a_program_set_parses_its_source_once(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulator parsed each executable twice with its pure-Python parser (~90 % of a
    QCNN evaluation's time); the trees are reused, deep-copied, with the same results."""
    from braket.default_simulator.openqasm import interpreter

    sources: list[str] = []
    original = interpreter.parse

    def counting(source: str) -> Any:
        sources.append(source)
        return original(source)

    monkeypatch.setattr(interpreter, "parse", counting)
    rows = [(PI * (k % 2), PI * (k // 2 % 2)) for k in range(40)]
    results = execute(provider, two_parameter_circuit(), rows, "local")
    assert len(sources) == 1
    assert [next(iter(counts)) for counts in results] == ["00", "01", "10", "11"] * 10
    assert interpreter.parse is counting  # restored after the job


def test_a_program_set_checks_its_instructions_up_front_once_per_program(
    provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The simulator interpreted every executable once only to check its instructions
    before running it (a third of a QCNN evaluation's time), then again to run it, which
    checks them too: the check before the run interprets the first executable only."""
    from braket.default_simulator.simulator import BaseLocalSimulator

    checked: list[Any] = []
    original = BaseLocalSimulator.parse_program

    def counting(self: Any, program: Any) -> Any:
        checked.append(program.inputs)
        return original(self, program)

    monkeypatch.setattr(BaseLocalSimulator, "parse_program", counting)
    rows = [(PI * (k % 2), PI * (k // 2 % 2)) for k in range(40)]
    for device in ("local", "local_dm"):
        checked.clear()
        results = execute(provider, two_parameter_circuit(), rows, device)
        assert checked == [{"p0": 0.0, "p1": 0.0}], device
        assert [next(iter(counts)) for counts in results] == ["00", "01", "10", "11"] * 10
    name = "_validate_program_set_instructions_compatibility"
    assert getattr(BaseLocalSimulator, name).__name__ == name  # restored after the job


def test_a_payload_without_inputs_repeats_per_set(provider: Provider) -> None:
    circuit = QuantumCircuit(2, name="fixed")
    circuit.x(1)
    circuit.measure_all()
    assert execute(provider, circuit, [(), (), ()]) == [{"10": 20}] * 3
    phase = QuantumCircuit(2, name="phase")  # its one parameter only sets the global phase,
    phase.x(0)  # which Braket drops: the column stays, the input is not declared
    phase.global_phase = Parameter("g")
    phase.measure_all()
    payload = provider.translate(phase, "local", TargetOptions(), seed=1)
    program = parameters.read(payload.data.decode())
    assert program.parameter_names == ["g"] and not program.declared
    assert execute(provider, phase, [(1.0,), (2.0,)]) == [{"01": 20}] * 2


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ((), "2 unbound parameter"),
        (((1.0,),), "has 1 value"),
        (((1.0, math.nan),), "not a finite number"),
        (((1.0, math.inf),), "not a finite number"),
    ],
)
def test_rows_must_fit_the_payload(
    provider: Provider, tmp_path: Path, rows: Any, message: str
) -> None:
    options = TargetOptions()
    payload = provider.translate(two_parameter_circuit(), "local", options, seed=1)
    request = JobRequest("local", payload, 10, 1, "qorch-bad", options=options,
                         workdir=tmp_path, parameter_values=rows)  # fmt: skip
    with pytest.raises(CapabilityError, match=message):
        execution.submit(provider, request)  # refused before a worker starts
    assert not (tmp_path / "qorch-bad").exists()
    with pytest.raises(CapabilityError, match=message):
        provider.execute(request)


# AWS: limits, creation, results ----------------------------------------------


def test_devices_report_how_many_sets_fit_in_a_job(provider: Provider) -> None:
    assert provider.device("local").max_parameter_sets is None
    assert provider.device("local_dm").max_parameter_sets is None
    for qpu in ("ionq_forte1", "iqm_garnet", "rigetti_ankaa3"):
        assert provider.device(qpu).max_parameter_sets == 100
    for simulator in ("sv1", "dm1", "tn1"):
        assert provider.device(simulator).max_parameter_sets == 1


def test_program_set_limits_are_capability_errors(provider: Provider, bk: Any) -> None:
    request = bk.make_request(provider, two_parameter_circuit(), "ionq_forte1", s3_bucket=bk.BUCKET)
    with pytest.raises(CapabilityError, match="101 parameter sets, over Braket's limit of 100"):
        provider.submit(with_rows(request, [(0.0, 0.0)] * 101))
    with pytest.raises(CapabilityError, match=r"200,000 per program set.*at most 66 sets"):
        provider.submit(with_rows(request, [(0.0, 0.0)] * 70, shots=3000))
    simulator = bk.make_request(provider, two_parameter_circuit(), "sv1", s3_bucket=bk.BUCKET)
    with pytest.raises(CapabilityError, match=r"runs no program sets.*2 tasks"):
        provider.submit(with_rows(simulator, [(0.0, 0.0)] * 2))
    with pytest.raises(CapabilityError, match="unbound parameter"):
        provider.submit(request)


def test_program_set_creation_request(provider: Provider, stubs: Any, bk: Any) -> None:
    request = bk.make_request(provider, two_parameter_circuit(), "ionq_forte1", s3_bucket=bk.BUCKET)
    rows = [(PI, 0.0), (0.0, PI), (PI, PI)]
    request = with_rows(request, rows)
    source = parameters.read(request.payload.data.decode()).source
    action = ProgramSet(
        programs=[Program(source=source, inputs={"p0": [PI, 0.0, PI], "p1": [0.0, PI, PI]})]
    ).json()
    params = {
        "clientToken": request.token,
        "deviceArn": bk.FORTE_ARN,
        "action": action,
        "shots": 3 * request.shots,  # Braket counts a program set's total shots
        "outputS3Bucket": bk.BUCKET,
        "outputS3KeyPrefix": "qorch-tasks",
        "tags": {**request.tags, "qorch-token": request.token},
    }
    for _ in range(2):
        stubs.braket.add_response("create_quantum_task", {"quantumTaskArn": bk.TASK_ARN}, params)
    handle = provider.submit(request)
    assert provider.recover(request) == handle  # the same clientToken again
    stubs.done()
    sent = json.loads(action)
    assert sent["braketSchemaHeader"]["name"] == "braket.ir.openqasm.program_set"
    assert "qorch-parameters" not in sent["programs"][0]["source"]
    assert handle["parameter_sets"] == 3 and handle["program_set"] is True
    assert handle["shots"] == request.shots and json.loads(json.dumps(handle)) == handle


def test_program_set_validation_failure_is_reported(
    provider: Provider, stubs: Any, bk: Any
) -> None:
    request = bk.make_request(provider, two_parameter_circuit(), "ionq_forte1", s3_bucket=bk.BUCKET)
    failures = [{"programIndex": 0, "inputsIndex": 2, "errors": ["angle out of range"]}]
    stubs.braket.add_client_error(
        "create_quantum_task", "ValidationException", "Invalid program set", 400,
        modeled_fields={"programSetValidationFailures": failures},
    )  # fmt: skip
    with pytest.raises(ProviderError, match=r"Invalid program set.*angle out of range"):
        provider.submit(with_rows(request, [(0.0, 0.0)] * 3))


def test_one_set_on_a_managed_simulator_is_one_task_with_inputs(
    provider: Provider, stubs: Any, bk: Any
) -> None:
    request = bk.make_request(provider, two_parameter_circuit(), "sv1", s3_bucket=bk.BUCKET)
    request = with_rows(request, [(PI, 0.5)])
    source = parameters.read(request.payload.data.decode()).source
    stubs.braket.add_response(
        "create_quantum_task",
        {"quantumTaskArn": bk.TASK_ARN},
        {
            "clientToken": request.token,
            "deviceArn": "arn:aws:braket:::device/quantum-simulator/amazon/sv1",
            "action": Program(source=source, inputs={"p0": PI, "p1": 0.5}).json(),
            "shots": request.shots,
            "outputS3Bucket": bk.BUCKET,
            "outputS3KeyPrefix": "qorch-tasks",
            "tags": {**request.tags, "qorch-token": request.token},
        },
    )
    handle = provider.submit(request)
    stubs.done()
    assert handle["parameter_sets"] == 1 and handle["program_set"] is False


def executable(index: int, qubits: list[int], row: list[int], shots: int = 4) -> dict[str, Any]:
    """A ProgramSetExecutableResult document: ``shots`` identical shots of ``row``."""
    return {
        "braketSchemaHeader": {
            "name": "braket.task_result.program_set_executable_result",
            "version": "1",
        },
        "inputsIndex": index,
        "measurements": [row] * shots,
        "measuredQubits": qubits,
    }


def program_result(executables: list[Any]) -> dict[str, Any]:
    return {
        "braketSchemaHeader": {"name": "braket.task_result.program_result", "version": "1"},
        "executableResults": executables,
        "source": "program.json",
        "additionalMetadata": {},
    }


def task_result(programs: list[Any], s3: bool) -> dict[str, Any]:
    document: dict[str, Any] = {
        "braketSchemaHeader": {
            "name": "braket.task_result.program_set_task_result",
            "version": "1",
        },
        "programResults": programs,
        "taskMetadata": "metadata.json",
    }
    if s3:
        document["s3Location"] = ["qorch-test-results", PROGRAM_SET_KEY]
    return document


def stub_object(stubs: Any, bk: Any, key: str, document: Any) -> None:
    body = json.dumps(document).encode()
    stubs.s3.add_response(
        "get_object",
        {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentLength": len(body)},
        {"Bucket": bk.BUCKET, "Key": key},
    )


def bit_order_parameter_circuit() -> QuantumCircuit:
    """RY(a) on qubit 0 → clbit 2, RY(b) on qubit 1 → clbit 0 (Braket: b[0]=q[1], b[1]=q[0])."""
    circuit = QuantumCircuit(2, 3, name="psbits")
    circuit.ry(Parameter("a"), 0)
    circuit.ry(Parameter("b"), 1)
    circuit.measure(0, 2)
    circuit.measure(1, 0)
    return circuit


def submitted_program_set(provider: Provider, stubs: Any, bk: Any, rows: Any) -> Any:
    request = bk.make_request(
        provider, bit_order_parameter_circuit(), "ionq_forte1", s3_bucket=bk.BUCKET
    )
    stubs.braket.add_response("create_quantum_task", {"quantumTaskArn": bk.TASK_ARN})
    handle = json.loads(json.dumps(provider.submit(with_rows(request, rows))))
    record = bk.task_record("COMPLETED")
    record["outputS3Directory"] = PROGRAM_SET_KEY
    record["actionMetadata"] = {
        "actionType": "braket.ir.openqasm.program_set",
        "programCount": 1,
        "executableCount": len(rows),
    }
    stubs.braket.add_response("get_quantum_task", record, bk.get_task_params())
    return handle


def test_program_set_results_from_s3_in_row_order(provider: Provider, stubs: Any, bk: Any) -> None:
    rows = [(PI, 0.0), (0.0, PI), (PI, PI)]  # a flips qubit 0 (clbit 2), b qubit 1 (clbit 0)
    handle = submitted_program_set(provider, stubs, bk, rows)
    stub_object(stubs, bk, f"{PROGRAM_SET_KEY}/results.json",
                task_result(["programs/0/results.json"], s3=True))  # fmt: skip
    files = [f"executables/{k}.json" for k in (2, 0, 1)]  # listed out of order
    stub_object(stubs, bk, f"{PROGRAM_SET_KEY}/programs/0/results.json", program_result(files))
    # Braket bit k measures the qubit measuredQubits[k]; set 1 reports its qubits reversed
    documents = {
        0: executable(0, [1, 0], [0, 1]),
        1: executable(1, [0, 1], [0, 1]),
        2: executable(2, [1, 0], [1, 1]),
    }
    for k in (2, 0, 1):
        stub_object(stubs, bk, f"{PROGRAM_SET_KEY}/programs/0/executables/{k}.json", documents[k])
    results = provider.result(handle)
    stubs.done()
    assert results == [{"100": 4}, {"001": 4}, {"101": 4}]


def test_inline_results_and_probabilities(provider: Provider, stubs: Any, bk: Any) -> None:
    handle = submitted_program_set(provider, stubs, bk, [(PI, 0.0), (0.0, PI)])
    first = executable(0, [1, 0], [0, 1])
    second = {**executable(1, [1, 0], [1, 0]), "measurements": None,
              "measurementProbabilities": {"10": 1.0}}  # fmt: skip
    document = task_result([program_result([second, first])], s3=False)
    document["taskMetadata"] = {
        "braketSchemaHeader": {
            "name": "braket.task_result.program_set_task_metadata",
            "version": "1",
        },
        "id": bk.TASK_ARN,
        "deviceId": bk.FORTE_ARN,
        "requestedShots": 200,
        "successfulShots": 200,
        "programMetadata": [{"executables": [{}, {}]}],
        "totalFailedExecutables": 0,
    }
    stub_object(stubs, bk, f"{PROGRAM_SET_KEY}/results.json", document)
    results = provider.result(handle)
    stubs.done()
    assert results == [{"100": 4}, {"001": 100}]  # probabilities: shots per set (100)


def test_a_failed_executable_names_its_set(provider: Provider, stubs: Any, bk: Any) -> None:
    handle = submitted_program_set(provider, stubs, bk, [(PI, 0.0), (0.0, PI)])
    failure = {
        "braketSchemaHeader": {
            "name": "braket.task_result.program_set_executable_failure",
            "version": "1",
        },
        "inputsIndex": 1,
        "failureMetadata": {"failureReason": "QPU fault", "retryable": True, "category": "DEVICE"},
    }
    document = task_result([program_result([executable(0, [1, 0], [0, 1]), failure])], s3=False)
    stub_object(stubs, bk, f"{PROGRAM_SET_KEY}/results.json", document)
    with pytest.raises(ProviderError, match=r"parameter set 1 failed \(DEVICE\): QPU fault"):
        provider.result(handle)
    stubs.done()


def test_unknown_arn_program_set_limits_come_from_get_device(
    provider: Provider, stubs: Any
) -> None:
    arn = "arn:aws:braket:eu-north-1::device/qpu/aqt/Ibex-Q1-ps"
    capabilities = {
        "action": {
            "braket.ir.openqasm.program": {"supportedOperations": ["prx", "rz", "cz"]},
            "braket.ir.openqasm.program_set": {
                "actionType": "braket.ir.openqasm.program_set", "version": ["1"],
                "maximumExecutables": 40, "maximumTotalShots": 50_000,
            },
        },
        "paradigm": {"qubitCount": 12, "nativeGateSet": ["prx", "xx"]},
    }  # fmt: skip
    stubs.braket.add_response(
        "get_device",
        {"deviceArn": arn, "deviceName": "Ibex-Q1", "providerName": "AQT", "deviceType": "QPU",
         "deviceStatus": "ONLINE", "deviceCapabilities": json.dumps(capabilities)},
        {"deviceArn": arn},
    )  # fmt: skip
    assert provider.device(arn).max_parameter_sets == 40
    spec = provider.spec(arn)  # type: ignore[attr-defined]
    assert spec.program_sets and spec.max_total_shots == 50_000
    stubs.done()


# cost -------------------------------------------------------------------------


def test_a_program_set_pays_the_task_fee_once(provider: Provider, no_aws: None) -> None:
    payload = provider.translate(two_parameter_circuit(), "ionq_forte1", TargetOptions(), seed=1)
    estimate = provider.estimate_cost(  # type: ignore[call-arg]
        "ionq_forte1", payload, 100, parameter_sets=3
    )
    assert estimate.usd == pytest.approx(0.30 + 0.08 * 100 * 3)
    assert "3 sets × 100 shots = 300 billed shots" in estimate.basis
    assert estimate.usd == provider.estimate_cost("ionq_forte1", payload, 300).usd
    assert estimate.usd < 3 * provider.estimate_cost("ionq_forte1", payload, 100).usd
    table = pricing.current_table(False)
    sv1 = pricing.estimate(provider.spec("sv1"), 100, table, parameter_sets=1)  # type: ignore[attr-defined]
    assert sv1.usd == pytest.approx(0.075 / 60 * 3)


def test_a_term_every_shot_agrees_on_still_has_an_error_bar() -> None:
    """Braket's native expectation path reported 3.0000 ± 0.0000 for GHZ stabilizers: every
    shot agreed, and 4000 shots cannot prove an error of 0. Floored as the counts path is."""
    import numpy as np
    from qorch_braket.estimation import _variance

    from qorch.contract.provider import unseen_variance_floor

    signs = np.ones((4000, 2), dtype=int)  # both qubits +1 on every shot: ZZ = +1 always
    variance = _variance([("ZZ", 1.0)], signs, {0: 0, 1: 1}, {0: 0, 1: 1})
    assert variance == unseen_variance_floor(1.0, 4000) / 4000 > 0
    assert 0.0004 < variance**0.5 < 0.0006  # about 2/N
    mixed = np.where(np.arange(4000)[:, None] % 2 == 0, 1, -1) * np.ones((4000, 2), dtype=int)
    assert _variance([("ZI", 1.0)], mixed, {0: 0, 1: 1}, {0: 0, 1: 1}) > variance  # real spread
