"""Local jobs that behave like cloud jobs: detached, re-attachable, at most once.

A provider whose device runs on this machine calls :func:`submit`; the job
then runs in a detached worker process (``python -m qorch.worker DIR``) that
outlives the submitting process, so killing ``qorch run`` does not kill its
jobs, and a later ``qorch`` re-attaches from the handle, as it would to an IBM
or Braket job. Each job is a directory named by the job's idempotency token::

    request.json   what to run (written last: its presence means "created")
    payload.*      the translated circuit
    claim          created with O_EXCL by the one worker that executes the job
    state          "queued" or "running"
    result.json    counts, written atomically
    error.json     why it failed
    cancel         cancellation requested

The ``claim`` file makes execution at-most-once even if two workers start.
Workers take one of ``QORCH_LOCAL_WORKERS`` (default: CPU count) slots,
held by ``flock``, so many jobs do not oversubscribe the machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from qorch.fsutil import read_json, write_bytes_atomic, write_json_atomic
from qorch.provider import (
    Handle,
    JobRequest,
    JobState,
    JobStatus,
    Payload,
    Result,
    TargetOptions,
)

STARTUP_GRACE_S = 120.0
CANCEL_WAIT_S = 5.0
_children: dict[int, subprocess.Popen[bytes]] = {}


def job_dir(request: JobRequest) -> Path:
    """The directory of the job with this request's token."""
    return request.workdir / request.token


def submit(request: JobRequest, provider: str) -> Handle:
    """Create the job directory (once per token) and start its worker."""
    directory = job_dir(request)
    if not (directory / "request.json").exists():
        directory.mkdir(parents=True, exist_ok=True)
        payload_name = f"payload.{request.payload.extension}"
        write_bytes_atomic(directory / payload_name, request.payload.data)
        write_json_atomic(directory / "request.json", _request_record(request, provider))
    pid = _spawn(directory)
    return {"job_id": request.token, "dir": str(directory.resolve()), "spawn_pid": pid}


def recover(request: JobRequest) -> Handle | None:
    """Re-attach to a job a crashed submit created; start its worker if none ever ran."""
    directory = job_dir(request)
    if not (directory / "request.json").exists():
        return None
    handle: Handle = {"job_id": request.token, "dir": str(directory.resolve())}
    if not (directory / "claim").exists() and not _final(directory):
        handle["spawn_pid"] = _spawn(directory)
    return handle


def status(handle: Handle) -> JobStatus:
    """The job's state, from its directory and the liveness of its worker."""
    directory = Path(handle["dir"])
    if (directory / "result.json").exists():
        return JobStatus(JobState.DONE)
    if (directory / "error.json").exists():
        return JobStatus(JobState.FAILED, str(read_json(directory / "error.json")["message"]))
    claim = _read_claim(directory)
    if claim is not None:
        if _alive(claim, directory):
            state = _read_state(directory)
            return JobStatus(JobState.RUNNING if state == "running" else JobState.QUEUED, state)
        if (directory / "cancel").exists():
            return JobStatus(JobState.CANCELLED, "cancelled")
        return JobStatus(JobState.FAILED, f"worker {claim} died; see {directory / 'worker.log'}")
    if (directory / "cancel").exists():
        return JobStatus(JobState.CANCELLED, "cancelled before it started")
    return _unclaimed_status(handle, directory)


def result(handle: Handle) -> Result:
    """Counts of a finished job (a list of Counts for a job with parameter sets)."""
    counts = read_json(Path(handle["dir"]) / "result.json")["counts"]
    if isinstance(counts, list):
        return [{str(k): int(v) for k, v in item.items()} for item in counts]
    return {str(k): int(v) for k, v in counts.items()}


def cancel(handle: Handle) -> bool:
    """Request cancellation and stop the worker. False if the job had already finished."""
    directory = Path(handle["dir"])
    if _final(directory):
        return False
    (directory / "cancel").touch()
    claim = _read_claim(directory)
    if claim is not None and _alive(claim, directory):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(claim, signal.SIGTERM)
        deadline = time.monotonic() + CANCEL_WAIT_S
        while _alive(claim, directory) and time.monotonic() < deadline:
            time.sleep(0.05)
    return True


