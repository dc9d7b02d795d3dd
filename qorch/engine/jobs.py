"""A run's jobs at their providers: submit, recover, restart, refresh, collect, cancel.

The order of writes makes a crash at any point resumable without submitting
a job twice: the job's intent (``submitting``) is committed before the
provider call, its handle right after. Only the holder of the run's lock
submits, so a job found in ``submitting`` by the lock holder was left by a
process that died mid-call; the job is then looked for (by its idempotency
token) before qorch submits again.

Every call that reaches a job goes through :mod:`qorch.engine.execution`,
which runs the jobs of every provider's local devices in qorch's detached
workers and sends the others to their providers.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from qorch.contract.errors import (
    CancelUnsupportedError,
    CredentialsError,
    NetworkError,
    QorchError,
    StateError,
)
from qorch.contract.provider import Handle, JobRequest, JobState, Provider, Result
from qorch.engine import execution, interrupt, registry
from qorch.store import gcrecord
from qorch.store.fsutil import read_json, write_json_atomic
from qorch.store.lock import file_lock
from qorch.store.state import JOB_FINAL, JobRecord, RunRecord, StateStore


class RunJobs(Protocol):
    """What the functions here need of a run: :class:`qorch.engine.runner.RunContext`."""

    store: StateStore
    run: RunRecord

    @property
    def notify(self) -> Callable[[str], None]:
        """Where progress messages go."""

    @property
    def state_dir(self) -> Path:
        """The state directory holding the store, job files and results."""

    def job_provider(self, job: JobRecord) -> str:
        """The name of the job's provider."""

    def job_request(self, job: JobRecord) -> JobRequest:
        """What the job's provider is given (from the run's bundle)."""


def _provider(ctx: RunJobs, job: JobRecord) -> Provider:
    return registry.load(ctx.job_provider(job))


SUBMISSION_UNCONFIRMED = "submission not confirmed"
"""How the message of a job begins whose provider call failed without an answer (network,
credentials): the job is 'failed' until the next submit, which asks the provider first."""
NOT_SUBMITTED = "not submitted"
"""How the message of a job begins that was not sent because its provider failed before."""
_RETRIED = (SUBMISSION_UNCONFIRMED, NOT_SUBMITTED)


def submit_pending(ctx: RunJobs) -> int:
    """Submit every job not yet submitted; returns how many were submitted or recovered.

    Holds the run's lock, so two qorch processes never submit the same run.
    A job left ``submitting`` by a process that died is first looked for at
    its provider (by its token). Local jobs whose worker died are restarted,
    a bounded number of times. A network or credentials error fails the job
    and the run with the reason (the job is retried by the next call, which
    asks the provider for it before submitting it), skips the provider's
    other jobs, and is raised — naming the job and what to do — once the
    other providers' jobs are submitted.
    """
    if ctx.run.status == "created":
        _set_run_status(ctx)  # older stores: 'created' is not a run status
    count = 0
    broken: dict[str, QorchError] = {}
    try:
        with _submission_lock(ctx), execution.batched_workers():
            for job in ctx.store.jobs(ctx.run.run_id):
                count += _advance(ctx, job, broken)
    finally:
        _set_run_status(ctx)
    if broken:
        raise next(iter(broken.values()))
    return count


def _submission_lock(ctx: RunJobs) -> contextlib.AbstractContextManager[None]:
    """The run's lock: held to submit, recover, restart or cancel its jobs."""

    def waiting(holder: str) -> None:
        ctx.notify(f"run {ctx.run.run_id} is being submitted by process {holder}; waiting")

    return file_lock(ctx.state_dir / "locks" / f"{ctx.run.run_id}.lock", on_wait=waiting)


