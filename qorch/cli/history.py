"""``qorch history`` and ``qorch diff``: runs' metrics over time, and what changed between two."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qorch.cli.output import emit_json, emit_table, guarded, message
from qorch.cli.runs import StateDirOption


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("history")(history)
    app.command("diff")(diff)


@guarded
def history(
    plan_arg: Annotated[
        str | None,
        typer.Argument(
            metavar="PLAN",
            help="Only this plan's runs: a plan file (its name and state) or a plan name.",
            show_default=False,
        ),
    ] = None,
    plan: Annotated[
        str | None, typer.Option("--plan", help="Only runs of this plan name (or file).")
    ] = None,
    metric: Annotated[str | None, typer.Option("--metric", help="Only this metric.")] = None,
    target: Annotated[
        str | None, typer.Option("--target", help="Only targets matching this glob, e.g. 'ibm:*'.")
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only runs created since: an ISO date or time (UTC unless offset)."
        ),
    ] = None,
    state_dir: StateDirOption = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Also draw --metric over time, per target, to this PNG."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Metric values of every finished run, oldest first, with their intervals and verdicts.

    Each time a run's results are collected its metrics (and its checks' verdicts) are
    kept in the state store, so a nightly job's numbers can be followed over weeks:

    \b
      qorch history plans/ghz.yaml --metric hellinger_fidelity --target 'ibm:*'
      qorch history --plan nightly --metric tvd
      qorch history --since 2026-11-01 --json > history.json
      qorch history --metric hellinger_fidelity --plot fidelity.png
    """
    from qorch import api
    from qorch.contract.errors import UsageError

    if plot is not None and metric is None:
        raise UsageError("--plot draws one metric: give it with --metric NAME")
    if plan_arg is not None and plan is not None and plan_arg != plan:
        raise UsageError(f"two plans given ({plan_arg} and --plan {plan}): give one")
    plan = plan_arg if plan_arg is not None else plan
    rows = api.history(state_dir, plan=plan, metric=metric, target=target, since=since)
    if plot is not None and metric is not None:
        from qorch.store.fsutil import write_bytes_atomic

        write_bytes_atomic(plot, api.history_plot(metric, rows, state_dir))
        message(f"plot: {plot}")
    if json_out:
        emit_json(rows)
        return
    if not rows:
        message(_nothing_found(state_dir, plan=plan, metric=metric, target=target, since=since))
        return
    columns, cells, title = history_table([_row(row) for row in rows])
    emit_table(columns, cells, title=title)


def _nothing_found(state_dir: Path | None, **filters: str | None) -> str:
    """Why the history is empty: nothing recorded yet, or nothing that the filters match
    (a mistyped plan or metric), naming what is recorded."""
    from qorch import api

    given = {name: value for name, value in filters.items() if value is not None}
    every = api.history(state_dir) if given else []
    if not every:
        return "no metrics recorded yet (they are kept when a finished run's results are read)"
    asked = ", ".join(f"{name} {value!r}" for name, value in given.items())
    plans = ", ".join(sorted({row["plan_name"] for row in every}))
    metrics = ", ".join(sorted({row["name"] for row in every}))
    return f"no metrics match {asked}; recorded here: plans {plans}; metrics {metrics}"


HISTORY_COLUMNS = ("run", "plan", "metric", "circuit", "target", "value", "interval", "checks")
LIFTED = ("plan", "circuit", "target")  # shown once above the table when every row agrees


def history_table(
    rows: list[tuple[str, ...]],
) -> tuple[tuple[str, ...], list[tuple[str, ...]], str | None]:
    """Columns, rows and title of the history table. A plan, circuit or target that every
    row shares moves into the title, so the table fits a terminal instead of folding each
    row over three lines; the run id starts with its UTC creation time (``--json`` has
    ``created`` too)."""
    lifted = [i for i, name in enumerate(HISTORY_COLUMNS)
              if name in LIFTED and len({row[i] for row in rows}) == 1]  # fmt: skip
    title = " · ".join(f"{HISTORY_COLUMNS[i]} {rows[0][i]}" for i in lifted) if rows else ""
    kept = [i for i in range(len(HISTORY_COLUMNS)) if i not in lifted]
    return (tuple(HISTORY_COLUMNS[i] for i in kept),
            [tuple(row[i] for i in kept) for row in rows], title or None)  # fmt: skip


def _row(row: dict[str, object]) -> tuple[str, ...]:
    value, low, high = row["value"], row["low"], row["high"]
    shown = "-" if not isinstance(value, (int, float)) else f"{value:.4g}"
    interval = "-"
    if isinstance(low, float) and isinstance(high, float) and low != high:
        interval = f"[{low:.4g}, {high:.4g}]"
    verdicts = row["verdicts"]
    checks = ", ".join(verdicts) if isinstance(verdicts, list) and verdicts else "-"
    circuit, target = str(row["circuit"] or "-"), str(row["target"] or "-")
    return (str(row["run_id"]), str(row["plan_name"]), str(row["name"]), circuit, target,
            shown, interval, checks)  # fmt: skip


@guarded
def diff(
    run_a: Annotated[str, typer.Argument(help="The earlier run: id, unique prefix, or 'latest'.")],
    run_b: Annotated[str, typer.Argument(help="The later run.")],
    state_dir: StateDirOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """What changed between two runs, beyond what shot noise explains.

    A metric's change is significant when |Δ| / √(σa² + σb²) exceeds the 99 % normal
    quantile (an exact metric: whenever it changes). Counts of the same circuit on the
    same target are compared with a chi-square test of homogeneity (rare outcomes
    pooled), significant when p < 0.01, and shown with their TVD.
    """
    from qorch import api
    from qorch.cli.observe import TerminalObserver

    got = api.diff(run_a, run_b, state_dir, TerminalObserver())
    if json_out:
        emit_json(got)
        return
    message(
        f"from run {got['before']} to run {got['after']} (significant: beyond shot noise at 99 %)"
    )
    emit_table(
        ("metric", "circuit", "target", "before", "after", "change", "z", "significant"),
        [(m["name"], m["circuit"] or "-", m["target"] or "-", f"{m['before']:.4g}",
          f"{m['after']:.4g}", f"{m['delta']:+.4g}",
          "-" if m["z"] is None else f"{m['z']:+.2f}", "yes" if m["significant"] else "no")
         for m in got["metrics"]],
        title="metrics",
    )  # fmt: skip
    if got["counts"]:
        emit_table(
            ("circuit", "target", "tvd", "p-value", "significant"),
            [(c["circuit"], c["target"], f"{c['tvd']:.4f}", f"{c['p_value']:.3g}",
              "yes" if c["significant"] else "no") for c in got["counts"]],
            title="counts",
        )  # fmt: skip
