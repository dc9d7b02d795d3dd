"""A PNG diagram of the network and the partition: nodes sized by the qubits they
hold, links labelled with their length and the EPR pairs they carry."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qorch.workloads.distributed.analysis import Analysis


def network_png(analysis: Analysis, summary: dict[str, Any]) -> bytes:
    """The diagram of ``analysis`` and its partition ``summary``, as PNG bytes
    (deterministic: no timestamps in the file)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from qorch.workloads.distributed.network import resolve

    names = analysis.plan.node_names
    places = {
        name: (math.cos(2 * math.pi * i / len(names)), math.sin(2 * math.pi * i / len(names)))
        for i, name in enumerate(names)
    }
    figure, axes = plt.subplots(figsize=(6, 5), dpi=100)
    for spec in analysis.plan.links:
        a, b = spec.between
        (xa, ya), (xb, yb) = places[a], places[b]
        style = ":" if spec.classical else "-"
        axes.plot([xa, xb], [ya, yb], style, color="tab:blue", linewidth=2, zorder=1)
        key = "-".join(sorted((a, b)))
        pairs = summary["epr_pairs_per_link"].get(key, 0)
        text = f"{'classical' if spec.classical else f'{pairs} EPR'}"
        length = spec.length_km if spec.classical else resolve(spec).length_km
        if length is not None:
            text += f"\n{length:g} km"
        axes.annotate(
            text,
            ((xa + xb) / 2, (ya + yb) / 2),
            ha="center",
            fontsize=9,
            bbox={"boxstyle": "round", "fc": "white", "ec": "none"},
        )
    for node in analysis.plan.nodes:
        x, y = places[node.name]
        held = summary["qubits_per_node"][node.name]
        axes.scatter([x], [y], s=600 + 60 * held, color="tab:orange", zorder=2)
        axes.annotate(
            f"{node.name}\n{held}/{node.data_qubits} qubits\n{node.target}",
            (x, y),
            ha="center",
            va="center",
            fontsize=8,
            zorder=3,
        )
    title = f"{analysis.circuit.name}: {summary['epr_pairs']} EPR pairs"
    if summary.get("sampling_overhead") is not None:
        title = f"{analysis.circuit.name}: cut, overhead {summary['sampling_overhead']:g}"
    axes.set_title(title)
    axes.set_xlim(-1.6, 1.6)
    axes.set_ylim(-1.6, 1.6)
    axes.axis("off")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()