def _advance(ctx: RunJobs, job: JobRecord, broken: dict[str, QorchError]) -> int:
    """Submit, recover or restart one job as its state needs (under the run's lock)."""
    if job.handle is not None:
        if job.status not in ("done", "cancelled"):
            _restart_worker(ctx, job)
        return 0
    unconfirmed = job.status == "submitting" or job.message.startswith(SUBMISSION_UNCONFIRMED)
    if job.status not in ("pending", "submitting") and not (
        job.status == "failed" and job.message.startswith(_RETRIED)
    ):
        return 0
    provider = ctx.job_provider(job)
    if provider in broken:
        reason = SUBMISSION_UNCONFIRMED if unconfirmed else NOT_SUBMITTED
        message = f"{reason}: {provider} failed for an earlier job of this run ({broken[provider]})"
        ctx.store.update_job(job.run_id, job.idx, "failed", message)
        return 0
    interrupt.raise_if_interrupted()
    try:
        if job.status == "failed":  # retried: back to 'submitting' before any provider call
            ctx.store.update_job(job.run_id, job.idx, "submitting", "")
        elif job.status == "pending" and not ctx.store.mark_submitting(job.run_id, job.idx):
            return 0
        if unconfirmed:
            _resume_submission(ctx, job)
        else:
            _submit(ctx, job, ctx.job_request(job))
    except (NetworkError, CredentialsError, StateError) as error:
        broken[provider] = _submission_failed(ctx, job, error)
        return 0
    return 1


def _submit(ctx: RunJobs, job: JobRecord, request: JobRequest) -> None:
    """Submit a job marked ``submitting``. Network and credentials errors propagate (the
    call may or may not have reached the provider), and so do state errors (a full disk
    while writing a local job's directory: the next run re-attaches to what was written
    or submits it, never a permanent failure); other provider errors fail the job."""
    provider = _provider(ctx, job)
    try:
        handle = execution.submit(provider, request)
    except (NetworkError, CredentialsError, StateError):
        raise
    except QorchError as error:
        ctx.store.update_job(job.run_id, job.idx, "failed", f"submission failed: {error}")
        ctx.notify(f"job {job.idx} ({job.circuit} on {job.target}): submission failed: {error}")
        return
    _record_handle(ctx, job, handle)
    ctx.notify(f"submitted {job.circuit} to {job.target} as {handle['job_id']}")


def _resume_submission(ctx: RunJobs, job: JobRecord) -> int:
    """Ask the provider for a job whose submission was not confirmed; submit it if absent."""
    request = ctx.job_request(job)
    provider = _provider(ctx, job)
    handle = execution.recover(provider, request)
    if handle is not None:
        _record_handle(ctx, job, handle)
        ctx.notify(f"re-attached {job.circuit} on {job.target} to {handle['job_id']}")
        return 1
    _submit(ctx, job, request)
    return 1


def _submission_failed(ctx: RunJobs, job: JobRecord, error: QorchError) -> QorchError:
    """Fail a job whose provider call failed without an answer; the error to raise."""
    message = (
        f"{SUBMISSION_UNCONFIRMED}: {error} (the next run asks the provider for this job "
        "before submitting it again)"
    )
    ctx.store.update_job(job.run_id, job.idx, "failed", message)
    ctx.notify(f"job {job.idx} ({job.circuit} on {job.target}): {message}")
    if isinstance(error, StateError):  # its message says what to do (free space …)
        return StateError(f"{job.target}: job {job.idx} ({job.circuit}) was not submitted: {error}")
    return type(error)(
        f"{job.target}: job {job.idx} ({job.circuit}) could not be submitted: {error}. "
        "Fix this and run the same command again: qorch first asks the provider whether "
        "it received the job, so it is never submitted twice"
    )


def _record_handle(ctx: RunJobs, job: JobRecord, handle: Handle) -> None:
    """Store a provider's handle (a local job's directory relative to the state directory)."""
    ctx.store.record_handle(job.run_id, job.idx, execution.portable_handle(handle, ctx.state_dir))


def _live_handle(ctx: RunJobs, job: JobRecord) -> Handle:
    """A job's stored handle, ready to use (a local job's directory under the state directory)."""
    assert job.handle is not None
    return execution.resolve_handle(job.handle, ctx.state_dir)


def _restart_worker(ctx: RunJobs, job: JobRecord) -> None:
    """Start a fresh local worker if the job's worker died (bounded; see localjob.restart)."""
    if job.handle is None or not execution.is_local(job.handle):
        return
    done = execution.restart(_live_handle(ctx, job))
    if done is not None:
        ctx.store.update_job(job.run_id, job.idx, "queued", done)
        ctx.notify(f"{job.circuit} on {job.target}: {done}")


