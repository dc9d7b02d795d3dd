"""The one place that owns terminal output.

Data goes to stdout (JSON with ``--json``; a rich table on a terminal; plain
aligned columns when piped), messages and progress to stderr, and errors as
one line with a defined exit code.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar

import typer

from qorch.errors import ExitCode, QorchError

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


def fail(text: str, code: int = ExitCode.ERROR) -> NoReturn:
    """Print ``qorch: error: TEXT`` on stderr and exit with ``code``."""
    print(f"qorch: error: {text}", file=sys.stderr, flush=True)
    raise typer.Exit(int(code))


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

        table = Table(title=title, title_justify="left")
        for column in columns:
            table.add_column(column)
        for row in cells:
            table.add_row(*row)
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


def guarded(func: F) -> F:
    """Turn QorchError into one stderr line and its exit code; Ctrl-C into exit 130."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except QorchError as error:
            fail(str(error), error.exit_code)
        except KeyboardInterrupt:
            message("qorch: interrupted; run the same command again to resume")
            raise typer.Exit(int(ExitCode.INTERRUPTED)) from None

    return wrapper  # type: ignore[return-value]


class Progress:
    """Job progress on stderr: a bar on a terminal, one line per change otherwise."""

    def __init__(self, total: int, label: str) -> None:
        self.total = total
        self.label = label
        self._bar: Any = None
        self._task: Any = None
        self._last: tuple[int, int] | None = None

    @contextmanager
    def running(self) -> Iterator[Progress]:
        """Show the bar (on a terminal) while the block runs."""
        if is_tty(sys.stderr):
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, TimeElapsedColumn
            from rich.progress import Progress as RichProgress

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

    def update(self, done: int, failed: int = 0) -> None:
        """Record ``done`` finished jobs (``failed`` of them unsuccessful)."""
        if self._bar is not None:
            self._bar.update(self._task, completed=done)
            return
        if self._last != (done, failed):
            self._last = (done, failed)
            extra = f", {failed} failed" if failed else ""
            message(f"{self.label}: {done}/{self.total} jobs finished{extra}")

    def note(self, text: str) -> None:
        """A message that does not break the bar."""
        if self._bar is not None:
            self._bar.console.print(text)
        else:
            message(text)
