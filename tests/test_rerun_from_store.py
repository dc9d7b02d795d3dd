"""Re-running a plan whose run exists answers from the store and the bundle: no compile, no
vendor SDK (issue 13, item 1); a changed plan is compiled into a new run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from qorch.workloads.circuits.workload import CircuitsWorkload

PLAN = """
version: 1
kind: circuits
name: rerun
shots: 200
seed: 3
circuits:
  - {name: ghz3, generator: ghz, qubits: 3}
targets:
  - local:statevector
  - braket:local
"""


def test_a_finished_run_is_reprinted_without_compiling(
    cli, make_plan: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    plan = make_plan(PLAN)
    first = cli("run", str(plan), "--json")
    assert first.returncode == 0, first.stderr

    def no_compile(self: object, loaded: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(CircuitsWorkload, "compile", no_compile)
    again = cli("run", str(plan), "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["run_id"] == json.loads(first.stdout)["run_id"]
    assert json.loads(again.stdout)["jobs"] == json.loads(first.stdout)["jobs"]
    plan.write_text(plan.read_text().replace("shots: 200", "shots: 300"))
    with pytest.raises(AssertionError, match="compiled again"):  # another version: compiled
        cli("run", str(plan), "--json")


def test_a_rerun_imports_no_vendor_sdk(
    cli, make_plan: Callable[..., Path], state_dir: Path
) -> None:  # type: ignore[no-untyped-def]
    plan = make_plan(PLAN)
    assert cli("run", str(plan)).returncode == 0
    env = {**os.environ, "QORCH_STATE_DIR": str(state_dir), "CI": "true"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "qorch", "run", str(plan), "--json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    modules = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    assert not modules & {"qiskit", "qiskit_aer", "braket", "qiskit_braket_provider"}
    assert json.loads(result.stdout)["status"] == "completed"
