"""Shared fixtures: the CLI in this process (``cli``) or in a real subprocess (``qorch``),
each with an isolated state directory."""

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


def invoke(*args: str) -> CliResult:
    """``qorch ARGS`` in this process, through the function ``python -m qorch`` calls.

    ``qorch.cli.app.run`` is what the entry point runs after installing its Ctrl-C
    handler: usage errors, ``--json`` error documents and exit codes are the real
    ones. stdin, stdout and stderr are Click's test streams (not a terminal). An
    exception that escapes (a traceback a user would see) is re-raised.
    """
    from click.testing import CliRunner

    from qorch.cli.app import run

    with CliRunner().isolation() as (out, err, _):
        try:
            code: int | str | None = run(list(args))
        except SystemExit as stop:
            code = stop.code
        finally:
            sys.stdout.flush()  # a plain print() stays in the text wrapper until flushed
            sys.stderr.flush()
    if isinstance(code, str):  # sys.exit("message"): printed, exit status 1
        return CliResult(1, out.getvalue().decode(), err.getvalue().decode() + code + "\n")
    return CliResult(code or 0, out.getvalue().decode(), err.getvalue().decode())


def _environment(
    monkeypatch: pytest.MonkeyPatch,
    state_dir: Path,
    cwd: Path | None,
    env: dict[str, str | None] | None,
) -> None:
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    monkeypatch.setenv("CI", "true")
    for key, value in (env or {}).items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(cwd or REPO)


@pytest.fixture
def cli(state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> InProcessCli:
    """Run ``qorch ARGS`` in this process, like the ``qorch`` fixture (same result fields).

    Saves the 3–12 s of imports a subprocess pays. The environment (state
    directory, ``CI``, ``env``) and working directory stay set for the rest of
    the test, so library calls after it see the same state.
    """

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str | None] | None = None
    ) -> CliResult:
        _environment(monkeypatch, state_dir, cwd, env)
        return invoke(*args)

    return run


def cli_in(state_dir: Path) -> InProcessCli:
    """An in-process ``qorch`` for module-scoped fixtures: the environment is set for each
    call and restored after it (a shared, expensive run computed once for several tests)."""

    def run(
        *args: str, cwd: Path | None = None, env: dict[str, str | None] | None = None
    ) -> CliResult:
        with pytest.MonkeyPatch.context() as monkeypatch:
            _environment(monkeypatch, state_dir, cwd, env)
            return invoke(*args)

    return run


def bundle_files(directory: Path) -> list[Path]:
    """A bundle directory's files, relative and sorted."""
    return sorted(p.relative_to(directory) for p in directory.rglob("*") if p.is_file())


# Compiles each (plan, bundle directory) pair of its arguments, in one fresh interpreter.
COMPILE_ELSEWHERE = """
import sys
from qorch.cli.app import run
for plan, out in zip(sys.argv[1::2], sys.argv[2::2]):
    if code := run(["compile", plan, "-o", out]):
        sys.exit(f"compile {plan}: exit {code}")
"""


@pytest.fixture
def compile_in_two_processes(
    cli: InProcessCli, state_dir: Path, tmp_path: Path
) -> Callable[..., list[tuple[Path, list[Path]]]]:
    """``qorch compile PLAN -o DIR`` for each plan in this process, and in one fresh
    interpreter for all of them (another hash seed; one start-up and one import of the
    SDKs, not one per plan); asserts each plan's two bundles hold the same files with the
    same bytes, and returns each plan's first bundle and its file list."""

    def compile_twice(*plans: str) -> list[tuple[Path, list[Path]]]:
        pairs = [(tmp_path / f"one{n}", tmp_path / f"two{n}") for n in range(len(plans))]
        for plan, (one, _) in zip(plans, pairs, strict=True):
            here = cli("compile", plan, "-o", str(one))
            assert here.returncode == 0, here.stderr
        arguments = [arg for plan, (_, two) in zip(plans, pairs, strict=True)
                     for arg in (plan, str(two))]  # fmt: skip
        there = subprocess.run(
            [sys.executable, "-c", COMPILE_ELSEWHERE, *arguments],
            cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300,
            env={**os.environ, "QORCH_STATE_DIR": str(state_dir), "CI": "true"},
        )  # fmt: skip
        assert there.returncode == 0, there.stderr
        bundles = []
        for one, two in pairs:
            files = bundle_files(one)
            assert files and files == bundle_files(two)
            for file in files:
                assert (one / file).read_bytes() == (two / file).read_bytes(), file
            bundles.append((one, files))
        return bundles

    return compile_twice
