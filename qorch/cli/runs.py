"""Commands about runs: submit, run, status, results, cancel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qorch.cli import export
from qorch.cli.output import emit_json, emit_table, finite_seconds, guarded, message, render
from qorch.contract import settings
from qorch.contract.errors import ExitCode
from qorch.engine.wording import counted

if TYPE_CHECKING:
    from qorch.engine.results import RunResults

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (for scripts).")]
KeyOption = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        "-k",
        help="Run identity (default: the plan's hash). Same key → same run, resumed; "
        "e.g. --idempotency-key $(date +%F) for one run per night.",
    ),
]
NewFlag = Annotated[
    bool, typer.Option("--new", help="Start a fresh run even if the plan is unchanged.")
]
StateDirOption = Annotated[
    Path | None,
    typer.Option(
        "--state-dir",
        envvar=settings.STATE_DIR.env,
        help="State directory (default: the .qorch found upward from here, or in subfolders).",
    ),
]
RunArgument = Annotated[str, typer.Argument(help="Run id, a unique prefix of it, or 'latest'.")]
SourceArgument = Annotated[
    Path, typer.Argument(help="A plan file, or a compiled bundle directory.")
]
ClusterOption = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        help="QCNN sweeps: a Dask scheduler address (default: $DASK_SCHEDULER_ADDRESS, "
        "else local processes).",
    ),
]
JunitOption = Annotated[
    Path | None,
    typer.Option("--junit", help="Write the plan's checks as JUnit XML here (for CI dashboards)."),
]
ReportOption = Annotated[
    Path | None,
    typer.Option(
        "--report", help="Write a Markdown summary of the run's checks here (e.g. a CI summary)."
    ),
]
StrictOption = Annotated[
    bool,
    typer.Option(
        "--fail-on-inconclusive",
        help="Exit 5 also when a check is inconclusive (its bound inside the interval).",
    ),
]
WorkersOption = Annotated[
    int | None, typer.Option("--workers", min=1, help="QCNN sweeps: local worker processes.")
]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("submit")(submit)
    app.command("run")(run)
    app.command("status")(status)
    app.command("results")(results)
    app.command("cancel")(cancel)


@guarded
def submit(
    source: SourceArgument,
    idempotency_key: KeyOption = None,
    new: NewFlag = False,
    cluster: ClusterOption = None,
    workers: WorkersOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Submit a plan's jobs and print the run id (idempotent; does not wait).

    Submitting the same plan (or key) again returns the existing run and
    submits only what was not submitted yet. A qcnn plan is trained (and
    swept) first; its evaluation jobs are submitted without waiting.
    """
    from qorch import api
    from qorch.cli.observe import TerminalObserver

    options = api.RunOptions(idempotency_key=idempotency_key, new=new, wait=False,
                             cluster=cluster, workers=workers)  # fmt: skip
    got = api.submit(source, options, TerminalObserver())
    if json_out:
        emit_json(got.data)
    else:
        print(got.run_id, flush=True)


@guarded
def run(
    source: SourceArgument,
    idempotency_key: KeyOption = None,
    new: NewFlag = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            help="Stop waiting after this many seconds (exit 3 if unfinished).",
            callback=finite_seconds,
        ),
    ] = None,
    poll: Annotated[
        float,
        typer.Option(
            "--poll",
            help="Most seconds between status checks of cloud jobs (local jobs: every 0.1 s).",
            min=0.05,
            callback=finite_seconds,
        ),
    ] = 2.0,
    cluster: ClusterOption = None,
    workers: WorkersOption = None,
    junit: JunitOption = None,
    report: ReportOption = None,
    fail_on_inconclusive: StrictOption = False,
    json_out: JsonFlag = False,
) -> None:
    """Compile, submit, wait and collect: the main job.

    For a qcnn plan: train, run the baselines and the sweep, then evaluate on
    the plan's targets. Killed or interrupted? Run the same command again: it
    resumes the same run and never submits a job twice.
    """
    from qorch import api
    from qorch.cli.observe import TerminalObserver

    options = api.RunOptions(idempotency_key=idempotency_key, new=new, timeout_s=timeout,
                             poll_s=poll, cluster=cluster, workers=workers)  # fmt: skip
    got = api.run(source, options, TerminalObserver())
    _finish(got, json_out, junit, report, fail_on_inconclusive)


