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
from qorch.contract.provider import JobRequest, Payload
from qorch.engine.bundle import read_bundle
from qorch.engine.compile import CompiledBundle
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
from qorch.engine.targets import options_from_record
from qorch.store.state import JobRecord, NewJob, RunRecord, StateStore

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
        workdir=ctx.state_dir / JOBS_DIR,
        group=ctx.run.run_id,
        group_size=same_target,
        parameter_values=tuple(tuple(row) for row in spec.get("parameter_values", ())),
    )


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
