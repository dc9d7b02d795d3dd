"""``qorch results --plot``: each circuit's outcome frequencies, targets side by side.

One panel per circuit; for each of its most frequent outcomes (the top k over
every target and the ideal distribution) a group of bars, one per target, and
the ideal probability as a black line across the group where it is known. A
last group, ``other``, holds what the shown outcomes leave, so each target's
bars sum to 1 and a noisy device's spread stays visible. Pure apart from the
PNG it returns as bytes (matplotlib's Agg backend, no display).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qorch.contract.errors import QorchError
from qorch.engine.figures import png_bytes, pyplot, titled_layout

DEFAULT_TOP_K = 8
MAX_PANELS = 12
OTHER = "other"


@dataclass(frozen=True)
class Panel:
    """One circuit: its outcomes shown, each target's probabilities for them, the ideal."""

    circuit: str
    outcomes: list[str]  # the top k, by bit string, then OTHER
    bars: dict[str, list[float]]  # label (target) → probability per outcome
    shots: dict[str, int]
    ideal: list[float] | None
    observed: int  # distinct outcomes seen over every target


def panels(
    run: Mapping[str, Any], ideals: Mapping[str, Mapping[str, float] | None], top_k: int
) -> tuple[list[Panel], list[str]]:
    """The panels of a run's JSON object, and one note per job left out (parameter sets)."""
    jobs: dict[str, list[Mapping[str, Any]]] = {}
    notes: list[str] = []
    for job in run["jobs"]:
        counts = job.get("counts")
        if isinstance(counts, list):
            notes.append(f"job {job['index']} ({job['circuit']} on {job['target']}) ran "
                         f"{len(counts)} parameter sets: not plotted (see --csv)")  # fmt: skip
        elif counts:
            jobs.setdefault(job["circuit"], []).append(job)
    return [_panel(c, group, ideals.get(c), top_k) for c, group in jobs.items()], notes


def _panel(
    circuit: str, jobs: list[Mapping[str, Any]], ideal: Mapping[str, float] | None, top_k: int
) -> Panel:
    labels = [job["target"] for job in jobs]
    if len(set(labels)) < len(labels):  # the same target twice (e.g. distributed roles)
        labels = [f"#{job['index']} {job['target']}" for job in jobs]
    freqs = {label: _normalised(job["counts"]) for label, job in zip(labels, jobs, strict=True)}
    score: dict[str, float] = {}
    for distribution in [*freqs.values(), *([ideal] if ideal else [])]:
        for outcome, p in distribution.items():
            score[outcome] = max(score.get(outcome, 0.0), p)
    chosen = sorted(sorted(score, key=lambda o: (-score[o], o))[:top_k])
    observed = len({o for f in freqs.values() for o in f})
    outcomes = chosen + ([OTHER] if len(score) > len(chosen) else [])

    def row(distribution: Mapping[str, float]) -> list[float]:
        values = [float(distribution.get(o, 0.0)) for o in chosen]
        return values + ([max(0.0, 1.0 - sum(values))] if len(outcomes) > len(chosen) else [])

    shots = {label: sum(job["counts"].values()) for label, job in zip(labels, jobs, strict=True)}
    bars = {label: row(f) for label, f in freqs.items()}
    return Panel(circuit, outcomes, bars, shots, row(ideal) if ideal else None, observed)


def _normalised(counts: Mapping[str, int]) -> dict[str, float]:
    total = sum(counts.values()) or 1
    return {outcome: count / total for outcome, count in counts.items()}


def plot_png(title: str, shown: Sequence[Panel]) -> bytes:
    """The PNG of ``shown`` panels (at most :data:`MAX_PANELS`), stacked, under ``title``.
    Raises QorchError if there is nothing to draw."""
    return png_bytes(plot_figure(title, shown))


def plot_figure(title: str, shown: Sequence[Panel]) -> Any:
    """The matplotlib figure of :func:`plot_png` (the caller closes it)."""
    if not shown:
        raise QorchError(f"{title}: no counts to plot (no job has finished with counts yet)")
    plt = pyplot()

    shown = list(shown)[:MAX_PANELS]
    heights = [_height(panel) for panel in shown]
    upright = [len(p.outcomes) * max(1, len(p.bars)) for p in shown if not _sideways(p)]
    widest = max(upright, default=0)
    width = min(20.0, max(8.0, 2.5 + 0.22 * widest))
    figure, axes_list = plt.subplots(len(shown), 1, figsize=(width, sum(heights) + 0.6), dpi=110,
                                     squeeze=False, height_ratios=heights)  # fmt: skip
    for axes, panel in zip(axes_list[:, 0], shown, strict=True):
        _draw(axes, panel)
    titled_layout(figure, title)
    return figure


def _sideways(panel: Panel) -> bool:
    """Outcomes of more than 12 bits read better down the side than slanted below."""
    return max(len(o) for o in panel.outcomes) > 12


def _height(panel: Panel) -> float:
    """A panel's height in inches: a sideways one grows with its rows of bars."""
    if not _sideways(panel):
        return 3.4
    return max(3.0, 0.9 + 0.16 * len(panel.outcomes) * max(2, len(panel.bars)))


def _draw(axes: Any, panel: Panel) -> None:
    sideways = _sideways(panel)
    positions = list(range(len(panel.outcomes)))
    count = max(1, len(panel.bars))
    width = 0.8 / count
    bars = axes.barh if sideways else axes.bar
    for number, (label, values) in enumerate(panel.bars.items()):
        offsets = [x - 0.4 + width * (number + 0.5) for x in positions]
        bars(offsets, values, width, label=f"{label} ({panel.shots[label]} shots)")
    if panel.ideal is not None:  # a line where the ideal is non-zero (zero is the axis)
        where = [(x, p) for x, p in zip(positions, panel.ideal, strict=True) if p > 0]
        lines = axes.vlines if sideways else axes.hlines
        lines([p for _, p in where], [x - 0.42 for x, _ in where],
              [x + 0.42 for x, _ in where], colors="black", linewidths=1.6,
              label="ideal")  # fmt: skip
    top = max([max(v) for v in panel.bars.values()] + (panel.ideal or [0.0]))
    limit = min(1.08, top * 1.12) if top > 0 else 1.0  # an ideal of 1 stays visible
    if sideways:
        axes.set_yticks(positions)
        axes.set_yticklabels(panel.outcomes, family="monospace", fontsize=7)
        axes.set_ylim(len(positions) - 0.4, -0.6)  # the first outcome on top
        axes.set_xlim(0, limit)
        axes.set_xlabel("probability")
        axes.set_ylabel("outcome (clbit 0 rightmost)")
        axes.grid(axis="x", alpha=0.3)
    else:
        axes.set_xticks(positions)
        slanted = len(panel.outcomes) > 10 or max(len(o) for o in panel.outcomes) > 6
        axes.set_xticklabels(panel.outcomes, rotation=45 if slanted else 0,
                             ha="right" if slanted else "center", family="monospace",
                             fontsize=8)  # fmt: skip
        axes.set_xlim(-0.6, len(positions) - 0.4)
        axes.set_ylim(0, limit)
        axes.set_ylabel("probability")
        axes.set_xlabel("outcome (clbit 0 rightmost)")
        axes.grid(axis="y", alpha=0.3)
    shown = len(panel.outcomes) - (1 if OTHER in panel.outcomes else 0)
    axes.set_title(f"{panel.circuit}: top {shown} of {panel.observed} outcomes observed"
                   + ("" if panel.ideal is not None else " (ideal unknown)"),
                   fontsize=10, loc="left")  # fmt: skip
    axes.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
