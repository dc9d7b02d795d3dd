"""Wall time of ``qorch --help`` and of ``qorch run plans/ghz.yaml``, with the share importing.

Prints one JSON line. Import time comes from ``PYTHONPROFILEIMPORTTIME``
(``-X importtime``), which the local job workers inherit: their import
time is read from their log files. Every ``run`` uses a fresh state
directory, so nothing is cached between repeats.
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


def import_seconds(stderr: str) -> float:
    """Total import time (s) from ``-X importtime`` output: the sum over top-level imports."""
    total_us = 0
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        fields = line.split("|")
        if len(fields) != 3:
            continue
        name = fields[2]
        if name[:1] == " " and name[1:2] != " ":  # top level: no indentation
            total_us += int(fields[1].strip())
    return total_us / 1e6


def timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run ``python -m qorch ARGS``; returns (wall seconds, stderr)."""
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "qorch", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"qorch {' '.join(args)} failed: {result.stderr[-2000:]}")
    return elapsed, result.stderr


def bench_help(repeats: int) -> dict[str, float]:
    env = dict(os.environ)
    best = min(timed(["--help"], env)[0] for _ in range(repeats))
    _, stderr = timed(["--help"], {**env, "PYTHONPROFILEIMPORTTIME": "1"})
    imports = import_seconds(stderr)
    return {"help_s": round(best, 3), "help_import_s": round(imports, 3)}


def bench_run(repeats: int) -> dict[str, float]:
    walls, main_imports, worker_imports = [], [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as state:
            env = {**os.environ, "QORCH_STATE_DIR": state}
            walls.append(timed(["run", "plans/ghz.yaml", "--json", "--poll", "0.2"], env)[0])
        with tempfile.TemporaryDirectory() as state:
            env = {**os.environ, "QORCH_STATE_DIR": state, "PYTHONPROFILEIMPORTTIME": "1"}
            _, stderr = timed(["run", "plans/ghz.yaml", "--json", "--poll", "0.2"], env)
            main_imports.append(import_seconds(stderr))
            logs = Path(state).glob("jobs/*/worker.log")
            worker_imports.append(sum(import_seconds(log.read_text()) for log in logs))
    wall = min(walls)
    return {
        "run_ghz_s": round(wall, 3),
        "run_ghz_main_import_s": round(min(main_imports), 3),
        "run_ghz_main_import_share": round(min(main_imports) / wall, 3),
        "run_ghz_worker_import_s_total": round(min(worker_imports), 3),
        "run_ghz_jobs": 4,
    }


def main() -> None:
    figures = {"benchmark": "cli_wall_time", "cpus": os.cpu_count()}
    figures.update(bench_help(repeats=5))
    figures.update(bench_run(repeats=2))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
