"""What changed between two runs, beyond shot noise: metric z-tests and count homogeneity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from qorch.engine.checks import MetricValue
from qorch.engine.drift import counts_change, homogeneity_p_value, metric_changes


def ghz_counts(shots: int, noise: float, rng: np.random.Generator) -> dict[str, int]:
    p = np.full(8, noise / 8)
    p[0] += (1 - noise) / 2
    p[7] += (1 - noise) / 2
    drawn = rng.multinomial(shots, p)
    return {format(i, "03b"): int(n) for i, n in enumerate(drawn) if n}


def test_p_value_matches_scipy_when_no_cell_is_pooled() -> None:
    before, after = {"00": 480, "11": 470, "01": 50}, {"00": 430, "11": 450, "01": 120}
    table = [[480, 470, 50], [430, 450, 120]]
    expected = chi2_contingency(table, correction=False).pvalue
    assert homogeneity_p_value(before, after) == pytest.approx(expected, rel=1e-9)


def test_the_same_device_twice_is_not_flagged_a_noisier_one_is() -> None:
    rng = np.random.default_rng(11)
    flagged_same = sum(
        counts_change("ghz3", "local:aer", ghz_counts(4000, 0.05, rng),
                      ghz_counts(4000, 0.05, rng)).significant
        for _ in range(50)
    )  # fmt: skip
    assert flagged_same <= 3  # 1 % expected false alarms
    worse = counts_change("ghz3", "local:aer", ghz_counts(4000, 0.05, rng),
                          ghz_counts(4000, 0.15, rng))  # fmt: skip
    assert worse.significant and worse.p_value < 1e-6 and worse.tvd > 0.05


def test_metric_changes_use_both_errors() -> None:
    before = [MetricValue("hellinger_fidelity", 0.95, 0.005, circuit="ghz5", target="a"),
              MetricValue("hellinger_fidelity", 0.95, 0.005, circuit="ghz5", target="b"),
              MetricValue("epr_pairs", 8.0), MetricValue("tvd", None)]  # fmt: skip
    after = [MetricValue("hellinger_fidelity", 0.94, 0.005, circuit="ghz5", target="a"),
             MetricValue("hellinger_fidelity", 0.90, 0.005, circuit="ghz5", target="b"),
             MetricValue("epr_pairs", 9.0), MetricValue("tvd", 0.1)]  # fmt: skip
    changes = {(c.name, c.target): c for c in metric_changes(before, after)}
    assert set(changes) == {("hellinger_fidelity", "a"), ("hellinger_fidelity", "b"),
                            ("epr_pairs", None)}  # fmt: skip
    small, large = changes[("hellinger_fidelity", "a")], changes[("hellinger_fidelity", "b")]
    assert small.z == pytest.approx(-0.01 / (0.005 * 2**0.5))
    assert not small.significant and large.significant
    assert changes[("epr_pairs", None)].significant and changes[("epr_pairs", None)].z is None


def test_rare_outcomes_are_pooled_and_one_outcome_is_no_evidence() -> None:
    assert homogeneity_p_value({"0": 100}, {"0": 300}) == 1.0
    rare = homogeneity_p_value({"00": 500, "01": 1, "10": 2}, {"00": 497, "11": 3, "01": 1})
    assert 0.0 <= rare <= 1.0
