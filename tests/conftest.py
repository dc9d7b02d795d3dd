"""Shared fixtures: run the real CLI in a subprocess with an isolated state directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PLANS = REPO / "plans"

CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    """A fresh state directory for one test."""
    return tmp_path / "state"


@pytest.fixture
def qorch(state_dir: Path) -> CliRunner:
    """Run ``python -m qorch ARGS`` with QORCH_STATE_DIR pointing at the test's state."""

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
    ) -> subprocess.CompletedProcess[str]:
        full_env = {**os.environ, "QORCH_STATE_DIR": str(state_dir), "CI": "true"}
        full_env.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "qorch", *args],
            cwd=cwd or REPO,
            env=full_env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )

    return run


@pytest.fixture
def make_plan(tmp_path: Path) -> Callable[..., Path]:
    """Write a plan file (dedented) into the test's directory and return its path."""
    import textwrap

    def write(text: str, name: str = "plan.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip())
        return path

    return write
