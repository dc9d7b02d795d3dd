"""Issue 14, item 1: the two-QPU layered planner's total work is bounded by the effort.

qorch's own ``random`` generator (two-qubit gates, depth 2n) reaches the layered
planner with hundreds of block layers; before ``layered_cells`` it weighed 1536 side
choices per placement and layer whatever the circuit's size (14 s at 128 qubits).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from qorch.workloads.distributed.effort import Work, effort_named
from qorch.workloads.distributed.hypergraph import canonicalise
from qorch.workloads.distributed.layerchoices import choice_scores, side_choices
from qorch.workloads.distributed.layers import (
    LEAST_OPTIONS,
    block_layers,
    layer_order,
    layered_teleports,
    moves_fit,
)
from qorch.workloads.distributed.partition import partition_circuit
from qorch.workloads.distributed.refine import Gates, pair_counts
from qorch.workloads.sources.generators import random as random_circuit

COSTS = np.array([[0.0, 1.0], [1.0, 0.0]])


def _gates(n: int) -> Gates:
    return Gates.of(layer_order(canonicalise(random_circuit(n, 2 * n, 11))))


def _run(gates: Gates, n: int, cells: int, seed: int = 1):  # type: ignore[no-untyped-def]
    bounds = dataclasses.replace(effort_named("default"), layered_cells=cells)
    work = Work()
    caps = [n // 2 + 1] * 2
    start = np.repeat([0, 1], [n // 2, n - n // 2])
    found = layered_teleports(gates, start, caps, [2, 2], COSTS, seed, bounds, work)
    assert found is not None
    return found, work.spent["layered_options"], caps


def test_the_layered_planner_stops_at_its_cell_budget_and_still_plans() -> None:
    n = 24
    gates = _gates(n)
    depth = len(block_layers(gates, n).pairs)
    (start, plan), weighed, caps = _run(gates, n, cells=depth * n * LEAST_OPTIONS * 2)
    assert weighed * n <= depth * n * LEAST_OPTIONS * 2  # choices × qubits within the budget
    (_, wide), free, _ = _run(gates, n, cells=10**12)
    assert free > 4 * weighed  # the bound is what stopped it
    assert moves_fit(start, plan, np.asarray(caps), [2, 2])
    # every block runs locally, so the plan costs its teleports: far below leaving the
    # placement alone, and a wider search finds no worse
    static = sum(pair_counts(gates, start, (), 2).values())
    assert len(plan) < static
    assert len(wide) <= len(plan)


def test_the_same_seed_gives_the_same_layered_plan() -> None:
    gates = _gates(16)
    first, _, _ = _run(gates, 16, cells=200_000)
    again, _, _ = _run(gates, 16, cells=200_000)
    assert np.array_equal(first[0], again[0]) and first[1] == again[1]


def test_a_random_generator_plan_on_two_qpus_beats_the_baseline_at_every_effort() -> None:
    n = 32
    qc = random_circuit(n, 2 * n, 11)
    caps = [n // 2 + 2] * 2
    parts = {
        e: partition_circuit(qc, caps, COSTS, comm_qubits=[2, 2], seed=1, effort=e)
        for e in ("fast", "default")
    }
    for part in parts.values():
        assert part.baseline_pairs is not None and part.epr_pairs < part.baseline_pairs
    assert parts["fast"].work["layered_options"] < parts["default"].work["layered_options"]
    assert parts["default"].epr_pairs <= parts["fast"].epr_pairs


def test_choice_scores_equal_counting_on_every_colouring() -> None:
    """The scores' constant + linear + product terms equal moving qubits and counting the
    split blocks of the next layers on each colouring (the planner no longer builds them)."""
    rng = np.random.default_rng(5)
    n = 14
    col = rng.integers(0, 2, n).astype(np.int8)
    pairs = rng.permutation(n)[:10].reshape(5, 2)
    var = np.array([0, 2, 3])
    idle = np.setdiff1d(np.arange(n), pairs.ravel())[:2]
    caps = np.array([n, n])
    found = side_choices(col, pairs, var, caps, rng, 64, idle)
    ahead = [rng.permutation(n)[:8].reshape(4, 2) for _ in range(3)]
    ahead.append(np.array([[pairs[0, 0], pairs[0, 1]], [pairs[2, 0], idle[0]]]))
    weights = (1.0, 0.35, 0.12, 0.5)
    moved, h = choice_scores(col, found, ahead, weights)
    assert len(found.bits) == 2**5  # every row fits: all of them
    for row in range(len(found.bits)):
        colouring = found.colouring(col, row)
        assert moved[row] == np.count_nonzero(colouring != col)
        split = [np.count_nonzero(colouring[nxt[:, 0]] != colouring[nxt[:, 1]]) for nxt in ahead]
        assert h[row] == pytest.approx(sum(w * s for w, s in zip(weights, split, strict=True)))