@guarded
def status(
    run_id: Annotated[str | None, typer.Argument(help="A run id (default: list runs).")] = None,
    state_dir: StateDirOption = None,
    json_out: JsonFlag = False,
) -> None:
    """List runs, or show one run's jobs (re-attaching to provider jobs).

    With RUN, exits 3 while the run is unfinished.
    """
    from qorch import api

    if run_id is None:
        _list_runs(api.runs(state_dir), json_out)
        return
    from qorch.cli.observe import TerminalObserver
    from qorch.engine.views import job_table

    got = api.status(run_id, state_dir, TerminalObserver())
    if json_out:
        emit_json(got.data)
    else:
        _show_table(job_table(got.data, counts=False))
    _exit(got)


@guarded
def results(
    run_id: RunArgument,
    state_dir: StateDirOption = None,
    junit: JunitOption = None,
    report: ReportOption = None,
    fail_on_inconclusive: StrictOption = False,
    plot: export.PlotOption = None,
    csv: export.CsvOption = None,
    top: export.TopOption = 8,
    json_out: JsonFlag = False,
) -> None:
    """Collected results of a run: counts per job (exit 3 if unfinished, 4 if jobs failed,
    5 if a check failed). --plot and --csv also write its counts as a PNG and a CSV."""
    from qorch import api
    from qorch.cli.observe import TerminalObserver

    export.check_outputs(plot, csv)
    got = api.results(run_id, state_dir, TerminalObserver())
    export.write_outputs(got, plot, csv, top)
    _finish(got, json_out, junit, report, fail_on_inconclusive)


@guarded
def cancel(
    run_id: RunArgument,
    state_dir: StateDirOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Cancel a run's unfinished jobs (those already finished keep their results)."""
    from qorch import api
    from qorch.cli.observe import TerminalObserver
    from qorch.engine.views import job_table

    done = api.cancel(run_id, state_dir, TerminalObserver())
    for line in done.problems:
        message(f"could not cancel: {line}")
    if not done.unfinished_before:
        status = done.results.data["status"]
        message(f"run {done.results.run_id}: nothing to cancel (it is {status})")
    if json_out:
        emit_json(done.results.data)
    else:
        _show_table(job_table(done.results.data, counts=False))


# helpers ------------------------------------------------------------------


def _finish(
    got: RunResults,
    json_out: bool,
    junit: Path | None = None,
    report: Path | None = None,
    fail_on_inconclusive: bool = False,
) -> None:
    """Where the results were written, the results (JSON or tables), what is still
    running; the checks' reports when asked; then exit with the contract's code."""
    _write_reports(got, junit, report)
    if got.results_file is not None:
        artifacts = f"; artifacts: {got.result.artifacts}" if got.result.artifacts else ""
        message(f"results: {got.results_file}{artifacts}")
    if json_out:
        emit_json(got.data)
    else:
        render(got.view)
    if not got.finished:
        message(
            f"run {got.run_id}: {counted(got.pending_jobs, 'job')} not finished; run the same "
            "command again to collect them (it also restarts local jobs whose worker died)"
        )
    _exit(got, fail_on_inconclusive)


def _write_reports(got: RunResults, junit: Path | None, report: Path | None) -> None:
    """The checks as JUnit XML and Markdown, written atomically (they follow the umask)."""
    if junit is None and report is None:
        return
    if not got.finished:
        message(f"run {got.run_id}: not finished, so its checks are not judged yet; no report")
        return
    from qorch.engine import reports
    from qorch.store.fsutil import write_text_atomic

    plan = str(got.data.get("plan") or "")
    if junit is not None:
        write_text_atomic(junit, reports.junit_xml(got.run_id, plan, got.checks))
        message(f"checks (JUnit XML): {junit}")
    if report is not None:
        text = reports.markdown_summary(
            got.run_id,
            plan,
            str(got.data["status"]),
            got.checks,
            got.result.metrics,
            got.figures,
            report.resolve().parent,
        )
        write_text_atomic(report, text)
        message(f"checks (Markdown): {report}")


def _exit(got: RunResults, fail_on_inconclusive: bool = False) -> None:
    code = got.exit_code
    if not code and fail_on_inconclusive and got.finished:
        from qorch.engine.checks import failed

        code = int(ExitCode.CHECKS_FAILED) if failed(got.checks, fail_on_inconclusive=True) else 0
    if code:
        raise typer.Exit(code)


def _show_table(table: Any) -> None:
    emit_table(table.columns, table.rows, title=table.title)


def _list_runs(rows: list[dict[str, Any]], json_out: bool) -> None:
    if json_out:
        emit_json(rows)
        return
    table = [
        (r["run_id"], r["status"], r["created"], r["plan"], f"{r['jobs_done']}/{r['jobs']}")
        for r in rows
    ]
    emit_table(("run", "status", "created", "plan", "done"), table)
