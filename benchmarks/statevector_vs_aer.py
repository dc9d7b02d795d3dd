"""Benchmark qorch's numpy statevector engine against Qiskit Aer (statevector method).

Run: ``python benchmarks/statevector_vs_aer.py [--qubits 8,12,20] [--repeats 5]``.
Prints exactly one JSON line on stdout; progress goes to stderr. Memory: ``peak_rss_mb`` is
the whole process (Qiskit and Aer included); ``qorch_traced_peak_mb`` is tracemalloc's peak
during one qorch call (numpy arrays included), per case and overall.

For each width: QFT and a seeded ``random_circuit(n, 20, max_operands=2)``, both
transpiled (outside the timed region) to the gates both engines accept; timed cases are
sampling ``--shots`` shots (counts dict) and exact probabilities. Both timings include
what a user pays from a transpiled circuit: qorch's circuit conversion, and Aer's
``run(...).result()`` plus reading the counts / probabilities. Each time is the best of
alternating rounds (at least ``--repeats``, more within ``--budget`` seconds per case),
so a busy machine slows both engines alike.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import qiskit
import qiskit_aer
from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import QFTGate
from qiskit.circuit.random import random_circuit
from qiskit_aer import AerSimulator

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from qorch.sim.statevector import probabilities, sample_counts
from qorch.sim.statevector_qiskit import SUPPORTED_GATES, program_from_circuit


def paired_best(calls: list[Callable[[], Any]], repeats: int, budget_s: float) -> list[float]:
    """Best wall time (s) of each call; calls alternate so both see the same machine load.

    At least ``repeats`` rounds, more while under ``budget_s`` seconds (at most 200 rounds).
    """
    best = [math.inf] * len(calls)
    start, rounds = time.perf_counter(), 0
    while rounds < repeats or (time.perf_counter() - start < budget_s and rounds < 200):
        for i, call in enumerate(calls):
            begin = time.perf_counter()
            call()
            best[i] = min(best[i], time.perf_counter() - begin)
        rounds += 1
    return best


def circuits(n: int, seed: int, basis: list[str]) -> dict[str, QuantumCircuit]:
    """The transpiled QFT-n and random depth-20 circuits, without measurements."""
    qft = QuantumCircuit(n, name=f"qft{n}")
    qft.append(QFTGate(n), range(n))
    rand = random_circuit(n, 20, max_operands=2, seed=seed)
    return {
        name: transpile(circuit, basis_gates=basis, optimization_level=1, seed_transpiler=seed)
        for name, circuit in (("qft", qft), ("random", rand))
    }


def qorch_calls(circuit: QuantumCircuit, shots: int, seed: int) -> dict[str, Callable[[], Any]]:
    """qorch's timed calls, from a transpiled circuit to counts / probabilities."""
    measured = circuit.measure_all(inplace=False)
    return {
        "sample": lambda: sample_counts(
            program_from_circuit(measured), shots, np.random.default_rng(seed)
        ),
        "probabilities": lambda: probabilities(program_from_circuit(circuit)),
    }


def aer_calls(circuit: QuantumCircuit, shots: int, seed: int) -> dict[str, Callable[[], Any]]:
    """Aer's timed calls, as a user makes them: ``run(...).result()`` and read the data."""
    simulator = AerSimulator(method="statevector", seed_simulator=seed)
    measured = circuit.measure_all(inplace=False)
    saved = circuit.copy()
    saved.save_probabilities()
    return {
        "sample": lambda: simulator.run(measured, shots=shots).result().get_counts(),
        "probabilities": lambda: np.asarray(
            simulator.run(saved, shots=1).result().data()["probabilities"]
        ),
    }


def traced_peak_mb(call: Callable[[], Any]) -> float:
    """Peak traced Python/numpy allocation of one call, in MiB."""
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def width_cases(n: int, args: argparse.Namespace, basis: list[str]) -> list[dict[str, Any]]:
    """Time the four cases of one width; each case also records qorch's traced peak."""
    cases = []
    for circuit_name, circuit in circuits(n, args.seed, basis).items():
        ours = qorch_calls(circuit, args.shots, args.seed)
        theirs = aer_calls(circuit, args.shots, args.seed)
        diff = float(np.abs(ours["probabilities"]() - theirs["probabilities"]()).max())
        for kind in ("sample", "probabilities"):
            name = f"{circuit_name}{n}_{kind}"
            print(f"timing {name} ({circuit.size()} gates)", file=sys.stderr)
            qorch_s, aer_s = paired_best([ours[kind], theirs[kind]], args.repeats, args.budget)
            cases.append(
                {"name": name, "qubits": n, "circuit": circuit_name, "kind": kind}
                | {"gates": circuit.size(), "qorch_s": qorch_s, "aer_s": aer_s}
                | {"ratio": qorch_s / aer_s, "max_abs_prob_diff": diff}
                | {"qorch_traced_peak_mb": round(traced_peak_mb(ours[kind]), 1)}
            )
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", default="8,12,20", help="comma-separated widths")
    parser.add_argument("--repeats", type=int, default=5, help="minimum timed rounds")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per case for more")
    parser.add_argument("--shots", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1234)
    args = parser.parse_args()
    aer_basis = set(AerSimulator(method="statevector").configuration().basis_gates)
    basis = [g for g in SUPPORTED_GATES if g in aer_basis]
    cases = [case for n in args.qubits.split(",") for case in width_cases(int(n), args, basis)]
    report = {
        "cases": cases,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "qorch_traced_peak_mb": max(case["qorch_traced_peak_mb"] for case in cases),
        "shots": args.shots,
        "repeats": args.repeats,
        "budget_s": args.budget,
        "basis": basis,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "qiskit": qiskit.__version__,
            "qiskit_aer": qiskit_aer.__version__,
        },
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
