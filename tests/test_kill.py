"""Acceptance (issue 9): `qorch run` SIGKILLed at random moments, its detached workers
SIGKILLed at random too, on a plan whose second target is mitigated (issue 12: its M3
calibration jobs and ZNE's folded jobs are jobs of the run like any other). Every run completes when
the same command runs again, every job is submitted exactly once, and no result is lost
or changed.

Trials: ``QORCH_KILL_TRIALS`` (default 2), ``QORCH_KILL_PARALLEL`` at a time (default
2); randomness: ``QORCH_KILL_SEED`` (default: random, printed, and named in every
failure with the trial; trial N draws from its own generator, so one seed replays every
trial). Run it alone with many trials::

    QORCH_KILL_TRIALS=25 python -m pytest -s -p no:cacheprovider tests/test_kill.py
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

TRIALS = int(os.environ.get("QORCH_KILL_TRIALS", "2"))
PARALLEL = max(1, int(os.environ.get("QORCH_KILL_PARALLEL", "2")))
SEED = int(os.environ.get("QORCH_KILL_SEED", str(random.SystemRandom().randrange(2**31))))
MAX_INVOCATIONS = 6  # killed runs per trial, at most; then one more that is left alone
WORKER_KILLS_PER_JOB = 2  # a job survives MAX_ATTEMPTS - 1 = 2 dead workers

PLAN = """
version: 1
kind: circuits
name: killed
shots: 300
seed: 11
circuits:
  - {name: ghz2, generator: ghz, qubits: 2}
  - {name: ghz3, generator: ghz, qubits: 3}
  - {name: qft3, generator: qft, qubits: 3, value: 5}
  - name: ghz4
    generator: ghz
    qubits: 4
    observables: [{name: zz, terms: {ZZII: 1.0, IIZZ: 1.0}}]
targets:
  - target: local:statevector
    options: {queue_delay_s: 0.5}
  - target: local:aer            # noisy: M3 adds two calibration jobs to the run, ZNE two
    noise: ibm:fake_manila       # folded jobs of ghz4's observable (scales 3 and 5)
    mitigation: {readout: m3, zne: {scale_factors: [1, 3, 5]}}
    options: {queue_delay_s: 0.5}
