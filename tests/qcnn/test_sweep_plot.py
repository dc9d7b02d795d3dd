"""sweep.png a person can read (issue 13, item 4): axis from 0, no error bar cut or past 1,
every baseline drawn and labelled, a title naming the data, rows in the plan's order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from qorch.workloads.qcnn import artifacts


def test_the_sweep_plot_shows_every_baseline_and_whole_error_bars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    saved: list[Any] = []
    monkeypatch.setattr(artifacts, "_save", lambda figure, path: saved.append(figure))
    rows = [
        {"ansatz": a, "encoding": "angle", "loss": "mse", "optimizer": "adam",
         "test_accuracy_mean": mean, "test_accuracy_std": std}
        for a, mean, std in (("b", 0.995, 0.02), ("a", 0.6, 0.7))
    ]  # fmt: skip
    baselines = {f"base{i}": 0.9 + i / 100 for i in range(7)}  # more than there are styles
    artifacts.plot_sweep(rows, baselines, tmp_path / "sweep.png", "sweep on digits, 0 vs 1")
    (axis,) = saved[0].axes
    assert axis.get_title() == "sweep on digits, 0 vs 1"
    assert axis.get_xlim()[0] == 0.0 and axis.get_xlim()[1] > 1.0
    assert [t.get_text() for t in axis.get_yticklabels()] == [
        "b | angle | mse | adam", "a | angle | mse | adam"]  # fmt: skip
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert legend == [f"base{i}: {0.9 + i / 100:.3f}" for i in range(7)]
    (bars,) = [c for c in axis.containers if hasattr(c, "errorbar") and c.errorbar]
    segments = bars.errorbar.lines[2][0].get_segments()
    ends = [x for segment in segments for x, _ in segment]
    assert min(ends) >= 0.0 and max(ends) <= 1.0  # 0.6 ± 0.7 stops at 0 and 1, not cut
