"""Zero-noise extrapolation as a target option: global folding that survives transpilation,
Richardson and linear extrapolation against hand-computed values, a noisy run where ZNE is
closer to exact, the no-op on ideal simulators, the job count, the budget and the located
errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from qorch.workloads.circuits.zne import (
    extrapolate,
    fold_global,
    linear_weights,
    richardson_weights,
    two_qubit_gates,
)
from qorch.workloads.circuits.zneresults import NO_OP
from tests.conftest import InProcessCli

TFIM = (Path(__file__).resolve().parent.parent / "plans/circuits/tfim4_2layer.qasm").read_text()


def _ghz_body(qubits: int = 4) -> Any:
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(qubits, name="ghz")
    circuit.h(0)
    for qubit in range(qubits - 1):
        circuit.cx(qubit, qubit + 1)
    return circuit


@pytest.mark.parametrize("scale", [1, 3, 5, 7])
def test_global_folding_is_u_then_u_dagger_u_and_keeps_the_unitary(scale: int) -> None:
    from qiskit.quantum_info import Operator

    body = _ghz_body()
    folded = fold_global(body, scale)
    assert two_qubit_gates(folded) == scale * two_qubit_gates(body) == scale * 3
    assert sum(1 for i in folded.data if i.operation.name == "barrier") == scale - 1
    assert Operator(folded).equiv(Operator(body))


@pytest.mark.parametrize("scale", [0, 2, -1])
def test_folding_refuses_even_scale_factors(scale: int) -> None:
    with pytest.raises(ValueError, match="odd scale factor"):
        fold_global(_ghz_body(), scale)


def test_folds_survive_the_transpiler_only_because_of_the_barriers() -> None:
    """On fake_manila at optimization level 3 the folded payload keeps scale × the
    two-qubit gates of the unfolded one; without the barriers U† U would be cancelled."""
    from qiskit import transpile
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    from qorch.workloads.circuits.observables import basis_circuit

    backend = FakeManilaV2()
    body = _ghz_body()
    unfolded = transpile(basis_circuit(body, ["ZZZZ"]), backend, optimization_level=3,
                         seed_transpiler=1)  # fmt: skip
    base = two_qubit_gates(unfolded)
    assert base >= 3
    for scale in (3, 5):
        measured = basis_circuit(fold_global(body, scale), ["ZZZZ"])
        folded = transpile(measured, backend, optimization_level=3, seed_transpiler=1)
        assert two_qubit_gates(folded) >= scale * base
    bare = body.compose(body.inverse()).compose(body)  # U U† U with no barrier
    cancelled = transpile(basis_circuit(bare, ["ZZZZ"]), backend, optimization_level=3,
                          seed_transpiler=1)  # fmt: skip
    assert two_qubit_gates(cancelled) < 3 * base


def test_richardson_weights_and_error_match_hand_computed_values() -> None:
    # two points: the line through (1, y1), (3, y3) at 0 is 1.5 y1 - 0.5 y3
    assert richardson_weights([1, 3]) == pytest.approx([1.5, -0.5])
    # three: w1 = 3/2 · 5/4, w3 = 1/(1-3) · 5/(5-3), w5 = 1/(1-5) · 3/(3-5)
    assert richardson_weights([1, 3, 5]) == pytest.approx([15 / 8, -5 / 4, 3 / 8])
    value, error = extrapolate([1, 3, 5], [0.9, 0.7, 0.6], [0.01, 0.02, 0.03])
    assert value == pytest.approx(15 / 8 * 0.9 - 5 / 4 * 0.7 + 3 / 8 * 0.6)
    expected = math.sqrt((15 / 8 * 0.01) ** 2 + (5 / 4 * 0.02) ** 2 + (3 / 8 * 0.03) ** 2)
    assert error == pytest.approx(expected)
    # a quadratic through the points is recovered exactly: y = 1 - 0.1 λ + 0.01 λ²
    quadratic = [1 - 0.1 * x + 0.01 * x * x for x in (1, 3, 5)]
    assert extrapolate([1, 3, 5], quadratic, [0, 0, 0])[0] == pytest.approx(1.0)


def test_linear_extrapolation_is_the_weighted_least_squares_intercept() -> None:
    import numpy as np

    # equal errors: intercept error σ √(Σλ² / (n Σλ² − (Σλ)²)) = 0.01 √(35 / 24)
    value, error = extrapolate([1, 3, 5], [0.9, 0.7, 0.5], [0.01] * 3, "linear")
    assert value == pytest.approx(1.0)
    assert error == pytest.approx(0.01 * math.sqrt(35 / 24))
    # unequal errors: numpy's weighted fit (weights 1/σ) and its unscaled covariance
    scales, values, errors = [1, 3, 5, 7], [0.95, 0.8, 0.62, 0.5], [0.01, 0.02, 0.02, 0.04]
    coefficients, covariance = np.polyfit(scales, values, 1, w=1 / np.array(errors),
                                          cov="unscaled")  # fmt: skip
    value, error = extrapolate(scales, values, errors, "linear")
    assert value == pytest.approx(coefficients[1])
    assert error == pytest.approx(math.sqrt(covariance[1, 1]))
    assert sum(linear_weights(scales, errors)) == pytest.approx(1.0)  # a constant stays put


NOISY = """\
version: 1
kind: circuits
name: zne
shots: 2000
seed: 2026
circuits:
  - name: tfim
    qasm: tfim.qasm
    observables:
      - name: energy
        terms: {IIZZ: -1.0, IZZI: -1.0, ZZII: -1.0, IIIX: -1.0, IIXI: -1.0, IXII: -1.0, XIII: -1.0}
