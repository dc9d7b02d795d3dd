"""Estimated against measured fidelity on the distributed examples and a link-fidelity sweep.

Runs each simulated example plan (and the ions plan with T2 = 50 ms), then the QFT plan with
its link's source fidelity swept from 0.80 to 0.99, each through ``qorch run`` in a
temporary state directory (seeded: the plans' own seeds and shots), and prints one JSON
line: per case the measured fidelity, the estimated classical fidelity, success probability
and no-error lower bound, and the measured − estimated gap. ``--markdown`` prints the table
instead. Usage: ``python benchmarks/distributed_estimate.py [--sweep-only] [--markdown]``.
About 15 minutes on two idle cores (the QFT runs are 20-qubit dynamic circuits on Aer).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
SWEEP = (0.80, 0.85, 0.90, 0.95, 0.99)


def cases(sweep_only: bool) -> list[tuple[str, dict[str, Any]]]:
    """(label, plan) for each example that simulates, and the sweep."""
    found: list[tuple[str, dict[str, Any]]] = []
    if not sweep_only:
        for path in sorted((REPO / "plans").glob("distributed-*.yaml")):
            plan = yaml.safe_load(path.read_text())
            if plan.get("execute", {}).get("mode") == "simulate":
                found.append((path.name, plan))
        ions = (REPO / "plans" / "distributed-ions.yaml").read_text()
        found.append(("ions, T2 = 50 ms", yaml.safe_load(ions.replace("t2_s: 1.0", "t2_s: 0.05"))))
    for fidelity in SWEEP:
        plan = yaml.safe_load((REPO / "plans" / "distributed-qft.yaml").read_text())
        plan["links"] = [dict(link, source_fidelity=fidelity) for link in plan["links"]]
        found.append((f"qft, source fidelity {fidelity:.2f}", plan))
    return found


def measure(index: int, label: str, plan: dict[str, Any], work: Path) -> dict[str, Any]:
    """One ``qorch run --json``: the simulation block's figures and the gap."""
    path = work / f"case{index}.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False))
    env = {**os.environ, "QORCH_STATE_DIR": str(work / "state")}
    start = time.perf_counter()
    command = [sys.executable, "-m", "qorch", "run", str(path), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=True)
    simulation = json.loads(done.stdout)["distributed"]["simulation"]
    measured, estimated = simulation["measured_fidelity"], simulation["estimated_fidelity"]
    return {
        "case": label,
        "shots": plan["execute"]["shots"],
        "measured_fidelity": round(measured, 4),
        "estimated_classical_fidelity": _round(simulation["estimated_classical_fidelity"]),
        "estimated_success_probability": _round(simulation["estimated_success_probability"]),
        "fidelity_lower_bound": _round(simulation["fidelity_lower_bound"]),
        "estimate_method": simulation.get("estimate_method"),
        "measured_minus_estimated": round(measured - estimated, 4),
        "seconds": round(time.perf_counter() - start, 1),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| case | measured | estimated fidelity | success probability | lower bound | "
             "measured − estimated |", "|---|---|---|---|---|---|"]  # fmt: skip
    keys = ("measured_fidelity", "estimated_classical_fidelity",
            "estimated_success_probability", "fidelity_lower_bound")  # fmt: skip
    for r in rows:
        cells = [r["case"], *(f"{r[k]:.3f}" for k in keys), f"{r['measured_minus_estimated']:+.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sweep-only", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        found = cases(args.sweep_only)
        rows = [measure(i, label, plan, Path(tmp)) for i, (label, plan) in enumerate(found)]
    if args.markdown:
        print(markdown(rows))
    else:
        print(json.dumps({"benchmark": "distributed_estimate", "cases": rows}))


if __name__ == "__main__":
    main()
