"""A plan's ``checks:`` judged on its run (issue 11): reference metrics of circuits plans,
verdicts in the JSON and the table, exit code 5, and validate refusing checks that cannot
select anything."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

PLAN = """\
version: 1
kind: circuits
name: checked
shots: 1000
seed: 4
circuits:
  - {name: bell, generator: ghz, qubits: 2}
  - {name: qft3, generator: qft, qubits: 3, value: 5}
targets: [local:statevector]
checks:
CHECKS"""

PASSING = """\
  - {metric: hellinger_fidelity, min: 0.95}
  - {metric: success_probability, circuit: qft3, value: 1.0, within: 0.01}
  - {metric: tvd, target: "local:*", max: 0.1}
"""


def test_passing_checks_exit_0_with_verdicts_and_intervals(
    cli, make_plan: Callable[..., Path]
) -> None:
    result = cli("run", str(make_plan(PLAN.replace("CHECKS", PASSING))), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    verdicts = [(c["metric"], c["circuit"], c["verdict"]) for c in data["checks"]]
    assert verdicts == [
        ("hellinger_fidelity", "bell", "pass"),
        ("hellinger_fidelity", "qft3", "pass"),
        ("success_probability", "qft3", "pass"),
        ("tvd", "bell", "pass"),
        ("tvd", "qft3", "pass"),
    ]
    fidelity = next(m for m in data["metric_values"] if m["name"] == "hellinger_fidelity")
    assert fidelity["low"] <= fidelity["value"] <= fidelity["high"] <= 1.0
    assert fidelity["level"] == 0.95 and fidelity["target"] == "local:statevector"
    qft = next(m for m in data["metric_values"]
               if m["name"] == "success_probability" and m["circuit"] == "qft3")  # fmt: skip
    assert qft["value"] == 1.0  # a perfect device always reads the encoded value


def test_a_failed_check_exits_5_and_shows_in_the_table(cli, make_plan: Callable[..., Path]) -> None:
    """A perfect device's fidelity is not 0.5 ± 0.1: a decided failure, not shot noise."""
    checks = "  - {metric: hellinger_fidelity, circuit: bell, value: 0.5, within: 0.1}\n"
    plan = make_plan(PLAN.replace("CHECKS", checks))
    result = cli("run", str(plan))
    assert result.returncode == 5, result.stderr
    assert "hellinger_fidelity [bell]" in result.stdout and "fail" in result.stdout
    again = cli("results", "latest", "--json")
    assert again.returncode == 5
    assert [c["verdict"] for c in json.loads(again.stdout)["checks"]] == ["fail"]


