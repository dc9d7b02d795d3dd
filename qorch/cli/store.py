"""``qorch recover``: what a state directory proves was submitted, and rebuilding its store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from qorch.cli.output import emit_json, emit_table, guarded, message
from qorch.contract import settings

if TYPE_CHECKING:
    from qorch.store.recovery import Survey


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("recover")(recover)


@guarded
def recover(
    state_dir: Annotated[
        Path | None,
        typer.Option(
            "--state-dir",
            envvar=settings.STATE_DIR.env,
            help="State directory (default: the .qorch found here).",
        ),
    ] = None,
    rebuild: Annotated[
        bool,
        typer.Option(
            "--rebuild",
            help="Move a damaged or missing state.db aside (never deleted) and rebuild it "
            "from the journals, so running the same plans resumes their runs.",
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Rebuild even a healthy store, or one with runs of an older qorch."
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """List what the journals, job directories and results prove was submitted.

    Run it when qorch refuses a damaged or missing state.db. With --rebuild,
    the store is rebuilt from that evidence: running the same plan afterwards
    resumes its run and submits nothing twice.
    """
    from qorch.store import recovery

    directory = _one_state_dir(state_dir)
    rebuilt = recovery.rebuild(directory, force=force) if rebuild else None
    found = recovery.survey(directory)
    if json_out:
        data = found.to_dict()
        data["rebuilt"] = rebuilt.to_dict() if rebuilt else None
        emit_json(data)
    else:
        _table(found)
    if rebuilt is not None:
        aside = f"; the old one is at {rebuilt.moved_aside}" if rebuilt.moved_aside else ""
        message(
            f"rebuilt {directory / 'state.db'} from the journals of {_count(rebuilt.runs, 'run')}"
            f" ({_count(rebuilt.jobs, 'job')}){aside}; run the same plans again to resume them"
        )
        for run_id in rebuilt.skipped:
            message(f"run {run_id} has no journal (older qorch): not rebuilt")
    elif found.store_status != "ok":
        message(f"state.db: {found.store_status}: {found.store_detail}")
        message(
            f"run 'qorch recover --state-dir {directory} --rebuild' to rebuild the store "
            "from what is listed here"
        )
    else:
        message(f"state.db is healthy: {found.store_detail}")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _one_state_dir(state_dir: Path | None) -> Path:
    from qorch.contract.errors import StateError, UsageError
    from qorch.store.statedir import env_state_dir, nearby_state_dirs

    chosen = state_dir or env_state_dir()
    if chosen is not None:
        return chosen
    found = nearby_state_dirs(Path.cwd())
    if not found:
        raise StateError(
            "no qorch state found here (looked in .qorch upward from the current directory "
            "and in its subfolders); pass --state-dir"
        )
    if len(found) > 1:
        raise UsageError(
            f"several state directories here ({', '.join(map(str, found))}); pass --state-dir"
        )
    return found[0]


def _table(found: Survey) -> None:
    rows: list[tuple[object, ...]] = []
    for run in found.runs:
        where = "journal" if run.journal else "no journal"
        if run.in_store is False:
            where += ", not in state.db"
        for job in run.jobs:
            rows.append(
                (run.run_id, job.index, job.circuit, job.target, job.job_id, job.status,
                 ", ".join(job.evidence) or "none (recovered by token)", where)
            )  # fmt: skip
        if not run.jobs:
            rows.append((run.run_id, "-", None, None, None, None, "none", where))
    title = f"{found.state_dir} — state.db {found.store_status}"
    columns = ("run", "#", "circuit", "target", "job id", "status", "evidence", "run record")
    emit_table(columns, rows, title=title)
