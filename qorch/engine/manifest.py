"""The bundle manifest: one typed, versioned model for every plan kind, built in one place.

A manifest (``manifest.json``) records the plan it was compiled from, the
versions that compiled it, its totals and one record per provider job. A plan
kind keeps what its post-processing needs in ``extension`` (the distributed
kind's ``partition`` and ``distributed`` blocks, the qcnn kind's ``qcnn``
block); on disk those blocks sit at the top level beside the common fields, as
every qorch since format 1 wrote them, and ``qorch compile --json`` prints them
there. A job record may likewise carry its kind's own fields (a distributed
job's ``role``), kept as the record's extra fields.

Serialisation is canonical (sorted keys, two-space indent), so the same plan
gives byte-identical manifests.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qorch.contract.errors import StateError
from qorch.contract.provider import Cost, Payload, TargetOptions
from qorch.engine.targets import options_record

if TYPE_CHECKING:
    from pathlib import Path

    from qorch.engine.plan_base import PlanModel

BUNDLE_FORMAT = "qorch-bundle/1"
FORMATS_READ = (BUNDLE_FORMAT,)


class PlanInfo(BaseModel):
    """Which plan a bundle was compiled from: its file name, name, kind, hash and seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    name: str
    kind: str
    hash: str
    seed: int
    checks: list[dict[str, Any]] = Field(default_factory=list)  # the plan's checks: list

    @classmethod
    def of(cls, path: Path, plan: PlanModel, plan_hash: str) -> PlanInfo:
        """The record of ``plan`` (read from ``path``) with its hash and its checks."""
        checks = [check.model_dump(mode="json", exclude_none=True) for check in plan.checks]
        return cls(file=path.name, name=plan.name or path.stem, kind=plan.kind, hash=plan_hash,
                   seed=plan.seed, checks=checks)  # fmt: skip


class Totals(BaseModel):
    """What a bundle's jobs add up to."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jobs: int
    shots: int
    cost_usd: float


class ManifestJob(BaseModel):
    """One provider job: where it runs, its payload file and figures, its cost.

    Extra fields are the plan kind's own (e.g. ``role`` and ``label`` of a
    distributed job, ``first_row`` of a qcnn evaluation job): read them with
    :meth:`extra`.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    index: int
    circuit: str
    target: str
    target_index: int
    provider: str
    device: str
    options: dict[str, Any]
    shots: int
    seed: int
    payload: str
    payload_sha256: str
    format: str
    num_qubits: int
    num_clbits: int
    measured_clbits: list[int]
    depth: int
    two_qubit_gates: int
    gate_counts: dict[str, int]
    cost_usd: float
    cost_basis: str
    parameter_values: list[list[float]] | None = None  # one row per parameter set
    observables: list[list[tuple[str, float]]] | None = None  # estimated natively (JobRequest)

    def extra(self, name: str, default: Any = None) -> Any:
        """The kind-specific field ``name`` of this record (``default`` if it has none)."""
        return (self.model_extra or {}).get(name, default)

    def to_json(self) -> dict[str, Any]:
        """The record as written in ``manifest.json``."""
        data = self.model_dump(mode="json")
        for name in ("parameter_values", "observables"):
            if data[name] is None:
                del data[name]
        return data


