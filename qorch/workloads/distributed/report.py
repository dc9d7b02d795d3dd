"""Reports of a distributed plan: the partition summary at compile time, and the
results after collection (pure functions of the manifest and the counts)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qorch.engine.manifest import ManifestJob
from qorch.workloads.distributed.distribution import (
    classical_fidelity,
    marginal,
    total_variation_distance,
    tvd_noise_floor,
)

if TYPE_CHECKING:
    from qorch.workloads.distributed.analysis import Analysis

Counts = Mapping[str, int]

ESTIMATE_KEYS = (
    "estimated_fidelity",
    "estimated_classical_fidelity",
    "estimated_success_probability",
    "fidelity_lower_bound",
    "estimate_method",
)
"""The estimate's fields, in compile's ``partition`` and run's ``simulation`` blocks:
``estimated_classical_fidelity`` (expected fidelity of the output distribution to the
ideal one: compare with ``measured_fidelity``), ``estimated_success_probability`` (chance a
shot's output is unharmed; for one ideal outcome, the chance of that outcome),
``fidelity_lower_bound`` (no error anywhere), ``estimate_method`` (``density-matrix``,
``trajectories``, ``per-channel``, ``perfect`` or ``lower-bound`` when the program is too
wide to follow; then the first two are null). ``estimated_fidelity`` keeps its name: the
classical one, else the bound."""


def estimate_fields(analysis: Analysis) -> dict[str, Any]:
    """The :data:`ESTIMATE_KEYS` of a lowered plan's estimate (all null for a cut plan)."""
    estimate = analysis.estimate
    if estimate is None:
        return dict.fromkeys(ESTIMATE_KEYS)
    return {
        "estimated_fidelity": estimate.best,
        "estimated_classical_fidelity": estimate.classical_fidelity,
        "estimated_success_probability": estimate.success_probability,
        "fidelity_lower_bound": estimate.lower_bound,
        "estimate_method": estimate.method + (f" ({estimate.reason})" if estimate.reason else ""),
    }


def link_name(a: str, b: str) -> str:
    """A node pair or link as text: names sorted, joined by a dash."""
    first, second = sorted((a, b))
    return f"{first}-{second}"


def partition_summary(analysis: Analysis) -> dict[str, Any]:
    """The ``partition`` block of ``qorch compile --json`` (see the README's contract)."""
    names = analysis.plan.node_names
    per_node = Counter(names[node] for node in analysis.partition.assignment)
    out: dict[str, Any] = {
        "qubits_per_node": {name: per_node.get(name, 0) for name in names},
        "epr_pairs": 0,
        "epr_pairs_baseline": analysis.partition.baseline_pairs,
        "epr_pairs_unlimited_comm": analysis.partition.unlimited_pairs,
        "effort": analysis.partition.effort,
        "epr_pairs_per_pair": {},
        "epr_pairs_per_link": {},
        "cat_groups": 0,
        "teleports": 0,
        "third_node_gates": 0,
        "comm_qubits_used": dict.fromkeys(names, 0),
        "makespan_s": None,
        "epr_wait_s": None,
        **dict.fromkeys(ESTIMATE_KEYS),
        "link_demand": {},
        "warnings": [],
    }
    if analysis.program is not None and analysis.schedule is not None:
        out.update(_program_summary(analysis))
    if analysis.cut is not None:
        cut = analysis.cut
        out["sampling_overhead"] = cut.sampling_overhead
        out["cuts"] = cut.num_cuts
        out["subexperiments"] = {k: len(v) for k, v in cut.subexperiments.items()}
    return out


def _program_summary(analysis: Analysis) -> dict[str, Any]:
    program, schedule = analysis.program, analysis.schedule
    assert program is not None and schedule is not None
    per_pair = {link_name(a, b): n for (a, b), n in sorted(program.epr_pairs_per_pair.items())}
    per_link: Counter[str] = Counter()
    for (a, b), pairs in program.epr_pairs_per_pair.items():
        link = analysis.links.get((a, b)) or analysis.links[(b, a)]
        for hop in zip(link.path, link.path[1:], strict=False):
            per_link[link_name(*hop)] += pairs
    demand = {
        link_name(a, b): {
            "pairs": d.pairs,
            "demand_rate_hz": d.demand_rate_hz,
            "link_rate_hz": d.link_rate_hz,
            "utilisation": d.utilisation,
        }
        for (a, b), d in sorted(schedule.per_pair.items())
    }
    return {
        "epr_pairs": program.epr_pairs,
        "epr_pairs_per_pair": per_pair,
        "epr_pairs_per_link": dict(sorted(per_link.items())),
        "cat_groups": program.cat_groups,
        "teleports": program.teleports,
        "third_node_gates": analysis.partition.third_node_gates,
        "comm_qubits_used": {
            name: program.comm_peak.get(name, 0) for name in analysis.plan.node_names
        },
        "makespan_s": schedule.makespan_s,
        "epr_wait_s": schedule.epr_wait_s,
        **estimate_fields(analysis),
        "link_demand": demand,
        "warnings": list(schedule.warnings),
    }


def results(
    blocks: Mapping[str, Any], specs: Sequence[ManifestJob], jobs: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The ``distributed`` block of a run's results, from its manifest's ``blocks``, its
    job records and its collected jobs."""
    info = blocks["distributed"]
    by_index = {spec.index: spec for spec in specs}
    done = {job["index"]: job for job in jobs if job.get("counts") is not None}
    out: dict[str, Any] = {"mode": info["mode"], "partition": blocks["partition"]}
    if info["mode"] == "simulate":
        out["simulation"] = _simulation(info, by_index, done)
    elif info["mode"] == "cut":
        out["observables"] = _cut_results(info, by_index, done)
    return out


def _simulation(
    info: Mapping[str, Any], specs: Mapping[int, ManifestJob], done: Mapping[int, Any]
) -> dict[str, Any] | None:
    by_role = {spec.extra("role"): index for index, spec in specs.items()}
    dist, mono = by_role.get("distributed", -1), by_role.get("monolithic", -1)
    if dist not in done or mono not in done:
        return None
    spec = specs[dist]
    distributed = marginal(done[dist]["counts"], spec.extra("meas_clbits"), spec.num_clbits)
    monolithic = done[mono]["counts"]
    return {
        "tvd_to_monolithic": total_variation_distance(distributed, monolithic),
        "tvd_noise_floor": tvd_noise_floor(monolithic, sum(distributed.values())),
        "measured_fidelity": classical_fidelity(distributed, monolithic),
        **{key: info.get(key) for key in ESTIMATE_KEYS},
        "perfect_links": info.get("perfect_links", False),
        "counts": distributed,
    }


def _cut_results(
    info: Mapping[str, Any], specs: Mapping[int, ManifestJob], done: Mapping[int, Any]
) -> list[dict[str, Any]] | None:
    from qorch.workloads.distributed.cutrecord import reconstruct_record

    grouped: dict[str, list[Counts]] = {}
    for index, spec in sorted(specs.items()):
        if spec.extra("role") != "cut":
            continue
        if index not in done:
            return None
        label = spec.extra("label")
        grouped.setdefault(label, []).append(done[index]["counts"])
    return reconstruct_record(info["cut"], grouped)
