"""Parameter sweeps in a circuits run's results: each set's counts, in the plan's order.

Pure. A job that ran a sweep's parameter sets has a list of counts, one per set;
its JSON gains ``parameter_sets`` (those sets, same order), and the results show a
table with one row per set (its parameters and top outcomes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qorch.engine.manifest import ManifestJob
from qorch.engine.views import Table, top_outcomes
from qorch.workloads.circuits.obsresults import parameters_text


def with_parameter_sets(
    jobs: Sequence[dict[str, Any]],
    specs: Mapping[int, ManifestJob],
    swept: Mapping[str, list[dict[str, float]]],
) -> list[dict[str, Any]]:
    """``jobs`` with ``parameter_sets`` on each job that ran a sweep's sets."""
    out = []
    for job in jobs:
        spec = specs[job["index"]]
        sets = swept.get(job["circuit"])
        if sets is None or spec.extra("role") is not None or spec.parameter_values is None:
            out.append(job)
            continue
        first = int(spec.extra("first_set", 0))
        chosen = sets[first : first + len(spec.parameter_values)]
        out.append({**job, "first_set": first, "parameter_sets": chosen})
    return out


def sweep_table(jobs: Sequence[Mapping[str, Any]]) -> Table | None:
    """One row per parameter set of every finished sweep job (None if there is none)."""
    rows = []
    for job in jobs:
        sets, counts = job.get("parameter_sets"), job.get("counts")
        if not sets or not isinstance(counts, list):
            continue
        first = int(job.get("first_set", 0))
        for offset, (values, got) in enumerate(zip(sets, counts, strict=False)):
            shown = top_outcomes(got, sum(got.values())) if got else "-"
            rows.append((job["circuit"], job["target"], first + offset,
                         parameters_text(values), shown))  # fmt: skip
    if not rows:
        return None
    return Table(("circuit", "target", "set", "parameters", "top outcomes"), rows,
                 title="parameter sets")  # fmt: skip


def summarised(jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The jobs as the job table shows them: a sweep job says how many sets it ran."""
    shown = []
    for job in jobs:
        if isinstance(job.get("counts"), list) and job.get("parameter_sets"):
            job = {**job, "counts": None, "message": f"{len(job['counts'])} parameter sets"}
        shown.append(job)
    return shown
