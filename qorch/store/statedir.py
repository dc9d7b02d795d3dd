"""Where the state directory is: ``$QORCH_STATE_DIR``, else a ``.qorch`` found upward.

Like git, dvc and terraform, qorch looks for ``.qorch`` in the directory and
its parents; the search stops at the file-system root and does not leave a
git project (the directory holding ``.git``), so a stray ``/tmp/.qorch`` is
never picked up by a project below it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from qorch.contract import settings
from qorch.store.fsutil import make_dirs

STATE_DIR_NAME = ".qorch"
ENV = settings.STATE_DIR.env


def env_state_dir() -> Path | None:
    """``$QORCH_STATE_DIR`` if set (and not empty)."""
    return settings.state_dir()


def search_upward(start: Path, accept: Callable[[Path], bool] = Path.is_dir) -> Path | None:
    """The nearest ``.qorch`` directory in ``start`` or a parent (not above a ``.git``)
    that ``accept`` accepts."""
    here = start.absolute()
    for directory in (here, *here.parents):
        candidate = directory / STATE_DIR_NAME
        if candidate.is_dir() and accept(candidate):
            return candidate
        if (directory / ".git").exists():
            return None
    return None


def default_state_dir(plan_path: Path | None, *, create: bool = True) -> Path:
    """The state directory of a command given a plan (or, with None, of the current directory).

    ``$QORCH_STATE_DIR``; else an existing ``.qorch`` found upward from the
    plan's directory; else one found upward from the current directory; else
    ``.qorch`` beside the plan (or here), created private (0700) when ``create``.
    """
    chosen = env_state_dir()
    if chosen is None and plan_path is not None:
        chosen = search_upward(plan_path.parent)
    if chosen is None:
        chosen = search_upward(Path.cwd())
    if chosen is None:
        base = plan_path.parent if plan_path is not None else Path.cwd()
        chosen = base / STATE_DIR_NAME
    if create:
        make_dirs(chosen, private=True)
    return chosen


def nearby_state_dirs(start: Path) -> list[Path]:
    """State directories a command without a plan considers, nearest first.

    The ``.qorch`` found upward from ``start``, then those in ``start``'s
    subfolders (depth ≤ 2); each only if it holds a store or a store's history.
    """
    found: list[Path] = []
    upward = search_upward(start, holds_state)
    if upward is not None:
        found.append(upward)
    for pattern in ("*/.qorch", "*/*/.qorch"):
        found.extend(sorted(start.glob(pattern)))
    unique: list[Path] = []
    seen: set[Path] = set()
    for directory in found:
        key = directory.resolve()
        if key not in seen and holds_state(directory):
            seen.add(key)
            unique.append(directory)
    return unique


def holds_state(directory: Path) -> bool:
    """True if ``directory`` has a store, or the job directories and runs of one."""
    return (directory / "state.db").exists() or bool(history(directory))


def history(directory: Path) -> list[str]:
    """What in ``directory`` proves a store existed: job directories and runs."""
    found = []
    jobs = sum(1 for _ in _children(directory / "jobs", "qorch-*"))
    runs = sum(1 for _ in _children(directory / "runs", "*"))
    if jobs:
        found.append(f"{jobs} job director{'y' if jobs == 1 else 'ies'}")
    if runs:
        found.append(f"{runs} run{'' if runs == 1 else 's'}")
    if (directory / "state.db-wal").exists():
        found.append("a write-ahead log (state.db-wal)")
    return found


def _children(directory: Path, pattern: str) -> list[Path]:
    try:
        return [path for path in directory.glob(pattern) if path.is_dir()]
    except OSError:
        return []
