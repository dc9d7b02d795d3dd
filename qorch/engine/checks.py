"""Checks: assertions on a run's metrics, judged with the metrics' confidence intervals.

A plan's ``checks:`` list names a metric, selects where it applies (circuit
and target glob patterns, e.g. ``target: ibm:*``) and gives a bound: ``min``,
``max``, or ``value`` with ``within``. By default a check is decided only when
the bound lies outside the metric's confidence interval — ``pass`` if the
whole interval satisfies the bound, ``fail`` if none of it does — and is
``inconclusive`` otherwise, so shot noise alone never makes CI flaky.
``strict: true`` compares the point estimate instead. Pure: no I/O.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from pydantic import Field, model_validator

from qorch.engine.plan_base import Model
from qorch.engine.stats import DEFAULT_LEVEL, z_score


class Verdict(str, Enum):
    """The outcome of one check on one metric value."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    MISSING = "missing"  # the metric has no value (its job failed): judged as a failure


class Check(Model):
    """One assertion of a plan's ``checks:`` list."""

    metric: str = Field(min_length=1, max_length=100)
    circuit: str | None = Field(default=None, max_length=200)  # glob; None: every circuit
    target: str | None = Field(default=None, max_length=200)  # glob, e.g. "ibm:*"
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)
    value: float | None = Field(default=None, allow_inf_nan=False)
    within: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    strict: bool = False
    level: float = Field(default=DEFAULT_LEVEL, gt=0.5, lt=1.0)
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_bound(self) -> Check:
        ranged = self.min is not None or self.max is not None
        pinned = self.value is not None or self.within is not None
        if ranged == pinned:
            raise ValueError("give min and/or max, or value with within")
        if pinned and (self.value is None or self.within is None):
            raise ValueError("value and within go together: 'value: 1.0, within: 0.05'")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        """The accepted range ``[low, high]`` of the metric."""
        if self.value is not None and self.within is not None:
            return self.value - self.within, self.value + self.within
        return (-math.inf if self.min is None else self.min,
                math.inf if self.max is None else self.max)  # fmt: skip

    def describe_bound(self) -> str:
        """The bound as people write it: ``≥ 0.9``, ``≤ 0.02``, ``in [0.8, 0.9]``, ``1 ± 0.05``."""
        if self.value is not None:
            return f"{self.value:g} ± {self.within:g}"
        if self.min is not None and self.max is not None:
            return f"in [{self.min:g}, {self.max:g}]"
        return f"≥ {self.min:g}" if self.min is not None else f"≤ {self.max:g}"

    def label(self) -> str:
        """A name for reports: the check's own, else metric and selector."""
        if self.name:
            return self.name
        where = [part for part in (self.circuit, self.target) if part]
        return self.metric + (f" [{' '.join(where)}]" if where else "")

    def selects(self, metric: MetricValue) -> bool:
        """True if ``metric`` is this check's metric on a selected circuit and target."""
        return (
            metric.name == self.metric
            and _matches(self.circuit, metric.circuit)
            and _matches(self.target, metric.target)
        )


@dataclass(frozen=True)
class MetricValue:
    """One value of one metric, where it was measured, and its interval at ``level``."""

    name: str
    value: float | None
    std_error: float | None = None
    low: float | None = None
    high: float | None = None
    level: float = DEFAULT_LEVEL
    circuit: str | None = None
    target: str | None = None

    def interval(self, level: float) -> tuple[float, float]:
        """The interval at ``level``: stored bounds rescaled from their own level.

        An exact value (no error) is its own interval. Asymmetric intervals
        keep their shape: each side is scaled by the ratio of normal quantiles.
        """
        if self.value is None:
            raise ValueError(f"metric {self.name} has no value")
        if self.low is None or self.high is None:
            spread = (self.std_error or 0.0) * z_score(level)
            return self.value - spread, self.value + spread
        if level == self.level or self.level >= 1.0:
            return self.low, self.high
        scale = z_score(level) / z_score(self.level)
        return (self.value - (self.value - self.low) * scale,
                self.value + (self.high - self.value) * scale)  # fmt: skip


@dataclass(frozen=True)
class CheckResult:
    """A check judged on one metric value."""

    check: Check
    metric: MetricValue
    verdict: Verdict
    low: float | None
    high: float | None

    @property
    def selector(self) -> str:
        """Where the value was measured: ``circuit on target`` (either may be absent)."""
        return " on ".join(part for part in (self.metric.circuit, self.metric.target) if part)

    def explain(self) -> str:
        """One line: the value with its interval against the bound, and the verdict."""
        if self.metric.value is None:
            return (
                f"{self.check.label()}: no value ({self.selector or 'run'}); {self.verdict.value}"
            )
        shown = f"{self.metric.value:.4g}"
        if self.low is not None and self.high is not None and self.low != self.high:
            shown += f" [{self.low:.4g}, {self.high:.4g}]"
        where = f" on {self.selector}" if self.selector else ""
        return f"{self.check.metric}{where} = {shown}, bound {self.check.describe_bound()}: " + (
            self.verdict.value
        )


def judge(check: Check, metric: MetricValue) -> CheckResult:
    """Judge ``check`` on one value of its metric."""
    if metric.value is None:
        return CheckResult(check, metric, Verdict.MISSING, None, None)
    lower, upper = check.bounds
    if check.strict:
        inside = lower <= metric.value <= upper
        return CheckResult(check, metric, Verdict.PASS if inside else Verdict.FAIL,
                           metric.value, metric.value)  # fmt: skip
    low, high = metric.interval(check.level)
    if lower <= low and high <= upper:
        verdict = Verdict.PASS
    elif high < lower or low > upper:
        verdict = Verdict.FAIL
    else:
        verdict = Verdict.INCONCLUSIVE
    return CheckResult(check, metric, verdict, low, high)


def judge_all(checks: Sequence[Check], metrics: Iterable[MetricValue]) -> list[CheckResult]:
    """Every check on every metric value it selects, in the checks' order."""
    values = list(metrics)
    return [judge(check, metric) for check in checks for metric in values if check.selects(metric)]


def failed(results: Iterable[CheckResult], *, fail_on_inconclusive: bool = False) -> bool:
    """True if a check failed (or had no value; or, if asked, was inconclusive)."""
    bad = {Verdict.FAIL, Verdict.MISSING}
    if fail_on_inconclusive:
        bad.add(Verdict.INCONCLUSIVE)
    return any(result.verdict in bad for result in results)


def _matches(pattern: str | None, value: str | None) -> bool:
    if pattern is None:
        return True
    return value is not None and fnmatch.fnmatchcase(value, pattern)
