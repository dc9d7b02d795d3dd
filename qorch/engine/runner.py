"""Submit a bundle's jobs, re-attach to them, collect results: resumable at every step.

The order of writes makes a crash at any point resumable without submitting
a job twice: the job's intent (``submitting``) is committed before the
provider call, its handle right after. Only the holder of the run's lock
submits, so a job found in ``submitting`` by the lock holder was left by a
process that died mid-call; the provider's ``recover`` then finds the job if
it was created (by its idempotency token) before qorch submits again.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qorch.contract.errors import (
    CancelUnsupportedError,
    CredentialsError,
    NetworkError,
    QorchError,
    StateError,
)
from qorch.contract.provider import Handle, JobRequest, JobState, Payload, Result
from qorch.engine import interrupt, localjob, registry
from qorch.engine.bundle import read_bundle
from qorch.engine.compile import CompiledBundle
from qorch.engine.targets import options_from_record
from qorch.store.fsutil import read_json, write_json_atomic
from qorch.store.lock import file_lock
from qorch.store.state import JOB_FINAL, JobRecord, NewJob, RunRecord, StateStore

Notify = Callable[[str], None]


def _quiet(message: str) -> None:
    """The default notifier: say nothing."""


@dataclass
class RunContext:
    """A run with its store and bundle: what every step below works on."""

    store: StateStore
    run: RunRecord
    bundle: CompiledBundle
    notify: Notify = field(default=_quiet)

    @property
    def state_dir(self) -> Path:
        """The state directory holding the store, job files and results."""
        return self.store.directory

    def job_spec(self, idx: int) -> dict[str, Any]:
        """The manifest record of job ``idx``."""
        jobs = self.bundle.manifest["jobs"]
        if idx < len(jobs) and jobs[idx]["index"] == idx:
            return dict(jobs[idx])
        for job in jobs:
            if job["index"] == idx:
                return dict(job)
        raise StateError(f"run {self.run.run_id}: no job {idx} in its bundles")

    def add_bundle(self, extra: CompiledBundle) -> None:
        """Merge a bundle of jobs added to the run after compile (e.g. QCNN evaluation)."""
        self.bundle = merge_bundles(self.bundle, extra)


def open_run(
    store: StateStore,
    bundle: CompiledBundle,
    bundle_dir: Path,
    *,
    plan_path: str,
    idem_key: str | None,
    new: bool,
    notify: Notify = _quiet,
) -> tuple[RunContext, bool]:
    """The run for this bundle's idempotency key (new if none, or if ``new``).

    Returns (context, created). Raises StateError if the key belongs to a run
    of a different plan.
    """
    manifest = bundle.manifest
    key = idem_key or manifest["plan"]["hash"]
    jobs = [NewJob(j["circuit"], j["target"], j["shots"], j["payload"]) for j in bundle.jobs]
    run, created = store.open_run(
        idem_key=key,
        new=new,
        plan_path=plan_path,
        plan_name=manifest["plan"]["name"],
        plan_hash=manifest["plan"]["hash"],
        kind=manifest["plan"]["kind"],
        bundle_dir=str(bundle_dir.resolve()),
        jobs=jobs,
    )
    if not created and run.plan_hash != manifest["plan"]["hash"]:
        raise StateError(
            f"idempotency key '{key}' already names run {run.run_id} of a different version "
            f"of the plan; pass --new to start another run, or use another key"
        )
    return RunContext(store, run, bundle, notify), created


def attach(store: StateStore, run_id: str, notify: Notify = _quiet) -> RunContext:
    """Re-open an existing run (and its bundles) by id or unique id prefix."""
    run = store.run(run_id)
    ctx = RunContext(store, run, read_bundle(Path(run.bundle_dir)), notify)
    late = run_bundle_dir(store.directory, run.run_id)
    if (late / "manifest.json").exists():
        ctx.add_bundle(read_bundle(late))
    return ctx


def run_bundle_dir(state_dir: Path, run_id: str) -> Path:
    """Where a run keeps the bundle of jobs it adds after compile (QCNN evaluation)."""
    return state_dir / "runs" / run_id / "bundle"


def merge_bundles(first: CompiledBundle, second: CompiledBundle) -> CompiledBundle:
    """One bundle holding both bundles' jobs and payloads (the first's manifest otherwise)."""
    manifest = dict(first.manifest)
    manifest["jobs"] = [*first.manifest["jobs"], *second.manifest["jobs"]]
    return CompiledBundle(manifest=manifest, payloads={**first.payloads, **second.payloads})


SUBMISSION_UNCONFIRMED = "submission not confirmed"
"""How the message of a job begins whose provider call failed without an answer (network,
credentials): the job is 'failed' until the next submit, which asks the provider first."""
NOT_SUBMITTED = "not submitted"
"""How the message of a job begins that was not sent because its provider failed before."""
_RETRIED = (SUBMISSION_UNCONFIRMED, NOT_SUBMITTED)


def submit_pending(ctx: RunContext) -> int:
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
        with _submission_lock(ctx):
            for job in ctx.store.jobs(ctx.run.run_id):
                count += _advance(ctx, job, broken)
    finally:
        _set_run_status(ctx)
    if broken:
        raise next(iter(broken.values()))
    return count


def _submission_lock(ctx: RunContext) -> contextlib.AbstractContextManager[None]:
    """The run's lock: held to submit, recover, restart or cancel its jobs."""

    def waiting(holder: str) -> None:
        ctx.notify(f"run {ctx.run.run_id} is being submitted by process {holder}; waiting")

    return file_lock(ctx.state_dir / "locks" / f"{ctx.run.run_id}.lock", on_wait=waiting)


