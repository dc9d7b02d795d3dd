"""``qorch gc``: list, then prune, old job directories and bundles (results only when asked)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qorch.cli.output import emit_json, emit_table, guarded, message
from qorch.cli.runs import JsonFlag, StateDirOption


def register(app: typer.Typer) -> None:
    """Add this module's command to ``app``."""
    app.command("gc")(gc)


@guarded
def gc(
    older_than: Annotated[
        float | None,
        typer.Option(
            "--older-than",
            metavar="DAYS",
            min=0,
            help="Only runs whose last job finished more than DAYS days ago (and unused "
            "bundles written that long ago).",
        ),
    ] = None,
    run: Annotated[
        list[str] | None,
        typer.Option(
            "--run",
            metavar="RUN",
            help="Only this run (id, unique prefix or 'latest'); repeat for several.",
        ),
    ] = None,
    include_results: Annotated[
        bool,
        typer.Option(
            "--include-results",
            help="Also remove the runs' counts, results.json, artifacts and bundles "
            "(the run and its job ids stay listed).",
        ),
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "--apply", help="Remove them (default: only list them).")
    ] = False,
    state_dir: StateDirOption = None,
    json_out: JsonFlag = False,
) -> None:
    """List what can be removed from the state directory, and the space it frees; --yes
    removes it.

    Only finished runs are touched: their local job directories (each job's counts are
    kept in the run's result files) and their bundles' payloads (the manifest stays, so
    'qorch results' and 'qorch show' still work), plus bundles no run uses. A run's
    results go only with --include-results. Runs with jobs queued, submitting or running
    are never touched, and --yes refuses while another qorch process uses the store.

    \b
      qorch gc                              what would go, and the bytes freed
      qorch gc --older-than 30 --yes        prune runs finished over 30 days ago
      qorch gc --run 20261120-2335 --include-results --yes
    """
    from qorch import api

    plans = api.gc(state_dir, runs=run or None, older_than_days=older_than,
                   include_results=include_results, apply=yes)  # fmt: skip
    freed = sum(plan.freed_bytes for plan in plans)
    if json_out:
        emit_json({"applied": yes, "freed_bytes": freed,
                   "state_dirs": [plan.to_json() for plan in plans]})  # fmt: skip
    else:
        items = _grouped([item for plan in plans for item in plan.items])
        if items:
            emit_table(("run", "what", "path", "size"), items,
                       title="removed" if yes else "would remove")  # fmt: skip
        kept = [(k.run_id, k.reason) for plan in plans for k in plan.kept]
        if kept:
            emit_table(("run", "kept because"), kept, title="kept")
    count = sum(len(plan.items) for plan in plans)
    if not count:
        message("nothing to remove")
    elif yes:
        message(f"removed {count} items, freed {human_bytes(freed)}")
    else:
        message(f"would free {human_bytes(freed)} in {count} items; pass --yes to remove them")


def _grouped(items: list[Any]) -> list[tuple[str, str, str, str]]:
    """One row per run and kind of item (a run's 40 job directories are one row)."""
    groups: dict[tuple[str, str], list[Any]] = {}
    for item in items:
        groups.setdefault((item.run_id or "-", item.what), []).append(item)
    rows = []
    for (run_id, what), members in groups.items():
        path = members[0].path
        if len(members) > 1:
            path = f"{len(members)} in {Path(path).parent}"
        rows.append((run_id, what, path, human_bytes(sum(m.bytes for m in members))))
    return rows


def human_bytes(count: int) -> str:
    """``count`` bytes for a person: ``812 B``, ``1.4 KiB``, ``3.0 MiB``."""
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"
