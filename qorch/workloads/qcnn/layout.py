"""QCNN layouts as pure data: per layer, the convolution pairs, the pooling pairs, the survivors.

``reference`` is the 8-qubit circuit of Hur, Kim & Park (github.com/takh04/QCNN
``QCNN/QCNN_circuit.py``: ``conv_layer1..3``, ``pooling_layer1..3``; a pooling block
``V(params, wires=[control, target])`` drops the control), read out on wire 4.

``general`` (any ``n >= 2``) extends it: the survivors ``r`` of a layer are convolved on
``(r[0], r[-1])`` (when more than two remain), then ``(r[0], r[1]), (r[2], r[3]), ...``, then
``(r[1], r[2]), (r[3], r[4]), ...``; pooling pairs ``r[2i+1] -> r[2i]`` (an odd one out passes
on), except that the final pooling from two qubits to one is ``r[0] -> r[1]``. ``general`` with
8 qubits *is* ``reference``. ``chain`` is the open 1-D chain: the same without the wrap-around
pair.

Multi-class read-out keeps ``ceil(log2 C)`` qubits: pooling stops (part-way through a layer if
needed) when that many survive; outcome ``k`` of the read-out qubits (``readout[0]`` the least
significant bit) is class ``k``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["LAYOUT_NAMES", "Layer", "Layout", "make_layout", "readout_count", "readout_qubits"]

LAYOUT_NAMES = ("reference", "chain", "general")
Pair = tuple[int, int]


@dataclass(frozen=True)
class Layer:
    """One convolution + pooling layer. ``pool`` pairs are ``(control, target)``."""

    conv: tuple[Pair, ...]
    pool: tuple[Pair, ...]
    kept: tuple[int, ...]


@dataclass(frozen=True)
class Layout:
    """A whole QCNN layout on ``num_qubits`` qubits; ``readout`` are the survivors."""

    name: str
    num_qubits: int
    layers: tuple[Layer, ...]
    readout: tuple[int, ...]


REFERENCE = Layout(
    name="reference",
    num_qubits=8,
    layers=(
        Layer(
            conv=((0, 7), (0, 1), (2, 3), (4, 5), (6, 7), (1, 2), (3, 4), (5, 6)),
            pool=((1, 0), (3, 2), (5, 4), (7, 6)),
            kept=(0, 2, 4, 6),
        ),
        Layer(conv=((0, 6), (0, 2), (4, 6), (2, 4)), pool=((2, 0), (6, 4)), kept=(0, 4)),
        Layer(conv=((0, 4),), pool=((0, 4),), kept=(4,)),
    ),
    readout=(4,),
)


def readout_count(num_classes: int) -> int:
    """How many qubits are read out for ``num_classes`` classes: ``ceil(log2 C)``."""
    if num_classes < 2:
        raise ValueError(f"need at least 2 classes, got {num_classes}")
    return max(1, math.ceil(math.log2(num_classes)))


def _conv_pairs(alive: list[int], wrap: bool) -> tuple[Pair, ...]:
    m = len(alive)
    pairs = [(alive[0], alive[-1])] if wrap and m > 2 else []
    pairs += [(alive[i], alive[i + 1]) for i in range(0, m - 1, 2)]
    pairs += [(alive[i], alive[i + 1]) for i in range(1, m - 1, 2)]
    return tuple(pairs)


def _pool_pairs(alive: list[int], keep: int) -> tuple[tuple[Pair, ...], list[int]]:
    """Pool ``alive`` down to ``max(keep, ceil(m/2))`` qubits: pairs and survivors."""
    m = len(alive)
    if m == 2 and keep == 1:
        return ((alive[0], alive[1]),), [alive[1]]
    count = min(m // 2, m - keep)
    pairs = tuple((alive[2 * i + 1], alive[2 * i]) for i in range(count))
    dropped = {control for control, _ in pairs}
    return pairs, [q for q in alive if q not in dropped]


def make_layout(name: str, num_qubits: int, num_classes: int = 2) -> Layout:
    """The layout ``name`` (``reference``, ``chain`` or ``general``) for ``num_qubits``.

    Raises ValueError for an unknown name, ``reference`` with other than 8 qubits or more
    than 2 classes, or too few qubits for the read-out.
    """
    keep = readout_count(num_classes)
    if name == "reference":
        if num_qubits != 8 or keep != 1:
            raise ValueError("the reference layout has 8 qubits and one read-out qubit")
        return REFERENCE
    if name not in LAYOUT_NAMES:
        raise ValueError(f"unknown layout {name!r}; choose one of {', '.join(LAYOUT_NAMES)}")
    if num_qubits <= keep:
        raise ValueError(f"{num_qubits} qubit(s) cannot pool down to {keep} read-out qubit(s)")
    alive, layers = list(range(num_qubits)), []
    while len(alive) > keep:
        conv = _conv_pairs(alive, wrap=name == "general")
        pool, alive = _pool_pairs(alive, keep)
        layers.append(Layer(conv=conv, pool=pool, kept=tuple(alive)))
    return Layout(name=name, num_qubits=num_qubits, layers=tuple(layers), readout=tuple(alive))


def readout_qubits(layout: Layout, num_classes: int) -> tuple[int, ...]:
    """The qubits read out for ``num_classes`` classes (bit ``i`` of outcome ``k`` is qubit
    ``readout[i]``; class ``k`` is outcome ``k``). Raises ValueError if ``layout`` was made
    for another number of read-out qubits."""
    if len(layout.readout) != readout_count(num_classes):
        raise ValueError(
            f"layout reads {len(layout.readout)} qubit(s); {num_classes} classes need "
            f"{readout_count(num_classes)}: build it with make_layout(..., num_classes)"
        )
    return layout.readout
