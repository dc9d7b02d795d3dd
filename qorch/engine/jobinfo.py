"""``qorch show``: one job of a run, as far as the store, the bundle and the result files know it.

Read-only and quick: no provider is asked (``qorch status`` does that) and no
payload is loaded, so it also works on a run whose payloads or bundle
``qorch gc`` removed (it says so instead of the missing figures).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from qorch.contract.errors import StateError
from qorch.engine import execution
from qorch.engine.manifest import ManifestJob, parse_manifest
from qorch.store import gcrecord
from qorch.store.fsutil import read_json
from qorch.store.state import JobRecord, RunRecord, StateStore


def manifest_jobs(store: StateStore, run: RunRecord) -> dict[int, tuple[ManifestJob, Path]]:
    """The run's manifest job records by index, each with the bundle directory holding it:
    its bundle's and those it added after compile (QCNN evaluation); none from a bundle
    that is gone (``qorch gc --include-results``)."""
    found: dict[int, tuple[ManifestJob, Path]] = {}
    plan = None
    for directory in (Path(run.bundle_dir), store.directory / "runs" / run.run_id / "bundle"):
        path = directory / "manifest.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        manifest = parse_manifest(data, str(path), plan)
        plan = manifest.plan
        found.update({job.index: (job, directory) for job in manifest.jobs})
    return found


def references(store: StateStore, run: RunRecord) -> dict[str, dict[str, float] | None]:
    """The ideal distributions compile stored in the run's bundle (circuit → distribution)."""
    try:
        data = json.loads((Path(run.bundle_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    found = data.get("references") if isinstance(data, dict) else None
    return dict(found) if isinstance(found, dict) else {}


def pick_job(store: StateStore, run: RunRecord, job: str) -> JobRecord:
    """The run's job named ``job``: its index (``#`` in ``qorch status``) or its provider
    job id. Raises StateError listing what exists."""
    jobs = store.jobs(run.run_id)
    for record in jobs:
        handle_id = (record.handle or {}).get("job_id")
        if job in (str(record.idx), handle_id, record.token):
            return record
    span = f"0–{len(jobs) - 1}" if jobs else "none"
    raise StateError(
        f"run {run.run_id} has no job '{job}' (jobs: {span}; give the # or the job id that "
        f"'qorch status {run.run_id}' shows)"
    )


def brief(store: StateStore, run: RunRecord) -> dict[str, Any]:
    """The run and one line per job, for ``qorch show RUN`` without a job."""
    specs = manifest_jobs(store, run)
    rows = []
    for job in store.jobs(run.run_id):
        spec = specs[job.idx][0] if job.idx in specs else None
        rows.append({"index": job.idx, "circuit": job.circuit, "target": job.target,
                     "status": job.status, "job_id": (job.handle or {}).get("job_id"),
                     "depth": spec.depth if spec else None,
                     "two_qubit_gates": spec.two_qubit_gates if spec else None})  # fmt: skip
    return {"run_id": run.run_id, "plan": run.plan_path, "status": run.status, "jobs": rows}


def detail(store: StateStore, run: RunRecord, job: JobRecord) -> dict[str, Any]:
    """Everything known about one job: where it ran, its provider id, transpiled figures,
    timings, shots, cost, error text and where its payload and result are."""
    spec, payload = None, None
    found = manifest_jobs(store, run).get(job.idx)
    if found is not None:
        spec, payload = found[0], found[1] / found[0].payload
    removed = gcrecord.read(store, run.run_id)
    handle = job.handle or {}
    local_dir = None
    if handle and execution.is_local(handle):
        local_dir = Path(execution.resolve_handle(handle, store.directory)["dir"])
    out: dict[str, Any] = {
        "run_id": run.run_id,
        "index": job.idx,
        "circuit": job.circuit,
        "target": job.target,
        "status": job.status,
        "job_id": handle.get("job_id"),
        "token": job.token,
        "local": local_dir is not None,
        "shots": job.shots,
        "parameter_sets": len(spec.parameter_values or ()) if spec is not None else None,
        "num_qubits": spec.num_qubits if spec is not None else None,
        "depth": spec.depth if spec is not None else None,
        "two_qubit_gates": spec.two_qubit_gates if spec is not None else None,
        "gate_counts": dict(spec.gate_counts) if spec is not None else None,
        "cost_usd": spec.cost_usd if spec is not None else None,
        "cost_basis": spec.cost_basis if spec is not None else None,
        "error": job.message if job.status in ("failed", "cancelled") else None,
        "message": job.message,
        "timings": timings(job, local_dir),
        "payload": str(payload) if payload is not None else None,
        "payload_exists": bool(payload is not None and payload.exists()),
        "result_file": job.result_file,
        "job_dir": str(local_dir) if local_dir is not None and local_dir.exists() else None,
        "removed_by_gc": sorted(removed.removed) if removed else [],
        "gc_at": removed.at if removed else None,
    }
    return out


def timings(job: JobRecord, local_dir: Path | None) -> dict[str, Any]:
    """``submitted`` and ``finished`` (as qorch recorded them), ``started``/``ended`` of the
    execution where the job's worker recorded them, and the seconds between:
    ``queued_s`` (submitted → started), ``ran_s`` and ``total_s`` (submitted → finished)."""
    ran: dict[str, Any] = {}
    sources = [Path(job.result_file)] if job.result_file else []
    if local_dir is not None:
        sources.append(local_dir / "result.json")
    for source in sources:
        try:
            record = read_json(source)
        except (OSError, ValueError):
            continue
        found = record.get("timings", record) if isinstance(record, dict) else {}
        if isinstance(found, dict) and "started" in found:
            ran = {key: found.get(key) for key in ("started", "ended", "ran_s")}
            break
    submitted, finished = job.submitted, job.finished
    return {
        "submitted": submitted,
        "started": ran.get("started"),
        "ended": ran.get("ended"),
        "finished": finished,
        "queued_s": _seconds(submitted, ran.get("started")),
        "ran_s": ran.get("ran_s"),
        "total_s": _seconds(submitted, finished),
    }


def _seconds(start: str | None, end: str | None) -> float | None:
    """Seconds from ``start`` to ``end`` (ISO 8601), at least 0; None if either is unknown.
    (``submitted`` is recorded to the second, after the provider accepted the job.)"""
    if not start or not end:
        return None
    try:
        begin = datetime.fromisoformat(start.replace("Z", "+00:00"))
        stop = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return None
    return round(max(0.0, (stop - begin).total_seconds()), 3)