targets:
  - {target: local:aer, noise: ibm:fake_manila, mitigation: {zne: {scale_factors: [1, 3, 5]}}}
checks:
  - {metric: "mitigation_gain:energy:zne", min: 0.0}
"""


def _noisy_plan(make_plan: Any, text: str = NOISY, name: str = "plan.yaml") -> Path:
    make_plan(TFIM, "tfim.qasm")
    return make_plan(text, name)  # type: ignore[no-any-return]


def test_zne_on_a_noisy_target_is_closer_to_exact(cli: InProcessCli, make_plan: Any) -> None:
    result = cli("run", str(_noisy_plan(make_plan)), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    jobs = data["jobs"]
    assert [job.get("role") for job in jobs] == [None, "observables", "zne", "zne"]
    assert [job.get("scale_factor") for job in jobs[2:]] == [3, 5]
    assert jobs[2]["bases"] == jobs[1]["bases"] == ["XXXX", "ZZZZ"]
    (row,) = jobs[0]["observables"]
    zne = row["zne"]
    assert zne["scale_factors"] == [1, 3, 5] and zne["extrapolation"] == "richardson"
    assert zne["values"][0] == row["value"]
    exact = row["exact"]
    # more folds, more noise: the energy rises away from the ground state's
    assert exact < zne["values"][0] < zne["values"][1] < zne["values"][2]
    expected, error = extrapolate([1, 3, 5], zne["values"], zne["std_errors"])
    assert (zne["value"], zne["std_error"]) == pytest.approx((expected, error))
    assert abs(zne["value"] - exact) < abs(row["value"] - exact)
    assert zne["std_error"] > row["std_error"]  # extrapolation costs variance
    gains = {m["name"]: m["value"] for m in data["metric_values"]}
    assert gains["mitigation_gain:energy:zne"] == pytest.approx(
        abs(row["value"] - exact) - abs(zne["value"] - exact)
    )
    assert {c["verdict"] for c in data["checks"]} == {"pass"}
    table = cli("results", "latest").stdout
    assert "zne" in table and "folded 3×" in table


def test_zne_on_an_ideal_simulator_is_a_documented_no_op(cli: InProcessCli, make_plan: Any) -> None:
    plan = _noisy_plan(make_plan, NOISY.replace("local:aer, noise: ibm:fake_manila",
                                                "local:statevector"))  # fmt: skip
    assert "ok (2 jobs)" in cli("validate", str(plan)).stderr
    result = cli("run", str(plan), "--json")
    assert result.returncode == 0, result.stderr
    jobs = json.loads(result.stdout)["jobs"]
    assert [job.get("role") for job in jobs] == [None, "observables"]  # no folded jobs
    (row,) = jobs[0]["observables"]
    assert row["method"] == "exact (statevector)"
    assert row["zne"]["value"] == row["value"] and row["zne"]["extrapolation"] == NO_OP


def test_validate_and_budget_count_the_folded_jobs(cli: InProcessCli, make_plan: Any) -> None:
    # the circuit and its two bases need 2000 × 3 shots; scales 3 and 5 add 2 × 2 × 2000
    plan = _noisy_plan(make_plan, NOISY + "budget: {max_total_shots: 9000}\n")
    assert "ok (4 jobs)" in cli("validate", str(plan)).stderr
    result = cli("compile", str(plan))
    assert result.returncode == 1
    assert "plan needs 14000 shots (8000 of them for error mitigation) over 4 jobs" in (
        result.stderr
    )
    both = NOISY.replace("{zne:", "{readout: m3, zne:")
    plan = _noisy_plan(make_plan, both, "both.yaml")
    assert "ok (6 jobs)" in cli("validate", str(plan)).stderr  # and M3's two calibrations
    compiled = cli("compile", str(plan), "--json")
    assert compiled.returncode == 0, compiled.stderr
    roles = [job.get("role") for job in json.loads(compiled.stdout)["jobs"]]
    assert roles == [None, "observables", "zne", "zne", "calibration", "calibration"]


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("{zne: {scale_factors: [1, 2, 5]}}", "mitigation.zne.scale_factors[1]: 2 is not an odd"),
        ("{zne: {scale_factors: [3]}}", "mitigation.zne.scale_factors: at least two"),
        ("{zne: {scale_factors: [1, 5, 3]}}", "mitigation.zne.scale_factors: scale factors must"),
        ("{zne: {scale_factors: [1, 1]}}", "mitigation.zne.scale_factors: scale factors must"),
        ("{zne: {extrapolation: cubic}}", "mitigation.zne.extrapolation: "),
        ("{zne: {scale: 3}}", "mitigation.zne.scale: unknown field"),
        ("{}", "mitigation: ask for readout: m3, zne: {...} or both"),
    ],
)
def test_bad_zne_options_are_one_located_line(
    cli: InProcessCli, make_plan: Any, written: str, problem: str
) -> None:
    text = NOISY.replace("{zne: {scale_factors: [1, 3, 5]}}", written)
    plan = _noisy_plan(make_plan, text)
    result = cli("validate", str(plan))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{plan}:13: targets[0].{problem}" in lines[0], lines[0]


def test_zne_where_it_cannot_apply_is_one_located_line(cli: InProcessCli, make_plan: Any) -> None:
    no_observables = NOISY.split("    observables:")[0] + "targets:" + NOISY.split("targets:")[1]
    plan = _noisy_plan(make_plan, no_observables.split("checks:")[0], "bare.yaml")
    result = cli("validate", str(plan))
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert f"{plan}:10: targets[0].mitigation.zne: zero-noise extrapolation needs observables" in (
        result.stderr
    )
    garnet = _noisy_plan(make_plan, NOISY.replace("local:aer, noise: ibm:fake_manila",
                                                  "braket:iqm_garnet"), "garnet.yaml")  # fmt: skip
    result = cli("compile", str(garnet))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"qorch: error: {garnet}:13: targets[0].mitigation.zne: ")
    assert "braket:iqm_garnet payloads are openqasm3" in lines[0]
