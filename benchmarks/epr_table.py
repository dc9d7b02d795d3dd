"""EPR pairs of distributed plans: the published QFT/QV rows and MQT Bench families.

Prints one JSON line ``{"rows": [...], "summary": {...}}`` (per-row progress on stderr).
Each row: circuit, source (``published``, ``qorch`` or ``mqt.bench``), qubits, qpus (a
full mesh), spare data slots per QPU (0 = exactly n/k data qubits; 1 = DisQCO's benchmark setting,
``qpu_info = n/k + 1``), ``comm_qubits`` (null = as many as needed, the published
setting; 2 = the plan default), ``epr_pairs``, ``baseline`` (the naive plan under the
same limits: block placement, one pair per gate group in circuit order), ``lower_bound``
(the plan's cost with unlimited communication qubits), partitioning ``seconds`` (wall)
and ``cpu_seconds`` (this process's CPU time: the wall time on an idle machine), the
published references (``disqco``, ``pytket_dqc``; null where none) and
``beats_or_matches_best``, plus ``teleports``, ``on_third_qpu`` (gates run on a QPU
holding neither of their qubits) and ``comm_peak`` (most cat copies held at once on one
QPU). ``summary`` gives the slowest row and every row worse than its baseline.

MQT Bench rows (the ``bench`` extra: ``pip install 'qorch[bench]'``) take each family at
the algorithm level, transpiled to u/cx/cp (the published rows' gates: QFT's h/cp, QV's
u/cx), at exactly n/k data qubits per QPU with 2 and with ample communication qubits.

Generator rows (source ``qorch``) are qorch's own ``random`` generator (``random-2q``:
two-qubit gates only, depth 2n, seed 11, as in a plan's ``generator: random``) at 32,
64 and 128 qubits (256 with ``--scale``) on 2 and 8 QPUs with 2 communication qubits
and exactly n/k data qubits per QPU (the plans of issue 14's grid): they reach the
two-QPU layered planner with hundreds of block layers, which MQT's random circuits
(gates on up to four qubits) do not.

Usage: ``python benchmarks/epr_table.py`` (everything) or a subset, e.g.
``--mqt-only --families draper,qaoa --qubits 32 --qpus 2,4 --comm 2``;
``--published-only`` needs no extra (nor ``--generator-only``); ``--scale`` adds
QFT-32…256 on 4 and 8 QPUs and the 256-qubit generator rows.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

from qiskit import QuantumCircuit, transpile
from qiskit.circuit.library import quantum_volume
from qiskit.synthesis import synth_qft_full

from qorch.workloads.distributed.effort import EFFORTS
from qorch.workloads.distributed.partition import partition_circuit
from qorch.workloads.sources.generators import random as generator_random

# (circuit, qubits, qpus) -> (DisQCO, pytket-dqc)
REFERENCES: dict[tuple[str, int, int], tuple[float | None, float | None]] = {
    ("qft", 16, 2): (7, 8),
    ("qft", 16, 4): (18, 19),
    ("qft", 32, 2): (15, 19),
    ("qft", 32, 4): (42, 42),
    ("qft", 64, 2): (31, None),
    ("qft", 64, 4): (90, None),
    ("qft", 96, 2): (47, None),
    ("qft", 96, 4): (138, None),
    ("quantum_volume", 32, 2): (210, None),  # pytket-dqc's "600" had no source: dropped
    ("quantum_volume", 32, 4): (None, None),  # no published figure; the k-QPU layered planner
}
SCALE = [(32, 8), (64, 4), (64, 8), (128, 8), (256, 8)]
GENERATOR = [(n, k) for n in (32, 64, 128) for k in (2, 8)]  # (qubits, QPUs), comm 2, n/k data
GENERATOR_SCALE = [(256, 2), (256, 8)]
GENERATOR_SPARE = 0

# Row name -> (mqt.bench benchmark name, its keyword arguments: seeded where it draws).
MQT_FAMILIES: dict[str, tuple[str, dict[str, int]]] = {
    "qft": ("qft", {}),
    "qaoa": ("qaoa", {}),
    "draper": ("draper_qft_adder", {}),
    "cdkm": ("cdkm_ripple_carry_adder", {}),
    "ghz": ("ghz", {}),
    "graphstate": ("graphstate", {"seed": 10}),
    "qnn": ("qnn", {}),
    "random": ("randomcircuit", {}),  # last: the slowest to partition
}
MQT_QUBITS = (16, 32, 64, 128)
MQT_QPUS = (2, 4, 8)
BASIS = ["u", "cx", "cp"]
MISSING_EXTRA = (
    "epr_table: the MQT Bench rows need mqt.bench: pip install 'qorch[bench]' "
    "(or run with --published-only)"
)


class MissingExtraError(RuntimeError):
    """mqt.bench is not installed."""


def published_circuit(name: str, n: int) -> QuantumCircuit:
    """QFT without final swaps (the published setting) or seeded quantum volume."""
    if name == "qft":
        return synth_qft_full(n, do_swaps=False)
    return transpile(quantum_volume(n, seed=7), basis_gates=["u", "cx"], optimization_level=1)


def generator_circuit(n: int) -> QuantumCircuit:
    """qorch's ``random`` generator as a plan's ``generator: random`` builds it (depth 2n)."""
    return generator_random(n, 2 * n, 11)


def mqt_circuit(family: str, n: int) -> QuantumCircuit:
    """MQT Bench's ``family`` on ``n`` qubits (algorithm level) in u/cx/cp gates."""
    try:
        from mqt.bench import BenchmarkLevel, get_benchmark
    except ImportError:
        raise MissingExtraError(MISSING_EXTRA) from None
    name, kwargs = MQT_FAMILIES[family]
    qc = get_benchmark(name, BenchmarkLevel.ALG, n, **kwargs)
    return transpile(qc, basis_gates=BASIS, optimization_level=1, seed_transpiler=0)


