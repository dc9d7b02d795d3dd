"""Where state is found, and paths stored relative to it: any directory, a moved project."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PLAN = """
version: 1
kind: circuits
name: located
shots: 100
seed: 4
circuits:
  - {name: bell, generator: ghz, qubits: 2}
targets:
  - local:statevector
"""
NO_ENV: dict[str, str | None] = {"QORCH_STATE_DIR": None}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git project with a plan in ``plans/``."""
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)
    (root / "plans").mkdir()
    (root / "plans" / "p.yaml").write_text(PLAN)
    return root


def run_json(cli: Callable[..., Any], *args: str, cwd: Path) -> dict[str, Any]:
    result = cli(*args, "--json", "--poll", "0.1", cwd=cwd, env=NO_ENV)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def test_results_readable_from_any_directory(
    cli: Callable[..., Any], project: Path, tmp_path: Path
) -> None:
    first = run_json(cli, "run", "plans/p.yaml", cwd=project)
    state = project / "plans" / ".qorch"
    assert (state / "state.db").exists()

    again = run_json(cli, "run", "p.yaml", cwd=project / "plans")
    assert again["run_id"] == first["run_id"]
    assert again["jobs"][0]["counts"] == first["jobs"][0]["counts"]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shown = cli("results", first["run_id"], "--state-dir", str(state), "--json", cwd=elsewhere)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["jobs"][0]["counts"] == first["jobs"][0]["counts"]


def test_moved_project_keeps_working(
    cli: Callable[..., Any], project: Path, tmp_path: Path
) -> None:
    first = run_json(cli, "run", "plans/p.yaml", cwd=project)
    moved = tmp_path / "renamed"
    shutil.move(project, moved)
    shown = cli("results", first["run_id"], "--json", cwd=moved, env=NO_ENV)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["jobs"][0]["counts"] == first["jobs"][0]["counts"]
    again = run_json(cli, "run", "plans/p.yaml", cwd=moved)
    assert again["run_id"] == first["run_id"]


def test_state_found_searching_upward_from_the_current_directory(
    cli: Callable[..., Any], project: Path
) -> None:
    first = run_json(cli, "run", "plans/p.yaml", cwd=project)
    deep = project / "plans" / "a" / "b" / "c"
    deep.mkdir(parents=True)
    listing = cli("status", "--json", cwd=deep, env=NO_ENV)
    assert listing.returncode == 0, listing.stderr
    assert [run["run_id"] for run in json.loads(listing.stdout)] == [first["run_id"]]
    latest = cli("results", "latest", "--json", cwd=deep, env=NO_ENV)
    assert latest.returncode == 0, latest.stderr


def test_plan_uses_the_state_found_upward_from_its_directory(
    cli: Callable[..., Any], project: Path
) -> None:
    (project / "top.yaml").write_text(PLAN.replace("name: located", "name: top"))
    run_json(cli, "run", "top.yaml", cwd=project)
    assert (project / ".qorch" / "state.db").exists()
    second = run_json(cli, "run", "p.yaml", cwd=project / "plans")
    assert not (project / "plans" / ".qorch").exists()
    listing = json.loads(cli("status", "--json", cwd=project, env=NO_ENV).stdout)
    assert second["run_id"] in [run["run_id"] for run in listing]


def test_upward_search_does_not_leave_the_git_project(
    cli: Callable[..., Any], project: Path, tmp_path: Path
) -> None:
    stray = tmp_path / ".qorch"
    stray.mkdir()
    run_json(cli, "run", "plans/p.yaml", cwd=project)
    assert list(stray.iterdir()) == []
    assert (project / "plans" / ".qorch" / "state.db").exists()


def test_default_state_dir_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project: Path
) -> None:
    from qorch.store.state import default_state_dir

    plan = project / "plans" / "p.yaml"
    monkeypatch.chdir(project)
    monkeypatch.setenv("QORCH_STATE_DIR", str(tmp_path / "env"))
    assert default_state_dir(plan) == tmp_path / "env"
    monkeypatch.delenv("QORCH_STATE_DIR")
    assert default_state_dir(plan) == project / "plans" / ".qorch"  # created beside the plan
    shutil.rmtree(project / "plans" / ".qorch")
    (project / ".qorch").mkdir()
    assert default_state_dir(plan).resolve() == (project / ".qorch").resolve()
    (project / "plans" / ".qorch").mkdir()
    assert default_state_dir(plan).resolve() == (project / "plans" / ".qorch").resolve()
