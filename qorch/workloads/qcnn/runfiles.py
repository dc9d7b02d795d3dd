"""Where a qcnn run keeps its files (artifacts, checkpoints), and how it reports progress."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qorch.engine.runner import RunContext
from qorch.store.fsutil import read_json, write_json_atomic

Progress = Callable[[str, int, int], None]
"""``progress(step, done, total)``: a step's progress (``train``, ``sweep``, ``fine_tune``)."""


def artifacts_dir(ctx: RunContext) -> Path:
    """Where a run's files go: metrics, model, plots, tables, circuits."""
    return ctx.state_dir / "runs" / ctx.run.run_id / "artifacts"


def checkpoint_file(ctx: RunContext, name: str) -> Path:
    """The checkpoint file of a task."""
    safe = name.replace("/", "__")
    return ctx.state_dir / "runs" / ctx.run.run_id / "checkpoints" / f"{safe}.json"


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """A task's last checkpoint, if any."""
    return read_json(path) if path.exists() else None


def default_workers(requested: int | None) -> int:
    """Worker processes for a sweep: the requested number, else the CPU count."""
    return max(1, requested or os.cpu_count() or 1)


def write_json(path: Path, data: Any) -> None:
    """Write an artifact as JSON atomically."""
    write_json_atomic(path, data)
