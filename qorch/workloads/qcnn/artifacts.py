"""Run artifacts: training-curve and sweep plots (PNG), tables (CSV, Markdown). Atomic writes."""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from qorch.engine.figures import png_bytes, pyplot
from qorch.store.fsutil import write_bytes_atomic, write_text_atomic

SWEEP_COLUMNS = (
    "ansatz", "encoding", "loss", "optimizer", "n_params", "seeds",
    "test_accuracy_mean", "test_accuracy_std", "train_accuracy_mean", "train_seconds_mean",
    "seed_values", "test_accuracies",
)  # fmt: skip
"""sweep.csv's columns; the last two hold one value per seed, joined by spaces."""


def _figure() -> Any:
    return pyplot()


def _save(figure: Any, path: Path) -> None:
    write_bytes_atomic(path, png_bytes(figure, dpi=110, bbox_inches="tight"))


def loss_label(loss: str, reduction: str) -> str:
    """The loss axis in words: which loss, and whether it sums or averages over the batch
    (``reference`` follows the paper's code: cross-entropy summed, MSE averaged)."""
    summed = reduction == "sum" or (reduction == "reference" and loss == "cross-entropy")
    return f"training loss: {loss}, {'sum' if summed else 'mean'} over the batch"


def plot_training_curve(
    losses: Sequence[float], path: Path, title: str, ylabel: str = "training loss"
) -> None:
    """Loss per step as a PNG."""
    plt = _figure()
    figure = training_curve_figure(losses, title, ylabel)
    _save(figure, path)
    plt.close(figure)


def training_curve_figure(losses: Sequence[float], title: str, ylabel: str) -> Any:
    """The figure of :func:`plot_training_curve`. The axis label is wrapped: in one line,
    "training loss: cross-entropy, sum over the batch" ran into the title."""
    plt = _figure()
    figure, axis = plt.subplots(figsize=(6.5, 3.8))
    axis.plot(range(1, len(losses) + 1), losses, lw=1.2)
    axis.set_xlabel("optimiser step")
    axis.set_ylabel("\n".join(textwrap.wrap(ylabel, 30, break_on_hyphens=False)))
    axis.set_title(title)
    axis.grid(alpha=0.3)
    return figure


BASELINE_STYLES = ("--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)))
BASELINE_COLOURS = ("#c44e52", "#55a868", "#8172b2", "#ccb974", "#64b5cd", "#dd8452")


def plot_sweep(
    rows: Sequence[dict[str, Any]], baselines: dict[str, float], path: Path, title: str = ""
) -> None:
    """Mean ± std test accuracy per configuration (horizontal bars, in the given order from
    the top), every baseline a labelled vertical line. The axis starts at 0 and ends just
    past 1, so no bar or error bar is cut; error bars stop at the accuracy's bounds, 0 and
    1; each bar is labelled with its value, so close values stay readable."""
    plt = _figure()
    labels = [f"{r['ansatz']} | {r['encoding']} | {r['loss']} | {r['optimizer']}" for r in rows]
    height = max(3.0, 0.3 * len(rows) + 1.6)
    figure, axis = plt.subplots(figsize=(8.5, height))
    positions = list(range(len(rows)))
    means = [float(r["test_accuracy_mean"]) for r in rows]
    stds = [float(r["test_accuracy_std"] or 0.0) for r in rows]
    below = [min(std, mean) for mean, std in zip(means, stds, strict=True)]
    above = [min(std, 1.0 - mean) for mean, std in zip(means, stds, strict=True)]
    axis.barh(positions, means, xerr=[below, above], color="#4c72b0", alpha=0.85, capsize=2)
    for position, mean, std in zip(positions, means, stds, strict=True):
        axis.text(0.01, position, f"{mean:.3f} ± {std:.3f}", va="center", fontsize=7,
                  color="white")  # fmt: skip
    for index, (name, accuracy) in enumerate(sorted(baselines.items())):
        style = BASELINE_STYLES[index % len(BASELINE_STYLES)]
        colour = BASELINE_COLOURS[index % len(BASELINE_COLOURS)]
        axis.axvline(accuracy, color=colour, ls=style, lw=1.3, label=f"{name}: {accuracy:.3f}")
    axis.set_yticks(positions, labels, fontsize=7)
    axis.invert_yaxis()
    axis.set_xlabel("test accuracy (mean ± std over seeds; bars stop at 0 and 1)")
    axis.set_xlim(0.0, 1.02)
    if baselines:
        axis.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7,
                    title="baselines", title_fontsize=7)  # fmt: skip
    if title:
        axis.set_title(title, fontsize=10)
    axis.grid(axis="x", alpha=0.3)
    _save(figure, path)
    plt.close(figure)


def write_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str], path: Path) -> None:
    """Rows as CSV with a header."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:  # a list (one value per seed) as one space-separated cell
        writer.writerow({k: " ".join(map(str, v)) if isinstance(v, list) else v
                         for k, v in row.items()})  # fmt: skip
    write_text_atomic(path, buffer.getvalue())


def markdown_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def sweep_markdown(rows: Sequence[dict[str, Any]], baselines: dict[str, dict[str, Any]]) -> str:
    """The sweep table (mean ± std per configuration) followed by the baselines."""
    table = markdown_table(
        [
            (r["ansatz"], r["encoding"], r["loss"], r["optimizer"], r["n_params"],
             f"{r['test_accuracy_mean']:.4f} ± {r['test_accuracy_std']:.4f}", r["seeds"])
            for r in rows
        ],
        ("ansatz", "encoding", "loss", "optimizer", "params", "test accuracy", "seeds"),
    )  # fmt: skip
    base = markdown_table(
        [
            (name, b["n_params"], f"{b['test_accuracy_mean']:.4f} ± {b['test_accuracy_std']:.4f}")
            for name, b in sorted(baselines.items())
        ],
        ("baseline", "params", "test accuracy"),
    )
    return table + "\n" + base