def row(
    qc: QuantumCircuit,
    name: str,
    k: int,
    *,
    spare: int = 0,
    comm: int | None = None,
    source: str = "published",
    effort: str = "default",
) -> dict:
    """Partition ``qc`` over ``k`` fully meshed QPUs of n/k + ``spare`` data qubits."""
    n = qc.num_qubits
    mesh = [[0.0 if i == j else 1.0 for j in range(k)] for i in range(k)]
    limits = None if comm is None else [comm] * k
    start, cpu_start = time.perf_counter(), time.process_time()
    part = partition_circuit(
        qc, [-(-n // k) + spare] * k, mesh, seed=0, comm_qubits=limits, effort=effort
    )
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    published = source == "published"
    disqco, pytket = REFERENCES.get((name, n, k), (None, None)) if published else (None, None)
    known = [r for r in (disqco, pytket) if r is not None]
    return {
        "circuit": name,
        "source": source,
        "qubits": n,
        "qpus": k,
        "spare_per_qpu": spare,
        "comm_qubits": comm,
        "two_qubit_gates": sum(1 for inst in qc.data if inst.operation.num_qubits == 2),
        "epr_pairs": part.epr_pairs,
        "baseline": part.baseline_pairs,
        "lower_bound": part.unlimited_pairs,
        "teleports": len(part.teleports),
        "on_third_qpu": part.third_node_gates,
        "comm_peak": part.comm_peak,
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "disqco": disqco,
        "pytket_dqc": pytket,
        "beats_or_matches_best": part.epr_pairs <= min(known) if known else None,
    }


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def _comms(text: str) -> list[int | None]:
    return [None if x in ("ample", "null") else int(x) for x in text.split(",") if x]


def _families(text: str) -> list[str]:
    names = [x for x in text.split(",") if x]
    unknown = [x for x in names if x not in MQT_FAMILIES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown family {unknown[0]!r}; choose from {', '.join(MQT_FAMILIES)}"
        )
    return names


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    only = p.add_mutually_exclusive_group()
    only.add_argument("--published-only", action="store_true", help="no MQT Bench rows")
    only.add_argument("--mqt-only", action="store_true", help="no published QFT/QV rows")
    only.add_argument("--generator-only", action="store_true",
                      help="only qorch's random-generator rows")  # fmt: skip
    p.add_argument("--families", type=_families, default=list(MQT_FAMILIES),
                   help=f"MQT families, comma-separated ({','.join(MQT_FAMILIES)})")  # fmt: skip
    p.add_argument("--qubits", type=_ints, default=list(MQT_QUBITS), help="e.g. 16,32")
    p.add_argument("--qpus", type=_ints, default=list(MQT_QPUS), help="e.g. 2,4,8")
    p.add_argument("--comm", type=_comms, default=[2, None],
                   help="communication qubits per QPU, e.g. 2,ample")  # fmt: skip
    p.add_argument("--effort", choices=EFFORTS, default="default")
    p.add_argument("--scale", action="store_true",
                   help="add QFT-32…256 on 4/8 QPUs and random-2q-256, comm 2")  # fmt: skip
    return p


def _jobs(args: argparse.Namespace) -> list[tuple[str, str, int, int, int, int | None]]:
    """(source, circuit, qubits, qpus, spare, comm) of every row asked for, in table order."""
    jobs: list[tuple[str, str, int, int, int, int | None]] = []
    if not args.mqt_only and not args.generator_only:
        jobs += [("published", c, n, k, s, None) for s in (0, 1) for (c, n, k) in REFERENCES]
        jobs += [("published", c, n, k, 0, 2) for (c, n, k) in REFERENCES]
        if args.scale:
            jobs += [("published", "qft", n, k, 0, 2) for n, k in SCALE]
    if not args.published_only and not args.mqt_only:
        sizes = GENERATOR + (GENERATOR_SCALE if args.scale else [])
        jobs += [("qorch", "random-2q", n, k, GENERATOR_SPARE, 2) for n, k in sizes]
    if not args.published_only and not args.generator_only:
        jobs += [("mqt.bench", f, n, k, 0, comm)
                 for f in args.families for n in args.qubits
                 for k in args.qpus for comm in args.comm]  # fmt: skip
    return jobs


def _label(r: dict) -> str:
    spare = f" spare={r['spare_per_qpu']}" if r["spare_per_qpu"] else ""
    return f"{r['circuit']}-{r['qubits']}/{r['qpus']}{spare} comm={r['comm_qubits']}"


def _summary(rows: list[dict], effort: str) -> dict:
    """The slowest rows (wall and CPU), rows past 30 s, and rows worse than their baseline."""
    worse = [
        {key: r[key] for key in ("circuit", "qubits", "qpus", "comm_qubits")}
        | {"epr_pairs": r["epr_pairs"], "baseline": r["baseline"]}
        for r in rows
        if r["baseline"] is not None and r["epr_pairs"] > r["baseline"]
    ]
    out: dict = {"rows": len(rows), "effort": effort, "mqt_bench": _mqt_version()}
    for key in ("seconds", "cpu_seconds"):
        slowest = max(rows, key=lambda r: r[key], default=None)
        out[f"max_{key}"] = slowest[key] if slowest else None
        out[f"slowest_{key}"] = _label(slowest) if slowest else None
        out[f"over_30_{key}"] = [_label(r) for r in rows if r[key] >= 30]
    out["worse_than_baseline"] = worse
    return out


def _mqt_version() -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mqt.bench")
    except PackageNotFoundError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    rows = []
    try:
        for source, name, n, k, spare, comm in _jobs(args):
            if source == "mqt.bench":
                qc = mqt_circuit(name, n)
            elif source == "qorch":
                qc = generator_circuit(n)
            else:
                qc = published_circuit(name, n)
            r = row(qc, name, k, spare=spare, comm=comm, source=source, effort=args.effort)
            rows.append(r)
            print(f"{name}-{n}/{k} spare={spare} comm={comm}: {r['epr_pairs']} pairs "
                  f"(baseline {r['baseline']}, bound {r['lower_bound']}) "
                  f"{r['seconds']} s, {r['cpu_seconds']} s CPU",
                  file=sys.stderr, flush=True)  # fmt: skip
    except MissingExtraError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(json.dumps({"rows": rows, "summary": _summary(rows, args.effort)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
