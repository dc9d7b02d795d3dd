"""Commands about runs: submit, run, status, results, cancel."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qorch.cli.output import (
    Progress,
    emit_json,
    emit_table,
    finite_seconds,
    guarded,
    message,
)
from qorch.contract.errors import ExitCode

if TYPE_CHECKING:
    from qorch.engine.runner import RunContext
    from qorch.store.state import StateStore

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
        help="State directory (default: $QORCH_STATE_DIR, else the .qorch found upward from "
        "here, or in subfolders).",
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
    from qorch.cli import qcnn
    from qorch.engine import runner
    from qorch.engine.session import prepare_run

    if qcnn.plan_kind(source) == "qcnn":
        qcnn.run_plan(source, idem_key=idempotency_key, new=new, wait=False, timeout=None,
                      poll=1.0, cluster=cluster, workers=workers, json_out=json_out)  # fmt: skip
        return

    ctx, created = prepare_run(source, idem_key=idempotency_key, new=new, notify=message)
    _announce(ctx, created)
    runner.submit_pending(ctx)
    if json_out:
        emit_json(runner.summary(ctx))
    else:
        print(ctx.run.run_id)


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
            "--poll", help="Seconds between status checks.", min=0.05, callback=finite_seconds
        ),
    ] = 2.0,
    cluster: ClusterOption = None,
    workers: WorkersOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Compile, submit, wait and collect: the main job.

    For a qcnn plan: train, run the baselines and the sweep, then evaluate on
    the plan's targets. Killed or interrupted? Run the same command again: it
    resumes the same run and never submits a job twice.
    """
    from qorch.cli import qcnn
    from qorch.engine import runner
    from qorch.engine.session import prepare_run

    if qcnn.plan_kind(source) == "qcnn":
        qcnn.run_plan(source, idem_key=idempotency_key, new=new, wait=True, timeout=timeout,
                      poll=poll, cluster=cluster, workers=workers, json_out=json_out)  # fmt: skip
        return

    ctx, created = prepare_run(source, idem_key=idempotency_key, new=new, notify=message)
    _announce(ctx, created)
    progress = Progress(len(ctx.bundle.jobs), f"run {ctx.run.run_id}")
    with progress.running():
        ctx.notify = progress.note
        runner.submit_pending(ctx)
        finished = runner.wait(
            ctx, timeout_s=timeout, poll_s=poll, on_poll=lambda jobs: _update(progress, jobs)
        )
        ctx.notify = message
    _finish(ctx, finished, json_out)


@guarded
def status(
    run_id: Annotated[str | None, typer.Argument(help="A run id (default: list runs).")] = None,
    state_dir: StateDirOption = None,
    json_out: JsonFlag = False,
) -> None:
    """List runs, or show one run's jobs (re-attaching to provider jobs).

    With RUN, exits 3 while the run is unfinished.
    """
    if run_id is None:
        _list_runs(state_dir, json_out)
        return
    from qorch.engine import runner

    ctx = _attach(run_id, state_dir)
    runner.refresh(ctx)
    data = runner.summary(ctx)
    if json_out:
        emit_json(data)
    else:
        _job_table(data, counts=False)
    _exit_for(data)


