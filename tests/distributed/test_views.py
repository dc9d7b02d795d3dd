"""What a distributed run shows: table specs built from the run's JSON (no terminal)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qorch.workloads.distributed.views import results_view

PLANS = Path(__file__).resolve().parents[2] / "plans"

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


def test_the_partition_diagram_keeps_every_label_inside_and_shows_qubits_per_node() -> None:
    """Issue 13 item 4: partition.png's labels inside the figure, each node's qubits shown."""
    import matplotlib.pyplot as plt

    from qorch.engine.planfile import load_plan
    from qorch.workloads.distributed.diagram import network_figure
    from qorch.workloads.distributed.pipeline import analyse
    from qorch.workloads.distributed.report import partition_summary

    for name in ("distributed-qft.yaml", "distributed-ions.yaml"):
        loaded = load_plan(PLANS / name, name)
        analysis = analyse(loaded)
        summary = partition_summary(analysis)
        figure = network_figure(analysis, summary)
        figure.canvas.draw()
        box = figure.bbox
        axes = figure.axes[0]
        texts = [*axes.texts, axes.title]
        for text in texts:
            extent = text.get_window_extent()
            assert box.x0 <= extent.x0 and extent.x1 <= box.x1, (name, text.get_text())
            assert box.y0 <= extent.y0 and extent.y1 <= box.y1, (name, text.get_text())
        shown = " ".join(text.get_text() for text in texts)
        for node in analysis.plan.nodes:
            held = summary["qubits_per_node"][node.name]
            assert f"{node.name}\n{held} of {node.data_qubits} data qubits" in shown, name
        plt.close(figure)
