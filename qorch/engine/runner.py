"""Runs: open or re-attach to a run and its bundles, build its jobs' requests, summarise it.

Its jobs are submitted, recovered, restarted, collected and cancelled by
:mod:`qorch.engine.jobs` (resumable at every step), which reaches providers
through :mod:`qorch.engine.execution`; the names used from here are re-exported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qorch.contract.errors import StateError
from qorch.contract.provider import JobRequest, Payload, observables_from_json
from qorch.engine.bundle import read_bundle
from qorch.engine.compile import CompiledBundle, merge_bundles
from qorch.engine.execution import JOBS_DIR
from qorch.engine.jobs import (  # noqa: F401 - re-exported: a run's jobs live there
    NOT_SUBMITTED,
    SUBMISSION_UNCONFIRMED,
    cancel,
    job_counts,
    refresh,
    result_path,
    run_status,
    submit_pending,
    wait,
)
from qorch.engine.manifest import ManifestJob
from qorch.engine.targets import options_from_record
from qorch.store import gcrecord
from qorch.store.state import JobRecord, RunRecord, StateStore

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

    def job_spec(self, idx: int) -> ManifestJob:
        """The manifest record of job ``idx``."""
        jobs = self.bundle.manifest.jobs
        if idx < len(jobs) and jobs[idx].index == idx:
            return jobs[idx]
        for job in jobs:
            if job.index == idx:
                return job
        raise StateError(f"run {self.run.run_id}: no job {idx} in its bundles")

    def job_provider(self, job: JobRecord) -> str:
        """The name of the job's provider."""
        return request_provider(self, job)

    def job_request(self, job: JobRecord) -> JobRequest:
        """What the job's provider is given: payload, shots, seed, token, options."""
        return _request(self, job)

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
    plan = bundle.manifest.plan
    key = idem_key or plan.hash
    run, created = store.open_run(
        idem_key=key,
        new=new,
        plan_path=plan_path,
        plan_name=plan.name,
        plan_hash=plan.hash,
        kind=plan.kind,
        bundle_dir=str(bundle_dir.resolve()),
        jobs=bundle.new_jobs(),
    )
    if not created and run.plan_hash != plan.hash:
        raise StateError(
            f"idempotency key '{key}' already names run {run.run_id} of a different version "
            f"of the plan; pass --new to start another run, or use another key"
        )
    return RunContext(store, run, bundle, notify), created


def attach(store: StateStore, run_id: str, notify: Notify = _quiet) -> RunContext:
    """Re-open an existing run (and its bundles) by id or unique id prefix."""
    run = store.run(run_id)
    removed = gcrecord.read(store, run.run_id)
    gone = not (Path(run.bundle_dir) / "manifest.json").exists()
    if removed is not None and removed.says(gcrecord.BUNDLE) and gone:
        raise StateError(removed.message(run.run_id, "its bundle and results were"))
    pruned = removed is not None and bool(removed.removed & {gcrecord.PAYLOADS, gcrecord.BUNDLE})
    ctx = RunContext(store, run, read_bundle(Path(run.bundle_dir), pruned=pruned), notify)
    late = run_bundle_dir(store.directory, run.run_id)
    if (late / "manifest.json").exists():
        ctx.add_bundle(read_bundle(late, ctx.bundle.manifest.plan, pruned=pruned))
    return ctx


def run_bundle_dir(state_dir: Path, run_id: str) -> Path:
    """Where a run keeps the bundle of jobs it adds after compile (QCNN evaluation)."""
    return state_dir / "runs" / run_id / "bundle"


def request_provider(ctx: RunContext, job: JobRecord) -> str:
    """The provider name of a job."""
    return ctx.job_spec(job.idx).provider


def _request(ctx: RunContext, job: JobRecord) -> JobRequest:
    spec = ctx.job_spec(job.idx)
    data = ctx.bundle.payloads.get(spec.payload)
    if data is None:
        raise StateError(
            f"run {ctx.run.run_id}: the payload of job {job.idx} ({spec.payload}) was removed "
            "by 'qorch gc'; start a fresh run of the plan with --new"
        )
    payload = Payload(
        format=spec.format,
        data=data,
        num_qubits=spec.num_qubits,
        num_clbits=spec.num_clbits,
        depth=spec.depth,
        two_qubit_gates=spec.two_qubit_gates,
        gate_counts=spec.gate_counts,
        measured_clbits=tuple(spec.measured_clbits),
    )
    same_target = sum(1 for other in ctx.bundle.jobs if other.target == spec.target)
    return JobRequest(
        device=spec.device,
        payload=payload,
        shots=job.shots,
        seed=spec.seed,
        token=job.token,
        options=options_from_record(spec.options),
        tags={"qorch-run": ctx.run.run_id, "qorch-plan": ctx.run.plan_name},
        workdir=ctx.state_dir / JOBS_DIR,
        group=ctx.run.run_id,
        group_size=same_target,
        parameter_values=tuple(tuple(row) for row in spec.parameter_values or ()),
        observables=observables_from_json(spec.observables),
    )


def summary(ctx: RunContext) -> dict[str, Any]:
    """The run as the documented JSON contract (``run_id``, ``plan``, ``status``, ``jobs``);
    :mod:`qorch.engine.results` adds its workload's fields."""
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
                "cost_usd": spec.cost_usd,
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
    return data