"""
MITIGATION_JOBS = 2  # the calibration jobs of the local:aer target
FOLDED_JOBS = 2  # ZNE's folded jobs of the local:aer target

pytestmark = [
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc"),
    pytest.mark.slow,
    pytest.mark.detached_workers,  # what these tests are about
]


@dataclass
class Figures:
    """What the trials did, summed."""

    trials: int = 0
    runs_killed: int = 0
    workers_killed: int = 0
    invocations: int = 0
    retries: int = 0  # dead workers recorded (each restarted: every job completed)
    resubmissions: int = 0
    seconds: float = 0.0
    worker_kills: Counter[str] = field(default_factory=Counter)


@pytest.fixture
def stop_workers(tmp_path: Path) -> Iterator[None]:
    yield
    for directory in tmp_path.glob("**/jobs/qorch-*"):
        if directory.is_dir():
            (directory / "cancel").touch()


def workers_under(state_dir: Path) -> list[tuple[int, str]]:
    """(pid, job token) of every live worker process of jobs under ``state_dir``."""
    marker = str(state_dir).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if b"qorch.engine.worker" not in args or state == "Z":
            continue
        for arg in args:
            if arg.startswith(marker) and b"/qorch-" in arg:
                found.append((int(entry), os.path.basename(arg.decode())))
    return found


def run_qorch(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "qorch", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def one_trial(
    number: int, rng: random.Random, plan: Path, root: Path, figures: Figures
) -> dict[str, Any]:
    """Kill `qorch run` (and workers) until a run finishes; returns its JSON summary."""
    where = f"seed={SEED} trial={number}"
    state = root / "state"
    env = {**os.environ, "QORCH_STATE_DIR": str(state), "QORCH_LOCAL_WORKERS": "4", "CI": "1"}
    command = ["run", str(plan), "--json", "--poll", "0.2"]
    for invocation in range(MAX_INVOCATIONS + 1):
        figures.invocations += 1
        process = run_qorch(command, env, root)
        kill_at = rng.uniform(0.0, 6.0) if invocation < MAX_INVOCATIONS else None
        if invocation > 0 and rng.random() < 0.4:
            kill_at = None  # often, a later invocation is left to finish
        worker_rate = rng.choice((0.0, 0.02, 0.05))  # chance per 50 ms tick
        started = time.monotonic()
        killed = False
        while process.poll() is None:
            if kill_at is not None and time.monotonic() - started >= kill_at:
                process.send_signal(signal.SIGKILL)
                killed = True
                figures.runs_killed += 1
                break
            if rng.random() < worker_rate:
                kill_a_worker(state, rng, figures)
            assert time.monotonic() - started < 240, f"{where}: qorch run hangs"
            time.sleep(0.05)
        out, err = process.communicate()
        if killed:
            continue
        if process.returncode == 0:
            return dict(json.loads(out))
        assert process.returncode == 3, f"{where}: exit {process.returncode}: {err}"
    pytest.fail(f"{where}: no run finished in {MAX_INVOCATIONS + 1} invocations")


def kill_a_worker(state: Path, rng: random.Random, figures: Figures) -> None:
    """SIGKILL one live worker none of whose jobs has lost two workers yet.

    A worker runs every local job of its provider that one ``qorch`` call
    started, so its death counts against each job it names.
    """
    named: dict[int, list[str]] = {}
    for pid, token in workers_under(state):
        named.setdefault(pid, []).append(token)
    candidates = [
        (pid, tokens)
        for pid, tokens in sorted(named.items())
        if all(figures.worker_kills[token] < WORKER_KILLS_PER_JOB for token in tokens)
    ]
    if not candidates:
        return
    pid, tokens = rng.choice(candidates)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    for token in tokens:
        figures.worker_kills[token] += 1
    figures.workers_killed += 1


def check_exactly_once(
    where: str, state: Path, data: dict[str, Any], reference: list[Any], figures: Figures
) -> None:
    """One run, one directory and one execution per job, deaths recorded, same counts."""
    assert data["status"] == "completed", f"{where}: {data['status']}"
    assert [job["counts"] for job in data["jobs"]] == reference, f"{where}: counts changed"
    roles = [job.get("role") for job in data["jobs"]]
    assert roles.count("calibration") == MITIGATION_JOBS, f"{where}: {roles}"
    assert roles.count("zne") == FOLDED_JOBS, f"{where}: {roles}"
    corrected = [job for job in data["jobs"] if job.get("readout_mitigation") == "m3"]
    assert len(corrected) == 4 + 1 + FOLDED_JOBS and all(
        job["quasi_probabilities"] for job in corrected
    ), where
    with sqlite3.connect(f"file:{state / 'state.db'}?mode=ro", uri=True) as conn:
        runs = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
        tokens = sorted(row[0] for row in conn.execute("SELECT token FROM jobs"))
        statuses = {row[0] for row in conn.execute("SELECT status FROM jobs")}
    assert runs == 1, f"{where}: {runs} runs for one plan"
    assert statuses == {"done"}, f"{where}: {statuses}"
    directories = sorted(p.name for p in (state / "jobs").glob("qorch-*") if p.is_dir())
    assert directories == tokens, f"{where}: job directories {directories} != jobs {tokens}"
    for token in tokens:
        directory = state / "jobs" / token
        log = (directory / "worker.log").read_text()
        created = log.count("job created")
        figures.resubmissions += created - 1
        assert created == 1, f"{where}: {token} created {created} times"
        assert (directory / "result.json").exists() and not (directory / "error.json").exists()
        assert log.count("result written") == 1, f"{where}: {token} executed twice:\n{log}"
        assert "discarded" not in log, f"{where}: {token}: a second outcome:\n{log}"
        deaths = _deaths(directory)
        moved = sorted(death["claim"] for death in deaths if death["claim"])
        assert moved == sorted(p.name for p in directory.glob("claim.*")), f"{where}: {token}"
        assert len(deaths) <= figures.worker_kills[token], f"{where}: {token}: {deaths}"
        assert all(death["reason"] for death in deaths)
        figures.retries += len(deaths)


def _deaths(directory: Path) -> list[dict[str, Any]]:
    path = directory / "attempts.json"
    return list(json.loads(path.read_text())["deaths"]) if path.exists() else []


def run_trial(number: int, plan: Path, root: Path) -> tuple[Figures, dict[str, Any]]:
    """One trial in ``root``, drawing from its own generator (seeded by SEED and ``number``)."""
    rng = random.Random(SEED * 1000 + number)
    root.mkdir()
    figures = Figures(trials=1)
    data = one_trial(number, rng, plan, root, figures)
    return figures, data


def test_killed_runs_and_workers_resume_exactly_once(
    tmp_path: Path, make_plan: Callable[..., Path], stop_workers: None
) -> None:
    print(f"\nkill test: QORCH_KILL_SEED={SEED} QORCH_KILL_TRIALS={TRIALS}")
    plan = make_plan(PLAN)
    started = time.monotonic()
    reference_env = {**os.environ, "QORCH_STATE_DIR": str(tmp_path / "reference")}
    reference_run = run_qorch(
        ["run", str(plan), "--json", "--poll", "0.2"], reference_env, tmp_path
    )
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        trials = list(pool.map(lambda n: run_trial(n, plan, tmp_path / f"trial{n}"), range(TRIALS)))
    out, err = reference_run.communicate(timeout=300)
    assert reference_run.returncode == 0, err
    reference = [job["counts"] for job in json.loads(out)["jobs"]]

    total = Figures()
    for number, (figures, data) in enumerate(trials):
        where = f"seed={SEED} trial={number}"
        check_exactly_once(where, tmp_path / f"trial{number}" / "state", data, reference, figures)
        for name in ("trials", "runs_killed", "workers_killed", "invocations", "retries"):
            setattr(total, name, getattr(total, name) + getattr(figures, name))
        total.resubmissions += figures.resubmissions
    total.seconds = round(time.monotonic() - started, 1)
    summary = {k: v for k, v in vars(total).items() if k != "worker_kills"}
    print(f"kill test figures: {json.dumps(summary)}")
    assert total.resubmissions == 0
