"""What changed between two runs, beyond shot noise (``qorch diff``, ``qorch history``).

Two tests, stated so a reader can check them:

- a metric with standard errors ``σa`` and ``σb``: the change ``Δ = b − a`` is
  significant when ``|Δ| / √(σa² + σb²)`` exceeds the two-sided normal
  quantile at ``level`` (default 99 %); a metric known exactly (EPR pairs) is
  significant whenever it changes;
- two runs' counts of the same circuit on the same target: a chi-square test
  of homogeneity on the 2 × k table of outcomes (outcomes expected fewer than
  5 times in either run pooled into one cell, as the test needs), significant
  when its p-value is below ``1 − level``; reported with the TVD between the
  two measured distributions.

Pure functions of stored values; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from qorch.engine.checks import MetricValue
from qorch.engine.stats import normalise, total_variation, z_score

DRIFT_LEVEL = 0.99
MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class MetricChange:
    """One metric in two runs: the change, its z-score and whether noise explains it."""

    name: str
    circuit: str | None
    target: str | None
    before: float
    after: float
    delta: float
    z: float | None  # None: both values exact
    significant: bool


@dataclass(frozen=True)
class CountsChange:
    """One circuit on one target in two runs: TVD between them and the homogeneity test."""

    circuit: str
    target: str
    tvd: float
    p_value: float
    significant: bool


def metric_changes(
    before: Iterable[MetricValue], after: Iterable[MetricValue], level: float = DRIFT_LEVEL
) -> list[MetricChange]:
    """Every metric present, with a value, in both runs (matched by name, circuit, target)."""
    earlier = {_key(m): m for m in before if m.value is not None}
    threshold = z_score(level)
    changes = []
    for metric in after:
        old = earlier.get(_key(metric))
        if old is None or metric.value is None or old.value is None:
            continue
        delta = metric.value - old.value
        sigma = math.hypot(old.std_error or 0.0, metric.std_error or 0.0)
        z = delta / sigma if sigma > 0 else None
        significant = abs(z) > threshold if z is not None else delta != 0
        changes.append(MetricChange(metric.name, metric.circuit, metric.target, old.value,
                                    metric.value, delta, z, significant))  # fmt: skip
    return changes


def counts_change(
    circuit: str,
    target: str,
    before: Mapping[str, int],
    after: Mapping[str, int],
    level: float = DRIFT_LEVEL,
) -> CountsChange:
    """Compare two runs' counts of one circuit on one target (see the module's test)."""
    tvd = total_variation(normalise(before), normalise(after))
    p_value = homogeneity_p_value(before, after)
    return CountsChange(circuit, target, tvd, p_value, p_value < 1.0 - level)


def homogeneity_p_value(before: Mapping[str, int], after: Mapping[str, int]) -> float:
    """The chi-square test of homogeneity of two count vectors, rare outcomes pooled."""
    from scipy.stats import chi2

    n_a, n_b = sum(before.values()), sum(after.values())
    if n_a == 0 or n_b == 0:
        raise ValueError("both runs need shots to compare")
    total = n_a + n_b
    cells: list[tuple[float, float]] = []
    pooled = [0.0, 0.0]
    for key in sorted(set(before) | set(after)):
        a, b = float(before.get(key, 0)), float(after.get(key, 0))
        column = a + b
        if min(column * n_a, column * n_b) / total < MIN_EXPECTED:
            pooled[0] += a
            pooled[1] += b
        else:
            cells.append((a, b))
    if sum(pooled):
        cells.append((pooled[0], pooled[1]))
    if len(cells) < 2:
        return 1.0  # one outcome (or only rare ones): nothing to tell the runs apart
    statistic = 0.0
    for a, b in cells:
        column = a + b
        for observed, row in ((a, n_a), (b, n_b)):
            expected = column * row / total
            statistic += (observed - expected) ** 2 / expected
    return float(chi2.sf(statistic, len(cells) - 1))


def _key(metric: MetricValue) -> tuple[str, str | None, str | None]:
    return metric.name, metric.circuit, metric.target
