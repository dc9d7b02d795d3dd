"""The layered teleportation planner for three or more QPUs (klayers.py)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from qiskit import transpile
from qiskit.circuit.library import quantum_volume

import qorch.workloads.distributed.search as search
from qorch.workloads.distributed.effort import Work, effort_named
from qorch.workloads.distributed.hypergraph import canonicalise
from qorch.workloads.distributed.klayers import klayered_teleports
from qorch.workloads.distributed.layers import layer_order
from qorch.workloads.distributed.partition import Teleport, partition_circuit
from qorch.workloads.distributed.refine import Gates, pair_counts
from qorch.workloads.distributed.teleport import batch_comm_peak


def _mesh(k: int) -> np.ndarray:
    return np.ones((k, k)) - np.eye(k)


def _qv(n: int, seed: int = 7, depth: int | None = None):  # type: ignore[no-untyped-def]
    return transpile(
        quantum_volume(n, depth=depth, seed=seed), basis_gates=["u", "cx"], optimization_level=1
    )


def _check_batches(
    assign: tuple[int, ...] | np.ndarray, teleports: tuple[Teleport, ...] | list[Teleport],
    caps: list[int], comm: list[int],
) -> None:  # fmt: skip
    """Every batch starts from the qubit's node, keeps capacities and fits the comm qubits."""
    k = len(caps)
    node = list(assign)
    loads = np.bincount(np.asarray(assign), minlength=k)
    for at in sorted({t.at for t in teleports}):
        batch = [t for t in teleports if t.at == at]
        for t in batch:
            assert node[t.qubit] == t.source != t.target
            node[t.qubit] = t.target
            loads[t.source] -= 1
            loads[t.target] += 1
        assert all(loads <= caps)
        assert all(p <= c for p, c in zip(batch_comm_peak(batch, k), comm, strict=True))


@pytest.mark.parametrize("spare", [0, 1])
def test_quantum_volume_on_four_qpus_beats_the_greedy_sweep(monkeypatch, spare: int) -> None:  # type: ignore[no-untyped-def]
    """QV-16 on four QPUs: the layered plan wins, needs fewer pairs than the best plan
    without it (greedy sweeps, cat cover, third QPU), and every batch fits."""
    qc = _qv(16)
    caps, comm = [4 + spare] * 4, [2] * 4
    part = partition_circuit(qc, caps, _mesh(4), comm_qubits=comm)
    assert part.planner == "layered"
    assert part.epr_pairs == len(part.teleports)  # every block local: no cat pairs left
    _check_batches(part.assignment, part.teleports, caps, comm)
    monkeypatch.setattr(search, "klayered_teleports", lambda *a, **kw: None)
    without = partition_circuit(qc, caps, _mesh(4), comm_qubits=comm)
    assert without.planner != "layered"
    assert part.epr_pairs < without.epr_pairs


def _planned(qc, caps, costs, comm, bounds=None):  # type: ignore[no-untyped-def]
    gates = Gates.of(layer_order(canonicalise(qc)))
    k, n = len(caps), qc.num_qubits
    assign = np.repeat(np.arange(k), -(-n // k))[:n]
    work = Work()
    found = klayered_teleports(gates, assign, caps, comm, costs, 0, bounds, work)
    return found, work


def test_moves_use_only_pairs_with_a_path() -> None:
    """A ring of four QPUs (no 0–2 or 1–3 path): no move crosses a missing path."""
    ring = _mesh(4)
    ring[0, 2] = ring[2, 0] = ring[1, 3] = ring[3, 1] = math.inf
    caps, comm = [4, 4, 4, 4], [2, 2, 2, 2]
    found, _ = _planned(_qv(12, seed=3, depth=6), caps, ring, comm)
    assert found is not None
    start, plan = found
    assert plan and all(math.isfinite(ring[t.source, t.target]) for t in plan)
    _check_batches(start, plan, caps, comm)


def test_odd_capacities_leave_some_blocks_split_and_still_fit() -> None:
    """Three data qubits per QPU, every qubit in a block: one block per QPU stays split
    each layer (cat-entanglement serves it); the moves still keep every capacity."""
    qc = _qv(12, seed=5, depth=6)
    caps, comm = [3, 3, 3, 3], [2, 2, 2, 2]
    found, _ = _planned(qc, caps, _mesh(4), comm)
    assert found is not None
    start, plan = found
    gates = Gates.of(layer_order(canonicalise(qc)))
    assert sum(pair_counts(gates, start, plan, 4).values()) > 0
    _check_batches(start, plan, caps, comm)


def test_the_planner_is_deterministic_and_bounded_by_its_counts() -> None:
    qc = _qv(16)
    caps, comm = [4] * 4, [2] * 4
    first, work = _planned(qc, caps, _mesh(4), comm)
    again, _ = _planned(qc, caps, _mesh(4), comm)
    assert first is not None and again is not None
    assert np.array_equal(first[0], again[0]) and first[1] == again[1]
    default = effort_named("default")
    assert 0 < work.spent["layered_options"] <= default.layered_steps
    tight = dataclasses.replace(default, layered_steps=100, layered_beam=2)
    found, spent = _planned(qc, caps, _mesh(4), comm, tight)
    assert spent.spent["layered_options"] <= 100
    assert found is not None  # a narrow beam still finds a plan, just a dearer one
