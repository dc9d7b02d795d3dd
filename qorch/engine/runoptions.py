"""The light half of the workload contract: run options, the run observer, and what
``validate`` reports.

Kept apart from :mod:`qorch.engine.workload` (pydantic models, views) so that
``qorch.api`` and the CLI can name these types without importing pydantic:
``qorch status`` answers from the store alone, in a fraction of a second.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qorch.engine.runner import RunContext
    from qorch.store.state import JobRecord

OnPoll = Callable[[list["JobRecord"]], None]


@dataclass(frozen=True)
class PlanCheck:
    """What ``qorch validate`` reports for a sound plan: JSON fields and a short phrase."""

    fields: dict[str, Any]
    summary: str  # e.g. "4 jobs", shown as "PLAN: ok (4 jobs)"


@dataclass(frozen=True)
class RunOptions:
    """How to run a plan.

    ``idempotency_key`` names the run (default: the plan's hash); ``new``
    starts a fresh run of an unchanged plan; ``wait`` False submits and
    returns; ``timeout_s``/``poll_s`` bound and pace the waiting. ``cluster``
    and ``workers`` place a workload's parallel tasks (qcnn sweeps).
    """

    idempotency_key: str | None = None
    new: bool = False
    wait: bool = True
    timeout_s: float | None = None
    poll_s: float = 2.0
    cluster: str | None = None
    workers: int | None = None


class RunObserver:
    """What a run reports while it runs (the default says nothing). The CLI shows it."""

    def notify(self, text: str) -> None:
        """A message for the human."""

    def started(self, ctx: RunContext, created: bool, holds: str) -> None:
        """The run is open: new (``created``) or resumed; ``holds`` says what it holds."""

    @contextlib.contextmanager
    def tracking(self, total_jobs: int, label: str) -> Iterator[OnPoll]:
        """While waiting for ``total_jobs`` jobs: yields the callback given each poll's jobs."""
        yield lambda jobs: None

    def step(self, name: str, done: int, total: int) -> None:
        """Progress of a workload's own step (``done`` of ``total``)."""
