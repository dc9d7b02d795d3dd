"""Observables in a circuits run's results: estimates per job, metrics, and a table.

Pure: the run's jobs (their JSON, with counts) and the manifest in, the jobs
with ``observables`` added out. A circuit's counts job on a target carries
``observables``: ``[{name, value, std_error, shots, exact, method}]`` (``value``
null until every basis was measured); its measurement jobs carry ``role:
observables`` and the ``bases`` they measured. Metrics are named
``observable:NAME``, labelled with the circuit and target, for checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qorch.contract.provider import expectation_rows
from qorch.engine.manifest import ManifestJob
from qorch.engine.views import Table
from qorch.engine.workload import Metric
from qorch.workloads.circuits.observables import METRIC_PREFIX as METRIC_PREFIX
from qorch.workloads.circuits.observables import Estimate, Observable, estimate
from qorch.workloads.circuits.observables import metric_name as metric_name
from qorch.workloads.circuits.obsjobs import ROLE

BASES_METHOD = "measurement bases"  # the ``method`` of observables measured in basis circuits

Key = tuple[str, int]  # (circuit, target index)


def with_observables(
    jobs: Sequence[dict[str, Any]], specs: Mapping[int, ManifestJob], block: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[Metric]]:
    """``jobs`` with their observables (see the module), and the ``observable:NAME`` metrics
    of every observable whose bases were all measured."""
    measured = _basis_counts(jobs, specs, block)
    native = _native_estimates(jobs, specs)
    methods = _methods(jobs, specs)
    out: list[dict[str, Any]] = []
    metrics: list[Metric] = []
    for job in jobs:
        spec = specs[job["index"]]
        entry = block.get(job["circuit"])
        if entry is None or spec.extra("role") not in (None, ROLE):  # e.g. ZNE's folded jobs
            out.append(job)
            continue
        if spec.extra("role") == ROLE and spec.observables is not None:
            result = job.get("counts")  # a native job's result: its expectation values
            method = result.get("method") if isinstance(result, dict) else None
            out.append({**job, "counts": None, "role": ROLE, "method": method})
            continue
        if spec.extra("role") == ROLE:
            rows = len(spec.parameter_values or ()) or 1
            start = int(spec.extra("first_basis", 0))
            bases = entry["bases"] or [""]
            shown = [bases[row % len(bases)] for row in range(start, start + rows)]
            out.append({**job, "role": ROLE, "bases": shown})
            continue
        key = (job["circuit"], spec.target_index)
        if entry.get("sets") is not None:
            out.append({**job, "observables": _swept_rows(entry, spec, measured.get(key, []),
                                                           methods.get(key))})  # fmt: skip
            continue
        values = native.get(key) or _estimates(entry, measured.get(key, []))
        rows_json = []
        for observable, exact, value in zip(entry["observables"], _exact(entry), values,
                                            strict=True):  # fmt: skip
            rows_json.append(_row(observable["name"], value, exact, methods.get(key)))
            if value is not None:
                metrics.append(Metric(name=metric_name(observable["name"]), value=value.value,
                                      std_error=value.std_error, circuit=job["circuit"],
                                      target=job["target"]))  # fmt: skip
        out.append({**job, "observables": rows_json})
    return out, metrics


def _swept_rows(
    entry: Mapping[str, Any],
    spec: ManifestJob,
    counts: list[dict[str, int] | None],
    method: str | None,
) -> list[dict[str, Any]]:
    """The observables of the parameter sets a swept counts job ran, set by set (each
    row with its ``set`` index and ``parameters``), from the counts of every basis."""
    sets, width = entry["sets"], max(1, len(entry["bases"]))
    first = int(spec.extra("first_set", 0))
    rows = []
    for number in range(first, first + len(spec.parameter_values or ())):
        values = _estimates(entry, counts[number * width : (number + 1) * width])
        exact = (entry.get("exact") or [None] * len(sets))[number]
        exacts = list(exact) if exact is not None else [None] * len(values)
        for observable, value, ideal in zip(entry["observables"], values, exacts, strict=True):
            row = _row(observable["name"], value, ideal, method)
            rows.append({**row, "set": number, "parameters": sets[number]})
    return rows


def _basis_counts(
    jobs: Sequence[dict[str, Any]],
    specs: Mapping[int, ManifestJob],
    block: Mapping[str, Any],
    field: str = "counts",
) -> dict[Key, list[Any]]:
    """Per (circuit, target index), the counts of each basis (None: not measured yet), or
    another per-basis ``field`` of the measurement jobs (``quasi_probabilities``)."""
    found: dict[Key, list[Any]] = {}
    for job in jobs:
        spec = specs[job["index"]]
        entry = block.get(job["circuit"])
        if entry is None or spec.extra("role") != ROLE or spec.observables is not None:
            continue
        size = len(entry["bases"]) * len(entry.get("sets") or [None])
        slots = found.setdefault((job["circuit"], spec.target_index), [None] * size)
        counts = job.get(field) if job.get("status") == "done" else None
        if counts is None:
            continue
        start = int(spec.extra("first_basis", 0))
        for offset, basis_counts in enumerate(counts if isinstance(counts, list) else [counts]):
            slots[start + offset] = basis_counts
    return found


def _methods(jobs: Sequence[dict[str, Any]], specs: Mapping[int, ManifestJob]) -> dict[Key, str]:
    """Per (circuit, target index), how its observables are evaluated: the native
    estimator's ``method`` (once it answered) or :data:`BASES_METHOD`."""
    found: dict[Key, str] = {}
    for job in jobs:
        spec = specs[job["index"]]
        if spec.extra("role") != ROLE:
            continue
        key = (job["circuit"], spec.target_index)
        if spec.observables is None:
            found[key] = BASES_METHOD
        elif isinstance(job.get("counts"), dict) and job["counts"].get("method"):
            found[key] = str(job["counts"]["method"])
    return found


