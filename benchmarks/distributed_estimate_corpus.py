"""Estimated against simulated fidelity beyond the shipped examples: a small seeded corpus.

Circuits: the GHZ-plus-rotations circuit of ``benchmarks/distributed_sim.py`` (4 qubits on 2
QPUs, 6 on 3), GHZ, QFT (of a basis state) and seeded random circuits with rotations, 4–8
qubits on 2–4 QPUs, links of fidelity 0.85–0.99, with 100 µs memories (the default
:class:`NodeTiming`: T1 = T2 = 100 µs, so waits for pairs decohere) and without (T1 = T2 =
∞). Each case is partitioned, lowered and scheduled as a plan is, simulated on Aer with its
noise (seeded) and compared with the exact monolithic distribution (statevector), so only
the noisy side has shot noise; ``shot_noise`` is the mean |error| of the classical fidelity
that the same number of shots from the estimated distribution shows (bias included). Prints
one JSON line: per case measured, estimated (and the estimate's method), the per-channel
model's figure for comparison, and the gap. Usage:
``python benchmarks/distributed_estimate_corpus.py [--shots N] [--markdown]`` (about 5
minutes on two idle cores at 8000 shots).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

import numpy as np

# the link and the GHZ-plus-rotations circuit of distributed_sim.py (a sibling script: its
# directory is on the path when this one runs, and the tests put it there)
from distributed_sim import Link
from distributed_sim import circuit_of as ghz_rotations
from qiskit import QuantumCircuit
from qiskit.quantum_info import Statevector

from qorch.workloads.distributed.distribution import classical_fidelity
from qorch.workloads.distributed.estimate import SAMPLED, estimate_fidelity
from qorch.workloads.distributed.lower import lower
from qorch.workloads.distributed.partition import partition_circuit
from qorch.workloads.distributed.program import DistributedProgram
from qorch.workloads.distributed.schedule import schedule_program
from qorch.workloads.distributed.simulate import simulate
from qorch.workloads.distributed.timing import NodeTiming
from qorch.workloads.sources.generators import qft

NO_MEMORY_NOISE = NodeTiming(t1_s=math.inf, t2_s=math.inf)


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    return qc


def random_rotations(n: int, layers: int, seed: int) -> QuantumCircuit:
    """Seeded layers of ry/rz rotations and CXs between random pairs."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    for _ in range(layers):
        for q in range(n):
            qc.ry(float(rng.uniform(0, math.pi)), q)
            qc.rz(float(rng.uniform(0, 2 * math.pi)), q)
        order = rng.permutation(n)
        for a, b in zip(order[::2], order[1::2], strict=False):
            qc.cx(int(a), int(b))
    return qc


def qft_of(n: int, value: int) -> QuantumCircuit:
    circuit = qft(n, value=value, swaps=False)
    circuit.remove_final_measurements()
    return circuit


CORPUS: list[tuple[str, QuantumCircuit, int, float, bool]] = [
    # (label, circuit, QPUs, link fidelity, memory noise)
    ("distributed_sim 4q", ghz_rotations(4), 2, 0.95, True),
    ("distributed_sim 6q", ghz_rotations(6), 3, 0.95, True),
    ("distributed_sim 6q", ghz_rotations(6), 3, 0.85, False),
    ("ghz 6q", ghz(6), 3, 0.90, True),
    ("ghz 8q", ghz(8), 4, 0.95, True),
    ("qft 5q", qft_of(5, 11), 2, 0.85, True),
    ("qft 6q", qft_of(6, 37), 3, 0.95, True),
    ("qft 6q", qft_of(6, 37), 3, 0.99, False),
    ("random 4q seed 1", random_rotations(4, 3, 1), 2, 0.90, True),
    ("random 6q seed 2", random_rotations(6, 3, 2), 2, 0.95, True),
    ("random 6q seed 3", random_rotations(6, 3, 3), 3, 0.85, False),
    ("random 7q seed 4", random_rotations(7, 2, 4), 3, 0.99, True),
    ("random 8q seed 5", random_rotations(8, 2, 5), 4, 0.95, True),
    ("random 8q seed 6", random_rotations(8, 2, 6), 4, 0.90, False),
]