def load_request(directory: Path) -> tuple[JobRequest, str]:
    """The request stored in a job directory and its provider's name (for the worker)."""
    record = read_json(directory / "request.json")
    payload_record = record["payload"]
    payload = Payload(
        format=payload_record["format"],
        data=(directory / payload_record["file"]).read_bytes(),
        num_qubits=payload_record["num_qubits"],
        num_clbits=payload_record["num_clbits"],
        depth=payload_record["depth"],
        two_qubit_gates=payload_record["two_qubit_gates"],
        measured_clbits=tuple(payload_record["measured_clbits"]),
        gate_counts=payload_record.get("gate_counts", {}),
    )
    options = TargetOptions(**record["options"])
    request = JobRequest(
        device=record["device"],
        payload=payload,
        shots=record["shots"],
        seed=record["seed"],
        token=record["token"],
        options=options,
        tags=record["tags"],
        workdir=directory.parent,
        group=record.get("group", ""),
        group_size=record.get("group_size", 1),
        parameter_values=tuple(tuple(row) for row in record.get("parameter_values", [])),
    )
    return request, record["provider"]


def _request_record(request: JobRequest, provider: str) -> dict[str, Any]:
    payload = request.payload
    return {
        "provider": provider,
        "device": request.device,
        "shots": request.shots,
        "seed": request.seed,
        "token": request.token,
        "tags": dict(request.tags),
        "group": request.group,
        "group_size": request.group_size,
        "parameter_values": [list(row) for row in request.parameter_values],
        "options": {
            "optimization_level": request.options.optimization_level,
            "noise": request.options.noise,
            "max_execution_time_s": request.options.max_execution_time_s,
            "extra": dict(request.options.extra),
        },
        "payload": {
            "file": f"payload.{payload.extension}",
            "format": payload.format,
            "num_qubits": payload.num_qubits,
            "num_clbits": payload.num_clbits,
            "depth": payload.depth,
            "two_qubit_gates": payload.two_qubit_gates,
            "measured_clbits": list(payload.measured_clbits),
            "gate_counts": dict(payload.gate_counts),
        },
        "created": time.time(),
    }


def _spawn(directory: Path) -> int:
    log = open(directory / "worker.log", "ab")  # noqa: SIM115 - handed to the child
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "qorch.worker", str(directory.resolve())],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        log.close()
    _children[child.pid] = child
    return child.pid


def _final(directory: Path) -> bool:
    return (directory / "result.json").exists() or (directory / "error.json").exists()


def _read_claim(directory: Path) -> int | None:
    try:
        text = (directory / "claim").read_text().strip()
    except FileNotFoundError:
        return None
    return int(text) if text else 0


def _read_state(directory: Path) -> str:
    try:
        return (directory / "state").read_text().strip()
    except FileNotFoundError:
        return "queued"


def _alive(pid: int, directory: Path | None = None) -> bool:
    """True if process ``pid`` runs (and, on Linux, is the worker of ``directory``)."""
    if pid <= 0:
        return True  # claim file being written: the worker is starting
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    cmdline = Path(f"/proc/{pid}/cmdline")
    if directory is not None and cmdline.exists():
        try:
            return str(directory.resolve()).encode() in cmdline.read_bytes()
        except OSError:
            return False
    return True


def _unclaimed_status(handle: Handle, directory: Path) -> JobStatus:
    spawn_pid = handle.get("spawn_pid")
    if spawn_pid is not None and _alive(int(spawn_pid), directory):
        return JobStatus(JobState.QUEUED, "worker starting")
    # re-check: the worker may have claimed and finished between our reads
    if _final(directory) or (directory / "claim").exists():
        return status(handle)
    age = time.time() - (directory / "request.json").stat().st_mtime
    if age < STARTUP_GRACE_S and spawn_pid is None:
        return JobStatus(JobState.QUEUED, "waiting for a worker")
    return JobStatus(JobState.FAILED, f"worker never started; see {directory / 'worker.log'}")
