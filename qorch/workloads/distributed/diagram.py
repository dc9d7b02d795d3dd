"""A PNG diagram of the network and the partition: nodes sized by the qubits they
hold, links labelled with their length and the EPR pairs they carry."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from qorch.engine.figures import png_bytes, pyplot

if TYPE_CHECKING:
    from qorch.workloads.distributed.analysis import Analysis


LABEL_OUT = 1.6  # a node's label sits this far out from the centre (the ring has radius 1)


def network_png(analysis: Analysis, summary: dict[str, Any]) -> bytes:
    """The diagram of ``analysis`` and its partition ``summary``, as PNG bytes
    (deterministic: no timestamps in the file)."""
    return png_bytes(network_figure(analysis, summary))


def network_figure(analysis: Analysis, summary: dict[str, Any]) -> Any:
    """The diagram as a matplotlib Figure: nodes on a ring with their data qubits inside,
    a label box outside each, links with their pairs and length."""
    plt = pyplot()

    from qorch.workloads.distributed.network import resolve

    names = analysis.plan.node_names
    places = {
        name: (math.cos(2 * math.pi * i / len(names)), math.sin(2 * math.pi * i / len(names)))
        for i, name in enumerate(names)
    }
    figure, axes = plt.subplots(figsize=(7, 3.2 if len(names) == 2 else 6.2), dpi=100)
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
    spots = []
    for node in analysis.plan.nodes:
        x, y = places[node.name]
        held = summary["qubits_per_node"][node.name]
        axes.scatter([x], [y], s=500 + 40 * held, color="tab:orange", edgecolors="white", zorder=2)
        axes.annotate(str(held), (x, y), ha="center", va="center", fontsize=11,
                      fontweight="bold", color="white", zorder=3)  # fmt: skip
        spot = (x * LABEL_OUT, y * LABEL_OUT)  # outside the ring, away from the links
        spots.append(spot)
        axes.annotate(
            f"{node.name}\n{held} of {node.data_qubits} data qubits\n{node.target}",
            spot,
            ha="center",
            va="center",
            fontsize=9,
            zorder=3,
            bbox={"boxstyle": "round", "fc": "white", "ec": "tab:orange"},
        )
    title = f"{analysis.circuit.name}: {summary['epr_pairs']} EPR pairs"
    if summary.get("sampling_overhead") is not None:
        title = f"{analysis.circuit.name}: cut, overhead {summary['sampling_overhead']:g}"
    axes.set_title(f"{title}\n(in each circle: the data qubits the node holds)", fontsize=11)
    xs = [x for x, _ in [*places.values(), *spots]]
    ys = [y for _, y in [*places.values(), *spots]]
    axes.set_xlim(min(xs) - 0.75, max(xs) + 0.75)  # room for the label boxes: none clipped
    axes.set_ylim(min(ys) - 0.55, max(ys) + 0.55)
    axes.set_aspect("equal")
    axes.axis("off")
    figure.tight_layout()
    return figure