def test_validate_refuses_checks_that_select_nothing(cli, make_plan: Callable[..., Path]) -> None:
    cases = {
        "  - {metric: fidelity, min: 0.9}\n": "checks[0].metric: unknown metric 'fidelity'",
        "  - {metric: tvd, circuit: ghz*, max: 0.1}\n": "checks[0].circuit: 'ghz*' matches no",
        "  - {metric: tvd, target: 'ibm:*', max: 0.1}\n": "checks[0].target: 'ibm:*' matches no",
        "  - {metric: tvd, min: 0.2, max: 0.1}\n": "min 0.2 is greater than max 0.1",
        "  - {metric: tvd}\n": "give min and/or max, or value with within",
    }
    for checks, expected in cases.items():
        result = cli("validate", str(make_plan(PLAN.replace("CHECKS", checks))))
        assert result.returncode == 1, (checks, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_plan_without_checks_pays_for_no_reference(
    cli, make_plan: Callable[..., Path], tmp_path: Path
) -> None:
    """References are computed only for plans whose checks need them (a 24-qubit statevector
    is not free); such a plan's bundle has no references block."""
    bare = PLAN.replace("checks:\nCHECKS", "")
    assert cli("compile", str(make_plan(bare)), "-o", str(tmp_path / "b1")).returncode == 0
    assert "references" not in json.loads((tmp_path / "b1" / "manifest.json").read_text())
    checked = make_plan(PLAN.replace("CHECKS", PASSING))
    assert cli("compile", str(checked), "-o", str(tmp_path / "b2")).returncode == 0
    manifest = json.loads((tmp_path / "b2" / "manifest.json").read_text())
    assert manifest["references"]["qft3"] == {"101": 1.0}
    assert manifest["plan"]["checks"][0] == {"metric": "hellinger_fidelity", "min": 0.95,
                                             "strict": False, "level": 0.95}  # fmt: skip


def test_junit_and_markdown_reports_of_the_checks(
    cli, make_plan: Callable[..., Path], tmp_path: Path
) -> None:
    import xml.etree.ElementTree as ET

    checks = PASSING + "  - {metric: tvd, circuit: bell, value: 0.5, within: 0.1}\n"
    plan = make_plan(PLAN.replace("CHECKS", checks))
    junit, report = tmp_path / "out" / "checks.xml", tmp_path / "summary.md"
    (tmp_path / "out").mkdir()
    result = cli("run", str(plan), "--junit", str(junit), "--report", str(report))
    assert result.returncode == 5, result.stderr
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures")) == ("6", "1")
    failing = [
        case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None
    ]
    assert failing == ["tvd [bell] @ bell on local:statevector"]
    text = report.read_text()
    assert "| tvd [bell] | bell on local:statevector |" in text
    metrics = json.loads(cli("results", "latest", "--json").stdout)["metric_values"]
    fidelity = next(
        m for m in metrics if m["name"] == "hellinger_fidelity" and m["circuit"] == "bell"
    )
    row = f"| hellinger_fidelity | bell | local:statevector | {fidelity['value']:.4g} |"
    assert "### Metrics" in text and row in text, text
    unwritable = cli("results", "latest", "--junit", str(report / "x.xml"))  # under a file
    assert unwritable.returncode == 1 and "Traceback" not in unwritable.stderr
    assert "summary.md: a file is in the way" in unwritable.stderr


def test_history_keeps_every_finished_runs_metrics_and_verdicts(
    cli, make_plan: Callable[..., Path], tmp_path: Path
) -> None:
    checks = "  - {metric: hellinger_fidelity, circuit: bell, min: 0.9}\n"
    plan = make_plan(PLAN.replace("CHECKS", checks))
    first = json.loads(cli("run", str(plan), "--json", "-k", "one").stdout)["run_id"]
    second = json.loads(cli("run", str(plan), "--json", "-k", "two").stdout)["run_id"]
    shown = cli("history", "--metric", "hellinger_fidelity", "--json")
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert [(r["run_id"], r["circuit"], r["verdicts"]) for r in rows] == [
        (first, "bell", ["pass"]), (first, "qft3", []),
        (second, "bell", ["pass"]), (second, "qft3", []),
    ]  # fmt: skip
    assert all(r["plan_name"] == "checked" and r["low"] <= r["value"] for r in rows)
    assert json.loads(cli("history", "--target", "ibm:*", "--json").stdout) == []
    table = cli("history", "--plan", "checked")
    assert table.returncode == 0 and first in table.stdout and "shots" in table.stdout
    title, header = table.stdout.splitlines()[:2]  # what every row shares is said once
    assert title == "plan checked · target local:statevector", table.stdout
    assert header.split() == ["run", "metric", "circuit", "value", "interval", "checks"]
    assert cli("history", "--json").stdout.count('"run_id"') == 2 * 2 * 4  # 4 metrics a job
    by_file = json.loads(cli("history", str(plan), "--json").stdout)  # a plan file: its name
    assert len(by_file) == 16 and {r["plan_name"] for r in by_file} == {"checked"}
    assert json.loads(cli("history", "checked", "--json").stdout) == by_file
    assert json.loads(cli("history", "another-plan", "--json").stdout) == []
    mistyped = cli("history", "nightly.yaml", "--metric", "tvd")  # a plan that has no runs here
    assert mistyped.returncode == 0 and "no metrics recorded yet" not in mistyped.stderr
    assert len(json.loads(cli("history", "--since", "2000-01-01", "--json").stdout)) == 16
    assert json.loads(cli("history", "--since", "2999-01-01T00:00+01:00", "--json").stdout) == []
    for word in ("yesterday", "2026-13-45"):  # compared as text, they matched nothing, silently
        refused = cli("history", "--since", word)
        assert refused.returncode == 2 and "is not an ISO date or time" in refused.stderr
    said = ("no metrics match plan 'nightly.yaml', metric 'tvd'; recorded here: plans checked; "
            "metrics hellinger_fidelity, shots, success_probability, tvd")  # fmt: skip
    assert said in mistyped.stderr, mistyped.stderr
    assert cli("history", str(plan), "--plan", "another-plan").returncode == 2
    png = tmp_path / "fidelity.png"
    drawn = cli("history", "--metric", "hellinger_fidelity", "--plot", str(png))
    assert drawn.returncode == 0, drawn.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    assert cli("history", "--plot", str(png)).returncode == 2  # which metric?


def test_an_inconclusive_check_passes_unless_asked(cli, make_plan: Callable[..., Path]) -> None:
    """A bound inside the interval: shot noise cannot decide it, so it does not fail CI."""
    first = cli("run", str(make_plan(PLAN.replace("CHECKS", PASSING))), "--json")
    bell = next(m for m in json.loads(first.stdout)["metric_values"]
                if m["name"] == "tvd" and m["circuit"] == "bell")  # fmt: skip
    middle = (bell["low"] + bell["high"]) / 2
    checks = f"  - {{metric: tvd, circuit: bell, max: {middle!r}}}\n"
    plan = make_plan(PLAN.replace("CHECKS", checks))
    relaxed = cli("run", str(plan), "--json")
    assert relaxed.returncode == 0, relaxed.stderr
    assert [c["verdict"] for c in json.loads(relaxed.stdout)["checks"]] == ["inconclusive"]
    assert cli("results", "latest", "--fail-on-inconclusive").returncode == 5


def test_reference_metrics_equal_independent_computations(
    cli, make_plan: Callable[..., Path]
) -> None:
    """Hellinger fidelity as qiskit.quantum_info computes it, TVD and success by hand, on a
    noisy device (so the values are not trivially 1 and 0)."""
    from qiskit.quantum_info import hellinger_fidelity

    checks = PASSING.replace('target: "local:*", ', "")
    plan = make_plan(PLAN.replace("CHECKS", checks).replace(
        "targets: [local:statevector]", "targets: [ibm:fake_manila]"))  # fmt: skip
    result = cli("run", str(plan), "--json")
    assert result.returncode in (0, 5), result.stderr  # checks may fail on a noisy device
    data = json.loads(result.stdout)
    ideal = {"bell": {"00": 0.5, "11": 0.5}, "qft3": {"101": 1.0}}
    values = {(m["name"], m["circuit"]): m["value"] for m in data["metric_values"]}
    for job in data["jobs"]:
        counts, reference = job["counts"], ideal[job["circuit"]]
        shots = sum(counts.values())
        fidelity = hellinger_fidelity(counts, reference)
        assert 0.5 < fidelity < 0.999
        assert values[("hellinger_fidelity", job["circuit"])] == pytest.approx(fidelity, abs=1e-12)
        tvd = 0.5 * sum(abs(counts.get(k, 0) / shots - reference.get(k, 0.0))
                        for k in set(counts) | set(reference))  # fmt: skip
        assert values[("tvd", job["circuit"])] == pytest.approx(tvd, abs=1e-12)
        success = sum(counts.get(k, 0) for k in reference) / shots
        assert values[("success_probability", job["circuit"])] == pytest.approx(success)


DRIFT = """\
version: 1
kind: circuits
name: drift
shots: 2000
seed: SEED
circuits: [{name: ghz3, generator: ghz, qubits: 3}]
targets: [{target: local:aer, noise: NOISE}]
checks: [{metric: hellinger_fidelity, min: 0.5}]
"""


def test_diff_flags_a_noisier_device_and_not_another_sample(
    cli, make_plan: Callable[..., Path]
) -> None:
    def run(seed: int, noise: str) -> str:
        plan = make_plan(DRIFT.replace("SEED", str(seed)).replace("NOISE", noise))
        result = cli("run", str(plan), "--json")
        assert result.returncode == 0, result.stderr
        return str(json.loads(result.stdout)["run_id"])

    # Two 5-qubit devices (GHZ-3 fidelity about 0.95 and 0.85): Aer builds a 127-qubit
    # device's noise model in seconds per run, for the same check.
    base, resampled, noisier = (
        run(1, "ibm:fake_santiago"),
        run(2, "ibm:fake_santiago"),
        run(1, "ibm:fake_manila"),
    )

    def changes(a: str, b: str) -> tuple[bool, bool]:
        shown = cli("diff", a, b, "--json")
        assert shown.returncode == 0, shown.stderr
        data = json.loads(shown.stdout)
        fidelity = next(m for m in data["metrics"] if m["name"] == "hellinger_fidelity")
        return fidelity["significant"], data["counts"][0]["significant"]

    assert changes(base, resampled) == (False, False)
    assert changes(base, noisier) == (True, True)
    table = cli("diff", base, noisier)
    assert "hellinger_fidelity" in table.stdout and "yes" in table.stdout


@pytest.mark.parametrize(
    ("plan", "check", "expected"),
    [
        ("qcnn-digits.yaml", {"metric": "test_acuracy", "min": 0.9},
         "checks[2].metric: unknown metric 'test_acuracy'"),
        ("qcnn-digits.yaml", {"metric": "evaluation_accuracy", "target": "braket:sv1", "min": 0.9},
         "checks[2].target: 'braket:sv1' matches no target of this plan"),
        ("qcnn-digits.yaml", {"metric": "test_accuracy", "circuit": "qcnn", "min": 0.9},
         "checks[2].circuit: this plan's metrics have no circuit"),
        ("distributed-qft.yaml", {"metric": "expectation_ZZ", "value": 1, "within": 0.1},
         "checks[0].metric: unknown metric 'expectation_ZZ'"),
        ("distributed-qft.yaml", {"metric": "measured_fidelity", "target": "local:*", "min": 0.3},
         "checks[0].target: this plan's metrics have no target"),
    ],
)  # fmt: skip
def test_every_kind_refuses_checks_its_run_cannot_report(
    cli, tmp_path: Path, plan: str, check: dict[str, object], expected: str
) -> None:
    import yaml

    data = yaml.safe_load((Path(__file__).parents[1] / "plans" / plan).read_text())
    data["checks"] = [*data.get("checks", []), check]
    path = tmp_path / plan
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    for command in ("validate", "compile"):
        result = cli(command, str(path))
        assert result.returncode == 1, result.stderr
        assert expected in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_sound_check_on_each_kind_validates(cli, tmp_path: Path) -> None:
    import yaml

    for plan, check in (("qcnn-digits.yaml", {"metric": "mlp_test_accuracy", "min": 0.5}),
                        ("distributed-qft.yaml", {"metric": "epr_pairs", "circuit": "*",
                                                  "max": 8})):  # fmt: skip
        data = yaml.safe_load((Path(__file__).parents[1] / "plans" / plan).read_text())
        data["checks"] = [*data.get("checks", []), check]
        path = tmp_path / plan
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        result = cli("validate", str(path))
        assert result.returncode == 0, result.stderr


def test_the_markdown_report_links_the_runs_figures(cli, tmp_path: Path) -> None:
    """A distributed run's partition diagram is linked relative to the report, so it
    resolves beside the file a CI step publishes."""
    import re

    import yaml

    example = Path(__file__).parents[1] / "plans" / "distributed-qft.yaml"
    data = yaml.safe_load(example.read_text())
    data["execute"] = {"mode": "estimate"}
    data.pop("checks", None)
    plan = tmp_path / "qft.yaml"
    plan.write_text(yaml.safe_dump(data, sort_keys=False))
    report = tmp_path / "ci" / "summary.md"
    report.parent.mkdir()
    result = cli("run", str(plan), "--report", str(report))
    assert result.returncode == 0, result.stderr
    links = re.findall(r"!\[([^]]+)\]\(([^)]+)\)", report.read_text())
    assert [name for name, _ in links] == ["partition.png"], report.read_text()
    assert not Path(links[0][1]).is_absolute()
    assert (report.parent / links[0][1]).resolve().read_bytes().startswith(b"\x89PNG")
