"""A local job's ``request.json``: what to run, written by the submitter and read by
whoever executes the job (a detached worker, or ``qorch`` itself inline). One module
for both, so the worker does not reach back into :mod:`qorch.engine.localjob`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from qorch.contract.provider import (
    JobRequest,
    Payload,
    TargetOptions,
    observables_from_json,
)
from qorch.store.fsutil import read_json


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
        observables=observables_from_json(record.get("observables")),
    )
    return request, record["provider"]


def request_record(request: JobRequest, provider: str) -> dict[str, Any]:
    """The JSON record of ``request`` (its payload is written beside it, in ``file``)."""
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
        "observables": [[[label, c] for label, c in terms] for terms in request.observables],
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