def build(circuit: QuantumCircuit, nodes: int, fidelity: float, memory: bool) -> tuple[Any, ...]:
    names = [f"n{i}" for i in range(nodes)]
    per_node = -(-circuit.num_qubits // nodes)
    costs = [[0.0 if i == j else 1.0 for j in range(nodes)] for i in range(nodes)]
    comm = [1] * nodes
    part = partition_circuit(circuit, [per_node] * nodes, costs, comm_qubits=comm, node_names=names)
    program: DistributedProgram = lower(circuit, part, names, comm)
    links = {
        (a, b): Link(rate_hz=1e5, fidelity=fidelity, latency_s=5e-6)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }
    timings = {n: NodeTiming() if memory else NO_MEMORY_NOISE for n in names}
    return program, schedule_program(program, timings, links), timings, links


def shot_noise(ideal: dict[str, float], noisy: dict[str, float], shots: int) -> float:
    """Mean |sampled − exact| classical fidelity at ``shots`` draws from ``noisy``."""
    keys = sorted(noisy)
    q = np.array([noisy[k] for k in keys])
    exact = classical_fidelity(ideal, noisy)
    rng = np.random.default_rng(0)
    draws = rng.multinomial(shots, q / q.sum(), size=20)
    errors = [
        classical_fidelity(ideal, {k: int(c) for k, c in zip(keys, row, strict=True) if c}) - exact
        for row in draws
    ]
    return float(np.mean(np.abs(errors)))


def measure(case: tuple[str, QuantumCircuit, int, float, bool], shots: int) -> dict[str, Any]:
    label, circuit, nodes, fidelity, memory = case
    program, schedule, timings, links = build(circuit, nodes, fidelity, memory)
    start = time.perf_counter()
    estimate = estimate_fidelity(program, schedule, timings, links)
    seconds = time.perf_counter() - start
    sampled = estimate_fidelity(program, schedule, timings, links, max_density_work=0)
    per_channel = estimate_fidelity(
        program, schedule, timings, links, max_density_work=0, max_trajectory_work=0
    )
    counts = simulate(program, schedule, timings, links, shots=shots, seed=7 * shots)
    ideal = {k: v for k, v in Statevector(circuit).probabilities_dict().items() if v > 1e-12}
    measured = classical_fidelity(counts, ideal)
    width = circuit.num_qubits
    estimated_q = _estimated_distribution(program, schedule, timings, links, width)
    return {
        "case": label,
        "qpus": nodes,
        "link_fidelity": fidelity,
        "memory_noise": memory,
        "epr_pairs": program.epr_pairs,
        "outcomes": len(ideal),
        "measured": round(measured, 4),
        "estimated": round(estimate.best, 4),
        "method": estimate.method,
        "trajectories": _round(sampled.classical_fidelity) if sampled.method == SAMPLED else None,
        "per_channel_model": _round(per_channel.classical_fidelity),
        "success_probability": _round(estimate.success_probability),
        "lower_bound": round(estimate.lower_bound, 4),
        "measured_minus_estimated": round(measured - estimate.best, 4),
        "shot_noise": round(shot_noise(ideal, estimated_q, shots), 4),
        "estimate_seconds": round(seconds, 2),
    }


def _estimated_distribution(program, schedule, timings, links, width) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """The estimate's distribution (as bitstrings), for the shot-noise figure: the density
    matrix's, else the trajectories'."""
    from qorch.workloads.distributed.branchdensity import (
        MAX_DENSITY_WORK,
        density_work,
        distribution,
        final_density,
    )
    from qorch.workloads.distributed.branchtrajectories import (
        affordable_trajectories,
        sampled_outputs,
    )
    from qorch.workloads.distributed.estimate import _Channels
    from qorch.workloads.distributed.sensitivity import BranchSimulation

    sim = BranchSimulation(program.combined)
    collected = _Channels(program.combined, sim, timings, links)
    collected.collect(schedule)
    paulis, relaxations = collected.exact()
    if density_work(sim, paulis, relaxations) <= MAX_DENSITY_WORK:
        q = distribution(sim, final_density(sim, paulis, relaxations))
    else:
        bras = [sim.final_state]
        count = affordable_trajectories(sim, relaxations)
        q, _ = sampled_outputs(sim, paulis, relaxations, bras, count)
    return {format(i, f"0{width}b"): float(v) for i, v in enumerate(q) if v > 1e-12}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| case | QPUs | F | memories | measured | estimated | trajectories | per-channel model "
        "| measured − estimated |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        model = "-" if r["per_channel_model"] is None else f"{r['per_channel_model']:.3f}"
        sampled = "-" if r["trajectories"] is None else f"{r['trajectories']:.3f}"
        lines.append(
            f"| {r['case']} | {r['qpus']} | {r['link_fidelity']:.2f} | "
            f"{'100 µs' if r['memory_noise'] else 'ideal'} | {r['measured']:.3f} | "
            f"{r['estimated']:.3f} ({r['method']}) | {sampled} | {model} | "
            f"{r['measured_minus_estimated']:+.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shots", type=int, default=8000)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    if args.markdown:  # the header now, each row as it is measured
        print("\n".join(markdown([]).splitlines()[:2]), flush=True)
    for case in CORPUS:
        rows.append(measure(case, args.shots))
        if args.markdown:
            print(markdown(rows[-1:]).splitlines()[-1], flush=True)
    if not args.markdown:
        print(json.dumps({"benchmark": "distributed_estimate_corpus", "shots": args.shots,
                          "cases": rows}))  # fmt: skip


if __name__ == "__main__":
    main()
