"""Simulate a distributed program on Qiskit Aer with link, gate and memory noise.

:func:`noisy_program` turns ``program.combined`` into a circuit and a noise model
that survive the bundle (circuit as QPY, noise model as
``json.dumps(NoiseModel.to_dict(serializable=True))``) and run on a plain
``AerSimulator`` later, with no re-transpilation (an optimising pass would drop
the idle markers). Noise is attached to instruction *labels*, which QPY keeps
and Aer matches (a labelled instruction takes only its label's noise):

- each ``epr`` becomes ``h`` (label ``epr:prep``, ideal) + ``cx`` labelled
  ``epr:<a>:<b>`` carrying ``depolarizing_error(4(1−F)/3, 2)``: the Werner state
  of fidelity F the link delivers;
- an idle gap of a live qubit (from :class:`~qorch.workloads.distributed.schedule.Schedule`)
  becomes an ``id`` labelled ``idle:<node>:<ns>`` before the instruction that
  ends it, carrying ``thermal_relaxation_error(T1, T2, ns·1e-9)``;
- gates (labels stripped) carry depolarising errors of the node's average
  infidelity, per qubit (and qubit pair), and measurements a symmetric readout
  error. Three-qubit gates are left ideal.

The channels match the estimate in :mod:`qorch.workloads.distributed.schedule`.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Mapping

from qiskit import QuantumCircuit, transpile
from qiskit.circuit import CircuitInstruction, Gate, Qubit
from qiskit.circuit.library import CXGate, HGate, IGate
from qiskit_aer import AerSimulator
from qiskit_aer.noise import (
    NoiseModel,
    ReadoutError,
    depolarizing_error,
    thermal_relaxation_error,
)

from qorch.contract.errors import PlanError
from qorch.workloads.distributed.program import (
    EPR_NAME,
    FINAL_REGISTER,
    DistributedProgram,
    node_of,
)
from qorch.workloads.distributed.schedule import IdleGap, Schedule
from qorch.workloads.distributed.timing import (
    NodeTiming,
    Pair,
    PairLinkLike,
    depolarizing_param,
    find_link,
    link_fidelity,
    werner_depolarizing_param,
)

EPR_PREP_LABEL = "epr:prep"
_UNTOUCHED = frozenset({"measure", "reset", "barrier", "delay", "if_else", "id"})


def epr_label(a: str, b: str) -> str:
    """Label of the ``cx`` that carries the a–b link's pair noise (names sorted)."""
    first, second = sorted((a, b))
    return f"{EPR_NAME}:{first}:{second}"


def idle_label(node: str, duration_ns: int) -> str:
    """Label of the ``id`` that carries ``duration_ns`` of idle noise on ``node``."""
    return f"idle:{node}:{duration_ns}"


@functools.cache
def _aer_instructions() -> frozenset[str]:
    return frozenset(AerSimulator().configuration().basis_gates)


