"""``qorch results --plot FILE.png --csv FILE``: a run's counts as a picture and as a table.

Both files are written atomically (a temporary file renamed into place) and
follow the umask; a missing directory is refused before anything is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qorch.cli.output import message

if TYPE_CHECKING:
    from qorch.engine.results import RunResults

PlotOption = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        help="Draw the counts to this PNG: a panel per circuit, its top outcomes as bars per "
        "target side by side, the ideal distribution as black lines where known.",
    ),
]
CsvOption = Annotated[
    Path | None,
    typer.Option(
        "--csv",
        help="Write every count to this CSV file: run, job, circuit, target, outcome, count, "
        "probability, parameter_set (jobs by #, outcomes by bit string).",
    ),
]
TopOption = Annotated[
    int,
    typer.Option(
        "--top", metavar="K", min=1, max=64, help="--plot: the K likeliest outcomes per circuit."
    ),
]


def check_outputs(*paths: Path | None) -> None:
    """Refuse, before any work, an output whose directory does not exist or is a directory."""
    from qorch.contract.errors import UsageError

    for path in paths:
        if path is None:
            continue
        if path.is_dir():
            raise UsageError(f"{path} is a directory; give a file name to write")
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir():
            raise UsageError(f"cannot write {path}: directory {parent} does not exist")


def write_outputs(got: RunResults, plot: Path | None, csv: Path | None, top_k: int) -> None:
    """Write the CSV and the PNG of ``got``'s counts, naming each file on stderr."""
    if plot is None and csv is None:
        return
    from qorch import api
    from qorch.store.fsutil import write_bytes_atomic, write_text_atomic

    if csv is not None:
        write_text_atomic(csv, api.counts_csv(got))
        message(f"counts (CSV): {csv}")
    if plot is not None:
        drawn = api.counts_plot(got, top_k)
        write_bytes_atomic(plot, drawn.png)
        for note in drawn.notes:
            message(note)
        message(f"counts plot: {plot}")
