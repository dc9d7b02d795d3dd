"""Error mitigation as a target option: M3 readout mitigation from calibration jobs of the
run (qubit order, a real noisy run closer to exact, the no-op on ideal simulators) and the
located errors (a target that cannot take it, a budget the extra shots exceed)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from qorch.workloads.circuits.readout import NO_OP, Corrector, assignment_matrices
from tests.conftest import InProcessCli

# P(read 1 | prepared 0) and P(read 0 | prepared 1) of two physical qubits, 7 and 2
FLIP_UP = {7: 0.10, 2: 0.02}
FLIP_DOWN = {7: 0.05, 2: 0.20}
SHOTS = 100_000


def _noisy(ideal: str, qubits: list[int]) -> dict[str, int]:
    """Exact expected counts of ``ideal`` (clbit k = ``qubits[k]``) read through the flips."""
    import itertools

    counts: dict[str, int] = {}
    for read in itertools.product("01", repeat=len(qubits)):
        key = "".join(read)
        p = 1.0
        for clbit, qubit in enumerate(qubits):
            was, got = ideal[-1 - clbit], key[-1 - clbit]
            flip = FLIP_UP[qubit] if was == "0" else FLIP_DOWN[qubit]
            p *= flip if was != got else 1 - flip
        counts[key] = round(p * SHOTS)
    return counts


def test_assignment_matrices_follow_m3s_columns_and_qiskits_bit_order() -> None:
    qubits = [7, 2]  # clbit 0 read qubit 7, clbit 1 read qubit 2
    matrices = assignment_matrices(_noisy("00", qubits), _noisy("11", qubits), qubits)
    assert matrices[7].ravel() == pytest.approx([0.90, 0.05, 0.10, 0.95], abs=1e-3)
    assert matrices[2].ravel() == pytest.approx([0.98, 0.20, 0.02, 0.80], abs=1e-3)


@pytest.mark.parametrize("ideal", ["01", "10", "11"])
def test_m3_undoes_known_readout_flips(ideal: str) -> None:
    qubits = [7, 2]
    corrector = Corrector(_noisy("00", qubits), _noisy("11", qubits), qubits)
    quasi, overhead = corrector.correct(_noisy(ideal, qubits), qubits)
    assert quasi[ideal] == pytest.approx(1.0, abs=1e-3)
    assert sum(abs(p) for key, p in quasi.items() if key != ideal) < 3e-3
    assert overhead > 1.0  # mitigation costs variance


NOISY = """\
version: 1
kind: circuits
name: m3
shots: 1000
seed: 5
circuits:
  - name: ghz
    generator: ghz
    qubits: 3
    observables:
      - {name: stabilizers, terms: {ZZI: 1.0, IZZ: 1.0, XXX: 1.0}}
targets:
  - {target: local:aer, noise: ibm:fake_manila, mitigation: {readout: m3}}
checks:
  - {metric: "mitigation_gain:stabilizers:m3", min: 0.0}
"""


def test_m3_on_a_noisy_target_is_closer_to_exact(cli: InProcessCli, make_plan: Any) -> None:
    result = cli("run", str(make_plan(NOISY)), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    roles = [job.get("role") for job in data["jobs"]]
    assert roles == [None, "observables", "calibration", "calibration"]
    counts_job = data["jobs"][0]
    assert counts_job["readout_mitigation"] == "m3"
    assert sum(counts_job["quasi_probabilities"].values()) == pytest.approx(1.0, abs=1e-6)
    (row,) = counts_job["observables"]
    raw, mitigated, exact = row["value"], row["m3"]["value"], row["exact"]
    assert exact == pytest.approx(3.0)
    assert abs(mitigated - exact) < abs(raw - exact)
    assert abs(mitigated - exact) < 4 * row["m3"]["std_error"] + 0.05  # M3 leaves gate errors
    assert row["m3"]["std_error"] > row["std_error"]
    names = {m["name"] for m in data["metric_values"]}
    assert {"observable:stabilizers:m3", "mitigation_gain:stabilizers:m3"} <= names
    table = cli("results", "latest").stdout
    assert "m3" in table and "calibration" in table


def test_m3_on_an_ideal_simulator_is_a_documented_no_op(cli: InProcessCli, make_plan: Any) -> None:
    plan = make_plan(NOISY.replace("local:aer, noise: ibm:fake_manila", "local:statevector"))
    result = cli("run", str(plan), "--json")
    assert result.returncode == 0, result.stderr
    jobs = json.loads(result.stdout)["jobs"]
    assert [job.get("role") for job in jobs] == [None, "observables"]  # no calibration
    assert jobs[0]["readout_mitigation"] == NO_OP
    (row,) = jobs[0]["observables"]
    assert row["method"] == "exact (statevector)"  # the native path kept
    assert row["m3"] == {"value": row["value"], "std_error": 0.0}  # the raw value, gain 0


def test_mitigation_on_a_target_that_cannot_take_it_is_one_located_line(
    cli: InProcessCli, make_plan: Any
) -> None:
    plan = make_plan(NOISY.replace("local:aer, noise: ibm:fake_manila", "braket:iqm_garnet"))
    result = cli("compile", str(plan))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"qorch: error: {plan}:13: targets[0].mitigation.readout: ")
    assert "braket:iqm_garnet payloads are openqasm3" in lines[0]
    for written, problem in (("{}", "mitigation: ask for readout: m3, zne: {...} or both"),
                             ("{readout: m3, znee: {}}", "mitigation.znee: unknown field"),
                             ("{readout: m4}", "mitigation.readout: ")):  # fmt: skip
        other = make_plan(NOISY.replace("{readout: m3}", written), "other.yaml")
        result = cli("validate", str(other))
        assert result.returncode == 1
        assert f"{other}:13: targets[0].{problem}" in result.stderr


def test_budget_counts_the_calibration_shots_before_submission(
    cli: InProcessCli, make_plan: Any
) -> None:
    # the circuit and its bases need 1000 × 3 shots; calibration adds 2 × 1000
    plan = make_plan(NOISY + "budget: {max_total_shots: 4500}\n")
    assert "ok (4 jobs)" in cli("validate", str(plan)).stderr  # the calibration jobs counted
    result = cli("compile", str(plan))
    assert result.returncode == 1
    assert "budget.max_total_shots: plan needs " in result.stderr
    assert "(2000 of them for error mitigation) over 4 jobs" in result.stderr
    plain = NOISY.split("checks:")[0].replace(", mitigation: {readout: m3}", "")
    unmitigated = make_plan(plain + "budget: {max_total_shots: 4500}\n", "plain.yaml")
    assert cli("compile", str(unmitigated)).returncode == 0
