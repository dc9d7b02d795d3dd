"""Parameter sweeps in circuits plans: the three forms and their order, one job per target
for many sets, results per set in the plan's order, the plot, and located errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from qorch.workloads.circuits.sweep import (
    GridSweep,
    ZipSweep,
    parameter_sets,
    rows_of,
    sweep_problems,
)
from tests.conftest import InProcessCli

ROTATION = """\
OPENQASM 3.0;
include "stdgates.inc";
input float theta;
input float phi;
qubit[2] q;
ry(theta) q[0];
cx q[0], q[1];
rz(phi) q[1];
"""
THETAS = [round(0.15 * k, 2) for k in range(21)]  # 21 sets, not sorted after the first pass
THETAS = THETAS[10:] + THETAS[:10]


def test_grid_varies_the_first_name_slowest() -> None:
    grid = GridSweep(grid={"a": [1, 2], "b": [10, 20, 30]})
    assert parameter_sets(grid) == [
        {"a": 1, "b": 10}, {"a": 1, "b": 20}, {"a": 1, "b": 30},
        {"a": 2, "b": 10}, {"a": 2, "b": 20}, {"a": 2, "b": 30},
    ]  # fmt: skip


def test_zip_pairs_values_and_a_list_keeps_its_order() -> None:
    assert parameter_sets(ZipSweep(zip={"a": [3, 1], "b": [0, 5]})) == [
        {"a": 3, "b": 0},
        {"a": 1, "b": 5},
    ]
    sets = [{"b": 2.0, "a": 1.0}, {"a": 0.5, "b": 0.0}]
    assert parameter_sets(sets) == sets
    assert rows_of(sets, ["a", "b"]) == [[1.0, 2.0], [0.5, 0.0]]


def test_sweep_problems_name_missing_and_extra_names() -> None:
    problems = sweep_problems([{"a": 1}, {"a": 1, "b": 2, "c": 3}], ["a", "b"])
    assert problems == [
        ((0,), "parameter set has no value for b (the circuit's parameters: a, b)"),
        ((1, "c"), "the circuit has no parameter 'c' (its parameters: a, b)"),
    ]
    assert sweep_problems(GridSweep(grid={"a": [1], "b": [2]}), ["a", "b"]) == []


def _plan(tmp_path: Path, parameters: str, targets: str = "[local:statevector]") -> Path:
    (tmp_path / "rot.qasm").write_text(ROTATION)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "version: 1\nkind: circuits\nname: sweep\nshots: 300\nseed: 4\ncircuits:\n"
        "  - name: rot\n    qasm: rot.qasm\n"
        f"    parameters:\n{parameters}"
        "    observables:\n      - {name: zz, terms: {ZZ: 1.0}}\n"
        "      - {name: mix, terms: {IZ: 1.0, XX: 0.5}}\n"
        f"targets: {targets}\n"
    )
    return plan


def test_sweep_runs_in_one_job_with_results_in_plan_order(
    cli: InProcessCli, tmp_path: Path
) -> None:
    zipped = f"      zip:\n        theta: {THETAS}\n        phi: {[0.0] * len(THETAS)}\n"
    plan = _plan(tmp_path, zipped)
    result = cli("run", str(plan), "--json")
    assert result.returncode == 0, result.stderr
    jobs = json.loads(result.stdout)["jobs"]
    assert len(jobs) == 2  # the 21 sets' counts in one job, their bases in one more
    counts_job, bases_job = jobs
    assert bases_job["role"] == "observables"
    assert [s["theta"] for s in counts_job["parameter_sets"]] == THETAS
    assert len(counts_job["counts"]) == len(THETAS)
    for theta, counts in zip(THETAS, counts_job["counts"], strict=True):
        p11 = counts.get("11", 0) / sum(counts.values())  # ry(θ)|0>, then CX: P(11) = sin²(θ/2)
        assert abs(p11 - math.sin(theta / 2) ** 2) < 5 * math.sqrt(0.25 / 300) + 1e-9
    rows = counts_job["observables"]
    assert [row["set"] for row in rows] == [k for k in range(len(THETAS)) for _ in (0, 1)]
    for row in rows:
        theta = row["parameters"]["theta"]
        exact = math.cos(theta) + 0.5 * math.sin(theta) if row["name"] == "mix" else 1.0
        assert row["exact"] == pytest.approx(exact, abs=1e-9)
        assert abs(row["value"] - exact) <= 4 * row["std_error"] + 1e-9
    table = cli("results", "latest").stdout
    assert "parameter sets" in table and "phi=0, theta=0.15" in table


def test_results_plot_draws_an_observable_against_the_swept_parameter(
    cli: InProcessCli, tmp_path: Path
) -> None:
    plan = _plan(tmp_path, "      grid:\n        theta: [0.0, 1.0, 2.0]\n        phi: [0.5]\n")
    assert cli("run", str(plan)).returncode == 0
    from qorch.engine.sweepplot import sweep_panels

    data = json.loads(cli("results", "latest", "--json").stdout)
    panels = sweep_panels(data)
    assert [(p.circuit, p.observable, p.parameter) for p in panels] == [
        ("rot", "zz", "theta"),
        ("rot", "mix", "theta"),
    ]
    assert [x for x, _, _ in panels[1].lines["local:statevector"]] == [0.0, 1.0, 2.0]
    png = tmp_path / "sweep.png"
    drawn = cli("results", "latest", "--plot", str(png))
    assert drawn.returncode == 0, drawn.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_many_sets_make_one_job_per_ibm_and_braket_target(
    cli: InProcessCli, tmp_path: Path
) -> None:
    plan = _plan(tmp_path, f"      zip: {{theta: {THETAS}, phi: {THETAS}}}\n",
                 "[ibm:fake_manila, braket:local]")  # fmt: skip
    result = cli("compile", str(plan), "--json")
    assert result.returncode == 0, result.stderr
    jobs = json.loads(result.stdout)["jobs"]
    per_target = {
        t: [j for j in jobs if j["target"] == t] for t in ("ibm:fake_manila", "braket:local")
    }
    for target_jobs in per_target.values():
        assert len(target_jobs) == 2  # counts (21 sets) and bases (21 sets × 2 bases)
        assert [len(j["parameter_values"]) for j in target_jobs] == [21, 42]


@pytest.mark.parametrize(
    ("parameters", "line", "where", "message"),
    [
        ("      - {theta: 0.1, phi: 0.2}\n      - {theta: 0.3}\n", 11,
         "circuits[0].parameters[1]", "parameter set has no value for phi"),
        ("      - {theta: 0.1, phi: 0.2, psi: 1}\n", 10,
         "circuits[0].parameters[0].psi", "the circuit has no parameter 'psi'"),
        ("      grid:\n        theta: []\n        phi: [1]\n", 11,
         "circuits[0].parameters.grid.theta", "grid parameter 'theta' has no values"),
        ("      zip:\n        theta: [1, 2]\n        phi: [1]\n", 12,
         "circuits[0].parameters.zip.phi", "zip parameter 'phi' has 1 values; 'theta' has 2"),
    ],
)  # fmt: skip
def test_bad_sweep_is_one_located_line(
    cli: InProcessCli, tmp_path: Path, parameters: str, line: int, where: str, message: str
) -> None:
    plan = _plan(tmp_path, parameters)
    result = cli("validate", str(plan))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{plan}:{line}: {where}: "), lines[0]
    assert message in lines[0]


def test_a_qasm_circuits_nested_error_is_located_at_its_field(
    cli: InProcessCli, tmp_path: Path
) -> None:
    """Regression: the union tag ``qasm`` is also a key of a QASM circuit, so an error
    inside one (a bad Pauli string) was located at ``circuits[0].qasm``."""
    plan = _plan(tmp_path, "      - {theta: 0.1, phi: 0.2}\n")
    plan.write_text(plan.read_text().replace("{ZZ: 1.0}", "{ZQ: 1.0}"))
    result = cli("validate", str(plan))
    assert result.returncode == 1
    assert f"{plan}:12: circuits[0].observables[0].terms.ZQ: " in result.stderr


def test_symbolic_generator_angles_and_unswept_parameters(
    cli: InProcessCli, make_plan: Any
) -> None:
    plan = make_plan(
        """\
        version: 1
        kind: circuits
        name: qaoa
        shots: 100
        circuits:
          - name: qa
            generator: qaoa-maxcut
            qubits: 4
            gammas: [gamma]
            betas: [beta]
            seed: 3
        targets: [local:statevector]
        """
    )
    result = cli("validate", str(plan))
    assert result.returncode == 1
    assert "unbound parameters (beta, gamma)" in result.stderr
    assert "give their values in 'parameters:'" in result.stderr
    sweep = "    parameters: {grid: {gamma: [0.1, 0.2], beta: [0.3]}}\n"
    plan.write_text(plan.read_text().replace("    seed: 3\n", "    seed: 3\n" + sweep))
    run = cli("run", str(plan), "--json")
    assert run.returncode == 0, run.stderr
    (job,) = json.loads(run.stdout)["jobs"]
    assert job["parameter_sets"] == [{"gamma": 0.1, "beta": 0.3}, {"gamma": 0.2, "beta": 0.3}]
    plot = cli("results", "latest", "--plot", str(plan.with_suffix(".png")))
    assert plot.returncode == 1  # counts of parameter sets alone: said, not a bare "no counts"
    assert "ran 2 parameter sets: not plotted (see --csv); name observables" in plot.stderr


def test_plans_without_sweeps_or_mitigation_keep_their_canonical_form(make_plan: Any) -> None:
    """The new fields stay out of the canonical plan (the run's idempotency key) unless set."""
    from qorch.engine.planfile import load_plan

    plan = make_plan(
        "version: 1\nkind: circuits\nname: p\ncircuits:\n"
        "  - {name: g, generator: ghz, qubits: 2}\ntargets: [local:aer]\n"
    )
    dumped = load_plan(plan).plan.model_dump(mode="json")
    assert "parameters" not in dumped["circuits"][0]
    assert "mitigation" not in dumped["targets"][0]
