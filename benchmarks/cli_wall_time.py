"""Wall time of the everyday commands, cold and warm, with the share importing.

Prints one JSON line. ``run_ghz_s``: ``qorch run plans/ghz.yaml`` in a fresh
state directory (cold: compile, four local jobs on three providers' workers,
checks). Then, in that state directory (warm: the OS caches hold the files):
``rerun_ghz_s`` (the finished run re-printed), ``results_s`` (``qorch results
RUN``), ``status_s``, ``validate_s`` (``qorch validate plans/ghz.yaml``),
``backends_s`` and ``help_s``; each the best of ``repeats``. Import time comes
from ``PYTHONPROFILEIMPORTTIME`` (``-X importtime``), which the local job
workers inherit: their import time is read from their log files. Run it on a
quiet machine: the figures are wall times.

Python's bytecode cache is on, as on a user's machine: the measured tree is
byte-compiled first (``pip install`` does it for regular installs, the first
import for editable ones) and ``PYTHONDONTWRITEBYTECODE`` is dropped from the
commands' environment (with it set, every command compiles qorch's sources
again: +0.1–0.3 s each). The run is the command a user types, with its
default polling.

``--compare REV`` measures the code of commit REV too (in a temporary git
worktree, put first on ``PYTHONPATH`` with its plugins; the same interpreter
and packages), before this tree, and prints ``{"before": {...}, "after": {...}}``.
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
SOURCE = REPO  # the tree whose code is measured (--compare: a worktree of the older commit)


def source_paths() -> list[Path]:
    """SOURCE's qorch and plugins, in import-path order."""
    return [SOURCE, SOURCE / "providers" / "ibm" / "src", SOURCE / "providers" / "braket" / "src"]


def source_env(env: dict[str, str]) -> dict[str, str]:
    """``env`` with SOURCE's qorch and plugins first on the import path, bytecode cached."""
    env = {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return {**env, "PYTHONPATH": os.pathsep.join(str(path) for path in source_paths())}


def byte_compile() -> None:
    """Byte-compile SOURCE's qorch and plugins, as ``pip install`` would."""
    packages = [SOURCE / "qorch", *(path / name for path in source_paths()[1:]
                                     for name in ("qorch_ibm", "qorch_braket"))]  # fmt: skip
    existing = [str(path) for path in packages if path.is_dir()]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *existing], check=True,
                   env=source_env(dict(os.environ)))  # fmt: skip


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
        cwd=SOURCE,
        env=source_env(env),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"qorch {' '.join(args)} failed: {result.stderr[-2000:]}")
    return elapsed, result.stderr


def best_of(args: list[str], env: dict[str, str], repeats: int) -> float:
    """The best wall time of ``repeats`` runs of ``qorch ARGS``."""
    return round(min(timed(args, env)[0] for _ in range(repeats)), 3)


def bench_help(repeats: int) -> dict[str, float]:
    env = dict(os.environ)
    _, stderr = timed(["--help"], {**env, "PYTHONPROFILEIMPORTTIME": "1"})
    return {"help_s": best_of(["--help"], env, repeats), "help_import_s": import_seconds(stderr)}


def bench_run(repeats: int) -> dict[str, float]:
    walls, main_imports, worker_imports = [], [], []
    figures: dict[str, float] = {}
    for repeat in range(repeats):
        with tempfile.TemporaryDirectory() as state:
            env = {**os.environ, "QORCH_STATE_DIR": state}
            wall, _ = timed(["run", "plans/ghz.yaml", "--json"], env)
            walls.append(wall)
            if repeat == 0:
                figures = warm_commands(env, repeats)
        with tempfile.TemporaryDirectory() as state:
            env = {**os.environ, "QORCH_STATE_DIR": state, "PYTHONPROFILEIMPORTTIME": "1"}
            _, stderr = timed(["run", "plans/ghz.yaml", "--json"], env)
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
        **figures,
    }


def warm_commands(env: dict[str, str], repeats: int) -> dict[str, float]:
    """The commands a user types after a run, in the run's state directory."""
    run_id = json.loads(subprocess.run(
        [sys.executable, "-m", "qorch", "status", "--json"], cwd=SOURCE, env=source_env(env),
        capture_output=True, text=True, check=True,
    ).stdout)[0]["run_id"]  # fmt: skip
    return {
        "rerun_ghz_s": best_of(["run", "plans/ghz.yaml", "--json"], env, repeats),
        "results_s": best_of(["results", run_id, "--json"], env, repeats),
        "status_s": best_of(["status"], env, repeats),
        "validate_s": best_of(["validate", "plans/ghz.yaml"], env, repeats),
        "backends_s": best_of(["backends"], env, repeats),
    }


def measure(repeats: int) -> dict[str, object]:
    """Every figure of the code in SOURCE."""
    byte_compile()
    figures: dict[str, object] = {"bytecode_cached": True}
    figures.update(bench_help(repeats=repeats))
    figures.update(bench_run(repeats=repeats))
    return figures


def main() -> None:
    global SOURCE
    args = sys.argv[1:]
    head = {"benchmark": "cli_wall_time", "cpus": os.cpu_count()}
    if not args:
        print(json.dumps({**head, **measure(repeats=3)}))
        return
    if len(args) != 2 or args[0] != "--compare":
        raise SystemExit("usage: python benchmarks/cli_wall_time.py [--compare REV]")
    rev = args[1]
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(tree), rev],
                       cwd=REPO, check=True)  # fmt: skip
        try:
            SOURCE = tree
            before = measure(repeats=2)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=REPO,
                           check=False)  # fmt: skip
        SOURCE = REPO
        after = measure(repeats=2)
    print(json.dumps({**head, "before": {"commit": rev, **before}, "after": after}))


if __name__ == "__main__":
    main()
