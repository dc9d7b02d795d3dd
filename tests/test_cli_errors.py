"""Bad input: exit non-zero with one line naming file, line and field, never a traceback."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

GOOD = """
version: 1
kind: circuits
shots: 100
circuits:
  - name: ghz3
    generator: ghz
    qubits: 3
targets:
  - local:aer
"""


def assert_one_line_error(result, file: str, line: int, field: str, words: str) -> None:  # type: ignore[no-untyped-def]
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    lines = [text for text in result.stderr.splitlines() if text.strip()]
    assert len(lines) == 1, result.stderr
    assert re.search(rf"{re.escape(file)}:{line}: {re.escape(field)}: ", lines[0]), lines[0]
    assert re.search(words, lines[0], re.IGNORECASE), lines[0]
    assert result.stdout == ""


@pytest.mark.parametrize("command", ["validate", "compile"])
def test_unknown_field(cli, make_plan: Callable[..., Path], command: str) -> None:
    plan = make_plan(GOOD.replace("    qubits: 3\n", "    qubits: 3\n    colour: red\n"))
    result = cli(command, str(plan))
    assert_one_line_error(result, str(plan), 8, "circuits[0].colour", "unknown field")


def test_negative_shot_count(cli, make_plan: Callable[..., Path]) -> None:
    plan = make_plan(GOOD.replace("shots: 100", "shots: -5"))
    result = cli("validate", str(plan))
    assert_one_line_error(result, str(plan), 3, "shots", "greater than 0")


def test_negative_target_shots(cli, make_plan: Callable[..., Path]) -> None:
    plan = make_plan(GOOD.replace("  - local:aer", "  - target: local:aer\n    shots: -1"))
    result = cli("compile", str(plan))
    assert_one_line_error(result, str(plan), 10, "targets[0].shots", "greater than 0")


def test_missing_qasm_file(cli, make_plan: Callable[..., Path]) -> None:
    text = GOOD.replace("    generator: ghz\n    qubits: 3\n", "    qasm: nowhere.qasm\n")
    plan = make_plan(text)
    result = cli("validate", str(plan))
    assert_one_line_error(result, str(plan), 6, "circuits[0].qasm", "not found.*nowhere.qasm")


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (
            'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0]\ncx q[0],q[1];\n',
            r"malformed OpenQASM 2 in bad.qasm: line 5",
        ),
        (
            'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nh q[0]\ncx q[0], q[1];\n',
            r"malformed OpenQASM 3 in bad.qasm: line 5",
        ),
        (
            'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nfoo q[0];\n',
            r"malformed OpenQASM 3 in bad.qasm: .*foo",
        ),
        ("qreg q[2];\n", r"not OpenQASM"),
    ],
)
def test_malformed_qasm(cli, make_plan: Callable[..., Path], source: str, words: str) -> None:
    (make_plan("x", name="bad.qasm")).write_text(source)
    plan = make_plan(GOOD.replace("    generator: ghz\n    qubits: 3\n", "    qasm: bad.qasm\n"))
    result = cli("validate", str(plan))
    assert_one_line_error(result, str(plan), 6, "circuits[0].qasm", words)


def test_unknown_provider(cli, make_plan: Callable[..., Path]) -> None:
    plan = make_plan(GOOD.replace("local:aer", "rigetti:ankaa"))
    result = cli("validate", str(plan))
    assert_one_line_error(result, str(plan), 9, "targets[0].target", "unknown provider 'rigetti'")


def test_unknown_device(cli, make_plan: Callable[..., Path]) -> None:
    plan = make_plan(GOOD.replace("local:aer", "local:aerr"))
    result = cli("validate", str(plan))
    assert_one_line_error(
        result, str(plan), 9, "targets[0].target", "no device 'aerr'.*local:aer|aer"
    )


def test_unknown_option(cli, make_plan: Callable[..., Path]) -> None:
    plan = make_plan(
        GOOD.replace("  - local:aer", "  - target: local:aer\n    options: {turbo: 1}")
    )
    result = cli("validate", str(plan))
    assert_one_line_error(result, str(plan), 10, "targets[0].options", "turbo")


def test_circuit_wider_than_device(cli, make_plan: Callable[..., Path]) -> None:
    plan = make_plan(GOOD.replace("qubits: 3", "qubits: 31"))
    result = cli("compile", str(plan))
    assert_one_line_error(
        result, str(plan), 9, "targets[0].target", r"'ghz3' needs 31 qubits but local:aer has 30"
    )


def test_gate_the_device_cannot_run(cli, make_plan: Callable[..., Path]) -> None:
    qasm = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
    qasm += "reset q[0];\nmeasure q -> c;\n"
    make_plan("x", name="reset.qasm").write_text(qasm)
    text = GOOD.replace("    generator: ghz\n    qubits: 3\n", "    qasm: reset.qasm\n")
    plan = make_plan(text.replace("local:aer", "local:statevector"))
    result = cli("compile", str(plan))
    assert_one_line_error(result, str(plan), 8, "targets[0].target", "reset.*local:statevector")


def test_shot_budget_exceeded(cli, make_plan: Callable[..., Path]) -> None:
    plan = make_plan(GOOD + "budget:\n  max_total_shots: 50\n")
    result = cli("compile", str(plan))
    assert_one_line_error(
        result, str(plan), 11, "budget.max_total_shots", "needs 100 shots.*allows 50"
    )


def test_yaml_syntax_error(cli, make_plan: Callable[..., Path]) -> None:
    plan = make_plan("version: 1\nkind: circuits\n  shots: [\n")
    result = cli("validate", str(plan))
    assert result.returncode == 1
    assert f"{plan}:3: YAML syntax error" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_plan_file(cli, tmp_path: Path) -> None:
    result = cli("run", str(tmp_path / "nope.yaml"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"qorch: error: {tmp_path / 'nope.yaml'}: plan file not found"


def test_usage_error_exit_code(cli) -> None:
    result = cli("compile")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_validate_lists_every_problem(cli, make_plan: Callable[..., Path]) -> None:
    text = GOOD.replace("shots: 100", "shots: 0").replace("qubits: 3", "qubits: 3\n    x: 1")
    plan = make_plan(text)
    result = cli("validate", str(plan))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"{plan}:3: shots: input should be greater than 0",
        f"{plan}:8: circuits[0].x: unknown field",
    ]


def test_cost_budget_exceeded(cli, make_plan: Callable[..., Path]) -> None:
    """A priced QPU (Braket's shipped price table) against a $5 budget: refused at compile."""
    text = GOOD.replace("  - local:aer", "  - braket:ionq_forte1\n  - braket:sv1")
    plan = make_plan(text + "budget:\n  max_cost_usd: 5\n")
    result = cli("compile", str(plan), env={"QORCH_BRAKET_PRICE_REFRESH": "0"})
    assert_one_line_error(
        result,
        str(plan),
        12,
        "budget.max_cost_usd",
        r"costs an estimated \$\d+\.\d\d.*allows \$5\.00",
    )
    assert "braket:ionq_forte1" in result.stderr


def test_a_tab_in_the_indentation_is_named(cli, make_plan: Callable[..., Path]) -> None:
    """PyYAML's 'found character that cannot start any token' does not say it is a tab."""
    plan = make_plan("version: 1\nkind: circuits\ncircuits:\n\t- {name: a, generator: ghz}\n")
    result = cli("validate", str(plan))
    assert result.returncode == 1
    assert f"{plan}:4: YAML syntax error" in result.stderr
    assert "a tab: YAML indents with spaces only" in result.stderr, result.stderr
    assert "a tab:" not in cli("validate", str(make_plan("version: 1\nkind: [\n"))).stderr
