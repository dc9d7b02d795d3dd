"""The one place that owns terminal output.

Data goes to stdout (JSON with ``--json``; a rich table on a terminal; plain
aligned columns when piped), messages and progress to stderr, and errors as
one line with a defined exit code.
"""

from __future__ import annotations

import errno
import functools
import json
import math
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

from qorch.contract.errors import ExitCode, QorchError
from qorch.engine import interrupt
from qorch.engine.wording import counted

if TYPE_CHECKING:
    from qorch.engine.views import View

F = TypeVar("F", bound=Callable[..., Any])


def is_tty(stream: Any) -> bool:
    """True if ``stream`` is an interactive terminal."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def message(text: str) -> None:
    """A message for the human, on stderr."""
    print(text, file=sys.stderr, flush=True)


ENVIRONMENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}
)
_json_errors = False  # the running command was given --json: errors go to stdout as JSON too


def fail(text: str, code: int = ExitCode.ERROR, detail: dict[str, Any] | None = None) -> NoReturn:
    """Print ``qorch: error: TEXT`` on stderr and exit with ``code``.

    Under ``--json`` the error is also one JSON document on stdout:
    ``{"error": {"message", "file", "line", "field"}, "exit_code": N}``.
    """
    print(f"qorch: error: {text}", file=sys.stderr, flush=True)
    if _json_errors:
        error = {"message": text, "file": None, "line": None, "field": None, **(detail or {})}
        emit_json({"error": error, "exit_code": int(code)})
    raise typer.Exit(int(code))


_LOCATED = re.compile(r"^(?P<file>.+?):(?P<line>\d+)(?:: (?P<field>[^\s:]+))?$")


def error_detail(error: QorchError) -> dict[str, Any]:
    """The file, line, field and bare message of an error, as far as it knows them."""
    issues = getattr(error, "issues", None)
    if issues:  # PlanErrors: every issue is located
        first = issues[0]
        return {"message": first.message, "file": getattr(error, "file", None),
                "line": first.line, "field": first.field or None}  # fmt: skip
    match = _LOCATED.match(error.location or "")
    if match is None:
        return {"message": error.message}
    return {"message": error.message, "file": match["file"], "line": int(match["line"]),
            "field": match["field"]}  # fmt: skip


def environment_error(error: OSError) -> str | None:
    """One line for an OS error the user's environment caused (disk full, read-only, denied).

    None for any other OSError: that is a bug and keeps its traceback.
    """
    from pathlib import Path

    from qorch.store.fsutil import describe_os_error

    if error.errno not in ENVIRONMENT_ERRNOS:
        return None
    where = Path(os.fsdecode(error.filename)) if error.filename is not None else Path("a file")
    return describe_os_error(where, error, "write")


def emit_json(data: Any) -> None:
    """Data as JSON on stdout (and nothing else on stdout)."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def emit_table(
    columns: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None
) -> None:
    """A table on stdout: rich on a terminal, plain aligned text when piped."""
    cells = [[_cell(value) for value in row] for row in rows]
    if is_tty(sys.stdout):
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        # Text, not str: rich would read "logistic [amplitude]" as markup and drop a word.
        table = Table(title=None if title is None else Text(title), title_justify="left")
        for column in columns:  # fold: a long path wraps whole, never cut to "…"
            table.add_column(Text(column), overflow="fold")
        for row in cells:
            table.add_row(*(Text(cell) for cell in row))
        Console().print(table)
        return
    if title:
        print(title)
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    sys.stdout.flush()


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def finite_seconds(value: float | None) -> float | None:
    """Option callback: a number of seconds must be finite and ≥ 0 (``nan`` would wait for ever)."""
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise typer.BadParameter(f"{value} is not a finite number of seconds ≥ 0")
    return value


def guarded(func: F) -> F:
    """Turn QorchError into one stderr line and its exit code; Ctrl-C into exit 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _json_errors
        _json_errors = bool(kwargs.get("json_out"))
        try:
            interrupt.raise_if_interrupted()  # swallowed while the CLI was imported
            func(*args, **kwargs)
            interrupt.raise_if_interrupted()  # a Ctrl-C swallowed on the way still counts
        except QorchError as error:
            fail(str(error), error.exit_code, error_detail(error))
        except OSError as error:
            line = environment_error(error)
            if line is None:
                raise
            fail(line, ExitCode.ERROR, {"file": error.filename})
        except KeyboardInterrupt:
            interrupted()
        except Exception as error:  # a Ctrl-C that native code re-raised as another error
            if not interrupt.caused_by_interrupt(error):
                raise
            interrupted()
        finally:
            _json_errors = False

    return wrapper  # type: ignore[return-value]


interrupt_reported = False  # the entry point prints the line only if no command did


def interrupted() -> NoReturn:
    """Ctrl-C: say what happens to work in flight and exit 130."""
    global interrupt_reported
    interrupt_reported = True
    fail(
        "interrupted; jobs already submitted keep running at their providers — "
        "run the same command again to resume",
        ExitCode.INTERRUPTED,
    )


class Progress:
    """Progress on stderr (jobs, or another ``unit``): a bar on a terminal, one line per
    change otherwise."""

    def __init__(self, total: int, label: str, unit: str = "jobs") -> None:
        self.total = total
        self.label = label
        self.unit = unit
        self._bar: Any = None
        self._task: Any = None
        self._last: tuple[int, int, int] | None = None

    @contextmanager
    def running(self) -> Iterator[Progress]:
        """Show the bar (on a terminal) while the block runs."""
        if is_tty(sys.stderr):
            from rich.console import Console
            from rich.markup import escape
            from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

            self.label = escape(self.label)  # a run id or plan name is text, not markup
            self._bar = RichProgress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            with self._bar:
                self._task = self._bar.add_task(self.label, total=self.total)
                yield self
            self._bar = None
        else:
            yield self

    def update(self, done: int, failed: int = 0, cancelled: int = 0) -> None:
        """Record ``done`` finished jobs (``failed`` and ``cancelled`` of them unsuccessful)."""
        if self._bar is not None:
            self._bar.update(self._task, completed=done)
            return
        if self._last != (done, failed, cancelled):
            self._last = (done, failed, cancelled)
            extra = (f", {failed} failed" if failed else "") + (
                f", {cancelled} cancelled" if cancelled else ""
            )
            message(
                f"{self.label}: {done}/{counted(self.total, self.unit.rstrip('s'))} finished{extra}"
            )

    def note(self, text: str) -> None:
        """A message that does not break the bar."""
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            message(text)


def render(view: View) -> None:
    """A workload's view: its tables on stdout, then its message lines on stderr."""
    for table in view.tables:
        emit_table(table.columns, table.rows, title=table.title)
    for line in view.messages:
        message(line)
