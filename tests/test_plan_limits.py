"""Hostile plan and QASM files (issue 9, item 15): each refused with one located line, fast.

Alias bombs, recursive aliases, deep nesting, FIFOs, devices, symlink loops, huge
files, huge registers and broadcast bombs. Inputs that hung or exhausted memory
before the fix run under a hard timeout (a daemon thread in process, or a
subprocess where the interpreter itself could abort or run out of memory).
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qorch.contract.errors import QorchError
from qorch.engine.limits import (
    MAX_PLAN_BYTES,
    MAX_PLAN_DEPTH,
    MAX_PLAN_VALUES,
    MAX_QASM3_BYTES,
    MAX_QASM_BYTES,
    MAX_QASM_QUBITS,
)
from qorch.engine.planfile import load_plan

REPO = Path(__file__).resolve().parent.parent
SECONDS = 10.0  # every hostile input is refused within this (the bombs take minutes; loose
# enough for a loaded CI machine, where 2 s was exceeded by scheduling alone)
HEAD = "version: 1\nkind: circuits\n"
TARGETS = "targets:\n  - local:aer\n"


def refused_within(call: Callable[[], Any], seconds: float = 20.0) -> tuple[BaseException, float]:
    """Run ``call`` in a daemon thread; the exception it raised and how long it took.

    Fails the test if ``call`` returns, or is still running after ``seconds`` (a hang:
    the daemon thread is abandoned and dies with the interpreter).
    """
    outcome: list[BaseException] = []

    def target() -> None:
        try:
            call()
        except BaseException as error:
            outcome.append(error)

    start = time.monotonic()
    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    elapsed = time.monotonic() - start
    assert not worker.is_alive(), f"still running after {seconds} s (a hang)"
    assert outcome, "accepted a hostile input"
    return outcome[0], elapsed


def one_line(error: BaseException) -> str:
    """The error as the CLI prints it: a QorchError, one line."""
    assert isinstance(error, QorchError), f"{type(error).__name__}: {error}"
    text = str(error)
    assert "\n" not in text, text
    return text


def load_error(path: Path, seconds: float = 20.0) -> str:
    """The one line ``load_plan`` refuses ``path`` with, checked to come within SECONDS."""
    error, elapsed = refused_within(lambda: load_plan(path, "plan.yaml"), seconds)
    assert elapsed < SECONDS, f"took {elapsed:.1f} s"
    return one_line(error)


def qasm_plan(tmp_path: Path, name: str = "c.qasm") -> Path:
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"{HEAD}circuits:\n  - name: c\n    qasm: {name}\n{TARGETS}")
    return plan


def validate_error(plan: Path, seconds: float = 20.0) -> str:
    """The one line refusing the plan's circuit (as ``qorch validate`` builds it)."""
    from qorch.workloads.circuits.build import build_circuits

    loaded = load_plan(plan, "plan.yaml")
    error, elapsed = refused_within(lambda: build_circuits(loaded), seconds)
    assert elapsed < SECONDS, f"took {elapsed:.1f} s"
    return one_line(error)


