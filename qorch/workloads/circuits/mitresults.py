"""Mitigated observables in a circuits run's results, beside the unmitigated ones.

Pure. For a target with ``mitigation: {readout: m3}``, each observable row of
a counts job gains ``m3: {value, std_error}``: the same estimator as the raw
value (:func:`~qorch.workloads.circuits.observables.estimate`) over M3's
quasi-probabilities of every basis, its variance the raw sample variance times
M3's mitigation overhead. Metrics: ``observable:NAME:m3`` and, where the exact
value is known, ``mitigation_gain:NAME:m3`` = |raw − exact| − |mitigated − exact|
(positive: mitigation moved the value toward the exact one), for checks. On a
target without readout errors M3 is a no-op: ``m3`` repeats the raw value (gain 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from qorch.engine.manifest import ManifestJob
from qorch.engine.workload import Metric
from qorch.workloads.circuits.observables import basis_of
from qorch.workloads.circuits.obsresults import _basis_counts, metric_name
from qorch.workloads.circuits.readout import NO_OP, quasi_moments
from qorch.workloads.sources.pauli import support

M3 = "m3"


def mitigated_value(
    terms: Mapping[str, float],
    bases: Sequence[str],
    counts: Sequence[Mapping[str, int]],
    quasi: Sequence[Mapping[str, float]],
    overheads: Sequence[float],
) -> tuple[float, float]:
    """An observable's readout-mitigated value and standard error from every basis's raw
    counts, quasi-probabilities and M3 overhead."""
    value = sum(c for label, c in terms.items() if not support(label))
    by_basis: dict[int, list[tuple[float, tuple[int, ...]]]] = {}
    for label, coefficient in terms.items():
        if support(label):
            by_basis.setdefault(basis_of(label, bases), []).append((coefficient, support(label)))
    variance = 0.0
    for index, group in sorted(by_basis.items()):
        mean, var = quasi_moments(quasi[index], overheads[index], counts[index], group)
        value += mean
        variance += var
    return value, math.sqrt(variance)


def with_mitigated(
    jobs: Sequence[dict[str, Any]], specs: Mapping[int, ManifestJob], block: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[Metric]]:
    """``jobs`` (with their observables) with ``m3`` on each observable row whose bases were
    all corrected, and the mitigated metrics (see the module)."""
    counts = _basis_counts(jobs, specs, block)
    quasi = _basis_counts(jobs, specs, block, "quasi_probabilities")
    overheads = _basis_counts(jobs, specs, block, "mitigation_overhead")
    out, metrics = [], []
    for job in jobs:
        rows = job.get("observables")
        key = (job["circuit"], specs[job["index"]].target_index)
        slots = quasi.get(key)
        if rows and job.get("readout_mitigation") == NO_OP:  # nothing to correct: raw = m3
            same = [{**row, M3: {"value": row["value"], "std_error": row["std_error"]}}
                    for row in rows]  # fmt: skip
            for row in same:
                if "set" not in row and row["value"] is not None:
                    metrics += _metrics(row, row["value"], row["std_error"], job)
            out.append({**job, "observables": same})
            continue
        if not rows or not slots or any(q is None for q in slots):
            out.append(job)
            continue
        entry = block[job["circuit"]]
        terms = {o["name"]: o["terms"] for o in entry["observables"]}
        width = max(1, len(entry["bases"]))
        mitigated = []
        for row in rows:
            start = int(row.get("set", 0)) * width
            part = slice(start, start + width)
            value, error = mitigated_value(terms[row["name"]], entry["bases"], counts[key][part],
                                           slots[part], overheads[key][part])  # fmt: skip
            mitigated.append({**row, M3: {"value": value, "std_error": error}})
            if "set" not in row:
                metrics += _metrics(row, value, error, job)
        out.append({**job, "observables": mitigated})
    return out, metrics


def _metrics(
    row: Mapping[str, Any], value: float, error: float, job: Mapping[str, Any]
) -> list[Metric]:
    labels = {"circuit": job["circuit"], "target": job["target"]}
    found = [Metric(name=f"{metric_name(row['name'])}:{M3}", value=value, std_error=error,
                    **labels)]  # fmt: skip
    if row.get("exact") is not None and row.get("value") is not None:
        gain = abs(row["value"] - row["exact"]) - abs(value - row["exact"])
        found.append(Metric(name=f"mitigation_gain:{row['name']}:{M3}", value=gain, **labels))
    return found
