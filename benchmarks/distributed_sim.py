"""Aer throughput of distributed programs (perfect and noisy links) against the monolithic
circuit, for a GHZ-plus-rotations circuit lowered onto 2 and 3 nodes.

Prints one JSON line: per size, shots/s of each run, the perfect-link TVD to the
monolithic distribution, and the noisy run's classical fidelity to it beside the estimate.
Usage: ``python benchmarks/distributed_sim.py [--shots N]``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass

from qiskit import QuantumCircuit

from qorch.workloads.distributed.distribution import (
    classical_fidelity,
    total_variation_distance,
)
from qorch.workloads.distributed.estimate import estimate_fidelity
from qorch.workloads.distributed.lower import lower
from qorch.workloads.distributed.partition import partition_circuit
from qorch.workloads.distributed.schedule import schedule_program
from qorch.workloads.distributed.simulate import monolithic_counts, simulate
from qorch.workloads.distributed.timing import NodeTiming


@dataclass(frozen=True)
class Link:
    rate_hz: float
    fidelity: float | None
    latency_s: float


def circuit_of(num_qubits: int) -> QuantumCircuit:
    qc = QuantumCircuit(num_qubits)
    qc.h(0)
    for q in range(num_qubits - 1):
        qc.cx(q, q + 1)
        qc.ry(0.3 * (q + 1), q + 1)
    return qc


def measure(num_qubits: int, nodes: int, shots: int) -> dict[str, object]:
    names = [f"n{i}" for i in range(nodes)]
    circuit = circuit_of(num_qubits)
    per_node = -(-num_qubits // nodes)
    costs = [[0.0 if i == j else 1.0 for j in range(nodes)] for i in range(nodes)]
    part = partition_circuit(
        circuit, [per_node] * nodes, costs, comm_qubits=[1] * nodes, node_names=names
    )
    program = lower(circuit, part, names, [1] * nodes)
    links = {
        (a, b): Link(rate_hz=1e5, fidelity=0.95, latency_s=5e-6)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }
    timings = {n: NodeTiming() for n in names}
    schedule = schedule_program(program, timings, links)
    rates: dict[str, float] = {}
    start = time.perf_counter()
    reference = monolithic_counts(circuit, shots, seed=1)
    rates["monolithic_shots_per_s"] = shots / (time.perf_counter() - start)
    counts: dict[str, dict[str, int]] = {}
    for mode, perfect in (("perfect", True), ("noisy", False)):
        start = time.perf_counter()
        counts[mode] = simulate(
            program, schedule, timings, links, shots=shots, seed=10 * shots, perfect=perfect
        )
        rates[f"distributed_{mode}_shots_per_s"] = shots / (time.perf_counter() - start)
    return {
        "qubits": num_qubits,
        "nodes": nodes,
        "simulated_qubits": program.combined.num_qubits,
        "epr_pairs": program.epr_pairs,
        **{k: round(v, 1) for k, v in rates.items()},
        "perfect_tvd": round(total_variation_distance(counts["perfect"], reference), 4),
        "noisy_classical_fidelity": round(classical_fidelity(counts["noisy"], reference), 4),
        "estimated_classical_fidelity": round(
            estimate_fidelity(program, schedule, timings, links).best, 4
        ),
        "fidelity_lower_bound": round(schedule.estimated_fidelity, 4),
        "makespan_us": round(schedule.makespan_s * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=int, default=4000)
    args = parser.parse_args()
    monolithic_counts(circuit_of(2), 10, seed=0)  # warm Aer up
    sizes = [measure(4, 2, args.shots), measure(6, 3, args.shots)]
    print(json.dumps({"benchmark": "distributed_sim", "shots": args.shots, "sizes": sizes}))


if __name__ == "__main__":
    main()
