"""The store's records: runs, jobs and tasks as read, and jobs before they are submitted."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

JOB_FINAL = ("done", "failed", "cancelled")


def utc_now() -> str:
    """The current UTC time as ISO 8601 with seconds."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class RunRecord:
    """A row of ``runs``; ``bundle_dir`` is resolved against the state directory."""

    run_id: str
    idem_key: str
    generation: int
    plan_path: str
    plan_name: str
    plan_hash: str
    kind: str
    bundle_dir: str
    status: str
    created: str
    updated: str


@dataclass(frozen=True)
class JobRecord:
    """A row of ``jobs``; ``handle`` is the provider's JSON handle once submitted,
    ``result_file`` resolved against the state directory."""

    run_id: str
    idx: int
    circuit: str
    target: str
    shots: int
    payload: str
    token: str
    status: str
    handle: dict[str, Any] | None
    message: str
    submitted: str | None
    finished: str | None
    result_file: str | None


@dataclass(frozen=True)
class NewJob:
    """What a run's job is, before it is submitted."""

    circuit: str
    target: str
    shots: int
    payload: str


@dataclass(frozen=True)
class TaskRecord:
    """A row of ``tasks``: in-process work of a run and its JSON result."""

    run_id: str
    name: str
    status: str
    result: dict[str, Any] | None
    updated: str


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus random hex, e.g. ``20261120-233501-3fa2c1``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{stamp}-{secrets.token_hex(3)}"


def job_token(run_id: str, idx: int) -> str:
    """The idempotency token of a run's job: deterministic, unique, provider-safe."""
    return f"qorch-{run_id}-{idx:04d}"


def result_file_path(state_dir: Path, run_id: str, idx: int) -> Path:
    """Where job ``idx`` of a run keeps its counts: ``runs/RUN/results/IDX.json``."""
    return state_dir / "runs" / run_id / "results" / f"{idx:04d}.json"
