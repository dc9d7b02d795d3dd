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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

from qorch.engine.plan_base import Check as Check
from qorch.engine.stats import DEFAULT_LEVEL, z_score


class Verdict(str, Enum):
    """The outcome of one check on one metric value."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    MISSING = "missing"  # the metric has no value (its job failed): judged as a failure


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


def selector_problems(
    checks: Sequence[Check],
    metrics: Iterable[str],
    circuits: Iterable[str] | None,
    targets: Iterable[str] | None,
) -> list[tuple[tuple[str | int, ...], str]]:
    """What ``qorch validate`` refuses in a plan's checks: a metric the kind never reports, or
    a circuit or target pattern that selects nothing (None: labels unknown, not checked).
    (field path, message) pairs."""
    known = sorted(set(metrics))
    circuit_names = None if circuits is None else list(circuits)
    target_names = None if targets is None else list(targets)
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for index, check in enumerate(checks):
        if check.metric not in known:
            problems.append((("checks", index, "metric"),
                             f"unknown metric {check.metric!r} (this plan reports: "
                             f"{', '.join(known)})"))  # fmt: skip
        for field_name, pattern, names in (("circuit", check.circuit, circuit_names),
                                           ("target", check.target, target_names)):  # fmt: skip
            if names is None or pattern is None:
                continue
            if not names:
                problems.append((("checks", index, field_name),
                                 f"this plan's metrics have no {field_name}: remove "
                                 f"'{field_name}: {pattern}'"))  # fmt: skip
            elif not any(fnmatch.fnmatchcase(name, pattern) for name in names):
                problems.append((("checks", index, field_name),
                                 f"{pattern!r} matches no {field_name} of this plan "
                                 f"({', '.join(names)})"))  # fmt: skip
    return problems