class _Rewriter:
    """Copies ``combined``: EPRs → labelled h+cx, labels stripped, idle markers inserted."""

    def __init__(self, combined: QuantumCircuit) -> None:
        self.combined = combined
        self.node = {q: node_of(combined, q) for q in combined.qubits}

    def run(self, gaps: tuple[IdleGap, ...]) -> QuantumCircuit:
        before: dict[int, list[IdleGap]] = defaultdict(list)
        for gap in gaps:
            before[gap.before_op].append(gap)
        out = self.combined.copy_empty_like()
        for index, inst in enumerate(self.combined.data):
            for gap in before.get(index, ()):
                duration_ns = round(gap.duration_s * 1e9)
                if duration_ns >= 1:
                    label = idle_label(gap.node, duration_ns)
                    out.append(IGate(label=label), [out.qubits[gap.qubit]])
            self.append(out, inst, list(inst.qubits))
        return out

    def append(self, out: QuantumCircuit, inst: CircuitInstruction, outer: list[Qubit]) -> None:
        """Append ``inst`` rewritten; ``outer`` are its qubits as qubits of ``combined``."""
        op = inst.operation
        if op.name == EPR_NAME:
            label = epr_label(self.node[outer[0]], self.node[outer[1]])
            out.append(HGate(label=EPR_PREP_LABEL), [inst.qubits[0]])
            out.append(CXGate(label=label), list(inst.qubits))
            return
        blocks = getattr(op, "blocks", ())
        if blocks:
            op = op.replace_blocks([self.block(block, outer) for block in blocks])
        elif op.name not in _aer_instructions() and op.definition is not None:
            for inner in op.definition.data:
                sub = [inst.qubits[op.definition.find_bit(q).index] for q in inner.qubits]
                subc = [inst.clbits[op.definition.find_bit(c).index] for c in inner.clbits]
                mapped = [outer[op.definition.find_bit(q).index] for q in inner.qubits]
                self.append(out, inner.replace(qubits=sub, clbits=subc), mapped)
            return
        elif isinstance(op, Gate) and op.label is not None:
            op = op.to_mutable()
            op.label = None
        out.append(op, inst.qubits, inst.clbits)

    def block(self, block: QuantumCircuit, outer: list[Qubit]) -> QuantumCircuit:
        new = block.copy_empty_like()
        for inst in block.data:
            self.append(new, inst, [outer[block.find_bit(q).index] for q in inst.qubits])
        return new


def ideal_circuit(program: DistributedProgram) -> QuantumCircuit:
    """``program.combined`` runnable on Aer with no noise (EPRs as plain h + cx)."""
    return _Rewriter(program.combined).run(())


def noisy_program(
    program: DistributedProgram,
    schedule: Schedule,
    timings: Mapping[str, NodeTiming],
    links: Mapping[Pair, PairLinkLike],
    *,
    idle_noise: bool = True,
    gate_noise: bool = True,
) -> tuple[QuantumCircuit, NoiseModel]:
    """The circuit and Aer noise model of ``program`` under its links and nodes.

    ``schedule`` must come from ``schedule_program`` on the same program; its idle
    gaps become idle noise (``idle_noise``); ``gate_noise`` adds gate and readout
    errors from ``timings``. Raises PlanError for a missing link or node timing.
    """
    circuit = _Rewriter(program.combined).run(schedule.idle_gaps if idle_noise else ())
    noise = NoiseModel()
    for a, b in program.epr_pairs_per_pair:
        fidelity = link_fidelity(find_link(links, a, b))
        if not 0.25 <= fidelity <= 1.0:
            raise PlanError(f"link {a}–{b}: Werner fidelity {fidelity} is outside [0.25, 1]")
        error = depolarizing_error(werner_depolarizing_param(fidelity), 2)
        noise.add_all_qubit_quantum_error(error, epr_label(a, b), warnings=False)
    if idle_noise:
        _add_idle_noise(noise, circuit, timings)
    if gate_noise:
        _add_gate_noise(noise, circuit, timings)
    return circuit, noise


def _timing(timings: Mapping[str, NodeTiming], node: str) -> NodeTiming:
    if node not in timings:
        raise PlanError(f"no timing for node '{node}'")
    return timings[node]


def _add_idle_noise(
    noise: NoiseModel, circuit: QuantumCircuit, timings: Mapping[str, NodeTiming]
) -> None:
    labels = {inst.operation.label for inst in circuit.data if inst.operation.name == "id"}
    for label in sorted(labels - {None}):
        _, node, duration_ns = label.rsplit(":", 2)
        timing = _timing(timings, node)
        if math.isinf(timing.t1_s) and math.isinf(timing.t2_s):
            continue
        error = thermal_relaxation_error(timing.t1_s, timing.t2_s, int(duration_ns) * 1e-9)
        noise.add_all_qubit_quantum_error(error, label, warnings=False)


