"""Zero-noise-extrapolated observables in a circuits run's results, beside the raw ones.

Pure. For a target with ``mitigation: {zne: ...}``, each observable row of a
counts job gains ``zne: {value, std_error, scale_factors, values, std_errors,
extrapolation}``: the observable at every scale (scale 1: the row's own value;
above: the folded jobs' counts, :func:`~qorch.workloads.circuits.observables.estimate`)
and its extrapolation to zero noise (:func:`~qorch.workloads.circuits.zne.extrapolate`).
With ``readout: m3`` too, every scale's value is M3's (``readout: "m3"``).
Metrics: ``observable:NAME:zne`` and, where the exact value is known,
``mitigation_gain:NAME:zne`` = |raw − exact| − |zne − exact|. On a target
without noise (no folded jobs) ZNE is a no-op: ``zne`` repeats the raw value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qorch.engine.manifest import ManifestJob
from qorch.engine.workload import Metric
from qorch.workloads.circuits.mitresults import M3, mitigated_value
from qorch.workloads.circuits.observables import Observable, estimate
from qorch.workloads.circuits.obsresults import metric_name
from qorch.workloads.circuits.zne import extrapolate
from qorch.workloads.circuits.znejobs import ROLE

ZNE = "zne"
NO_OP = "none needed: the target has no noise"

Slots = dict[str, list[Any]]  # field (counts, quasi_probabilities, …) → per basis


def with_zne(
    jobs: Sequence[dict[str, Any]],
    specs: Mapping[int, ManifestJob],
    block: Mapping[str, Any],
    mitigation: Mapping[str, Any] | None,
) -> tuple[list[dict[str, Any]], list[Metric]]:
    """``jobs`` with ``zne`` on each observable row of a target that asked for it (see the
    module), folded jobs marked ``role: zne`` with their scale and bases; the metrics."""
    asked = {int(t): o[ZNE] for t, o in (mitigation or {}).items() if o.get(ZNE)}
    folded = _folded(jobs, specs, block)
    out: list[dict[str, Any]] = []
    metrics: list[Metric] = []
    for job in jobs:
        spec = specs[job["index"]]
        if spec.extra("role") == ROLE:
            bases = block[job["circuit"]]["bases"] or [""]
            start, count = int(spec.extra("first_basis", 0)), len(spec.parameter_values or ()) or 1
            shown = [bases[r % len(bases)] for r in range(start, start + count)]
            scale = spec.extra("scale_factor")
            out.append({**job, "role": ROLE, "scale_factor": scale, "bases": shown})
            continue
        options = asked.get(spec.target_index)
        if options is None or not job.get("observables") or spec.extra("role") is not None:
            out.append(job)
            continue
        scales = folded.get((job["circuit"], spec.target_index))
        entry = block[job["circuit"]]
        terms = {o["name"]: o["terms"] for o in entry["observables"]}
        rows = []
        for row in job["observables"]:
            if scales is None:
                zne = _no_op(row)
            else:
                zne = _extrapolated(row, terms[row["name"]], entry["bases"], scales, options)
            rows.append({**row, ZNE: zne})
            if zne["value"] is not None:
                metrics += _metrics(row, zne, job)
        out.append({**job, "observables": rows})
    return out, metrics


def _folded(
    jobs: Sequence[dict[str, Any]], specs: Mapping[int, ManifestJob], block: Mapping[str, Any]
) -> dict[tuple[str, int], dict[int, Slots]]:
    """Per (circuit, target index), per scale factor above 1, the folded jobs' per-basis
    counts, quasi-probabilities and M3 overheads (None where not measured yet)."""
    found: dict[tuple[str, int], dict[int, Slots]] = {}
    fields = ("counts", "quasi_probabilities", "mitigation_overhead")
    for job in jobs:
        spec = specs[job["index"]]
        if spec.extra("role") != ROLE:
            continue
        width = len(block[job["circuit"]]["bases"])
        scales = found.setdefault((job["circuit"], spec.target_index), {})
        slots = scales.setdefault(int(spec.extra("scale_factor")),
                                  {field: [None] * width for field in fields})  # fmt: skip
        if job.get("status") != "done":
            continue
        start = int(spec.extra("first_basis", 0))
        for field in fields:
            value = job.get(field)
            if value is None:
                continue
            for offset, item in enumerate(value if isinstance(value, list) else [value]):
                slots[field][start + offset] = item
    return found


def _extrapolated(
    row: Mapping[str, Any],
    terms: Mapping[str, float],
    bases: Sequence[str],
    scales: Mapping[int, Slots],
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """The row's ``zne``: every scale's value (M3's where the row has one) and the
    extrapolation; value None until every folded job is done."""
    readout = isinstance(row.get(M3), dict) and _corrected(scales)
    first = row[M3] if readout else row
    values, errors = [first["value"]], [first["std_error"]]
    for scale in options["scale_factors"][1:]:
        slots = scales.get(scale)
        if slots is None or any(c is None for c in slots["counts"]):
            values.append(None)
            errors.append(None)
            continue
        if readout:
            value, error = mitigated_value(terms, bases, slots["counts"],
                                           slots["quasi_probabilities"],
                                           slots["mitigation_overhead"])  # fmt: skip
        else:
            found = estimate(Observable(row["name"], dict(terms)), bases, slots["counts"])
            value, error = found.value, found.std_error
        values.append(value)
        errors.append(error)
    zne: dict[str, Any] = {"value": None, "std_error": None,
                           "scale_factors": list(options["scale_factors"]), "values": values,
                           "std_errors": errors,
                           "extrapolation": options["extrapolation"]}  # fmt: skip
    if readout:
        zne["readout"] = M3
    if all(v is not None for v in values) and all(e is not None for e in errors):
        zne["value"], zne["std_error"] = extrapolate(options["scale_factors"], values, errors,
                                                     options["extrapolation"])  # fmt: skip
    return zne


def _corrected(scales: Mapping[int, Slots]) -> bool:
    """True if M3 corrected every folded basis (so every scale's value is M3's)."""
    return all(q is not None for slots in scales.values() for q in slots["quasi_probabilities"])


def _no_op(row: Mapping[str, Any]) -> dict[str, Any]:
    value, error = row["value"], row["std_error"]
    return {"value": value, "std_error": error, "scale_factors": [1], "values": [value],
            "std_errors": [error], "extrapolation": NO_OP}  # fmt: skip


def _metrics(
    row: Mapping[str, Any], zne: Mapping[str, Any], job: Mapping[str, Any]
) -> list[Metric]:
    labels = {"circuit": job["circuit"], "target": job["target"]}
    found = [Metric(name=f"{metric_name(row['name'])}:{ZNE}", value=zne["value"],
                    std_error=zne["std_error"], **labels)]  # fmt: skip
    if row.get("exact") is not None and row.get("value") is not None:
        gain = abs(row["value"] - row["exact"]) - abs(zne["value"] - row["exact"])
        found.append(Metric(name=f"mitigation_gain:{row['name']}:{ZNE}", value=gain, **labels))
    return found
