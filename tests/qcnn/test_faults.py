"""QCNN runs under faults: Ctrl-C and SIGKILL during a sweep (real processes and signals)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

# Long enough tasks that an interrupted sweep has work left for several seconds.
SWEEP = """
version: 1
kind: qcnn
seed: 3
data: {classes: [3, 8]}
train: {steps: 200, checkpoint_every: 100}
baselines: []
sweep: {ansatz: [ttn, sim9, so4, sim15], encoding: [angle], seeds: 2, workers: 2}
"""
TASKS = 8


def _start(plan: Path, state_dir: Path, *extra: str) -> subprocess.Popen[str]:
    """``qorch run PLAN`` in its own process group (as a shell runs a foreground job)."""
    env = {**os.environ, "QORCH_STATE_DIR": str(state_dir), "CI": "true"}
    env.pop("OPENBLAS_NUM_THREADS", None)
    env.pop("OMP_NUM_THREADS", None)  # threads at their defaults, as in a user's shell
    return subprocess.Popen(
        [sys.executable, "-m", "qorch", "run", str(plan), *extra],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip


def _wait_for_done_tasks(proc: subprocess.Popen[str], processes, database: Path) -> int:
    """Block until at least one sweep task is stored as done; return how many are."""
    deadline = time.monotonic() + 180
    while not processes.tasks(database).get("done"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"sweep never stored a task: {proc.communicate()[1]}")
        time.sleep(0.05)
    return processes.tasks(database)["done"]


def test_ctrl_c_during_a_sweep_stops_at_once_and_resumes(
    make_plan: Callable[..., Path], state_dir: Path, processes, cli
) -> None:
    """Item 9: Ctrl-C (SIGINT to the foreground process group) stops a sweep within 2 s,
    says what it waits for, exits 130, leaves no worker, and the next run re-runs only the
    tasks that had not finished."""
    plan = make_plan(SWEEP)
    proc = _start(plan, state_dir)
    database = state_dir / "state.db"
    try:
        _wait_for_done_tasks(proc, processes, database)
        os.killpg(proc.pid, signal.SIGINT)
        pressed = time.monotonic()
        _, stderr = proc.communicate(timeout=60)
        took = time.monotonic() - pressed
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert took <= 2.0, f"Ctrl-C took {took:.1f} s to act:\n{stderr}"
    assert "interrupted: stopping 2 sweep workers" in stderr, stderr
    assert "Traceback" not in stderr, stderr
    left = processes.survivors(state_dir, within_s=3)
    processes.kill(left)
    assert not left, f"left behind after Ctrl-C: {left}"
    stored = processes.tasks(database)
    assert set(stored) == {"done"}, stored  # nothing recorded as failed by the interrupt
    again = cli("run", str(plan), "--json")
    assert again.returncode == 0, again.stderr
    assert f"sweep: {TASKS - stored['done']} of {TASKS} tasks to run" in again.stderr
    rows = json.loads(again.stdout)["sweep"]
    assert len(rows) == 4 and all(row["seeds"] == 2 for row in rows)


def test_sigkill_of_qorch_run_takes_its_sweep_workers_with_it(
    make_plan: Callable[..., Path], state_dir: Path, processes
) -> None:
    """Item 17: after SIGKILL of ``qorch run`` in a sweep, its forkserver and workers exit
    within a few seconds instead of idling for ever."""
    plan = make_plan(SWEEP)
    proc = _start(plan, state_dir)
    try:
        _wait_for_done_tasks(proc, processes, state_dir / "state.db")
        helpers = set(processes.holding(state_dir)) - {proc.pid}
        assert len(helpers) >= 3, helpers  # forkserver, two workers (and a resource tracker)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    left = processes.survivors(state_dir, within_s=5)
    processes.kill(left)
    assert not left, f"left behind 5 s after SIGKILL: {left}"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_interrupting_run_all_stops_pool_workers_promptly() -> None:
    """Item 9, library level: an interrupt seen between tasks stops busy workers at once."""
    import functools
    import threading

    from qorch.engine import interrupt
    from qorch.workloads.qcnn.executor import run_all, task_executor

    said: list[str] = []
    workers: set[int] = set()
    # A picklable task that blocks for 20 s (the task dict serves as eval's globals).
    sleeper = functools.partial(eval, "__import__('time').sleep(20) or {}")

    pressed: list[float] = []

    def press(executor) -> None:
        # once both workers run a task (under load, starting them takes a while): Ctrl-C
        deadline = time.monotonic() + 60
        while len(executor._processes) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        workers.update(executor._processes)
        pressed.append(time.monotonic())
        interrupt._interrupted.set()

    timer: threading.Timer | None = None
    try:
        with pytest.raises(KeyboardInterrupt), task_executor(2, notify=said.append) as executor:
            timer = threading.Timer(0.0, press, (executor,))
            timer.start()
            run_all(executor, sleeper, [{} for _ in range(6)], lambda *a: None)
        took = time.monotonic() - pressed[0]
    finally:
        if timer is not None:
            timer.cancel()
        interrupt.reset()
    assert len(workers) == 2
    assert took < 4.0, took  # the 20 s tasks were stopped, not awaited
    assert any("stopping 2" in line for line in said), said
    assert not {pid for pid in workers if _alive(pid)}


def _alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_training_stops_at_the_next_step_after_a_swallowed_ctrl_c() -> None:
    """Item 9: a Ctrl-C whose KeyboardInterrupt was lost still stops training at the next
    step (``interrupt.raise_if_interrupted`` between steps)."""
    import numpy as np

    from qorch.engine import interrupt
    from qorch.workloads.qcnn.model import QCNNSpec, build
    from qorch.workloads.qcnn.train import TrainConfig, train

    rng = np.random.default_rng(0)
    X, y = rng.uniform(0, np.pi, (30, 8)), rng.integers(0, 2, 30)
    steps: list[int] = []

    def on_step(step: int, loss: float) -> None:
        steps.append(step)
        if step == 2:
            interrupt._interrupted.set()  # as the handler does; its exception went missing

    try:
        with pytest.raises(KeyboardInterrupt):
            train(build(QCNNSpec()), X, y, TrainConfig(steps=50), rng, on_step=on_step)
    finally:
        interrupt.reset()
    assert steps == [0, 1, 2]