def _advance(ctx: RunContext, job: JobRecord, broken: dict[str, QorchError]) -> int:
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
    provider = request_provider(ctx, job)
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
            _submit(ctx, job, _request(ctx, job))
    except (NetworkError, CredentialsError) as error:
        broken[provider] = _submission_failed(ctx, job, error)
        return 0
    return 1


def _submit(ctx: RunContext, job: JobRecord, request: JobRequest) -> None:
    """Submit a job marked ``submitting``. Network and credentials errors propagate (the
    call may or may not have reached the provider); other provider errors fail the job."""
    provider = registry.load(request_provider(ctx, job))
    try:
        handle = provider.submit(request)
    except (NetworkError, CredentialsError):
        raise
    except QorchError as error:
        ctx.store.update_job(job.run_id, job.idx, "failed", f"submission failed: {error}")
        ctx.notify(f"job {job.idx} ({job.circuit} on {job.target}): submission failed: {error}")
        return
    _record_handle(ctx, job, handle)
    ctx.notify(f"submitted {job.circuit} to {job.target} as {handle['job_id']}")


def _resume_submission(ctx: RunContext, job: JobRecord) -> int:
    """Ask the provider for a job whose submission was not confirmed; submit it if absent."""
    request = _request(ctx, job)
    provider = registry.load(request_provider(ctx, job))
    handle = provider.recover(request)
    if handle is not None:
        _record_handle(ctx, job, handle)
        ctx.notify(f"re-attached {job.circuit} on {job.target} to {handle['job_id']}")
        return 1
    _submit(ctx, job, request)
    return 1


def _submission_failed(ctx: RunContext, job: JobRecord, error: QorchError) -> QorchError:
    """Fail a job whose provider call failed without an answer; the error to raise."""
    message = (
        f"{SUBMISSION_UNCONFIRMED}: {error} (the next run asks the provider for this job "
        "before submitting it again)"
    )
    ctx.store.update_job(job.run_id, job.idx, "failed", message)
    ctx.notify(f"job {job.idx} ({job.circuit} on {job.target}): {message}")
    return type(error)(
        f"{job.target}: job {job.idx} ({job.circuit}) could not be submitted: {error}. "
        "Fix this and run the same command again: qorch first asks the provider whether "
        "it received the job, so it is never submitted twice"
    )


def _record_handle(ctx: RunContext, job: JobRecord, handle: Handle) -> None:
    """Store a provider's handle (a local job's directory relative to the state directory)."""
    ctx.store.record_handle(job.run_id, job.idx, localjob.portable_handle(handle, ctx.state_dir))


def _live_handle(ctx: RunContext, job: JobRecord) -> Handle:
    """A job's stored handle, ready to give its provider."""
    assert job.handle is not None
    return localjob.resolve_handle(job.handle, ctx.state_dir)


def _restart_worker(ctx: RunContext, job: JobRecord) -> None:
    """Start a fresh local worker if the job's worker died (bounded; see localjob.restart)."""
    if job.handle is None or not localjob.is_local_handle(job.handle):
        return
    done = localjob.restart(_live_handle(ctx, job))
    if done is not None:
        ctx.store.update_job(job.run_id, job.idx, "queued", done)
        ctx.notify(f"{job.circuit} on {job.target}: {done}")


def request_provider(ctx: RunContext, job: JobRecord) -> str:
    """The provider name of a job."""
    return str(ctx.job_spec(job.idx)["provider"])


