"""What a distributed run shows: table specs built from the run's JSON (no terminal)."""

from __future__ import annotations

from typing import Any

from qorch.workloads.distributed.views import results_view

RUN: dict[str, Any] = {
    "run_id": "r1",
    "status": "completed",
    "plan": "cut.yaml",
    "jobs": [{"index": 0, "circuit": "cut-a-000", "target": "local:aer", "status": "done",
              "shots": 10, "counts": {"0": 10}, "job_id": "j", "message": ""}],
}  # fmt: skip
PARTITION = {"qubits_per_node": {"a": 30, "b": 30}, "epr_pairs": 0, "epr_pairs_per_link": {},
             "sampling_overhead": 9.0, "cuts": 1}  # fmt: skip


def test_cut_observables_without_exact_values_are_shown() -> None:
    """Regression: a circuit too wide for exact values (``exact: null``) crashed the table."""
    info = {"mode": "cut", "partition": PARTITION,
            "observables": [{"observable": "Z" * 60, "value": 0.9, "std_error": 0.05,
                             "exact": None}]}  # fmt: skip
    view = results_view(RUN, info)
    cut = view.tables[-1]
    assert cut.title == "cut reconstruction"
    assert cut.rows == [("Z" * 60, "0.9000", "0.0500", "-", "-")]


def test_the_distributed_jobs_counts_are_the_logical_qubits() -> None:
    run = {**RUN, "jobs": [{**RUN["jobs"][0], "circuit": "distributed",
                            "counts": {"0101": 10}}]}  # fmt: skip
    info = {"mode": "simulate", "partition": {**PARTITION, "sampling_overhead": None,
            "cat_groups": 1, "teleports": 0, "third_node_gates": 0, "comm_qubits_used": {},
            "makespan_s": 0.001, "epr_wait_s": 0.0, "estimated_fidelity": 0.9},
            "simulation": {"counts": {"01": 10}, "tvd_to_monolithic": 0.0,
                           "measured_fidelity": 1.0, "estimated_fidelity": 0.9,
                           "perfect_links": False}}  # fmt: skip
    jobs = results_view(run, info).tables[0]
    assert jobs.rows[0][-1] == "01:100.0%"