def _native_estimates(
    jobs: Sequence[dict[str, Any]], specs: Mapping[int, ManifestJob]
) -> dict[Key, list[Estimate | None]]:
    """Per (circuit, target index), the values a native estimator returned."""
    found: dict[Key, list[Estimate | None]] = {}
    for job in jobs:
        spec = specs[job["index"]]
        if spec.extra("role") != ROLE or spec.observables is None or job.get("status") != "done":
            continue
        rows = expectation_rows(job.get("counts"))
        if rows is not None:
            found[(job["circuit"], spec.target_index)] = [
                Estimate(float(row["value"]), float(row["std_error"]), int(row["shots"]))
                for row in rows
            ]
    return found


def _estimates(
    entry: Mapping[str, Any], counts: list[dict[str, int] | None]
) -> list[Estimate | None]:
    observables = [Observable(o["name"], dict(o["terms"])) for o in entry["observables"]]
    if len(counts) != len(entry["bases"]) or any(c is None for c in counts):
        return [None] * len(observables)
    complete = [c for c in counts if c is not None]
    return [estimate(observable, entry["bases"], complete) for observable in observables]


def _exact(entry: Mapping[str, Any]) -> list[float | None]:
    exact = entry.get("exact")
    return list(exact) if exact is not None else [None] * len(entry["observables"])


def _row(
    name: str, value: Estimate | None, exact: float | None, method: str | None
) -> dict[str, Any]:
    return {
        "name": name,
        "value": value.value if value else None,
        "std_error": value.std_error if value else None,
        "shots": value.shots if value else 0,
        "exact": exact,
        "method": method,
    }


def observables_table(jobs: Sequence[Mapping[str, Any]]) -> Table | None:
    """The observables of every job that has them (None if none has)."""
    rows: list[tuple[Any, ...]] = []
    items = [item for job in jobs for item in job.get("observables") or ()]
    swept = any("parameters" in item for item in items)
    mitigated = [m for m in ("m3", "zne") if any(m in item for item in items)]
    for job in jobs:
        for item in job.get("observables") or ():
            value = "-" if item["value"] is None else f"{item['value']:+.4f}"
            error = "-" if item["std_error"] is None else f"±{item['std_error']:.4f}"
            exact = "-" if item["exact"] is None else f"{item['exact']:+.4f}"
            row: tuple[Any, ...] = (job["circuit"], job["target"], item["name"])
            if swept:
                row += (parameters_text(item.get("parameters")),)
            row += (value, error, item["shots"], exact)
            row += tuple(_mitigated_text(item.get(m)) for m in mitigated)
            rows.append((*row, item.get("method") or "-"))
    if not rows:
        return None
    columns = ("circuit", "target", "observable", *(("parameters",) if swept else ()), "value",
               "std error", "shots", "exact", *mitigated, "method")  # fmt: skip
    return Table(columns, rows, title="observables")


def _mitigated_text(value: Mapping[str, Any] | None) -> str:
    """A mitigated value as the table shows it: ``+2.9229 ±0.0267``; ``-`` for none."""
    if not value or value.get("value") is None:
        return "-"
    return f"{value['value']:+.4f} ±{value['std_error']:.4f}"


def parameters_text(values: Mapping[str, float] | None) -> str:
    """A parameter set as the table shows it: ``theta=0.1, phi=0``; ``-`` for none."""
    if not values:
        return "-"
    return ", ".join(f"{name}={value:g}" for name, value in values.items())


def shown_jobs(jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The jobs as the job table shows them: a measurement job lists its bases (or its
    estimator), not counts."""
    shown = []
    for job in jobs:
        if job.get("role") in (ROLE, "zne") and job.get("status") == "done":
            bases = list(job.get("bases") or ())
            distinct = list(dict.fromkeys(bases))
            repeat = f" × {len(bases) // len(distinct)} sets" if len(bases) > len(distinct) else ""
            what = job.get("method") or "bases " + ", ".join(distinct) + repeat
            if job.get("scale_factor"):
                what = f"folded {job['scale_factor']}×, {what}"
            job = {**job, "counts": None, "message": what}
        shown.append(job)
    return shown
