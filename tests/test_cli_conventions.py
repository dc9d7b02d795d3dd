"""What users expect of a Typer CLI: -v logging on stderr, QORCH_* settings in one module and
in --help, shell completion, plugins pinned to a compatible qorch."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from qorch import __version__
from qorch.contract import settings

REPO = Path(__file__).resolve().parents[1]
PLAN = """\
version: 1
kind: circuits
shots: 20
circuits: [{name: bell, generator: ghz, qubits: 2}]
targets: [local:statevector]
"""


def test_verbose_logs_each_step_on_stderr_and_keeps_stdout_data(cli, tmp_path: Path) -> None:
    plan = tmp_path / "bell.yaml"
    plan.write_text(PLAN)
    quiet = cli("run", str(plan), "--json", "-k", "quiet")
    assert quiet.returncode == 0, quiet.stderr
    assert "local worker" not in quiet.stderr
    loud = cli("-v", "run", str(plan), "--json", "-k", "loud")
    assert loud.returncode == 0, loud.stderr
    assert "starting a local worker for" in loud.stderr
    assert "state store" not in loud.stderr  # debugging detail needs -vv
    assert json.loads(loud.stdout)["status"] == "completed"  # stdout: one JSON document
    debug = cli("status", "--json", env={"QORCH_VERBOSE": "2"})
    assert debug.returncode == 0 and "state store" in debug.stderr
    json.loads(debug.stdout)


def test_help_lists_every_setting_and_completion(cli) -> None:
    shown = cli("--help")
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    for setting in settings.ALL:
        assert setting.env in text
    assert "--install-completion" in text and "-v, --verbose" in text
    status = " ".join(cli("status", "--help").stdout.split())
    assert "[env var: QORCH_STATE_DIR]" in status


def test_help_fits_an_80_column_terminal(cli) -> None:
    """The help's unwrapped blocks (typical use, environment) were 84–163 columns wide:
    an 80-column terminal broke them mid-word."""
    shown = cli("--help", env={"COLUMNS": "80"})
    wide = [line for line in shown.stdout.splitlines() if len(line) > 80]
    assert not wide, wide


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), ("", None), ("3", 3), ("0", 1), ("many", None)]
)
def test_local_workers_setting(monkeypatch: pytest.MonkeyPatch, value, expected) -> None:
    if value is None:
        monkeypatch.delenv("QORCH_LOCAL_WORKERS", raising=False)
    else:
        monkeypatch.setenv("QORCH_LOCAL_WORKERS", value)
    cpus = settings.os.cpu_count() or 1
    assert settings.local_workers() == (expected if expected is not None else cpus)


def test_qorch_settings_are_read_only_in_the_settings_module() -> None:
    """A QORCH_* variable read anywhere else would be missing from --help."""
    pattern = re.compile(r"environ(?:\.get)?\(\s*[\"']QORCH_|getenv\(\s*[\"']QORCH_")
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "qorch").rglob("*.py")
        if path.name != "settings.py" and pattern.search(path.read_text("utf-8"))
    ]
    assert offenders == []


@pytest.mark.parametrize("plugin", ["qorch-ibm", "qorch-braket"])
def test_plugins_pin_a_compatible_qorch(plugin: str) -> None:
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    pins = [Requirement(dep) for dep in requires(plugin) or []]
    spec = next(pin.specifier for pin in pins if pin.name == "qorch")
    major, minor = (int(part) for part in __version__.split(".")[:2])
    assert spec.contains(__version__)  # this qorch satisfies it
    assert not spec.contains(f"{major}.{minor + 1}.0")  # the next minor (0.x: may break) not