def _request(ctx: RunContext, job: JobRecord) -> JobRequest:
    spec = ctx.job_spec(job.idx)
    payload = Payload(
        format=spec["format"],
        data=ctx.bundle.payloads[spec["payload"]],
        num_qubits=spec["num_qubits"],
        num_clbits=spec["num_clbits"],
        depth=spec["depth"],
        two_qubit_gates=spec["two_qubit_gates"],
        gate_counts=spec["gate_counts"],
        measured_clbits=tuple(spec["measured_clbits"]),
    )
    same_target = sum(1 for other in ctx.bundle.jobs if other["target"] == spec["target"])
    return JobRequest(
        device=spec["device"],
        payload=payload,
        shots=job.shots,
        seed=spec["seed"],
        token=job.token,
        options=options_from_record(spec["options"]),
        tags={"qorch-run": ctx.run.run_id, "qorch-plan": ctx.run.plan_name},
        workdir=ctx.state_dir / localjob.JOBS_DIR,
        group=ctx.run.run_id,
        group_size=same_target,
        parameter_values=tuple(tuple(row) for row in spec.get("parameter_values", ())),
    )


def refresh(ctx: RunContext) -> list[JobRecord]:
    """Ask providers about every unfinished submitted job; collect finished results."""
    for job in ctx.store.jobs(ctx.run.run_id):
        if job.status in JOB_FINAL or job.handle is None:
            continue
        provider = registry.load(request_provider(ctx, job))
        handle = _live_handle(ctx, job)
        status = provider.status(handle)
        if status.state is JobState.DONE:
            _collect(ctx, job, provider.result(handle))
        elif status.state.value != job.status or status.message != job.message:
            ctx.store.update_job(job.run_id, job.idx, status.state.value, status.message)
            if status.state.final:
                ctx.notify(f"{job.circuit} on {job.target}: {status.state.value} {status.message}")
    _set_run_status(ctx)
    return ctx.store.jobs(ctx.run.run_id)


def _collect(ctx: RunContext, job: JobRecord, counts: Result) -> None:
    path = _write_result(ctx, job, counts)
    ctx.store.update_job(job.run_id, job.idx, "done", "", str(path))
    ctx.notify(f"{job.circuit} on {job.target}: done")


def _write_result(ctx: RunContext, job: JobRecord, counts: Result) -> Path:
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
    write_json_atomic(path, record)
    return path


def job_counts(ctx: RunContext, job: JobRecord) -> Any:
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
    try:
        if job.handle is None:
            raise StateError("no provider handle was recorded")
        counts = registry.load(request_provider(ctx, job)).result(_live_handle(ctx, job))
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


def result_path(ctx: RunContext, idx: int) -> Path:
    """Where job ``idx``'s counts are written."""
    from qorch.store.state import result_file_path

    return result_file_path(ctx.state_dir, ctx.run.run_id, idx)