def refresh(ctx: RunJobs) -> list[JobRecord]:
    """Ask providers about every unfinished submitted job; collect finished results."""
    for job in ctx.store.jobs(ctx.run.run_id):
        if job.status in JOB_FINAL or job.handle is None:
            continue
        provider = _provider(ctx, job)
        handle = _live_handle(ctx, job)
        status = execution.status(provider, handle)
        if status.state is JobState.DONE:
            _collect(ctx, job, execution.result(provider, handle))
        elif status.state.value != job.status or status.message != job.message:
            ctx.store.update_job(job.run_id, job.idx, status.state.value, status.message)
            if status.state.final:
                said = status.state.value
                if status.message and status.message != said:  # not "cancelled cancelled"
                    said = f"{said}: {status.message}"
                ctx.notify(f"{job.circuit} on {job.target}: {said}")
    _set_run_status(ctx)
    return ctx.store.jobs(ctx.run.run_id)


def _collect(ctx: RunJobs, job: JobRecord, counts: Result) -> None:
    path = _write_result(ctx, job, counts)
    ctx.store.update_job(job.run_id, job.idx, "done", "", str(path))
    ctx.notify(f"{job.circuit} on {job.target}: done")


def _write_result(ctx: RunJobs, job: JobRecord, counts: Result) -> Path:
    """Write a job's counts to its result file atomically; returns the file."""
    path = result_path(ctx, job.idx)
    record = {
        "run_id": job.run_id,
        "index": job.idx,
        "circuit": job.circuit,
        "target": job.target,
        "shots": job.shots,
        "job_id": (job.handle or {}).get("job_id"),
        "counts": _sorted_counts(counts),
    }
    found = execution.timings(_live_handle(ctx, job)) if job.handle is not None else None
    if found is not None:
        record["timings"] = found  # kept with the counts: the job directory may be gc'd
    write_json_atomic(path, record)
    return path


