"""What ``qorch compile`` and ``qorch run`` show for a qcnn plan, as table specs."""

from __future__ import annotations

from typing import Any

from qorch.engine.views import Table, View
from qorch.engine.wording import usd


def compile_view(block: dict[str, Any]) -> View:
    """The model's parameter count, the data set's sizes and classes, the sweep's size."""
    return View([Table(
        ("QCNN parameters", "train samples", "test samples", "classes", "sweep tasks"),
        [(block["n_params"], block["data"]["train"], block["data"]["test"],
          ", ".join(map(str, block["classes"])), block["sweep_tasks"])],
    )])  # fmt: skip


def results_view(data: dict[str, Any]) -> View:
    """Metrics and baselines, the sweep table and the evaluation (``data``: the run's JSON)."""
    metrics = data.get("metrics") or {}
    rows: list[tuple[Any, ...]] = [
        ("qcnn", metrics.get("n_params"), metrics.get("test_accuracy"),
         metrics.get("train_accuracy"), metrics.get("train_seconds"))
    ]  # fmt: skip
    for name, base in sorted((data.get("baselines") or {}).items()):
        if base.get("skipped"):
            rows.append(
                (name, "-", f"skipped: {base.get('reason') or 'no reason given'}", "-", "-")
            )
        else:
            rows.append((name, params_cell(base["n_params"], base.get("target_params")),
                         base["test_accuracy"], base["train_accuracy"], "-"))  # fmt: skip
    tables = [Table(("model", "params", "test acc", "train acc", "train s"), rows,
                    title=f"run {data['run_id']} ({data['status']}) — {data['plan']}")]  # fmt: skip
    if data.get("sweep"):
        tables.append(Table(
            ("ansatz", "encoding", "loss", "optimizer", "params", "test acc (mean ± std)", "seeds"),
            [(r["ansatz"], r["encoding"], r["loss"], r["optimizer"], r["n_params"],
              f"{r['test_accuracy_mean']:.4f} ± {r['test_accuracy_std']:.4f}", r["seeds"])
             for r in data["sweep"]],
            title="sweep",
        ))  # fmt: skip
        tables.append(Table(
            ("baseline [features]", "params", "test acc (mean ± std)", "seeds"),
            [(name, b["n_params"], f"{b['test_accuracy_mean']:.4f} ± {b['test_accuracy_std']:.4f}",
              b["seeds"]) for name, b in sorted((data.get("sweep_baselines") or {}).items())],
        ))  # fmt: skip
    evaluation = data.get("evaluation") or {}
    if evaluation:
        tables.append(Table(
            ("target", "accuracy", "95% CI", "exact", "gap (pts)", "jobs", "shots", "cost"),
            [(t, e.get("accuracy"), _ci(e.get("ci95")), e.get("exact_accuracy"),
              e.get("gap_points"), e["jobs"], e["total_shots"], usd(e["cost_usd"]))
             for t, e in evaluation.items()],
            title="evaluation (test set, with shots)",
        ))  # fmt: skip
    compared = data.get("comparison")
    return View(tables, [compared["line"]] if compared else [])


MATCH_TOLERANCE = 0.1
"""A parameter-matched baseline within 10 % of the QCNN's count counts as matched."""


def params_cell(n_params: int, target: int | None) -> str | int:
    """A baseline's parameter count, and how far it is from the QCNN's it was sized to:
    ``51 (= QCNN)``, ``53 (+2 vs QCNN 51)``, or flagged when no size can match (e.g. an MLP
    on amplitude-encoded inputs: 256 inputs need 259 parameters at the least)."""
    if not target:
        return n_params
    off = n_params - target
    if off == 0:
        return f"{n_params} (= QCNN)"
    if abs(off) <= MATCH_TOLERANCE * target:
        return f"{n_params} ({off:+d} vs QCNN {target})"
    return f"{n_params} (not matched: QCNN {target}; no width fits these inputs)"


def _ci(interval: list[float] | None) -> str:
    return "-" if interval is None else f"[{interval[0]:.3f}, {interval[1]:.3f}]"