def wait(
    ctx: RunContext,
    *,
    timeout_s: float | None,
    poll_s: float = 0.5,
    on_poll: Callable[[list[JobRecord]], None] | None = None,
) -> bool:
    """Poll until every job is final (True) or ``timeout_s`` passes (False)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    interval = min(poll_s, 0.2)
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
        time.sleep(interval)
        interval = min(poll_s, interval * 1.5)


def _restart_due(job: JobRecord) -> bool:
    """True for a local job whose worker died and which waits for a fresh one."""
    return job.status == "queued" and job.message.startswith(localjob.RESTART_PENDING)


def cancel(ctx: RunContext) -> list[str]:
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


def _cancel_job(ctx: RunContext, job: JobRecord) -> str | None:
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
    provider = registry.load(request_provider(ctx, job))
    try:
        handle = _live_handle(ctx, job) if job.handle is not None else _find(ctx, job)
        if handle is None:
            message = "cancelled before submission (its provider never received it)"
            ctx.store.update_job(job.run_id, job.idx, "cancelled", message)
            return None
        provider.cancel(handle)
    except CancelUnsupportedError as error:
        return str(error)
    except (NetworkError, CredentialsError) as error:
        return (
            f"could not ask its provider ({error}); it may have been submitted and may run: "
            "fix this and cancel again"
        )
    except QorchError as error:
        return f"its provider refused to cancel it ({error}); it may still run"
    return None


def _find(ctx: RunContext, job: JobRecord) -> Handle | None:
    """The provider's handle of a job whose submission was not confirmed, recorded; None if
    the provider has no trace of it. A local job is marked cancelled first, so a worker
    started by the recovery never runs it."""
    request = _request(ctx, job)
    provider = registry.load(request_provider(ctx, job))
    if provider.device_is_local(request.device):
        localjob.request_cancel(request)
    handle = provider.recover(request)
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


def _set_run_status(ctx: RunContext) -> None:
    status = run_status(ctx.store.jobs(ctx.run.run_id))
    if status != ctx.run.status:
        ctx.store.set_run_status(ctx.run.run_id, status)
        ctx.run = ctx.store.run(ctx.run.run_id)


def summary(ctx: RunContext) -> dict[str, Any]:
    """The run as the documented JSON contract (``run_id``, ``plan``, ``status``, ``jobs``)."""
    jobs = ctx.store.jobs(ctx.run.run_id)
    run = ctx.store.run(ctx.run.run_id)
    out_jobs = []
    for job in jobs:
        spec = ctx.job_spec(job.idx)
        counts = job_counts(ctx, job)
        out_jobs.append(
            {
                "index": job.idx,
                "circuit": job.circuit,
                "target": job.target,
                "status": job.status,
                "shots": job.shots,
                "counts": counts,
                "job_id": (job.handle or {}).get("job_id"),
                "message": job.message,
                "submitted": job.submitted,
                "finished": job.finished,
                "cost_usd": spec["cost_usd"],
            }
        )
    data: dict[str, Any] = {
        "run_id": run.run_id,
        "plan": run.plan_path,
        "plan_name": run.plan_name,
        "kind": run.kind,
        "status": run.status,
        "created": run.created,
        "updated": run.updated,
        "idempotency_key": run.idem_key,
        "state_dir": str(ctx.state_dir),
        "jobs": out_jobs,
    }
    if "distributed" in ctx.bundle.manifest:
        from qorch.workloads.distributed.report import results

        data["distributed"] = results(ctx.bundle.manifest, out_jobs)
    return data


def write_summary(ctx: RunContext) -> Path:
    """Write the run's summary to ``runs/<run_id>/results.json`` atomically.

    Not rewritten when it holds the same; on a read-only file system left as it
    is (with a note), so a read-only store can still be read. Raises StateError.
    """
    from qorch.store.fsutil import dumps_json, write_text_atomic
    from qorch.store.statedb import is_read_only_fs

    path = ctx.state_dir / "runs" / ctx.run.run_id / "results.json"
    text = dumps_json(summary(ctx))
    try:
        unchanged = path.read_text(encoding="utf-8") == text
    except (OSError, ValueError):
        unchanged = False
    if unchanged:
        return path
    if is_read_only_fs(ctx.state_dir):
        ctx.notify(f"{path} not updated: {ctx.state_dir} is on a read-only file system")
        return path
    write_text_atomic(path, text)
    return path


def find_state_dirs(start: Path) -> list[Path]:
    """State directories for a command without a plan: the ``.qorch`` found upward from
    ``start`` (not above a ``.git``), then those in its subfolders (depth ≤ 2)."""
    from qorch.store.statedir import nearby_state_dirs

    return nearby_state_dirs(start)


def locate_run(run_id: str, state_dirs: list[Path]) -> StateStore:
    """The existing store among ``state_dirs`` that holds ``run_id`` (an id or a prefix).

    Never creates a store. Raises UsageError for an empty id, StateError if no
    run matches or a prefix matches several (naming them).
    """
    from qorch.contract.errors import UsageError
    from qorch.store.state import EMPTY_RUN_ID, ambiguous

    if not run_id.strip():
        raise UsageError(EMPTY_RUN_ID)
    if not state_dirs:
        raise StateError(
            "no qorch state found here (looked in .qorch upward from the current directory "
            "and in its subfolders); pass --state-dir or set QORCH_STATE_DIR"
        )
    exact: list[StateStore] = []
    prefixed: list[tuple[StateStore, str]] = []
    for directory in state_dirs:
        store = StateStore(directory, create=False)
        matches = store.matching_runs(run_id)
        if any(match.run_id == run_id for match in matches):
            exact.append(store)
        elif matches:
            prefixed.extend((store, match.run_id) for match in matches)
        else:
            store.close()
    if len(exact) == 1:
        return exact[0]
    if len(prefixed) == 1 and not exact:
        return prefixed[0][0]
    where = ", ".join(str(d) for d in state_dirs)
    if exact:
        raise StateError(f"run '{run_id}' is in several state directories ({where})")
    if not prefixed:
        raise StateError(f"no run '{run_id}' (looked in: {where}); set QORCH_STATE_DIR?")
    raise StateError(ambiguous(run_id, sorted(run for _, run in prefixed)))
