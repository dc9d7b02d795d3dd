"""Statistics, check verdicts and CI reports (pure): honest intervals, no flaky verdicts."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from pydantic import ValidationError
from qiskit.quantum_info import hellinger_fidelity

from qorch.engine import stats
from qorch.engine.checks import Check, MetricValue, Verdict, failed, judge, judge_all
from qorch.engine.reports import junit_xml, markdown_summary

GHZ = {"00000": 0.5, "11111": 0.5}


def counts_from(probabilities: np.ndarray, shots: int, rng: np.random.Generator) -> dict[str, int]:
    width = int(math.log2(len(probabilities)))
    drawn = rng.multinomial(shots, probabilities)
    return {format(i, f"0{width}b"): int(n) for i, n in enumerate(drawn) if n}


def test_hellinger_fidelity_equals_qiskit() -> None:
    counts = {"00000": 1900, "11111": 1950, "00001": 100, "10000": 50}
    ideal_counts = {"00000": 1, "11111": 1}
    estimate = stats.hellinger_estimate(counts, GHZ)
    assert estimate.value == pytest.approx(hellinger_fidelity(counts, ideal_counts), abs=1e-12)
    assert estimate.low <= estimate.value <= estimate.high


def test_tvd_and_success_probability_by_hand() -> None:
    counts = {"00": 450, "11": 500, "01": 50}
    ideal = {"00": 0.5, "11": 0.5}
    assert stats.tvd_estimate(counts, ideal).value == pytest.approx(0.5 * (0.05 + 0.0 + 0.05))
    success = stats.success_estimate(counts, {"00", "11"})
    assert success.value == pytest.approx(0.95)
    assert success.std_error == pytest.approx(math.sqrt(0.95 * 0.05 / 1000))


def test_wilson_interval_known_values() -> None:
    """Against the textbook Wilson interval for 81/263 at 95 % (0.2553, 0.3662)."""
    estimate = stats.proportion(81, 263)
    assert (round(estimate.low, 4), round(estimate.high, 4)) == (0.2553, 0.3662)
    none = stats.proportion(0, 50)
    assert none.low == 0.0 and 0.05 < none.high < 0.08  # not the useless [0, 0] of Wald


def test_intervals_cover_the_true_value_near_their_level() -> None:
    """A noisy GHZ (90 % ideal, 10 % uniform): 95 % intervals cover the truth ~95 % of the time."""
    rng = np.random.default_rng(7)
    p = np.full(32, 0.1 / 32)
    p[0] += 0.45
    p[31] += 0.45
    true_f = (math.sqrt(p[0] * 0.5) + math.sqrt(p[31] * 0.5)) ** 2
    true_tvd = 0.5 * (abs(p[0] - 0.5) + abs(p[31] - 0.5) + p[1:31].sum())
    trials, covered_f, covered_tvd = 100, 0, 0
    for _ in range(trials):
        counts = counts_from(p, 4000, rng)
        f, t = stats.hellinger_estimate(counts, GHZ), stats.tvd_estimate(counts, GHZ)
        covered_f += f.low <= true_f <= f.high
        covered_tvd += t.low <= true_tvd <= t.high
    assert covered_f >= 0.88 * trials and covered_tvd >= 0.88 * trials


def test_a_perfect_device_on_a_broad_distribution_is_never_judged_imperfect() -> None:
    """Sampling alone biases both distances (uniform over 1024 outcomes, 4000 shots: the
    plug-in fidelity is ~0.93); the interval must still hold the perfect value."""
    rng = np.random.default_rng(3)
    uniform = np.full(1024, 1 / 1024)
    ideal = {format(i, "010b"): 1 / 1024 for i in range(1024)}
    counts = counts_from(uniform, 4000, rng)
    fidelity, tvd = stats.hellinger_estimate(counts, ideal), stats.tvd_estimate(counts, ideal)
    assert fidelity.value < 0.95 and fidelity.high == 1.0
    assert tvd.value > 0.1 and tvd.low == 0.0
    check = Check(metric="hellinger_fidelity", min=0.99)
    metric = MetricValue("hellinger_fidelity", fidelity.value, fidelity.std_error, fidelity.low,
                         fidelity.high)  # fmt: skip
    assert judge(check, metric).verdict is Verdict.INCONCLUSIVE  # not a false failure


def test_same_counts_same_interval() -> None:
    counts = {"00000": 1990, "11111": 1950, "00011": 60}
    assert stats.hellinger_estimate(counts, GHZ) == stats.hellinger_estimate(dict(counts), GHZ)


def metric(value: float | None, low: float | None = None, high: float | None = None,
           **where: str) -> MetricValue:  # fmt: skip
    return MetricValue("hellinger_fidelity", value, None, low, high, 0.95, **where)


@pytest.mark.parametrize(
    ("check", "value", "low", "high", "verdict"),
    [
        ({"min": 0.9}, 0.95, 0.93, 0.97, Verdict.PASS),
        ({"min": 0.9}, 0.85, 0.83, 0.87, Verdict.FAIL),
        ({"min": 0.9}, 0.91, 0.89, 0.93, Verdict.INCONCLUSIVE),
        ({"max": 0.02}, 0.01, 0.0, 0.015, Verdict.PASS),
        ({"max": 0.02}, 0.03, 0.025, 0.035, Verdict.FAIL),
        ({"value": 1.0, "within": 0.05}, 0.99, 0.97, 1.0, Verdict.PASS),
        ({"value": 1.0, "within": 0.05}, 0.9, 0.88, 0.92, Verdict.FAIL),
        ({"value": 1.0, "within": 0.05}, 0.95, 0.93, 0.97, Verdict.INCONCLUSIVE),
        ({"min": 0.9, "strict": True}, 0.91, 0.89, 0.93, Verdict.PASS),
        ({"min": 0.9, "strict": True}, 0.89, 0.87, 0.91, Verdict.FAIL),
    ],
)
def test_verdicts(check: dict, value: float, low: float, high: float, verdict: Verdict) -> None:
    spec = Check(metric="hellinger_fidelity", **check)
    assert judge(spec, metric(value, low, high)).verdict is verdict


def test_a_missing_value_fails_and_inconclusive_fails_only_when_asked() -> None:
    spec = Check(metric="hellinger_fidelity", min=0.9)
    missing = judge(spec, metric(None))
    assert missing.verdict is Verdict.MISSING and failed([missing])
    unsure = judge(spec, metric(0.91, 0.89, 0.93))
    assert not failed([unsure]) and failed([unsure], fail_on_inconclusive=True)


def test_level_rescales_an_asymmetric_interval() -> None:
    value = MetricValue("m", 0.9, None, 0.8, 0.95, 0.95)
    low, high = value.interval(0.99)
    scale = stats.z_score(0.99) / stats.z_score(0.95)
    assert (low, high) == pytest.approx((0.9 - 0.1 * scale, 0.9 + 0.05 * scale))


def test_selectors_are_globs_on_circuit_and_target() -> None:
    spec = Check(metric="hellinger_fidelity", target="ibm:*", min=0.5)
    values = [metric(0.9, 0.85, 0.95, circuit="ghz5", target=target)
              for target in ("ibm:fake_kyiv", "braket:local", "ibm:fake_sherbrooke")]  # fmt: skip
    judged = judge_all([spec], values)
    assert [result.metric.target for result in judged] == ["ibm:fake_kyiv", "ibm:fake_sherbrooke"]
    other = Check(metric="tvd", circuit="ghz*", max=0.1)
    assert judge_all([other], values) == []


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"min": 0.9, "max": 0.1}, "greater than max"),
        ({}, "give min and/or max"),
        ({"min": 0.1, "value": 1.0, "within": 0.1}, "give min and/or max, or value"),
        ({"value": 1.0}, "value and within go together"),
        ({"min": float("nan")}, "finite"),
    ],
)
def test_bad_checks_are_refused(fields: dict, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        Check(metric="tvd", **fields)


def test_junit_has_one_case_per_check_and_target_and_parses_back() -> None:
    checks = [Check(metric="hellinger_fidelity", min=0.9), Check(metric="tvd", max=0.01)]
    values = [
        metric(0.95, 0.93, 0.97, circuit="ghz5", target="local:aer"),
        metric(0.80, 0.78, 0.82, circuit="ghz5", target="ibm:fake_kyiv"),
        MetricValue("tvd", 0.012, None, 0.005, 0.02, 0.95, "ghz5", "local:aer"),
        MetricValue("tvd", None, circuit="ghz5", target="braket:sv1"),
    ]
    results = judge_all(checks, values)
    root = ET.fromstring(junit_xml("RUN", "ghz", results))
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "4"
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("1", "1", "1")
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == [
        "hellinger_fidelity @ ghz5 on local:aer",
        "hellinger_fidelity @ ghz5 on ibm:fake_kyiv",
        "tvd @ ghz5 on local:aer",
        "tvd @ ghz5 on braket:sv1",
    ]
    failure = cases[1].find("failure")
    assert failure is not None and "0.8 [0.78, 0.82], bound ≥ 0.9: fail" in failure.get(
        "message", ""
    )
    assert cases[2].find("skipped") is not None and cases[3].find("error") is not None
    summary = markdown_summary("RUN", "ghz", "completed", results)
    assert "1 pass, 1 fail, 1 inconclusive, 1 missing" in summary
    assert summary.count("\n| ") == 5  # header and four rows
