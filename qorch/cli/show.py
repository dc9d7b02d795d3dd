"""``qorch show RUN [JOB]``: one job of a run, everything qorch knows about it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from qorch.cli.output import emit_json, emit_table, guarded, message
from qorch.cli.runs import JsonFlag, RunArgument, StateDirOption


def register(app: typer.Typer) -> None:
    """Add this module's command to ``app``."""
    app.command("show")(show)


@guarded
def show(
    run_id: RunArgument,
    job: Annotated[
        str | None,
        typer.Argument(
            help="The job: its # as 'qorch status RUN' numbers it, or its job id "
            "(default: list the run's jobs)."
        ),
    ] = None,
    state_dir: StateDirOption = None,
    json_out: JsonFlag = False,
) -> None:
    """One job of a run: target, provider job id, transpiled depth and two-qubit gates,
    timings (queued, ran), shots, cost, error text and the payload's path.

    Reads what qorch recorded and asks no provider ('qorch status RUN' does), so it is
    quick and works on runs whose files 'qorch gc' removed. Timings: submitted and
    finished as qorch recorded them; for jobs run on this machine also when execution
    started and ended, so 'queued' is submitted → started and 'ran' the execution.

    \b
      qorch show latest            the run's jobs, to pick one
      qorch show latest 2          job #2
      qorch show latest 2 --json   the same as data
    """
    from qorch import api

    got = api.show(run_id, job, state_dir)
    if json_out:
        emit_json(got)
        return
    if job is None:
        emit_table(
            ("#", "circuit", "target", "status", "job id", "depth", "2q gates"),
            [(j["index"], j["circuit"], j["target"], j["status"], j["job_id"], j["depth"],
              j["two_qubit_gates"]) for j in got["jobs"]],
            title=f"run {got['run_id']} ({got['status']}) — {got['plan']}",
        )  # fmt: skip
        message(f"pick a job: qorch show {got['run_id']} JOB (its # or its job id)")
        return
    emit_table(("field", "value"), _rows(got), title=f"job {got['index']} of run {got['run_id']}")
    if got["removed_by_gc"]:
        message(f"qorch gc removed this run's {', '.join(got['removed_by_gc'])} at {got['gc_at']}")


def _rows(job: dict[str, Any]) -> list[tuple[str, str]]:
    gone = "unknown (bundle removed by qorch gc)" if "bundle" in job["removed_by_gc"] else "unknown"
    known = job["depth"] is not None

    def figure(value: Any) -> str:
        return str(value) if known else gone

    times = job["timings"]
    why = "its worker predates timings" if job["local"] else "providers report none"
    unknown = f"unknown ({why})" if times["finished"] else "-"
    cost = "-" if job["cost_usd"] is None else f"${job['cost_usd']:.2f} ({job['cost_basis']})"
    payload = job["payload"] or gone
    if job["payload"] and not job["payload_exists"]:
        payload += " (removed by qorch gc)" if job["removed_by_gc"] else " (missing)"
    rows = [
        ("circuit", job["circuit"]),
        ("target", job["target"]),
        ("status", job["status"]),
        ("job id", job["job_id"] or "- (not submitted)"),
        ("shots", str(job["shots"]) + _sets(job["parameter_sets"])),
        ("qubits", figure(job["num_qubits"])),
        ("depth (transpiled)", figure(job["depth"])),
        ("2q gates (transpiled)", figure(job["two_qubit_gates"])),
        ("submitted", times["submitted"] or "-"),
        (
            "queued",
            _duration(
                times["queued_s"], times["started"] and f"started {times['started']}", unknown
            ),
        ),
        ("ran", _duration(times["ran_s"], times["ended"] and f"ended {times['ended']}", unknown)),
        ("finished", times["finished"] or "-"),
        ("total", _duration(times["total_s"], None, "-")),
        ("cost", cost),
        ("error", job["error"] or "-"),
        ("payload", payload),
        ("result file", job["result_file"] or "-"),
    ]
    if job["message"] and not job["error"]:
        rows.insert(3, ("message", job["message"]))
    if job["job_dir"]:
        rows.append(("job directory", job["job_dir"]))
    return rows


def _sets(count: int | None) -> str:
    return f" × {count} parameter sets" if count else ""


def _duration(seconds: float | None, note: str | None, unknown: str) -> str:
    if seconds is None:
        return unknown
    whole = seconds >= 100 or float(seconds).is_integer()  # qorch's own stamps: to the second
    text = f"{seconds:.0f} s" if whole else f"{seconds:.3f} s"
    return f"{text} ({note})" if note else text
