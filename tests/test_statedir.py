"""Unit tests for qorch.store.statedir: where the state directory is (end to end through the
CLI in test_state_location.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qorch.store import statedir


@pytest.fixture(autouse=True)
def no_state_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(statedir.ENV, raising=False)
    monkeypatch.chdir(tmp_path)


def test_env_state_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert statedir.env_state_dir() is None
    monkeypatch.setenv(statedir.ENV, "")
    assert statedir.env_state_dir() is None  # empty counts as unset
    monkeypatch.setenv(statedir.ENV, str(tmp_path / "s"))
    assert statedir.env_state_dir() == tmp_path / "s"


def test_search_upward_finds_the_nearest_and_stops_at_a_git_project(tmp_path: Path) -> None:
    (tmp_path / ".qorch").mkdir()
    project = tmp_path / "project"
    deep = project / "a" / "b"
    deep.mkdir(parents=True)
    assert statedir.search_upward(deep) == tmp_path / ".qorch"
    (project / ".git").mkdir()
    assert statedir.search_upward(deep) is None  # never above the project
    (project / "a" / ".qorch").mkdir()
    assert statedir.search_upward(deep) == project / "a" / ".qorch"
    assert statedir.search_upward(deep, accept=lambda path: False) is None


def test_search_upward_ignores_a_file_named_qorch(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".qorch").write_text("not a directory")
    assert statedir.search_upward(tmp_path) is None


def test_default_state_dir_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    plans = tmp_path / "plans"
    plans.mkdir()
    plan = plans / "p.yaml"
    # nothing found: beside the plan, created private
    chosen = statedir.default_state_dir(plan)
    assert chosen == plans / ".qorch" and chosen.is_dir()
    assert chosen.stat().st_mode & 0o777 == 0o700
    # without a plan and nothing found from here: in the current directory, not created
    assert statedir.default_state_dir(None, create=False) == tmp_path / ".qorch"
    assert not (tmp_path / ".qorch").exists()
    # an existing one upward from the current directory is used when the plan has none
    other = tmp_path / "elsewhere"
    other.mkdir()
    (tmp_path / ".qorch").mkdir()
    assert statedir.default_state_dir(other / "q.yaml", create=False) == tmp_path / ".qorch"
    # the environment wins over everything
    monkeypatch.setenv(statedir.ENV, str(tmp_path / "env-state"))
    assert statedir.default_state_dir(plan) == tmp_path / "env-state"
    assert (tmp_path / "env-state").is_dir()


def test_history_and_holds_state(tmp_path: Path) -> None:
    state = tmp_path / ".qorch"
    state.mkdir()
    assert statedir.history(state) == [] and not statedir.holds_state(state)
    (state / "jobs" / "qorch-1").mkdir(parents=True)
    (state / "jobs" / "not-a-job").mkdir()
    (state / "runs" / "r1").mkdir(parents=True)
    (state / "runs" / "r2").mkdir()
    assert statedir.history(state) == ["1 job directory", "2 runs"]
    (state / "jobs" / "qorch-2").mkdir()
    (state / "state.db-wal").write_bytes(b"")
    assert statedir.history(state) == [
        "2 job directories", "2 runs", "a write-ahead log (state.db-wal)"
    ]  # fmt: skip
    assert statedir.holds_state(state)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "state.db").write_bytes(b"")
    assert statedir.holds_state(empty) and statedir.history(empty) == []


def test_nearby_state_dirs_only_those_holding_state(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    for path in ("a/.qorch", "b/c/.qorch", "d/.qorch", "e/f/g/.qorch"):
        (tmp_path / path).mkdir(parents=True)
        (tmp_path / path / "state.db").write_bytes(b"")
    (tmp_path / "d" / ".qorch" / "state.db").unlink()  # an empty .qorch: not offered
    assert statedir.nearby_state_dirs(tmp_path) == [tmp_path / "a/.qorch", tmp_path / "b/c/.qorch"]
    (tmp_path / ".qorch").mkdir()
    (tmp_path / ".qorch" / "runs" / "r1").mkdir(parents=True)
    found = statedir.nearby_state_dirs(tmp_path / "a")
    assert found == [tmp_path / "a" / ".qorch"]  # upward from a/: its own, nearest first
    assert statedir.nearby_state_dirs(tmp_path)[0] == tmp_path / ".qorch"