class Manifest(BaseModel):
    """A bundle's manifest. ``extension`` holds the plan kind's own top-level blocks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: str = BUNDLE_FORMAT
    plan: PlanInfo
    versions: dict[str, str] = Field(default_factory=dict)
    totals: Totals
    jobs: list[ManifestJob] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)  # artefacts beside the payloads (a diagram)
    extension: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gather_extension(cls, data: Any) -> Any:
        """On disk the kind's blocks sit beside the common fields: gather them."""
        if not isinstance(data, dict) or "extension" in data:
            return data
        common = {key: value for key, value in data.items() if key in cls.model_fields}
        blocks = {key: value for key, value in data.items() if key not in cls.model_fields}
        return {**common, "extension": blocks}

    def to_json(self) -> dict[str, Any]:
        """The manifest as written in ``manifest.json`` (and printed by ``compile --json``)."""
        data: dict[str, Any] = {
            "format": self.format,
            "plan": self.plan.model_dump(mode="json"),
            "versions": dict(self.versions),
            "totals": self.totals.model_dump(mode="json"),
            "jobs": [job.to_json() for job in self.jobs],
        }
        if self.files:
            data["files"] = list(self.files)
        return {**data, **self.extension}

    def to_bytes(self) -> bytes:
        """The manifest's canonical JSON encoding."""
        return (json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n").encode()

    def with_jobs(self, jobs: list[ManifestJob]) -> Manifest:
        """This manifest holding ``jobs`` instead of its own (totals as they were)."""
        return self.model_copy(update={"jobs": jobs})


def build_manifest(
    plan: PlanInfo,
    jobs: list[ManifestJob],
    versions: dict[str, str],
    extension: dict[str, Any] | None = None,
    files: list[str] | None = None,
) -> Manifest:
    """The manifest of a compiled plan: the one place every kind's manifest is made.

    Totals are summed from ``jobs`` (a job's shots count once per parameter set);
    ``files`` are artefacts the bundle holds beside the payloads. Raises ValueError
    if an extension block would hide a common field.
    """
    blocks = dict(extension or {})
    clash = sorted(set(blocks) & set(Manifest.model_fields))
    if clash:
        raise ValueError(f"manifest extension blocks clash with common fields: {clash}")
    totals = Totals(
        jobs=len(jobs),
        shots=sum(job.shots * max(1, len(job.parameter_values or ())) for job in jobs),
        cost_usd=round(sum(job.cost_usd for job in jobs), 6),
    )
    return Manifest(
        plan=plan, versions=versions, totals=totals, jobs=jobs, files=files or [], extension=blocks
    )


def job_record(
    *,
    index: int,
    circuit: str,
    target: str,
    target_index: int,
    options: TargetOptions,
    shots: int,
    seed: int,
    payload_file: str,
    payload: Payload,
    cost: Cost,
    **kind_fields: Any,
) -> ManifestJob:
    """The manifest record of one job whose translated ``payload`` is in ``payload_file``.

    ``kind_fields`` are the plan kind's own fields (``parameter_values`` is common).
    """
    provider, device = target.split(":", 1)
    return ManifestJob(
        index=index,
        circuit=circuit,
        target=target,
        target_index=target_index,
        provider=provider,
        device=device,
        options=options_record(options),
        shots=shots,
        seed=seed,
        payload=payload_file,
        payload_sha256=hashlib.sha256(payload.data).hexdigest(),
        format=payload.format,
        num_qubits=payload.num_qubits,
        num_clbits=payload.num_clbits,
        measured_clbits=list(payload.measured_clbits),
        depth=payload.depth,
        two_qubit_gates=payload.two_qubit_gates,
        gate_counts=dict(payload.gate_counts),
        cost_usd=cost.usd,
        cost_basis=cost.basis,
        **kind_fields,
    )


def payload_name(index: int, circuit: str, target: str, extension: str) -> str:
    """The file of job ``index``'s payload inside a bundle."""
    return f"payloads/{index:03d}-{circuit}-{slug(target)}.{extension}"


def slug(target: str) -> str:
    """``target`` as a file-name part: letters, digits, ``-`` and ``_``, at most 60."""
    keep = [char if char.isalnum() or char in "-_" else "-" for char in target]
    return "".join(keep).strip("-")[:60]


def parse_manifest(data: Any, where: str, plan: PlanInfo | None = None) -> Manifest:
    """A manifest read from ``where`` (a file, for errors).

    Older forms are upgraded: a bundle of jobs added to a run after compile was
    written by qorch ≤ 0.1 without plan, versions or totals; ``plan`` (the run's)
    fills them in. Raises StateError (one line, naming the format) for a format
    this qorch does not read, or a manifest that does not match its format.
    """
    if not isinstance(data, dict):
        raise StateError(f"{where}: not a qorch bundle manifest")
    found = data.get("format")
    if found not in FORMATS_READ:
        readable = ", ".join(FORMATS_READ)
        raise StateError(
            f"{where}: unsupported bundle format {found!r} (this qorch reads {readable}); "
            "compile the plan again with this qorch"
        )
    if data.get("plan") == {} and plan is not None:
        jobs = data.get("jobs", [])
        data = {**data, "plan": plan.model_dump(), "versions": data.get("versions", {})}
        data.setdefault("totals", _totals_of(jobs))
    try:
        return Manifest.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise StateError(f"{where}: malformed {found} manifest: {field}: {first['msg']}") from None


def _totals_of(jobs: list[Any]) -> dict[str, Any]:
    return {
        "jobs": len(jobs),
        "shots": sum(int(job.get("shots", 0)) for job in jobs if isinstance(job, dict)),
        "cost_usd": round(sum(float(job.get("cost_usd", 0.0)) for job in jobs), 6),
    }
