"""The CLI's promises about output: compile never destroys a directory, errors under --json
are JSON, numbers are finite, and Ctrl-C exits 130 without a traceback or a lost interrupt."""

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

from qorch.engine import interrupt

PLAN = """
version: 1
kind: circuits
name: out
shots: 100
circuits:
  - {name: bell, generator: ghz, qubits: 2}
targets:
  - local:statevector
"""


def test_compile_output_refuses_a_directory_of_user_files(cli, make_plan, tmp_path: Path) -> None:
    plan = make_plan(PLAN)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("years of work")
    result = cli("compile", str(plan), "-o", str(mine))
    assert result.returncode == 1, result.stderr
    assert "not an empty directory or a qorch bundle" in result.stderr
    assert "thesis.tex" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert [p.name for p in mine.iterdir()] == ["thesis.tex"]
    assert (mine / "thesis.tex").read_text() == "years of work"


def test_compile_output_refuses_a_regular_file(cli, make_plan, tmp_path: Path) -> None:
    plan = make_plan(PLAN)
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    result = cli("compile", str(plan), "-o", str(target))
    assert result.returncode == 1
    assert "is not a directory" in result.stderr
    assert target.read_text() == "keep me"


def test_compile_output_replaces_only_a_proven_bundle(cli, make_plan, tmp_path: Path) -> None:
    plan = make_plan(PLAN)
    out = tmp_path / "out"
    out.mkdir()  # an empty directory is fine
    assert cli("compile", str(plan), "-o", str(out)).returncode == 0
    assert (out / "manifest.json").exists()
    plan.write_text(PLAN.replace("shots: 100", "shots: 200"))
    second = cli("compile", str(plan), "-o", str(out))  # a qorch bundle: replaced
    assert second.returncode == 0, second.stderr
    assert json.loads((out / "manifest.json").read_text())["jobs"][0]["shots"] == 200
    (out / "my-notes.md").write_text("mine")
    plan.write_text(PLAN)
    third = cli("compile", str(plan), "-o", str(out))  # a bundle with a user's file: refused
    assert third.returncode == 1
    assert "my-notes.md" in third.stderr
    assert (out / "my-notes.md").read_text() == "mine"


