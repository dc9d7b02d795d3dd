"""SWAPs right before the final measurements are folded into the measurement, not executed:
across QPUs each cost EPR pairs (QFT-256 on 8 QPUs with 2 communication qubits: 4007 pairs
with its final swaps, 896 without)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from qiskit import QuantumCircuit

from qorch.sim.reference import ideal_distribution
from qorch.workloads.distributed.pipeline import final_swaps_absorbed

NETWORK = """
nodes:
  - {name: a, target: local:aer, capacity: 6, comm_qubits: 2}
  - {name: b, target: local:aer, capacity: 6, comm_qubits: 2}
  - {name: c, target: local:aer, capacity: 6, comm_qubits: 2}
  - {name: d, target: local:aer, capacity: 6, comm_qubits: 2}
links:
  - {between: [a, b], preset: telecom-fibre, length_km: 1}
  - {between: [a, c], preset: telecom-fibre, length_km: 1}
  - {between: [a, d], preset: telecom-fibre, length_km: 1}
  - {between: [b, c], preset: telecom-fibre, length_km: 1}
  - {between: [b, d], preset: telecom-fibre, length_km: 1}
  - {between: [c, d], preset: telecom-fibre, length_km: 1}
strategy: {objective: pairs, seed: 1}
"""


def test_final_swaps_become_a_relabelling_with_the_same_distribution() -> None:
    circuit = QuantumCircuit(4, 4)
    circuit.x(0)
    circuit.h(1)
    circuit.cx(1, 2)
    circuit.swap(0, 3)
    circuit.swap(1, 2)
    circuit.barrier()
    circuit.measure(range(4), range(4))
    absorbed = final_swaps_absorbed(circuit)
    assert "swap" not in absorbed.count_ops()
    assert ideal_distribution(absorbed) == ideal_distribution(circuit) == {"1000": 0.5, "1110": 0.5}
    inner = QuantumCircuit(2, 2)  # a swap followed by more gates is not final: kept
    inner.swap(0, 1)
    inner.h(0)
    inner.measure([0, 1], [0, 1])
    assert final_swaps_absorbed(inner) is inner


def test_a_qft_with_final_swaps_is_planned_as_one_without(
    cli, make_plan: Callable[..., Path]
) -> None:  # type: ignore[no-untyped-def]
    """QFT-16 on 4 QPUs: its final swaps changed the partitioner's problem (lower bound 20
    and baseline 108 pairs against 16 and 84 without them)."""
    found = []
    for swaps in ("true", "false"):
        plan = make_plan(
            "version: 1\nkind: distributed\nname: q\nseed: 7\n"
            f"circuit: {{name: qft16, generator: qft, qubits: 16, swaps: {swaps}}}\n"
            + NETWORK + "execute: {mode: estimate}\n",
            name=f"qft-{swaps}.yaml",
        )  # fmt: skip
        result = cli("compile", str(plan), "--json")
        assert result.returncode == 0, result.stderr
        found.append(json.loads(result.stdout)["partition"])
    keys = ("epr_pairs", "epr_pairs_unlimited_comm", "epr_pairs_baseline")
    assert [found[0][key] for key in keys] == [found[1][key] for key in keys]
