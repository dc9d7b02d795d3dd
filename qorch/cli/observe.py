"""What a run reports while it runs, shown on the terminal (stderr)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

from qorch.cli import output
from qorch.cli.output import Progress, message
from qorch.engine.runoptions import OnPoll, RunObserver

if TYPE_CHECKING:
    from qorch.engine.runner import RunContext


REOPENED = {
    "completed": "is completed; showing its results",
    "cancelled": "was cancelled; showing what it holds",
}
"""What re-opening a run that will not run again says, by its status (a failed run is
resumed: jobs that can be retried, are)."""


class TerminalObserver(RunObserver):
    """What a run reports, on stderr: the run opened, messages, a progress bar while
    waiting for jobs (on a terminal; one line per change otherwise), sweep milestones."""

    def __init__(self) -> None:
        self._note: Callable[[str], None] = message
        self._steps: dict[str, int] = {}
        self._bars: dict[str, tuple[Progress, ExitStack]] = {}

    def notify(self, text: str) -> None:
        self._note(text)

    def started(self, ctx: RunContext, created: bool, holds: str) -> None:
        if created:
            message(f"run {ctx.run.run_id}: {holds} (state in {ctx.state_dir})")
        elif ctx.run.status in REOPENED:
            message(f"run {ctx.run.run_id} for this plan {REOPENED[ctx.run.status]} "
                    "(--new runs the plan again)")  # fmt: skip
        else:
            message(f"run {ctx.run.run_id} exists for this plan ({ctx.run.status}); resuming it")

    @contextmanager
    def tracking(self, total_jobs: int, label: str) -> Iterator[OnPoll]:
        progress = Progress(total_jobs, label)
        with progress.running():
            self._note = progress.note
            try:
                yield lambda jobs: _show_jobs(progress, jobs)
            finally:
                self._note = message

    def step(self, name: str, done: int, total: int) -> None:
        """A step's progress: a bar on a terminal (training steps, sweep tasks); piped,
        sweep milestones only (every tenth of the tasks, and the last)."""
        if total <= 0:
            return
        if output.is_tty(sys.stderr):
            self._bar(name, done, total)
            return
        if name != "sweep":
            return
        tenth = (10 * done) // total
        if self._steps.get(name) != tenth or done == total:
            message(f"{name}: {done}/{total} tasks")
        self._steps[name] = tenth

    def _bar(self, name: str, done: int, total: int) -> None:
        """Open ``name``'s bar at its first report, move it, close it at the last."""
        if name not in self._bars:
            if done >= total:
                return
            stack = ExitStack()
            bar = Progress(total, name, unit="steps" if name == "train" else "tasks")
            stack.enter_context(bar.running())
            self._bars[name] = (bar, stack)
            self._note = bar.note
        bar, stack = self._bars[name]
        bar.update(done)
        if done >= total:
            stack.close()
            del self._bars[name]
            self._note = message


def _show_jobs(progress: Progress, jobs: list[Any]) -> None:
    done = sum(1 for job in jobs if job.status in ("done", "failed", "cancelled"))
    failed = sum(1 for job in jobs if job.status == "failed")
    cancelled = sum(1 for job in jobs if job.status == "cancelled")
    progress.update(done, failed, cancelled)
