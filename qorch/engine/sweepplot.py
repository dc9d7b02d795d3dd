"""``qorch results --plot`` for a sweep: each observable against the swept parameter.

One panel per (circuit, observable) whose values were reported per parameter set
(rows with ``parameters`` in a job's ``observables``): x is the first parameter
whose value changes across the sets, one line with error bars per target, the
exact values as a black line where known. Pure apart from the PNG it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qorch.engine.figures import png_bytes, pyplot, titled_layout

MAX_PANELS = 12


@dataclass
class SweepPanel:
    """One observable of one circuit over its parameter sets, per target."""

    circuit: str
    observable: str
    parameter: str = ""
    lines: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)
    exact: dict[float, float] = field(default_factory=dict)


def sweep_panels(run: Mapping[str, Any]) -> list[SweepPanel]:
    """The panels of a run's JSON (empty if no observable was swept)."""
    found: dict[tuple[str, str], SweepPanel] = {}
    rows: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
    for job in run["jobs"]:
        for item in job.get("observables") or ():
            if item.get("parameters") is not None:
                key = (job["circuit"], item["name"])
                rows.setdefault(key, []).append((job["target"], item))
    for (circuit, name), items in rows.items():
        varying = [p for p in items[0][1]["parameters"]
                   if len({i["parameters"][p] for _, i in items}) > 1]  # fmt: skip
        parameter = varying[0] if varying else next(iter(items[0][1]["parameters"]))
        panel = found.setdefault((circuit, name), SweepPanel(circuit, name, parameter))
        for target, item in items:
            x = float(item["parameters"][parameter])
            if item["value"] is not None:
                line = panel.lines.setdefault(target, [])
                line.append((x, float(item["value"]), float(item["std_error"] or 0.0)))
            if item.get("exact") is not None:
                panel.exact[x] = float(item["exact"])
    return list(found.values())


def sweep_png(title: str, panels: list[SweepPanel]) -> bytes:
    """The PNG of at most :data:`MAX_PANELS` panels, stacked, under ``title``."""
    plt = pyplot()

    panels = panels[:MAX_PANELS]
    figure, axes_list = plt.subplots(len(panels), 1, figsize=(8.5, 3.4 * len(panels) + 0.6),
                                     dpi=110, squeeze=False)  # fmt: skip
    for axes, panel in zip(axes_list[:, 0], panels, strict=True):
        for target, points in panel.lines.items():
            points = sorted(points)
            axes.errorbar([p[0] for p in points], [p[1] for p in points],
                          yerr=[p[2] for p in points], marker="o", markersize=3, capsize=2,
                          label=target)  # fmt: skip
        if panel.exact:
            xs = sorted(panel.exact)
            axes.plot(xs, [panel.exact[x] for x in xs], color="black", linewidth=1.2,
                      label="exact")  # fmt: skip
        axes.set_xlabel(panel.parameter)
        axes.set_ylabel(panel.observable)
        axes.set_title(f"{panel.circuit}: {panel.observable} against {panel.parameter}",
                       fontsize=10, loc="left")  # fmt: skip
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    titled_layout(figure, title)
    return png_bytes(figure)