def limited_qorch(
    *args: str, cwd: Path, state: Path, memory_bytes: int = 3 << 30, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``python -m qorch ARGS`` with an address-space limit and a hard timeout."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))

    env = {**os.environ, "QORCH_STATE_DIR": str(state), "CI": "true"}
    return subprocess.run(
        [sys.executable, "-m", "qorch", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        preexec_fn=limit,
    )


def assert_cli_one_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-2000:]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


# --- YAML -------------------------------------------------------------------------------


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    levels = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for index, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[index]
        levels.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    path = tmp_path / "plan.yaml"
    path.write_text(HEAD + "description:\n" + "".join(f"  {x}\n" for x in levels))
    line = load_error(path)
    assert line.startswith("plan.yaml:"), line
    assert f"more than {MAX_PLAN_VALUES}" in line and "alias" in line, line


def test_self_referencing_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(HEAD + "circuits: &c\n  - *c\n" + TARGETS)
    line = load_error(path)
    assert line.startswith("plan.yaml:4: circuits[0]: "), line
    assert "refers to a node that contains it" in line, line


def test_undefined_alias_is_located(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(HEAD + "circuits:\n  - *nowhere\n" + TARGETS)
    assert load_error(path) == "plan.yaml:4: circuits[0]: undefined YAML alias *nowhere"


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    depth = 900  # libyaml stops at 1000; Python's recursion would stop near here
    path.write_text(HEAD + "description: " + "[" * depth + "]" * depth + "\n")
    line = load_error(path)
    assert line.startswith("plan.yaml:3: description"), line
    assert f"nested deeper than {MAX_PLAN_DEPTH}" in line, line


def test_too_many_values_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(HEAD + "description: [" + "1," * (MAX_PLAN_VALUES + 10) + "]\n")
    line = load_error(path)
    assert line.startswith("plan.yaml:3: "), line
    assert f"more than {MAX_PLAN_VALUES} values" in line, line


def test_complex_mapping_key_is_located(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(HEAD + "? [a, b]\n: c\n")
    line = load_error(path)
    assert line.startswith("plan.yaml:3: "), line
    assert "complex mapping key" in line, line


def test_alias_to_a_collection_as_key_is_located(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(HEAD + "description: &d [a]\nbudget:\n  *d : 1\n")
    assert "complex mapping key" in load_error(path)


def test_second_document_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(HEAD + "---\nversion: 1\n")
    line = load_error(path)
    assert line.startswith("plan.yaml:3: "), line
    assert "one YAML document" in line, line


def test_unsupported_tag_is_located(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(HEAD + "description: !!python/object:os.system {}\n")
    line = load_error(path)
    assert line.startswith("plan.yaml:3: description: "), line
    assert "python/object" in line, line


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1" * 5000, "digits"),  # int() refuses > 4300 digits
        ("2024-13-45", "month must be in 1..12"),  # a timestamp that is not a date
        ("!!int abc", "abc"),
        ("!!bool maybe", "cannot read 'maybe' as !!bool"),
    ],
)
def test_scalars_python_refuses_are_located(tmp_path: Path, value: str, words: str) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(HEAD + f"seed: {value}\n")
    line = load_error(path)
    assert line.startswith("plan.yaml:3: seed: "), line
    assert words in line, line


def test_plan_that_is_not_utf8_is_located(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    path.write_bytes(HEAD.encode() + b"name: caf\xe9\n")
    line = load_error(path)
    assert line.startswith("plan.yaml:3: "), line
    assert "not UTF-8" in line, line


# --- plan files that are not small regular files ----------------------------------------


def test_plan_larger_than_the_limit_is_refused_at_once(tmp_path: Path) -> None:
    path = tmp_path / "plan.yaml"
    with path.open("w") as out:  # 50 MB of comments: parsing alone took a minute
        out.write(HEAD)
        for _ in range(50):
            out.write(("# " + "x" * 97 + "\n") * 10_000)
    line = load_error(path)
    assert line.startswith("plan.yaml: "), line
    assert f"limit is {MAX_PLAN_BYTES} bytes" in line, line


def test_fifo_as_plan_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "plan.yaml"
    os.mkfifo(fifo)
    line = load_error(fifo)
    assert line == "plan.yaml: not a regular file (a FIFO); a plan must be a regular file", line


def test_device_as_plan_is_refused(tmp_path: Path) -> None:
    line = load_error(Path("/dev/zero"))
    assert "not a regular file (a character device)" in line, line


def test_directory_as_plan_is_refused(tmp_path: Path) -> None:
    assert "not a regular file (a directory)" in load_error(tmp_path)


def test_plan_symlink_loop_is_refused(tmp_path: Path) -> None:
    loop = tmp_path / "plan.yaml"
    loop.symlink_to(tmp_path / "plan.yaml")
    assert "cannot read plan: too many levels of symbolic links" in load_error(loop).lower()


def test_fifo_as_plan_through_the_cli(qorch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A subprocess, for its hard timeout: before the fix this blocked for ever."""
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    result = qorch("validate", str(fifo), timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"{fifo}: not a regular file (a FIFO); a plan must be a regular file"
    ), result.stderr


# --- QASM files ----------------------------------------------------------------------------


def test_fifo_as_qasm_does_not_block(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "c.qasm")
    line = validate_error(qasm_plan(tmp_path))
    assert line == (
        "plan.yaml:5: circuits[0].qasm: cannot read QASM file c.qasm: not a regular file (a FIFO)"
    ), line


def test_qasm_symlink_loop_is_located(tmp_path: Path) -> None:
    (tmp_path / "c.qasm").symlink_to(tmp_path / "c.qasm")
    line = validate_error(qasm_plan(tmp_path))
    assert line.startswith("plan.yaml:5: circuits[0].qasm: cannot read QASM file c.qasm: "), line
    assert "symbolic links" in line, line


def test_dev_zero_as_qasm_is_refused(tmp_path: Path) -> None:
    plan = qasm_plan(tmp_path, "/dev/zero")
    result = limited_qorch("validate", str(plan), cwd=tmp_path, state=tmp_path / "state")
    assert_cli_one_line(result, f"{plan}:5: circuits[0].qasm: ", "not a regular file")


def test_qasm_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    with (tmp_path / "c.qasm").open("w") as out:
        out.write('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\n')
        out.write("cx q[0],q[1];\n" * (MAX_QASM_BYTES // 14 + 10))
    line = validate_error(qasm_plan(tmp_path))
    assert line.startswith("plan.yaml:5: circuits[0].qasm: "), line
    assert f"limit is {MAX_QASM_BYTES} bytes" in line, line


def test_openqasm3_larger_than_its_limit_is_refused(tmp_path: Path) -> None:
    with (tmp_path / "c.qasm").open("w") as out:
        out.write('OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\n')
        out.write("cx q[0], q[1];\n" * (MAX_QASM3_BYTES // 15 + 10))
    line = validate_error(qasm_plan(tmp_path))
    assert f"limit for OpenQASM 3 is {MAX_QASM3_BYTES} bytes" in line, line


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("OPENQASM 2.0;\nqreg q[100000000];\n", "line 2: register 'q' declares 100000000 qubits"),
        ("OPENQASM 2.0;\nqreg q[2];\ncreg c[ 100000000 ];\n", "line 3: register 'c' declares"),
        ("OPENQASM 3.0;\nqubit[100000000] q;\n", "line 2: register 'q' declares 100000000"),
        ("OPENQASM 3.0;\nqubit[10_000 * 10_000] q;\n", "declares 100000000 qubits"),
        ("OPENQASM 3.0;\nqubit[2 ** 200] q;\n", "qubits"),
        ("OPENQASM 3.0;\nbit[0x5F5E100] c;\n", "declares 100000000 bits"),
        ("OPENQASM 3.0;\noutput bit[100000000] c;\n", "declares 100000000 bits"),
        ('OPENQASM 3.0;\ninclude "stdgates.inc";\nh $100000000;\n', "line 3: physical qubit"),
        ("OPENQASM 3.0;\nqubit[n] q;\n", "line 2: the width of register 'q' ('n')"),
    ],
)
def test_register_wider_than_the_limit_is_refused(tmp_path: Path, source: str, words: str) -> None:
    (tmp_path / "c.qasm").write_text(source)
    line = validate_error(qasm_plan(tmp_path))
    assert line.startswith("plan.yaml:5: circuits[0].qasm: c.qasm "), line
    assert words in line, line
    if "declares" in words:
        assert f"at most {MAX_QASM_QUBITS}" in line, line


def test_many_registers_add_up(tmp_path: Path) -> None:
    decls = "".join(f"qreg q{i}[1000];\n" for i in range(MAX_QASM_QUBITS // 1000 + 1))
    (tmp_path / "c.qasm").write_text("OPENQASM 2.0;\n" + decls)
    line = validate_error(qasm_plan(tmp_path))
    assert f"more than {MAX_QASM_QUBITS} qubits in all" in line, line


def test_huge_register_does_not_abort_the_interpreter(tmp_path: Path) -> None:
    """``qreg q[100000000]`` made qiskit's parser abort the process (SIGABRT)."""
    (tmp_path / "c.qasm").write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[100000000];\n')
    plan = qasm_plan(tmp_path)
    result = limited_qorch("validate", str(plan), cwd=tmp_path, state=tmp_path / "state")
    assert_cli_one_line(result, f"{plan}:5: circuits[0].qasm: ", "100000000 qubits")


def test_broadcast_bomb_is_refused(tmp_path: Path) -> None:
    """``h q;`` on a wide register is one gate per qubit: 200k of them is 2 billion gates."""
    body = "h q;\n" * 200_000
    (tmp_path / "c.qasm").write_text(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[10000];\n' + body
    )
    line = validate_error(qasm_plan(tmp_path))
    assert "instructions" in line and "broadcast" in line, line


def test_deeply_nested_openqasm3_is_refused(tmp_path: Path) -> None:
    depth = 20_000  # qiskit's OpenQASM 3 importer ran for minutes and hundreds of MB
    (tmp_path / "c.qasm").write_text(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nrx('
        + "(" * depth
        + "0"
        + ")" * depth
        + ") q[0];\n"
    )
    line = validate_error(qasm_plan(tmp_path))
    assert line.startswith("plan.yaml:5: circuits[0].qasm: c.qasm line 4: "), line
    assert "nested deeper than" in line, line


def test_long_openqasm3_statement_is_refused(tmp_path: Path) -> None:
    (tmp_path / "c.qasm").write_text(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[1] q;\nrx('
        + "+".join(["1"] * 20_000)
        + ") q[0];\n"
    )
    line = validate_error(qasm_plan(tmp_path))
    assert "c.qasm line 4: a statement longer than" in line, line


def test_fifo_included_by_openqasm2_does_not_block(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "gates.inc")
    (tmp_path / "c.qasm").write_text('OPENQASM 2.0;\ninclude "gates.inc";\nqreg q[1];\n')
    line = validate_error(qasm_plan(tmp_path))
    assert "cannot read gates.inc (included by c.qasm): not a regular file (a FIFO)" in line, line


def test_register_in_an_included_file_is_checked(tmp_path: Path) -> None:
    (tmp_path / "regs.inc").write_text("qreg q[100000000];\n")
    (tmp_path / "c.qasm").write_text('OPENQASM 2.0;\ninclude "regs.inc";\n')
    line = validate_error(qasm_plan(tmp_path))
    assert "regs.inc line 1: register 'q' declares 100000000 qubits" in line, line


def test_include_cycle_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.inc").write_text('include "b.inc";\n')
    (tmp_path / "b.inc").write_text('include "a.inc";\n')
    (tmp_path / "c.qasm").write_text('OPENQASM 2.0;\ninclude "a.inc";\nqreg q[1];\n')
    line = validate_error(qasm_plan(tmp_path))
    assert line.startswith("plan.yaml:5: circuits[0].qasm: b.inc line 1: include cycle"), line
    assert "a.inc → b.inc → a.inc" in line, line


def test_ordinary_qasm_still_loads(tmp_path: Path) -> None:
    from qorch.workloads.circuits.build import build_circuits

    (tmp_path / "gates.inc").write_text("gate twice a { x a; x a; }\n")
    (tmp_path / "c.qasm").write_text(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\ninclude "gates.inc";\n'
        "qreg q[3];\ncreg c[3];\nh q;\ntwice q[0];\nmeasure q -> c;\n"
    )
    circuit = build_circuits(load_plan(qasm_plan(tmp_path)))[0]
    assert circuit.num_qubits == 3 and circuit.count_ops()["h"] == 3
    (tmp_path / "c.qasm").write_text(
        'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2 * 2] q;\nbit[4] c;\n'
        "h q;\ncx q[0], q[3];\nc = measure q;\n"
    )
    circuit = build_circuits(load_plan(qasm_plan(tmp_path)))[0]
    assert circuit.num_qubits == 4 and circuit.count_ops()["h"] == 4