def test_compile_output_follows_the_umask(cli, make_plan, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        out = tmp_path / "shared"
        assert cli("compile", str(make_plan(PLAN)), "-o", str(out)).returncode == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o755
    assert (out / "manifest.json").stat().st_mode & 0o777 == 0o644


def _json_error(result) -> dict:  # type: ignore[no-untyped-def]
    data = json.loads(result.stdout)
    assert set(data) == {"error", "exit_code"}
    assert data["exit_code"] == result.returncode
    assert {"message", "file", "line", "field"} <= set(data["error"])
    assert result.stderr.startswith("qorch: error: ")
    return data["error"]


def test_json_errors_are_json_on_stdout(cli, make_plan, tmp_path: Path) -> None:
    missing = cli("run", str(tmp_path / "missing.yaml"), "--json")
    assert missing.returncode == 1
    assert "missing.yaml" in _json_error(missing)["message"]

    bad = make_plan(PLAN.replace("shots: 100", "shots: -3"), name="bad.yaml")
    compiled = cli("compile", str(bad), "--json")
    assert compiled.returncode == 1
    error = _json_error(compiled)
    assert (error["file"], error["line"], error["field"]) == (str(bad), 4, "shots")
    assert "greater than 0" in error["message"]

    none_yet = cli("results", "latest", "--json")
    assert none_yet.returncode == 1
    assert "no qorch state" in _json_error(none_yet)["message"]


def test_usage_errors_under_json_are_json(capsys: pytest.CaptureFixture[str]) -> None:
    from qorch.cli.app import run

    assert run(["run", "--json"]) == 2
    out = capsys.readouterr()
    assert json.loads(out.out) == {
        "error": {"message": "Missing argument 'SOURCE'.", "file": None, "line": None,
                  "field": None},
        "exit_code": 2,
    }  # fmt: skip
    assert "Missing argument" in out.err


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_timeout_must_be_finite(cli, make_plan, value: str) -> None:
    result = cli("run", str(make_plan(PLAN)), "--timeout", value)
    assert result.returncode == 2
    assert "finite number of seconds" in result.stderr


def test_a_swallowed_ctrl_c_still_stops_the_run(
    cli, make_plan, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KeyboardInterrupt lost in a finaliser while compile imported the SDKs leaves the
    flag set: the run stops before it submits anything, and exits 130."""
    from qorch.engine import session

    compile_loaded = session._compile_loaded

    def compile_then_lose_a_ctrl_c(*args, **kwargs):  # type: ignore[no-untyped-def]
        compiled = compile_loaded(*args, **kwargs)
        interrupt._interrupted.set()  # what the handler does before its exception is lost
        return compiled

    monkeypatch.setattr(session, "_compile_loaded", compile_then_lose_a_ctrl_c)
    try:
        result = cli("run", str(make_plan(PLAN)))
    finally:
        interrupt.reset()
    assert result.returncode == 130
    assert "interrupted" in result.stderr
    assert not any((state_dir / "jobs").glob("qorch-*"))


def test_a_ctrl_c_that_native_code_rewraps_exits_130_without_a_traceback(
    cli, make_plan, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while qiskit's Rust module initialises comes back as ``RuntimeError: An error
    occurred while initializing class SparseObservable`` caused by our KeyboardInterrupt:
    it is an interruption (exit 130, one line), not a crash with a traceback."""
    from qorch.engine import session

    def compile_interrupted_in_native_code(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt_error:
            raise RuntimeError(
                "An error occurred while initializing class SparseObservable"
            ) from interrupt_error

    monkeypatch.setattr(session, "_compile_loaded", compile_interrupted_in_native_code)
    result = cli("run", str(make_plan(PLAN)))
    assert result.returncode == 130, result.stderr
    assert "interrupted" in result.stderr and "Traceback" not in result.stderr
    assert not any((state_dir / "jobs").glob("qorch-*"))


def test_an_error_not_caused_by_ctrl_c_is_not_called_an_interruption() -> None:
    try:
        try:
            raise ValueError("inner")
        except ValueError as inner:
            raise RuntimeError("outer") from inner
    except RuntimeError as error:
        assert not interrupt.caused_by_interrupt(error)


@pytest.mark.detached_workers  # a job still queued or running
@pytest.mark.parametrize("delay_s", [0.4, 1.0, 2.0])
def test_ctrl_c_at_any_early_moment_exits_130_without_a_traceback(
    make_plan: Callable[..., Path], state_dir: Path, delay_s: float
) -> None:
    plan = make_plan(PLAN.replace("local:statevector", "{target: local:aer, "
                                  "options: {queue_delay_s: 30}}"))  # fmt: skip
    env = {**os.environ, "QORCH_STATE_DIR": str(state_dir), "CI": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "qorch", "run", str(plan)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    time.sleep(delay_s)
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        _, err = process.communicate(timeout=30)
        assert time.monotonic() - sent <= 2.0, err
        assert process.returncode == 130, err
        assert "Traceback" not in err and "Exception ignored" not in err, err
        assert "interrupted" in err
    finally:  # a job submitted before Ctrl-C outlives qorch, as promised: stop it
        for job in (state_dir / "jobs").glob("qorch-*"):
            (job / "cancel").touch()


@pytest.mark.parametrize("command", ["run", "submit"])
def test_run_of_a_fifo_plan_does_not_hang(tmp_path: Path, state_dir: Path, command: str) -> None:
    """``run`` peeked at the plan's kind with a plain read, which blocks on a FIFO for ever."""
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)
    env = {**os.environ, "QORCH_STATE_DIR": str(state_dir), "CI": "true"}
    result = subprocess.run(
        [sys.executable, "-m", "qorch", command, str(fifo)],
        env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "not a regular file" in result.stderr
    assert "Traceback" not in result.stderr


def test_compile_on_a_full_disk_names_the_bundle_and_leaves_nothing(
    cli, make_plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write that fails mid-bundle (ENOSPC has no file name) named no path ('a file')."""
    import errno

    plan = make_plan(PLAN)

    def full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "out"
    result = cli("compile", str(plan), "-o", str(out))
    assert result.returncode == 1
    assert f"cannot write the bundle {out}: disk full" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_a_caught_interrupt_in_generated_code_does_not_kill_python_m_qorch(tmp_path: Path) -> None:
    """CPython flags a KeyboardInterrupt raised in string-``exec``'d code (dataclasses, Typer)
    even when it is caught; under ``python -m`` the process then killed itself with SIGINT
    (exit -2) instead of exiting 130. The entry point clears the flag before it exits."""
    module = tmp_path / "interrupted_in_exec.py"
    module.write_text(
        "import sys\n"
        "from qorch.cli import entry\n"
        "try:\n"
        "    exec('raise KeyboardInterrupt')\n"
        "except KeyboardInterrupt:\n"
        "    pass\n"
        "if sys.argv[1:] == ['forget']:\n"
        "    entry._forget_unhandled_interrupt()\n"
        "sys.exit(130)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    run = [sys.executable, "-m", "interrupted_in_exec"]
    assert subprocess.run(run, env=env, timeout=60).returncode == -signal.SIGINT  # the trap
    assert subprocess.run([*run, "forget"], env=env, timeout=60).returncode == 130


def test_an_interrupt_python_can_only_drop_is_not_printed() -> None:
    """A KeyboardInterrupt in an import lock's callback was printed as 'Exception ignored';
    other dropped exceptions still reach the previous hook."""
    from types import SimpleNamespace

    previous_handler, previous_hook = signal.getsignal(signal.SIGINT), sys.unraisablehook
    reported: list[BaseException] = []
    try:
        sys.unraisablehook = lambda unraisable: reported.append(unraisable.exc_value)
        interrupt.install()
        interrupt._interrupted.set()

        def dropped(error: BaseException) -> SimpleNamespace:
            return SimpleNamespace(exc_type=type(error), exc_value=error, exc_traceback=None,
                                   err_msg=None, object=None)  # fmt: skip

        sys.unraisablehook(dropped(KeyboardInterrupt()))
        real = ValueError("real")
        sys.unraisablehook(dropped(real))
        assert reported == [real]
    finally:
        interrupt.reset()
        signal.signal(signal.SIGINT, previous_handler)
        sys.unraisablehook = previous_hook


def test_compile_to_a_place_that_cannot_hold_a_bundle_says_so(
    cli, make_plan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`-o` under a file, or where no directory can be made (``-o /proc/x``: ENOENT from
    the staging directory), ended in a traceback (FileExistsError, FileNotFoundError)."""
    import errno
    import tempfile

    plan = make_plan(PLAN)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    under_a_file = cli("compile", str(plan), "-o", str(a_file / "bundle"))
    assert under_a_file.returncode == 1, under_a_file.stderr
    assert f"{a_file} is a file, not a directory; choose another place" in under_a_file.stderr
    assert a_file.read_text() == "mine"

    def no_such_place(*args: object, **kwargs: object) -> str:
        raise FileNotFoundError(errno.ENOENT, "No such file or directory")

    monkeypatch.setattr(tempfile, "mkdtemp", no_such_place)  # as /proc answers
    out = tmp_path / "out"
    refused = cli("compile", str(plan), "-o", str(out), "--json")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr, refused.stderr
    error = json.loads(refused.stdout)["error"]["message"]
    assert error == f"cannot write the bundle {out}: No such file or directory", error
