"""``qorch history --plot``: one metric over time, a line per target, with the checks' bounds.

Each point is a run's value with its confidence interval as an error bar; each
check on the metric is drawn as a dashed line at its bound (both lines of a
``value ± within`` check), so a person sees at once which runs crossed it.
Pure apart from the PNG it returns as bytes (matplotlib's Agg backend, no display).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from qorch.engine.checks import Check
from qorch.engine.figures import png_bytes, pyplot


def plot_png(metric: str, rows: Sequence[dict[str, Any]], checks: Sequence[Check]) -> bytes:
    """The PNG of ``metric``'s values in ``rows`` (``qorch.history`` rows) over time."""
    plt = pyplot()

    figure, axes = plt.subplots(figsize=(8, 4.5), dpi=110)
    lines: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["name"] == metric and row["value"] is not None:
            label = row["target"] or "run"
            if row["circuit"]:
                label = f"{row['circuit']} on {label}"
            lines.setdefault(label, []).append(row)
    for label, points in sorted(lines.items()):
        times: list[Any] = [datetime.fromisoformat(p["created"].replace("Z", "+00:00"))
                            for p in points]  # fmt: skip
        values = [p["value"] for p in points]
        below = [_gap(p["value"], p["low"]) for p in points]
        above = [_gap(p["high"], p["value"]) for p in points]
        axes.errorbar(times, values, yerr=[below, above], marker="o", capsize=3, label=label)
    for check in checks:
        if check.metric != metric:
            continue
        low, high = check.bounds
        for bound in (low, high):
            if math.isfinite(bound):
                axes.axhline(bound, linestyle="--", color="grey", linewidth=1)
                axes.annotate(f"{check.label()} {check.describe_bound()}", (0.01, bound),
                              xycoords=("axes fraction", "data"), fontsize=7, color="grey",
                              va="bottom")  # fmt: skip
    axes.set_title(f"{metric} over time (error bars: confidence intervals)")
    axes.set_xlabel("run created (UTC)")
    axes.set_ylabel(metric)
    if lines:
        axes.legend(fontsize=8)
    figure.autofmt_xdate()
    figure.tight_layout()
    return png_bytes(figure)


def _gap(a: float | None, b: float | None) -> float:
    return 0.0 if a is None or b is None else max(0.0, a - b)
