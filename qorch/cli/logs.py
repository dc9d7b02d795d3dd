"""``-v/--verbose``: qorch's stdlib logging, shown on stderr through rich's handler.

Library modules log with ``logging.getLogger(__name__)`` and never configure
logging; the command line does it once here. Without ``-v`` only warnings
are shown; ``-v`` adds each step (submissions, recoveries, cancellations,
store upgrades), ``-vv`` debugging detail (every poll, which store). Logs go to
stderr, so stdout keeps only data (``--json`` stays one document).
"""

from __future__ import annotations

import logging

LOGGER = "qorch"
LEVELS = (logging.WARNING, logging.INFO, logging.DEBUG)


def level_for(verbosity: int) -> int:
    """The logging level of ``-v`` given ``verbosity`` times (0: warnings only)."""
    return LEVELS[max(0, min(verbosity, len(LEVELS) - 1))]


def configure(verbosity: int) -> None:
    """Send the ``qorch`` loggers to stderr at the level of ``verbosity`` (idempotent)."""
    from rich.console import Console
    from rich.logging import RichHandler

    logger = logging.getLogger(LOGGER)
    for handler in [h for h in logger.handlers if getattr(h, "_qorch", False)]:
        logger.removeHandler(handler)
    handler = RichHandler(
        console=Console(stderr=True, soft_wrap=True),
        show_time=verbosity >= 2,
        show_path=verbosity >= 2,
        markup=False,
        rich_tracebacks=False,
    )
    handler._qorch = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level_for(verbosity))
    logger.propagate = False
