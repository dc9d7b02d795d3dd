"""The acceptance sweep (plans/qcnn-sweep.yaml: 9 ansätze × 3 encodings × 2 losses × 5 seeds
on digits 3 vs 8, with baselines) end to end with 1 and with 2 worker processes.

Prints one JSON line: wall seconds for each worker count and the parallel speed-up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def timed(workers: int) -> tuple[float, int]:
    """Wall seconds of ``qorch run plans/qcnn-sweep.yaml --workers N`` and its row count."""
    with tempfile.TemporaryDirectory() as state:
        env = {**os.environ, "QORCH_STATE_DIR": state}
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "qorch", "run", "plans/qcnn-sweep.yaml", "--json",
             "--workers", str(workers)],
            cwd=REPO, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        wall = time.perf_counter() - start
    return wall, len(json.loads(result.stdout)["sweep"])


def main() -> None:
    one, rows = timed(1)
    two, _ = timed(2)
    print(json.dumps({
        "benchmark": "qcnn_sweep", "trainings": 270, "configurations": rows,
        "seconds_1_worker": round(one, 2), "seconds_2_workers": round(two, 2),
        "speedup": round(one / two, 2), "cpus": os.cpu_count(),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
