"""Check verdicts as CI reports: JUnit XML (one test case per check and target) and Markdown.

GitLab, Jenkins and GitHub show JUnit test cases natively; the Markdown
summary suits GitHub's step summary or a merge-request comment. Pure: both
return text, the caller writes it (atomically).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from qorch.engine.checks import CheckResult, Verdict
from qorch.engine.workload import Metric


def junit_xml(run_id: str, plan_name: str, results: Sequence[CheckResult]) -> str:
    """A JUnit XML document: suite ``qorch.<plan>``, a test case per check and target.

    A failed check is a ``<failure>`` with the numbers; a check with no value
    (its job failed) an ``<error>``; an inconclusive one is ``<skipped>`` with
    the reason, so it is visible without failing the pipeline.
    """
    tally = Counter(result.verdict for result in results)
    suite = ET.Element(
        "testsuite",
        name=f"qorch.{plan_name}",
        tests=str(len(results)),
        failures=str(tally[Verdict.FAIL]),
        errors=str(tally[Verdict.MISSING]),
        skipped=str(tally[Verdict.INCONCLUSIVE]),
    )
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="run_id", value=run_id)
    for result in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"qorch.{plan_name}.{result.check.metric}",
            name=_case_name(result),
        )
        text = result.explain()
        if result.verdict is Verdict.FAIL:
            ET.SubElement(case, "failure", message=text, type="check failed").text = text
        elif result.verdict is Verdict.MISSING:
            ET.SubElement(case, "error", message=text, type="no value").text = text
        elif result.verdict is Verdict.INCONCLUSIVE:
            ET.SubElement(case, "skipped", message=f"inconclusive: {text}")
        else:
            ET.SubElement(case, "system-out").text = text
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


MARKDOWN_METRIC_ROWS = 200
"""Metric rows a Markdown summary shows at most (a QCNN sweep has thousands)."""


def markdown_summary(
    run_id: str,
    plan_name: str,
    status: str,
    results: Sequence[CheckResult],
    metrics: Sequence[Metric] = (),
    figures: Sequence[Path] = (),
    report_dir: Path | None = None,
) -> str:
    """A Markdown summary a CI step can publish: one line of totals, the checks table,
    the run's metrics, and its figures linked relative to ``report_dir`` (where the
    summary is written), so they resolve beside the file."""
    tally = Counter(result.verdict for result in results)
    parts = [f"{tally[verdict]} {verdict.value}" for verdict in Verdict if tally[verdict]]
    lines = [
        f"## qorch run `{run_id}` — {plan_name} ({status})",
        "",
        f"Checks: {', '.join(parts) if parts else 'none'}.",
        "",
    ]
    if results:
        lines += [
            "| check | where | value | interval | bound | verdict |",
            "|---|---|---|---|---|---|",
        ]
        lines += ["| " + " | ".join(_row(result)) + " |" for result in results]
        lines.append("")
    if metrics:
        lines += ["### Metrics", "", "| metric | circuit | target | value | ± std error |"]
        lines.append("|---|---|---|---|---|")
        lines += [_metric_row(metric) for metric in metrics[:MARKDOWN_METRIC_ROWS]]
        if len(metrics) > MARKDOWN_METRIC_ROWS:
            lines.append(f"\n{len(metrics) - MARKDOWN_METRIC_ROWS} more in `qorch results --json`.")
        lines.append("")
    if figures:
        lines += ["### Figures", ""]
        for figure in figures:
            link = _relative(figure, report_dir)
            lines += [f"![{figure.name}]({link})", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _metric_row(metric: Metric) -> str:
    error = "-" if metric.std_error is None else f"{metric.std_error:.2g}"
    cells = [metric.name, metric.circuit or "-", metric.target or "-", f"{metric.value:.4g}", error]
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _relative(path: Path, start: Path | None) -> str:
    """``path`` relative to ``start`` when there is one (another drive: absolute)."""
    if start is None:
        return path.as_posix()
    try:
        return Path(os.path.relpath(path, start)).as_posix()
    except ValueError:
        return path.as_posix()


def table_rows(results: Sequence[CheckResult]) -> list[tuple[str, ...]]:
    """The checks table's rows (metric, where, value, interval, bound, verdict) for a terminal."""
    return [tuple(_row(result)) for result in results]


TABLE_COLUMNS = ("check", "where", "value", "interval", "bound", "verdict")


def _row(result: CheckResult) -> list[str]:
    value = "-" if result.metric.value is None else f"{result.metric.value:.4g}"
    if result.low is None or result.high is None or result.check.strict:
        interval = "-" if not result.check.strict else "strict"
    else:
        interval = f"[{result.low:.4g}, {result.high:.4g}] ({result.check.level:.0%})"
    return [result.check.label(), result.selector or "-", value, interval,
            result.check.describe_bound(), result.verdict.value]  # fmt: skip


def _case_name(result: CheckResult) -> str:
    where = result.selector
    return f"{result.check.label()} @ {where}" if where else result.check.label()