def job_counts(ctx: RunJobs, job: JobRecord) -> Any:
    """A finished job's counts from its result file (None if it has none yet).

    A missing or unreadable result file is fetched again from the provider by
    the job's handle and rewritten atomically. Raises StateError naming the
    file if the provider cannot return it either.
    """
    if not job.result_file:
        return None
    path = Path(job.result_file)
    try:
        return read_json(path)["counts"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    removed = gcrecord.read(ctx.store, job.run_id)
    if removed is not None and removed.says(gcrecord.RESULTS):
        raise StateError(removed.message(job.run_id, "its results were"))
    try:
        if job.handle is None:
            raise StateError("no provider handle was recorded")
        provider = _provider(ctx, job)
        counts = execution.result(provider, _live_handle(ctx, job))
    except (QorchError, OSError, ValueError, KeyError, TypeError) as error:
        raise StateError(
            f"result file {path} of job {job.idx} ({job.circuit} on {job.target}) is missing "
            f"or unreadable, and its provider cannot return the counts again ({error}); "
            "restore the file from a backup, or start a fresh run with --new"
        ) from None
    written = _write_result(ctx, job, counts)
    if written.resolve() != path.resolve():
        ctx.store.update_job(job.run_id, job.idx, job.status, job.message, str(written))
    ctx.notify(f"{path} was missing or unreadable; fetched job {job.idx}'s counts again")
    return _sorted_counts(counts)


def _sorted_counts(counts: Result) -> Any:
    if isinstance(counts, list):
        return [dict(sorted(item.items())) for item in counts]
    return dict(sorted(counts.items()))


def result_path(ctx: RunJobs, idx: int) -> Path:
    """Where job ``idx``'s counts are written."""
    from qorch.store.state import result_file_path

    return result_file_path(ctx.state_dir, ctx.run.run_id, idx)


def wait(
    ctx: RunJobs,
    *,
    timeout_s: float | None,
    poll_s: float = 0.5,
    on_poll: Callable[[list[JobRecord]], None] | None = None,
) -> bool:
    """Poll until every job is final (True) or ``timeout_s`` passes (False)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    interval = min(poll_s, 0.2) / 1.5
    while True:
        interrupt.raise_if_interrupted()
        jobs = refresh(ctx)
        if any(_restart_due(job) for job in jobs):
            submit_pending(ctx)  # restarts the dead workers, under the run's lock
            jobs = ctx.store.jobs(ctx.run.run_id)
        if on_poll is not None:
            on_poll(jobs)
        if all(job.status in JOB_FINAL for job in jobs):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        interval = next_poll_s(interval, jobs, poll_s)
        time.sleep(interval)


LOCAL_POLL_S = 0.1


def next_poll_s(interval_s: float, jobs: list[JobRecord], poll_s: float) -> float:
    """The next pause between polls: growing by half up to ``poll_s`` while a cloud job
    runs, at most LOCAL_POLL_S (or ``poll_s`` if shorter) while every unfinished job runs
    in a local worker.

    Polling a local job reads a few small files, and the run ends when the last
    result lands: a pause grown to two seconds would add up to two to every run
    on local simulators.
    """
    pending = [job for job in jobs if job.status not in JOB_FINAL]
    local = bool(pending) and all(
        job.handle is not None and execution.is_local(job.handle) for job in pending
    )
    return min(min(poll_s, LOCAL_POLL_S) if local else poll_s, interval_s * 1.5)


def _restart_due(job: JobRecord) -> bool:
    """True for a local job whose worker died and which waits for a fresh one."""
    return job.status == "queued" and job.message.startswith(execution.RESTART_PENDING)


def cancel(ctx: RunJobs) -> list[str]:
    """Cancel every unfinished job; returns one line per job that could not be cancelled.

    Holds the run's lock. A job whose submission was never confirmed (left
    ``submitting`` by a process that died, or failed by a network error) is
    first looked for at its provider by its token and cancelled there; only
    a job the provider never received is cancelled in the store alone.
    """
    problems: list[str] = []
    with _submission_lock(ctx):
        for job in ctx.store.jobs(ctx.run.run_id):
            problem = _cancel_job(ctx, job)
            if problem is not None:
                problems.append(f"{job.circuit} on {job.target}: {problem}")
    refresh(ctx)
    return problems


def _cancel_job(ctx: RunJobs, job: JobRecord) -> str | None:
    """Cancel one job (under the run's lock); a line saying why not, or None."""
    unconfirmed = job.status == "submitting" or (
        job.status == "failed" and job.message.startswith(SUBMISSION_UNCONFIRMED)
    )
    never_sent = job.status == "pending" or (
        job.status == "failed" and job.message.startswith(NOT_SUBMITTED)
    )
    if job.handle is None and never_sent:
        ctx.store.update_job(job.run_id, job.idx, "cancelled", "cancelled before submission")
        return None
    if job.status in JOB_FINAL and not (job.handle is None and unconfirmed):
        return None
    provider = _provider(ctx, job)
    handle: Handle | None = None
    try:
        handle = _live_handle(ctx, job) if job.handle is not None else _find(ctx, job)
        if handle is None:
            message = "cancelled before submission (its provider never received it)"
            ctx.store.update_job(job.run_id, job.idx, "cancelled", message)
            return None
        execution.cancel(provider, handle)
    except CancelUnsupportedError as error:
        if handle is not None and _finished(provider, handle):
            return None  # it finished since the store last looked: collected below
        return str(error)
    except (NetworkError, CredentialsError) as error:
        return (
            f"could not ask its provider ({error}); it may have been submitted and may run: "
            "fix this and cancel again"
        )
    except QorchError as error:
        return f"its provider refused to cancel it ({error}); it may still run"
    return None


def _finished(provider: Provider, handle: Handle) -> bool:
    """True if the job behind ``handle`` has finished (False if its provider cannot say)."""
    try:
        return execution.status(provider, handle).state.final
    except QorchError:
        return False


def _find(ctx: RunJobs, job: JobRecord) -> Handle | None:
    """The provider's handle of a job whose submission was not confirmed, recorded; None if
    the provider has no trace of it. A local job is marked cancelled first, so a worker
    started by the recovery never runs it."""
    request = ctx.job_request(job)
    provider = _provider(ctx, job)
    execution.request_cancel(provider, request)
    handle = execution.recover(provider, request)
    if handle is None:
        return None
    _record_handle(ctx, job, handle)
    return handle


def run_status(jobs: list[JobRecord]) -> str:
    """A run's status from its jobs' statuses."""
    statuses = {job.status for job in jobs}
    if not statuses:
        return "completed"
    if statuses & {"pending", "submitting"}:
        return "submitting"
    if not statuses <= set(JOB_FINAL):
        return "running"
    if statuses == {"done"}:
        return "completed"
    if "failed" in statuses:
        return "failed"
    return "cancelled"


def _set_run_status(ctx: RunJobs) -> None:
    status = run_status(ctx.store.jobs(ctx.run.run_id))
    if status != ctx.run.status:
        ctx.store.set_run_status(ctx.run.run_id, status)
        ctx.run = ctx.store.run(ctx.run.run_id)
