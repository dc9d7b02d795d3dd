"""Shared fixtures: run the real CLI in a subprocess with an isolated state directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class CliResult:
    """What an in-process ``qorch`` invocation printed and its exit code."""

    returncode: int
    stdout: str
    stderr: str


InProcessCli = Callable[..., CliResult]


@pytest.fixture
def cli(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> InProcessCli:
    """Run ``qorch ARGS`` in this process (Typer's CliRunner), like the ``qorch`` fixture.

    Saves the ~3 s of imports a subprocess pays. An exception that escapes the
    CLI (a traceback a user would see) is re-raised, so the test fails on it.
    """
    from typer.testing import CliRunner

    from qorch.cli.app import app

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str | None] | None = None
    ) -> CliResult:
        monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
        monkeypatch.setenv("CI", "true")
        for key, value in (env or {}).items():
            if value is None:
                monkeypatch.delenv(key, raising=False)
            else:
                monkeypatch.setenv(key, value)
        monkeypatch.chdir(cwd or REPO)
        result = CliRunner().invoke(app, list(args), catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run
