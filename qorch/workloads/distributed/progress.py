"""Progress of a long partitioning on a terminal: the stage, once compile takes a while.

Partitioning a large circuit can take tens of seconds. On a terminal, once
:data:`QUIET_S` have passed, each new stage is written to stderr on one overwritten
line (cleared at the end); off a terminal nothing is written, so piped output and
``--json`` stay clean. Only the messages depend on time, never the plan.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

QUIET_S = 1.5
DONE = "done"  # the last stage: clears the line


class StageProgress:
    """Callable given each stage's name; writes it once :data:`QUIET_S` have passed."""

    def __init__(self, stream: TextIO, label: str = "partitioning") -> None:
        self.stream = stream
        self.label = label
        self.started = time.monotonic()
        self.shown = False
        self.stage = ""

    def __call__(self, stage: str) -> None:
        if stage == DONE:
            self.done()
            return
        self.stage = stage
        elapsed = time.monotonic() - self.started
        if elapsed < QUIET_S:
            return
        self.stream.write(f"\r\x1b[2K{self.label}: {stage} ({elapsed:.0f} s)")
        self.stream.flush()
        self.shown = True

    def done(self) -> None:
        """Clear the line if anything was shown."""
        if self.shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


def compile_progress(stream: TextIO | None = None) -> Callable[[str], None]:
    """A stage reporter for stderr when it is a terminal, else one that says nothing."""
    out = stream or sys.stderr
    if not out.isatty():
        return lambda _stage: None
    return StageProgress(out)
