"""Estimated fidelity of a distributed program, channel by channel (pure).

The simulator (:mod:`qorch.workloads.distributed.simulate`) puts these channels on the
program, and this module lists the same ones at the same places:

- a delivered pair: ``depolarizing_error(4(1−F)/3, 2)`` on its two halves (each of the 16
  two-qubit Paulis with probability λ/16);
- a 1q or 2q gate: the depolarising channel of the node's average gate infidelity after it
  (gates inside ``if_test`` corrections run half the time: probability halved);
- a measurement: a bit flip (X before it) with the node's readout error;
- an idle gap: thermal relaxation (T1, T2). After the qubit's last mid-circuit measurement
  it is kept as it is (amplitude damping pulls towards |0⟩, which biases the output);
  before, and in the per-channel model, as its Pauli twirl ``p_X = p_Y = (1 − e^{−t/T1})/4``,
  ``p_Z = (1 − e^{−t/T2})/2 − p_X`` (a relaxation there would bias an outcome that the
  branch followed needs uniform).

Three ways to the output distribution under all of them, the first that fits its bound
(each bounded by work, not wall time, so the answer is the same on every machine):

1. ``density-matrix``: the exact mixture, a density matrix of the live qubits along the one
   branch of :class:`~qorch.workloads.distributed.sensitivity.BranchSimulation`
   (:mod:`~qorch.workloads.distributed.branchdensity`, at most 2^26 entries touched);
2. ``trajectories``, for a broad ideal distribution (more than :data:`MAX_OUTCOMES`
   outcomes): at least 400 (at most 2000) seeded statevector trajectories along that
   branch (:mod:`~qorch.workloads.distributed.branchtrajectories`), their mean distribution;
3. ``per-channel``: for each channel the share of an ideal outcome's probability it keeps
   (one backward pass), errors that leave the same output combined
   (:mod:`~qorch.workloads.distributed.errorclasses`) and channels taken as independent:
   a shot ends on outcome ``x`` with probability ``q(x) = p(x)·∏ kept(x)``, each of at most
   :data:`MAX_OUTCOMES` ideal outcomes followed on its own; failed shots are taken as spread
   uniformly, and a broader ideal distribution uses the chance that the output *state*
   stays ideal instead — conservative (a harmed state still overlaps a broad distribution;
   0.71 against 0.82 measured for ``benchmarks/distributed_sim.py``'s 6-qubit circuit on 3
   QPUs, which the first two give as 0.826 and 0.823). Its blind spot on few outcomes:
   relaxation twirled, so the pull towards |0⟩ is missed (a QFT of a basis state on 2
   QPUs with 100 µs memories: 0.304 against 0.218; the density matrix gives 0.213).

The **classical fidelity** is the Bhattacharyya fidelity of that distribution to the ideal
one ``p`` (compare with a measured fidelity); the **success probability** is the chance of
an intact ideal outcome: ``Σ ⟨b_x|ρ|b_x⟩`` over a few ideal outcomes' bras, else ``⟨ψ|ρ|ψ⟩``
(for one ideal outcome, the chance of that outcome). The "no error anywhere" product of
:class:`~qorch.workloads.distributed.schedule.Schedule` stays as a lower bound, and is all
that is reported for a program wider than the branch simulation follows.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import product

import numpy as np
from qiskit.circuit import CircuitInstruction, QuantumCircuit

from qorch.workloads.distributed.branchdensity import (
    MAX_DENSITY_WORK,
    Relaxation,
    density_work,
    distribution,
    final_density,
)
from qorch.workloads.distributed.branchtrajectories import (
    MAX_TRAJECTORY_WORK,
    MIN_TRAJECTORIES,
    affordable_trajectories,
    sampled_outputs,
)
from qorch.workloads.distributed.errorclasses import PROBES, kept_shares
from qorch.workloads.distributed.program import EPR_NAME, DistributedProgram, node_of
from qorch.workloads.distributed.schedule import Schedule, last_mixing
from qorch.workloads.distributed.sensitivity import (
    MAX_LIVE_QUBITS,
    BranchSimulation,
    PauliChannel,
    UnsupportedProgram,
)
from qorch.workloads.distributed.timing import (
    NodeTiming,
    Pair,
    PairLinkLike,
    depolarizing_param,
    find_link,
    link_fidelity,
    werner_depolarizing_param,
)

MAX_OUTCOMES = 8
"""Ideal outcomes followed one by one when they hold (almost) all the probability (fewer when
the work or memory bound below says so). Following all 64 of a 6-qubit broad distribution
overshot by up to 0.09 (the per-outcome product is not normalised when many errors act at
once) and took seconds; the state overlap used instead errs on the safe side."""
MAX_BRA_BYTES = 256 * 2**20
"""Memory for the followed bras (complex128 vectors as wide as the program's live qubits)."""
SUPPORT_TOLERANCE = 1e-6
MAX_WORK_PASSES = 4
"""The backward pass follows ψ, each bra and the probes: outcomes are followed one by one
only while that stays within this many times the forward pass's work bound."""
MIXTURE = "density-matrix"
SAMPLED = "trajectories"
PER_CHANNEL = "per-channel"
LOWER_BOUND_ONLY = "lower-bound"
PERFECT = "perfect"
_NOISELESS = frozenset({"measure", "reset", "barrier", "delay", "id", "if_else", EPR_NAME})


@dataclass(frozen=True)
class FidelityEstimate:
    """Success probability, expected classical fidelity and the no-error lower bound.

    ``success_probability`` and ``classical_fidelity`` are None when ``method`` is
    ``lower-bound`` (``reason`` says why); ``perfect`` means nothing can fail (all 1).
    """

    success_probability: float | None
    classical_fidelity: float | None
    lower_bound: float
    method: str
    reason: str = ""

    @property
    def best(self) -> float:
        """The figure to compare with a measured fidelity: the classical one, else the bound."""
        return self.lower_bound if self.classical_fidelity is None else self.classical_fidelity


def perfect_estimate() -> FidelityEstimate:
    """Ideal pairs, gates and memories: nothing can fail."""
    return FidelityEstimate(1.0, 1.0, 1.0, PERFECT)


def estimate_fidelity(
    program: DistributedProgram,
    schedule: Schedule,
    timings: Mapping[str, NodeTiming],
    links: Mapping[Pair, PairLinkLike],
    max_qubits: int = MAX_LIVE_QUBITS,
    max_density_work: int = MAX_DENSITY_WORK,
    max_trajectory_work: int = MAX_TRAJECTORY_WORK,
) -> FidelityEstimate:
    """The estimate of ``program`` (see the module docstring): the exact mixture when its
    density matrix costs at most ``max_density_work``, else sampled trajectories when
    enough fit in ``max_trajectory_work``, else the per-channel model; only the lower bound
    when more than ``max_qubits`` qubits are live at once."""
    bound = schedule.estimated_fidelity
    try:
        sim = BranchSimulation(program.combined, max_qubits)
    except UnsupportedProgram as error:
        return FidelityEstimate(None, None, bound, LOWER_BOUND_ONLY, str(error))
    collected = _Channels(program.combined, sim, timings, links)
    channels = collected.collect(schedule)
    ideal = sim.ideal_probabilities
    paulis, relaxations = collected.exact()
    if density_work(sim, paulis, relaxations) <= max_density_work:
        # a relaxation that biases a mid-circuit outcome: twirl them all, then give up
        for exact, relaxed in ((paulis, relaxations), (channels, {})):
            try:
                return _mixture_estimate(sim, final_density(sim, exact, relaxed), bound)
            except UnsupportedProgram:
                continue
    trajectories = affordable_trajectories(sim, relaxations, max_trajectory_work)
    if trajectories >= MIN_TRAJECTORIES and not _few_outcomes(ideal, MAX_OUTCOMES):
        # broad: where the per-channel model's assumptions fail. On a few ideal outcomes
        # it follows each one and is deterministic; trajectories would add a binomial
        # spread (±0.01 on the ions example) as large as its error there.
        bras = [sim.final_state]
        noisy, success = sampled_outputs(sim, paulis, relaxations, bras, trajectories)
        classical = min(1.0, float(np.sum(np.sqrt(ideal * noisy)) ** 2))
        return FidelityEstimate(min(success, classical), classical, bound, SAMPLED)
    affordable = min(
        MAX_WORK_PASSES * sim.max_work // max(1, sim.work) - 2 - PROBES,
        MAX_BRA_BYTES // (16 * 2**sim.widest),
    )
    support = _few_outcomes(ideal, max(1, min(MAX_OUTCOMES, affordable)))
    if support:  # few ideal outcomes: each kept
        kept = kept_shares(sim, channels, [sim.outcome_state(x) for x in support])
        landed = ideal[support] * kept  # probability a shot ends on each ideal outcome
    else:  # many: the chance the output state stays the ideal one, spread like the ideal
        support = list(range(len(ideal)))
        landed = ideal * kept_shares(sim, channels, [sim.final_state])[0]
    success = float(landed.sum())
    mixed = np.full(len(ideal), (1.0 - success) / len(ideal))  # failed shots: anywhere
    mixed[support] += landed
    classical = float(np.sum(np.sqrt(ideal * mixed)) ** 2)
    return FidelityEstimate(success, min(1.0, classical), bound, PER_CHANNEL)


def _few_outcomes(ideal: np.ndarray, most: int) -> list[int]:
    """The ideal outcomes when at most ``most`` of them hold (almost) all the probability,
    else none."""
    order = np.argsort(ideal)[::-1][:most]
    if float(ideal[order].sum()) < 1.0 - SUPPORT_TOLERANCE:
        return []
    return [int(x) for x in order if ideal[x] > SUPPORT_TOLERANCE]  # not rounding


def _mixture_estimate(sim: BranchSimulation, density: np.ndarray, bound: float) -> FidelityEstimate:
    """Both figures from the output's density matrix: the distribution it gives, and the
    chance of an intact ideal outcome (``⟨b_x|ρ|b_x⟩`` summed over few ideal outcomes, else
    the chance ``⟨ψ|ρ|ψ⟩`` that the state stays the ideal one)."""
    ideal = sim.ideal_probabilities
    noisy = distribution(sim, density)
    support = _few_outcomes(ideal, MAX_OUTCOMES)
    bras = [sim.outcome_state(x) for x in support] if support else [sim.final_state]
    success = sum(float(np.real(np.vdot(b.ravel(), density @ b.ravel()))) for b in bras)
    classical = min(1.0, float(np.sum(np.sqrt(ideal * noisy)) ** 2))
    # the intact share alone gives a fidelity of at least S: equal ones may differ by roundoff
    return FidelityEstimate(min(success, classical), classical, bound, MIXTURE)


class _Channels:
    """The program's error channels, keyed by the step boundary they act at."""

    def __init__(
        self,
        circuit: QuantumCircuit,
        sim: BranchSimulation,
        timings: Mapping[str, NodeTiming],
        links: Mapping[Pair, PairLinkLike],
    ) -> None:
        self.circuit, self.sim, self.timings, self.links = circuit, sim, timings, links
        self.last_mixing = last_mixing(circuit)
        self.last_mid_measurement = _last_mid_measurements(circuit, sim)
        self.found: dict[int, list[PauliChannel]] = defaultdict(list)
        self.gates: dict[int, list[PauliChannel]] = defaultdict(list)  # all but idle gaps
        self.relaxations: dict[int, list[Relaxation]] = defaultdict(list)
        self.twirled: dict[int, list[PauliChannel]] = defaultdict(list)

    def collect(self, schedule: Schedule) -> dict[int, list[PauliChannel]]:
        """All channels as Pauli channels (idle gaps twirled); :meth:`exact` gives the
        idle gaps as relaxations where the density matrix can take them."""
        for index, inst in enumerate(self.circuit.data):
            qs = [self.circuit.find_bit(q).index for q in inst.qubits]
            self.instruction(index, inst, qs, weight=1.0)
        self.gates = defaultdict(list, {b: list(found) for b, found in self.found.items()})
        for gap in schedule.idle_gaps:
            timing = self.timings[gap.node]
            flip = _decay(gap.duration_s, timing.t1_s) / 4
            phase = max(0.0, _decay(gap.duration_s, timing.t2_s) / 2 - flip)
            paulis = {"X": flip, "Y": flip, "Z": phase}
            boundary = self.sim.op_start[gap.before_op]
            if gap.before_op > self.last_mid_measurement[gap.qubit]:  # measured only at the end
                coherence = 1.0 - _decay(gap.duration_s, timing.t2_s)
                relaxation = (gap.qubit, _decay(gap.duration_s, timing.t1_s), coherence)
                self.relaxations[boundary].append(relaxation)
            else:
                self.add(boundary, gap.before_op - 1, (gap.qubit,), paulis, self.twirled)
            self.add(boundary, gap.before_op - 1, (gap.qubit,), paulis)
        return dict(self.found)

    def exact(self) -> tuple[dict[int, list[PauliChannel]], dict[int, list[Relaxation]]]:
        """The Pauli channels and relaxations for the density matrix: an idle gap after a
        qubit's last mid-circuit measurement as the relaxation itself (its pull towards
        |0⟩ biases the output, which a twirl misses), the others twirled (a relaxation
        there would bias a mid-circuit outcome that must stay uniform)."""
        paulis: dict[int, list[PauliChannel]] = defaultdict(list)
        for source in (self.gates, self.twirled):
            for boundary, found in source.items():
                paulis[boundary] += found
        return dict(paulis), dict(self.relaxations)

    def instruction(
        self,
        index: int,
        inst: CircuitInstruction,
        qs: list[int],
        weight: float,
    ) -> None:
        """Channels of top-level instruction ``index`` (or of an operation in its body)."""
        op = inst.operation
        end, node = self.sim.op_end[index], node_of(self.circuit, self.circuit.qubits[qs[0]])
        if op.name == EPR_NAME:
            a, b = node, node_of(self.circuit, self.circuit.qubits[qs[1]])
            lam = werner_depolarizing_param(link_fidelity(find_link(self.links, a, b)))
            paulis = {"".join(p): lam / 16 for p in product("IXYZ", repeat=2)}
            self.add(end, index, tuple(qs), paulis)
        elif op.name == "measure":
            paulis = {"X": weight * self.timings[node].error_readout}
            self.add(self.sim.op_start[index], index - 1, tuple(qs), paulis)
        elif op.name == "if_else":
            for block in op.blocks:
                for inner in block.data:
                    iq = [qs[block.find_bit(q).index] for q in inner.qubits]
                    self.instruction(index, inner, iq, weight / 2)
        elif op.name not in _NOISELESS and len(qs) <= 2:
            timing = self.timings[node]
            rate = timing.error_1q if len(qs) == 1 else timing.error_2q
            each = weight * depolarizing_param(rate, len(qs)) / 4 ** len(qs)
            paulis = {"".join(p): each for p in product("IXYZ", repeat=len(qs))}
            self.add(end, index, tuple(qs), paulis)

    def add(
        self,
        boundary: int,
        position: int,
        qubits: tuple[int, ...],
        paulis: dict[str, float],
        into: dict[int, list[PauliChannel]] | None = None,
    ) -> None:
        """Add a channel at ``boundary``; ``position`` is the top-level instruction after which
        it acts, to drop Z errors that only diagonal operations follow."""
        visible: dict[str, float] = defaultdict(float)
        for label, p in paulis.items():
            letters = [
                {"Z": "I", "Y": "X"}.get(letter, letter)
                if position >= self.last_mixing[q] else letter
                for letter, q in zip(label, qubits, strict=True)
            ]  # fmt: skip
            visible["".join(letters)] += p
        kept = tuple((k, p) for k, p in sorted(visible.items()) if set(k) != {"I"} and p > 0)
        if kept:
            (self.found if into is None else into)[boundary].append((qubits, kept))


def _last_mid_measurements(circuit: QuantumCircuit, sim: BranchSimulation) -> list[int]:
    """Per qubit, the top-level index of its last measurement into a register other than
    ``meas`` (−1 if none)."""
    last = [-1] * circuit.num_qubits
    for index, inst in enumerate(circuit.data):
        clbits = [circuit.find_bit(c).index for c in inst.clbits]
        if inst.operation.name == "measure" and clbits[0] not in sim.final_clbits:
            last[circuit.find_bit(inst.qubits[0]).index] = index
    return last


def _decay(duration_s: float, time_s: float) -> float:
    return 1.0 - math.exp(-duration_s / time_s) if math.isfinite(time_s) else 0.0