def _local_ops(circuit: QuantumCircuit) -> dict[tuple[int, ...], set[str]]:
    """Unlabelled gate names per tuple of (top-level) qubit indices, inside blocks too."""
    found: dict[tuple[int, ...], set[str]] = defaultdict(set)

    def visit(qc: QuantumCircuit, qubits: list[int]) -> None:
        for inst in qc.data:
            mapped = [qubits[qc.find_bit(q).index] for q in inst.qubits]
            for block in getattr(inst.operation, "blocks", ()):
                visit(block, mapped)
            op = inst.operation
            if op.name == "measure" or (op.name not in _UNTOUCHED and op.label is None):
                found[tuple(mapped)].add(op.name)

    visit(circuit, list(range(circuit.num_qubits)))
    return found


def _add_gate_noise(
    noise: NoiseModel, circuit: QuantumCircuit, timings: Mapping[str, NodeTiming]
) -> None:
    for qubits, names in sorted(_local_ops(circuit).items()):
        timing = _timing(timings, node_of(circuit, circuit.qubits[qubits[0]]))
        if "measure" in names and timing.error_readout > 0:
            e = timing.error_readout
            noise.add_readout_error(ReadoutError([[1 - e, e], [e, 1 - e]]), list(qubits))
        gates = sorted(names - {"measure"})
        rate = {1: timing.error_1q, 2: timing.error_2q}.get(len(qubits), 0.0)
        if gates and rate > 0:
            error = depolarizing_error(depolarizing_param(rate, len(qubits)), len(qubits))
            noise.add_quantum_error(error, gates, list(qubits), warnings=False)


def _run(
    circuit: QuantumCircuit, noise: NoiseModel | None, shots: int, seed: int
) -> dict[str, int]:
    # Aer's automatic method. Not density_matrix + shot_branching: with readout
    # errors its shots are not independent (P(outcome) varied by ±0.03 across seeds).
    # Aer seeds shot i with seed + i, so seeds s and s+1 give almost the same sample.
    result = AerSimulator().run(circuit, shots=shots, noise_model=noise, seed_simulator=seed)
    result = result.result()
    return dict(result.get_counts(0))


def marginal_final_counts(circuit: QuantumCircuit, counts: Mapping[str, int]) -> dict[str, int]:
    """Counts of the ``meas`` register only (Qiskit order: logical qubit 0 rightmost)."""
    names = [reg.name for reg in circuit.cregs]
    if FINAL_REGISTER not in names:
        raise PlanError(f"the distributed program has no '{FINAL_REGISTER}' register")
    position = len(names) - 1 - names.index(FINAL_REGISTER)  # keys list registers reversed
    marginal: dict[str, int] = defaultdict(int)
    for key, count in counts.items():
        marginal[key.split(" ")[position]] += count
    return dict(marginal)


def simulate(
    program: DistributedProgram,
    schedule: Schedule,
    timings: Mapping[str, NodeTiming],
    links: Mapping[Pair, PairLinkLike],
    *,
    shots: int,
    seed: int,
    perfect: bool = False,
    idle_noise: bool = True,
    gate_noise: bool = True,
) -> dict[str, int]:
    """Run ``program`` on Aer; counts of the ``meas`` register. ``perfect``: no noise at all."""
    if perfect:
        circuit, noise = ideal_circuit(program), None
    else:
        circuit, noise = noisy_program(
            program, schedule, timings, links, idle_noise=idle_noise, gate_noise=gate_noise
        )
    return marginal_final_counts(circuit, _run(circuit, noise, shots, seed))


def monolithic_counts(circuit: QuantumCircuit, shots: int, seed: int) -> dict[str, int]:
    """Ideal Aer counts of ``circuit`` with its final measurements replaced by ``measure_all``."""
    bare = circuit.remove_final_measurements(inplace=False)
    bare.measure_all()
    native = transpile(bare, AerSimulator(), optimization_level=0, seed_transpiler=seed)
    return _run(native, None, shots, seed)