@guarded
def results(
    run_id: RunArgument,
    state_dir: StateDirOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Collected results of a run: counts per job (exit 3 if unfinished, 4 if jobs failed)."""
    from qorch.engine import runner

    ctx = _attach(run_id, state_dir)
    runner.refresh(ctx)
    if ctx.run.kind == "qcnn":
        from qorch.cli import qcnn

        qcnn.finish(ctx, _final(ctx), json_out, None)
        return
    _finish(ctx, _final(ctx), json_out)


@guarded
def cancel(
    run_id: RunArgument,
    state_dir: StateDirOption = None,
    json_out: JsonFlag = False,
) -> None:
    """Cancel a run's unfinished jobs (those already finished keep their results)."""
    from qorch.engine import runner

    ctx = _attach(run_id, state_dir)
    problems = runner.cancel(ctx)
    for line in problems:
        message(f"could not cancel: {line}")
    data = runner.summary(ctx)
    if json_out:
        emit_json(data)
    else:
        _job_table(data, counts=False)


# helpers ------------------------------------------------------------------


def _announce(ctx: RunContext, created: bool) -> None:
    jobs = len(ctx.bundle.jobs)
    if created:
        message(f"run {ctx.run.run_id}: {jobs} jobs (state in {ctx.state_dir})")
    else:
        message(f"run {ctx.run.run_id} exists for this plan ({ctx.run.status}); resuming it")


def _update(progress: Progress, jobs: list[Any]) -> None:
    done = sum(1 for job in jobs if job.status in ("done", "failed", "cancelled"))
    failed = sum(1 for job in jobs if job.status in ("failed", "cancelled"))
    progress.update(done, failed)


def _final(ctx: RunContext) -> bool:
    from qorch.store.state import JOB_FINAL

    return all(job.status in JOB_FINAL for job in ctx.store.jobs(ctx.run.run_id))


def _finish(ctx: RunContext, finished: bool, json_out: bool) -> None:
    from qorch.engine import runner

    if finished:
        path = runner.write_summary(ctx)
        message(f"results: {path}")
    data = runner.summary(ctx)
    if json_out:
        emit_json(data)
    else:
        _job_table(data, counts=True)
        if "distributed" in data:
            _distributed_table(data["distributed"])
    if not finished:
        pending = sum(
            1 for job in data["jobs"] if job["status"] not in ("done", "failed", "cancelled")
        )
        message(
            f"run {data['run_id']}: {pending} jobs not finished; run the same command again to "
            "collect them (it also restarts local jobs whose worker died)"
        )
    _exit_for(data)


def _distributed_table(info: dict[str, Any]) -> None:
    from qorch.cli.plans import partition_rows

    emit_table(("partition", "value"), partition_rows(info["partition"]))
    simulation = info.get("simulation")
    if simulation:
        estimate = simulation["estimated_fidelity"]
        emit_table(
            ("TVD to monolithic", "measured fidelity", "estimated fidelity", "links"),
            [(f"{simulation['tvd_to_monolithic']:.4f}", f"{simulation['measured_fidelity']:.4f}",
              "-" if estimate is None else f"{estimate:.4f}",
              "perfect" if simulation["perfect_links"] else "modelled")],
            title="distributed simulation",
        )  # fmt: skip
    observables = info.get("observables")
    if observables:
        emit_table(
            ("observable", "value", "std error", "exact", "|Δ|/σ"),
            [(o["observable"], f"{o['value']:.4f}", f"{o['std_error']:.4f}", f"{o['exact']:.4f}",
              f"{abs(o['value'] - o['exact']) / max(o['std_error'], 1e-12):.2f}")
             for o in observables],
            title="cut reconstruction",
        )  # fmt: skip


def _exit_for(data: dict[str, Any]) -> None:
    statuses = {job["status"] for job in data["jobs"]}
    if not statuses <= {"done", "failed", "cancelled"}:
        raise typer.Exit(int(ExitCode.PENDING))
    if statuses - {"done"}:
        raise typer.Exit(int(ExitCode.JOBS_FAILED))


def _job_table(data: dict[str, Any], counts: bool) -> None:
    rows = []
    simulation = (data.get("distributed") or {}).get("simulation") or {}
    for job in data["jobs"]:
        row = [job["index"], job["circuit"], job["target"], job["status"], job["shots"]]
        shown = job["counts"]
        if job["circuit"] == "distributed" and simulation.get("counts"):
            shown = simulation["counts"]  # the logical qubits, without mid-circuit bits
        if counts:
            row.append(_top_outcomes(shown, job["shots"]) if shown else job["message"])
        else:
            row.append(job["job_id"] or "-")
        rows.append(row)
    last = "top outcomes" if counts else "job id"
    title = f"run {data['run_id']} ({data['status']}) — {data['plan']}"
    emit_table(("#", "circuit", "target", "status", "shots", last), rows, title=title)


def _top_outcomes(counts: dict[str, int], shots: int, top: int = 3) -> str:
    best = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    return "  ".join(f"{bits}:{count / max(shots, 1):.1%}" for bits, count in best)


def _state_dirs(state_dir: Path | None) -> list[Path]:
    """``--state-dir``, else ``$QORCH_STATE_DIR``, else the stores found near the cwd."""
    from qorch.engine.runner import find_state_dirs
    from qorch.store.statedir import env_state_dir

    if state_dir is not None:
        return [state_dir]
    override = env_state_dir()
    if override is not None:
        return [override]
    return find_state_dirs(Path.cwd())


def _attach(run_id: str, state_dir: Path | None) -> RunContext:
    from qorch.engine import runner

    dirs = _state_dirs(state_dir)
    if run_id == "latest":
        store, run_id = _latest(dirs)
    else:
        store = runner.locate_run(run_id, dirs)
    return runner.attach(store, run_id, notify=message)


def _latest(dirs: list[Path]) -> tuple[StateStore, str]:
    from qorch.contract.errors import StateError
    from qorch.store.state import StateStore

    best: tuple[str, StateStore, str] | None = None
    for directory in dirs:
        store = StateStore(directory, create=False)
        for record in store.runs()[:1]:
            if best is None or (record.created, record.run_id) > (best[0], best[2]):
                best = (record.created, store, record.run_id)
    if best is None:
        where = ", ".join(str(d) for d in dirs) or "no state directory found"
        raise StateError(
            f"no runs found (looked in: {where}); set QORCH_STATE_DIR or pass --state-dir"
        )
    return best[1], best[2]


def _list_runs(state_dir: Path | None, json_out: bool) -> None:
    from qorch.store.state import StateStore

    rows: list[dict[str, Any]] = []
    for directory in _state_dirs(state_dir):
        store = StateStore(directory, create=False)
        for record in store.runs():
            jobs = store.jobs(record.run_id)
            rows.append(
                {
                    "run_id": record.run_id,
                    "status": record.status,
                    "created": record.created,
                    "plan": record.plan_path,
                    "plan_name": record.plan_name,
                    "jobs": len(jobs),
                    "jobs_done": sum(1 for job in jobs if job.status == "done"),
                    "idempotency_key": record.idem_key,
                    "state_dir": str(directory),
                }
            )
        store.close()
    rows.sort(key=lambda row: (row["created"], row["run_id"]), reverse=True)
    if json_out:
        emit_json(rows)
        return
    table = [
        (r["run_id"], r["status"], r["created"], r["plan"], f"{r['jobs_done']}/{r['jobs']}")
        for r in rows
    ]
    emit_table(("run", "status", "created", "plan", "done"), table)
