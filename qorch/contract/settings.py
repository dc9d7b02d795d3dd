"""Every ``QORCH_*`` environment setting, read here and nowhere else.

One place to find what the environment can change, so ``qorch --help`` can
list it and a typo in a name cannot hide a setting. Each reader is a small
function that tolerates a bad value the way the docs say (a bad
``QORCH_LOCAL_WORKERS`` means "one per CPU", never a traceback). Plugins
declare their own settings with :class:`Setting` in their own modules.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Setting:
    """One environment variable: its name and what it does (shown by ``qorch --help``)."""

    env: str
    help: str

    def raw(self) -> str | None:
        """The variable's value, None when unset or empty."""
        value = os.environ.get(self.env, "").strip()
        return value or None


STATE_DIR = Setting(
    "QORCH_STATE_DIR",
    "the state directory (default: the nearest .qorch upward, else one beside the plan)",
)
VERBOSE = Setting(
    "QORCH_VERBOSE", "log detail on stderr: 1 for steps, 2 for debugging (as -v, -vv)"
)
LOCAL_WORKERS = Setting(
    "QORCH_LOCAL_WORKERS", "how many local jobs execute at once (default: one per CPU)"
)
LOCAL_JOBS = Setting(
    "QORCH_LOCAL_JOBS",
    "where local jobs run: 'detached' worker processes (default) or 'inline' in the qorch "
    "process (for a debugger or profiler, and test suites)",
)
DATA_CACHE = Setting(
    "QORCH_DATA_CACHE",
    "where downloaded datasets are kept (default: $XDG_CACHE_HOME/qorch/openml)",
)

ALL: tuple[Setting, ...] = (STATE_DIR, VERBOSE, LOCAL_WORKERS, LOCAL_JOBS, DATA_CACHE)


def state_dir() -> Path | None:
    """``$QORCH_STATE_DIR`` as a path, None when unset."""
    value = STATE_DIR.raw()
    return Path(value) if value else None


def local_workers() -> int:
    """How many local jobs may execute at once: ``$QORCH_LOCAL_WORKERS`` (at least 1),
    one per CPU when unset or not a number."""
    value = LOCAL_WORKERS.raw()
    try:
        return max(1, int(value)) if value else os.cpu_count() or 1
    except ValueError:
        return os.cpu_count() or 1


def local_jobs_inline() -> bool:
    """True if ``$QORCH_LOCAL_JOBS`` is ``inline``: local jobs execute in the calling
    process, in turn, instead of in detached workers (any other value: detached)."""
    return (LOCAL_JOBS.raw() or "").lower() == "inline"


def data_cache() -> Path:
    """Where downloaded datasets are cached."""
    value = DATA_CACHE.raw()
    if value:
        return Path(value).expanduser()
    cache_home = os.environ.get("XDG_CACHE_HOME") or "~/.cache"
    return Path(cache_home).expanduser() / "qorch" / "openml"


def help_text(columns: int = 76) -> str:
    """The environment section of ``qorch --help``, each description wrapped to
    ``columns`` under its own column (the help is shown unwrapped: ``\\b``)."""
    import textwrap

    width = max(len(setting.env) for setting in ALL)
    indent = " " * (width + 4)
    return "\n".join(
        textwrap.fill(
            f"  {setting.env:<{width}}  {setting.help}", columns, subsequent_indent=indent
        )
        for setting in ALL
    )


__all__ = [
    "ALL",
    "DATA_CACHE",
    "LOCAL_JOBS",
    "LOCAL_WORKERS",
    "STATE_DIR",
    "VERBOSE",
    "Setting",
    "data_cache",
    "help_text",
    "local_jobs_inline",
    "local_workers",
    "state_dir",
]
