"""Every plan in plans/ validates and runs end to end on local backends, with the right answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

PLANS = Path(__file__).resolve().parent.parent / "plans"


def share(counts: dict[str, int], *outcomes: str) -> float:
    return sum(counts.get(outcome, 0) for outcome in outcomes) / sum(counts.values())


@pytest.mark.parametrize("plan", sorted(PLANS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_example_validates(cli, plan: Path) -> None:
    result = cli("validate", str(plan))
    assert result.returncode == 0, result.stderr


def test_every_example_has_a_run_test() -> None:
    covered = {"ghz.yaml", "qft.yaml", "qasm.yaml", "qcnn-digits.yaml", "qcnn-sweep.yaml",
               "qcnn-multiclass.yaml", "qcnn-csv.yaml", "distributed-qft.yaml",
               "distributed-cut.yaml", "distributed-ions.yaml", "observables.yaml",
               "mitigation.yaml", "zne.yaml"}  # fmt: skip
    # qcnn-digits.yaml runs in tests/qcnn/test_cli_qcnn.py::test_reference_digits_plan;
    # the distributed-*.yaml plans in tests/distributed/test_cli_distributed.py
    assert {plan.name for plan in PLANS.glob("*.yaml")} == covered


def run_plan(cli, name: str) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = cli("run", name if "/" in name else f"plans/{name}", "--json", "--poll", "0.2")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] == "completed"
    return data  # type: ignore[no-any-return]


def test_ghz_runs_on_four_backends_in_one_bit_order(cli) -> None:
    data = run_plan(cli, "ghz.yaml")
    targets = [job["target"] for job in data["jobs"]]
    assert targets == ["local:statevector", "local:aer", "ibm:fake_kyiv", "braket:local"]
    for job in data["jobs"]:
        assert sum(job["counts"].values()) == 4000
        assert all(len(bits) == 5 for bits in job["counts"])
        assert share(job["counts"], "00000", "11111") >= 0.90, job
        assert min(job["counts"]["00000"], job["counts"]["11111"]) > 1600, job
    exact = data["jobs"][0]["counts"]
    assert set(exact) == {"00000", "11111"}
    verdicts = [(c["metric"], c["target"], c["verdict"]) for c in data["checks"]]
    assert len(verdicts) == 4 + 1 + 1 + 4 and {v for _, _, v in verdicts} == {"pass"}, verdicts


def test_qft_finds_the_value_on_ibm_and_braket(cli) -> None:
    data = run_plan(cli, "qft.yaml")
    by_key = {(job["circuit"], job["target"]): job["counts"] for job in data["jobs"]}
    assert share(by_key[("qft5-value", "braket:local")], "10011") == 1.0
    assert share(by_key[("qft5-value", "braket:local_dm")], "10011") == 1.0
    noisy = by_key[("qft5-value", "ibm:fake_kyiv")]
    assert max(noisy, key=lambda bits: noisy[bits]) == "10011" and share(noisy, "10011") > 0.5
    uniform = by_key[("qft4", "braket:local")]
    assert len(uniform) == 16 and max(uniform.values()) < 0.12 * 2000


def test_qasm_files_give_the_documented_outcomes(cli) -> None:
    data = run_plan(cli, "qasm.yaml")
    for job in data["jobs"]:
        counts = job["counts"]
        if job["circuit"] == "bell":
            assert set(counts) == {"00", "11"}
        elif job["circuit"] == "swap3":
            assert set(counts) == {"100", "101"}
        else:
            assert all(len(bits) == 6 for bits in counts)


def test_observables_on_four_backends_match_their_exact_values(cli) -> None:
    data = run_plan(cli, "observables.yaml")
    assert {c["verdict"] for c in data["checks"]} == {"pass"}
    seen = 0
    for job in data["jobs"]:
        for item in job.get("observables", ()):
            seen += 1
            error = abs(item["value"] - item["exact"])
            if job["target"].startswith("local:"):  # exact
                assert error < 1e-9 and item["std_error"] == 0, (job["target"], item)
            elif job["target"] == "braket:local":  # ideal, sampled (unseeded: 4σ)
                assert error <= 4 * item["std_error"] + 1e-9, item
            else:  # ibm:fake_manila: its noise model, readout mitigated
                assert error < 0.3, item
    assert seen == 3 * 4


def test_zne_example_moves_the_noisy_energy_toward_exact(cli) -> None:
    """plans/zne.yaml: on local:aer with fake_manila's noise ZNE (Richardson) moves the
    TFIM energy toward the exact one, M3 + ZNE (linear) closer than M3 alone; two folded
    jobs per noisy target; on local:statevector ZNE is a no-op."""
    data = run_plan(cli, "zne.yaml")
    assert {c["verdict"] for c in data["checks"]} == {"pass"}, data["checks"]
    folded = [(j["target"], j["scale_factor"]) for j in data["jobs"] if j.get("role") == "zne"]
    assert folded == [("local:aer", 3), ("local:aer", 5)] * 2
    ideal, richardson, both = [row for j in data["jobs"] for row in j.get("observables", ())]
    assert ideal["zne"]["value"] == ideal["value"] == pytest.approx(ideal["exact"])
    exact = richardson["exact"]
    assert abs(richardson["zne"]["value"] - exact) < abs(richardson["value"] - exact)
    assert both["zne"]["readout"] == "m3" and both["zne"]["extrapolation"] == "linear"
    assert abs(both["zne"]["value"] - exact) < abs(both["m3"]["value"] - exact)


def test_mitigation_example_is_closer_to_exact_and_sweeps_in_one_job(cli) -> None:
    """plans/mitigation.yaml: M3 moves every noisy value toward the exact one (the GHZ
    stabilizers and the TFIM energy at each of 21 angles); the sweep is one counts job and
    one basis job per target; on local:statevector M3 is a no-op."""
    data = run_plan(cli, "mitigation.yaml")
    assert {c["verdict"] for c in data["checks"]} == {"pass"}, data["checks"]
    targets = ("local:statevector", "local:aer", "ibm:fake_manila")
    for target in targets:
        tfim = [j for j in data["jobs"] if j["circuit"] == "tfim" and j["target"] == target]
        assert [len(j["counts"]) for j in tfim] == [21, 42], target  # sets, sets × bases
        calibrations = [
            j for j in data["jobs"] if j["target"] == target and j.get("role") == "calibration"
        ]
        assert len(calibrations) == (0 if target == "local:statevector" else 2)
        rows = [
            row for j in data["jobs"] if j["target"] == target for row in j.get("observables", ())
        ]
        assert len(rows) == 1 + 21
        raw = sum(abs(row["value"] - row["exact"]) for row in rows)
        mitigated = sum(abs(row["m3"]["value"] - row["exact"]) for row in rows)
        if target == "local:statevector":
            assert mitigated == raw  # no readout error: M3 is a no-op
            for row in rows:
                assert abs(row["value"] - row["exact"]) <= 4 * row["std_error"] + 1e-9, row
        else:
            assert mitigated < 0.5 * raw, (target, mitigated, raw)
            for row in rows:
                assert abs(row["m3"]["value"] - row["exact"]) < abs(row["value"] - row["exact"])


def test_compiling_the_examples_twice_is_byte_identical(compile_in_two_processes) -> None:
    """QPY payloads for IBM and Aer, OpenQASM 3 for Braket: same bytes from two processes,
    for plans/ghz.yaml and plans/qft.yaml; and plans/mitigation.yaml, whose OpenQASM 3
    circuit sweeps an ``input float`` (its payloads differed on every compile: QPY stored
    the random UUID Qiskit gives each Parameter)."""
    ghz, qft, swept = compile_in_two_processes("plans/ghz.yaml", "plans/qft.yaml",
                                               "plans/mitigation.yaml")  # fmt: skip
    for _, files in (ghz, qft):
        assert {p.suffix for p in files} >= {".json", ".qpy", ".qasm"}
    assert any("tfim" in p.name for p in swept[1])


# The sweep example trains 270 QCNNs of 200 steps (about 4 CPU-minutes): the tests compile
# the file itself and run a copy of it with fewer steps and seeds, the grid unchanged.
SWEEP_STEPS, SWEEP_SEEDS = 20, 2


def test_qcnn_sweep_example_compiles_its_whole_grid(cli, tmp_path: Path) -> None:
    """plans/qcnn-sweep.yaml itself: 9 ansätze × 3 encodings × 2 losses × 5 seeds."""
    result = cli("compile", "plans/qcnn-sweep.yaml", "--json", "-o", str(tmp_path / "b"))
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert (
        manifest["qcnn"]["sweep_tasks"] == 9 * 3 * 2 * 5 + 3 * 5
    )  # + baselines per encoding, seed


def test_qcnn_sweep_grid_with_baselines(cli, tmp_path: Path) -> None:
    """The example's grid on digits 3 vs 8, baselines beside: every configuration trains
    (a copy of the file with 20 of its 200 steps and 2 of its 5 seeds)."""
    plan = yaml.safe_load((PLANS / "qcnn-sweep.yaml").read_text())
    assert (plan["train"]["steps"], plan["sweep"]["seeds"]) == (200, 5)
    plan["train"]["steps"], plan["sweep"]["seeds"] = SWEEP_STEPS, SWEEP_SEEDS
    path = tmp_path / "qcnn-sweep.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    data = run_plan(cli, str(path))
    rows = data["sweep"]
    assert len(rows) == 9 * 3 * 2 and all(row["seeds"] == SWEEP_SEEDS for row in rows)
    assert {row["ansatz"] for row in rows} == {
        "ttn", "sim5", "sim6", "sim9", "sim13", "sim14", "sim15", "so4", "su4"
    }  # fmt: skip
    assert {(row["encoding"], row["loss"]) for row in rows} == {
        (encoding, loss)
        for encoding in ("angle", "compact-angle", "amplitude")
        for loss in ("mse", "cross-entropy")
    }
    assert max(row["test_accuracy_mean"] for row in rows) > 0.9
    assert {"logistic [angle]", "mlp [amplitude]"} <= data["sweep_baselines"].keys()
    artifacts = Path(data["artifacts"])
    for name in ("sweep.csv", "sweep.md", "sweep.png"):
        assert (artifacts / name).stat().st_size > 0


def test_qcnn_multiclass_reads_four_classes(cli) -> None:
    data = run_plan(cli, "qcnn-multiclass.yaml")
    assert data["metrics"]["test_accuracy"] > 0.6  # chance is 0.25


def test_qcnn_csv_with_noisy_evaluation(cli) -> None:
    data = run_plan(cli, "qcnn-csv.yaml")
    report = data["evaluation"]["local:aer"]
    assert report["samples"] == 60 and report["jobs"] == 1
    assert abs(report["gap_points"]) <= 15
