"""Shared fixtures: the CLI in this process (``cli``) or in a real subprocess (``qorch``),
each with an isolated state directory."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Callable, Iterator
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


# A second interpreter that compiles plans on request, one JSON line each way: {"state_dir",
# "pairs": [[plan, bundle directory], ...]} in, {"error": null or a message} out. The CLI's
# own output goes to the log file (stdout is the reply channel).
COMPILE_SERVER = """
import json, os, sys
replies = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)
from qorch.cli.app import run
for line in sys.stdin:
    request = json.loads(line)
    os.environ["QORCH_STATE_DIR"] = request["state_dir"]
    error = None
    for plan, out in request["pairs"]:
        try:
            code = run(["compile", plan, "-o", out])
        except SystemExit as stop:
            code = stop.code
        if code:
            error = f"compile {plan}: exit {code}"
            break
    sys.stdout.flush()
    replies.write(json.dumps({"error": error}) + "\\n")
    replies.flush()
"""

CompileElsewhere = Callable[[Path, list[tuple[str, Path]]], None]


@pytest.fixture(scope="session")
def compile_elsewhere(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CompileElsewhere]:
    """Compile (plan, bundle directory) pairs in another interpreter, started on first use
    and kept for the test process: another hash seed, no memory shared with this process,
    and one start-up and one import of the SDKs per test process instead of per test."""
    log = tmp_path_factory.mktemp("compile-elsewhere") / "log.txt"
    server: subprocess.Popen[str] | None = None
    # each request names its state directory: the interpreter is no test's qorch process
    # (tests/qcnn's check for processes left behind looks for QORCH_STATE_DIR under the
    # session's temporary directory, and this interpreter lives until the session ends)
    env = {key: value for key, value in os.environ.items() if key != "QORCH_STATE_DIR"}

    def compile_pairs(state_dir: Path, pairs: list[tuple[str, Path]]) -> None:
        nonlocal server
        if server is None:
            with log.open("w") as output:
                server = subprocess.Popen(
                    [sys.executable, "-c", COMPILE_SERVER], cwd=REPO, text=True,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=output,
                    env={**env, "CI": "true"},
                )  # fmt: skip
        assert server.stdin is not None and server.stdout is not None
        request = {"state_dir": str(state_dir), "pairs": [[p, str(d)] for p, d in pairs]}
        server.stdin.write(json.dumps(request) + "\n")
        server.stdin.flush()
        ready, _, _ = select.select([server.stdout], [], [], 300)
        reply = server.stdout.readline() if ready else ""
        assert reply, f"no reply from the compiling interpreter:\n{log.read_text()[-4000:]}"
        error = json.loads(reply)["error"]
        assert error is None, f"{error}\n{log.read_text()[-4000:]}"

    yield compile_pairs
    if server is not None:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=60)


@pytest.fixture
def compile_in_two_processes(
    cli: InProcessCli, state_dir: Path, tmp_path: Path, compile_elsewhere: CompileElsewhere
) -> Callable[..., list[tuple[Path, list[Path]]]]:
    """``qorch compile PLAN -o DIR`` for each plan in this process, and in another
    interpreter (:func:`compile_elsewhere`); asserts each plan's two bundles hold the same
    files with the same bytes, and returns each plan's first bundle and its file list."""

    def compile_twice(*plans: str) -> list[tuple[Path, list[Path]]]:
        pairs = [(tmp_path / f"one{n}", tmp_path / f"two{n}") for n in range(len(plans))]
        for plan, (one, _) in zip(plans, pairs, strict=True):
            here = cli("compile", plan, "-o", str(one))
            assert here.returncode == 0, here.stderr
        elsewhere = [(plan, two) for plan, (_, two) in zip(plans, pairs, strict=True)]
        compile_elsewhere(state_dir, elsewhere)
        bundles = []
        for one, two in pairs:
            files = bundle_files(one)
            assert files and files == bundle_files(two)
            for file in files:
                assert (one / file).read_bytes() == (two / file).read_bytes(), file
            bundles.append((one, files))
        return bundles

    return compile_twice
