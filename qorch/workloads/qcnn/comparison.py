"""The one line a QCNN run owes its reader: the QCNN beside the best classical baseline.

Held-out MNIST 3 vs 8 puts a 9-parameter logistic regression ahead of the
51-parameter QCNN; a reader must see that without digging through tables. Pure:
works on the run's JSON fields.
"""

from __future__ import annotations

from typing import Any


def comparison(data: dict[str, Any]) -> dict[str, Any] | None:
    """``{"qcnn": {...}, "best_classical": {...} | None, "line": str}``, or None before
    training finished. With a sweep: its best configuration and best baseline (mean ±
    std over seeds); otherwise the trained model and the plan's baselines."""
    sweep = data.get("sweep") or []
    if sweep:
        best = max(sweep, key=lambda row: row["test_accuracy_mean"])
        qcnn = {"name": "QCNN " + "/".join(str(best[k]) for k in ("ansatz", "encoding", "loss")),
                "test_accuracy": best["test_accuracy_mean"], "std": best["test_accuracy_std"],
                "n_params": best["n_params"]}  # fmt: skip
        candidates = [{"name": name, "test_accuracy": b["test_accuracy_mean"],
                       "std": b["test_accuracy_std"], "n_params": b["n_params"]}
                      for name, b in (data.get("sweep_baselines") or {}).items()]  # fmt: skip
    else:
        metrics = data.get("metrics") or {}
        if metrics.get("test_accuracy") is None:
            return None
        qcnn = {"name": "QCNN", "test_accuracy": metrics["test_accuracy"], "std": None,
                "n_params": metrics.get("n_params")}  # fmt: skip
        candidates = [{"name": name, "test_accuracy": b["test_accuracy"], "std": None,
                       "n_params": b.get("n_params")}
                      for name, b in (data.get("baselines") or {}).items()
                      if not b.get("skipped") and b.get("test_accuracy") is not None]  # fmt: skip
    classical = max(candidates, key=lambda c: c["test_accuracy"], default=None)
    line = _said(qcnn) + " · best classical: " + ("none run" if classical is None
                                                  else _said(classical))  # fmt: skip
    return {"qcnn": qcnn, "best_classical": classical, "line": line}


def _said(entry: dict[str, Any]) -> str:
    spread = "" if entry["std"] is None else f" ± {entry['std']:.3f}"
    params = "" if entry["n_params"] is None else f" ({entry['n_params']} params)"
    return f"{entry['name']} {entry['test_accuracy']:.3f}{spread}{params}"
