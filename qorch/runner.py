"""Submit a bundle's jobs, re-attach to them, collect results: resumable at every step.

The order of writes makes a crash at any point resumable without submitting
a job twice: the job's intent (``submitting``) is committed before the
provider call, its handle right after. Only the holder of the run's lock
submits, so a job found in ``submitting`` by the lock holder was left by a
process that died mid-call; the provider's ``recover`` then finds the job if
it was created (by its idempotency token) before qorch submits again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qorch import registry
from qorch.bundle import read_bundle
from qorch.compile import CompiledBundle
from qorch.errors import (
    CancelUnsupportedError,
    CredentialsError,
    NetworkError,
    QorchError,
    StateError,
)
from qorch.fsutil import read_json, write_json_atomic
from qorch.lock import file_lock
from qorch.provider import JobRequest, JobState, Payload, Result
from qorch.state import JOB_FINAL, JobRecord, NewJob, RunRecord, StateStore
from qorch.targets import options_from_record

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


def submit_pending(ctx: RunContext) -> int:
    """Submit every job not yet submitted; returns how many were submitted or recovered.

    Holds the run's lock, so two qorch processes never submit the same run.
    """
    lock_path = ctx.state_dir / "locks" / f"{ctx.run.run_id}.lock"

    def waiting(holder: str) -> None:
        ctx.notify(f"run {ctx.run.run_id} is being submitted by process {holder}; waiting")

    count = 0
    with file_lock(lock_path, on_wait=waiting):
        for job in ctx.store.jobs(ctx.run.run_id):
            if job.status == "submitting":
                count += _resume_submission(ctx, job)
            elif job.status == "pending" and ctx.store.mark_submitting(job.run_id, job.idx):
                _submit(ctx, job, _request(ctx, job))
                count += 1
    _set_run_status(ctx)
    return count


def _submit(ctx: RunContext, job: JobRecord, request: JobRequest) -> None:
    provider = registry.load(request_provider(ctx, job))
    try:
        handle = provider.submit(request)
    except (NetworkError, CredentialsError):
        raise  # may or may not have reached the provider: stays 'submitting', resumable
    except QorchError as error:
        ctx.store.update_job(job.run_id, job.idx, "failed", f"submission failed: {error}")
        ctx.notify(f"job {job.idx} ({job.circuit} on {job.target}): submission failed: {error}")
        return
    ctx.store.record_handle(job.run_id, job.idx, handle)
    ctx.notify(f"submitted {job.circuit} to {job.target} as {handle['job_id']}")


def _resume_submission(ctx: RunContext, job: JobRecord) -> int:
    request = _request(ctx, job)
    provider = registry.load(request_provider(ctx, job))
    handle = provider.recover(request)
    if handle is not None:
        ctx.store.record_handle(job.run_id, job.idx, handle)
        ctx.notify(f"re-attached {job.circuit} on {job.target} to {handle['job_id']}")
        return 1
    _submit(ctx, job, request)
    return 1


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
        workdir=ctx.state_dir / "jobs",
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
        status = provider.status(job.handle)
        if status.state is JobState.DONE:
            _collect(ctx, job, provider.result(job.handle))
        elif status.state.value != job.status or status.message != job.message:
            ctx.store.update_job(job.run_id, job.idx, status.state.value, status.message)
            if status.state.final:
                ctx.notify(f"{job.circuit} on {job.target}: {status.state.value} {status.message}")
    _set_run_status(ctx)
    return ctx.store.jobs(ctx.run.run_id)


def _collect(ctx: RunContext, job: JobRecord, counts: Result) -> None:
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
    ctx.store.update_job(job.run_id, job.idx, "done", "", str(path))
    ctx.notify(f"{job.circuit} on {job.target}: done")


def _sorted_counts(counts: Result) -> Any:
    if isinstance(counts, list):
        return [dict(sorted(item.items())) for item in counts]
    return dict(sorted(counts.items()))


def result_path(ctx: RunContext, idx: int) -> Path:
    """Where job ``idx``'s counts are written."""
    return ctx.state_dir / "runs" / ctx.run.run_id / "results" / f"{idx:04d}.json"


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
        jobs = refresh(ctx)
        if on_poll is not None:
            on_poll(jobs)
        if all(job.status in JOB_FINAL for job in jobs):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(interval)
        interval = min(poll_s, interval * 1.5)


def cancel(ctx: RunContext) -> list[str]:
    """Cancel every unfinished job; returns one line per job that could not be cancelled."""
    problems: list[str] = []
    for job in ctx.store.jobs(ctx.run.run_id):
        if job.status in JOB_FINAL:
            continue
        if job.handle is None:
            ctx.store.update_job(job.run_id, job.idx, "cancelled", "cancelled before submission")
            continue
        provider = registry.load(request_provider(ctx, job))
        try:
            provider.cancel(job.handle)
        except CancelUnsupportedError as error:
            problems.append(f"{job.circuit} on {job.target}: {error}")
    refresh(ctx)
    return problems


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
        counts = read_json(Path(job.result_file))["counts"] if job.result_file else None
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
        from qorch.distributed.report import results

        data["distributed"] = results(ctx.bundle.manifest, out_jobs)
    return data


def write_summary(ctx: RunContext) -> Path:
    """Write the run's summary to ``runs/<run_id>/results.json`` atomically."""
    path = ctx.state_dir / "runs" / ctx.run.run_id / "results.json"
    write_json_atomic(path, summary(ctx))
    return path


def find_state_dirs(start: Path) -> list[Path]:
    """State directories near ``start``: its ``.qorch`` and its subdirectories' (depth ≤ 2)."""
    found: list[Path] = []
    for pattern in (".qorch", "*/.qorch", "*/*/.qorch"):
        found.extend(path for path in sorted(start.glob(pattern)) if (path / "state.db").exists())
    return found


def locate_run(run_id: str, state_dirs: list[Path]) -> StateStore:
    """The store among ``state_dirs`` that holds ``run_id``. Raises StateError."""
    matches = []
    for directory in state_dirs:
        store = StateStore(directory)
        try:
            store.run(run_id)
        except StateError:
            store.close()
            continue
        matches.append(store)
    if len(matches) == 1:
        return matches[0]
    where = ", ".join(str(d) for d in state_dirs) or "no state directory found"
    if not matches:
        raise StateError(f"no run '{run_id}' (looked in: {where}); set QORCH_STATE_DIR?")
    raise StateError(f"run '{run_id}' is in several state directories ({where})")
