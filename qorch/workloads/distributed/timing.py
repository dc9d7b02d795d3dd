"""Node timing and the channel physics shared by the schedule and the simulator (pure).

:class:`NodeTiming` holds one node's durations, error rates and memory times
(:func:`timing_from_target` reads them off a qiskit ``Target``). The channel
helpers turn those figures into the error probabilities that
:mod:`qorch.workloads.distributed.schedule` multiplies into its estimate and that
:mod:`qorch.workloads.distributed.simulate` applies as Aer noise: the d-dimensional
depolarising channel of a gate's average infidelity, the Werner state of a
delivered pair, Pauli-twirled thermal relaxation of an idle qubit, and the
dephasing of a stored pair. :func:`find_link` looks up the link two nodes share.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from qorch.contract.errors import PlanError

Pair = tuple[str, str]


class PairLinkLike(Protocol):
    """What scheduling needs of a link between two nodes (``network.PairLink`` has it)."""

    @property
    def rate_hz(self) -> float:
        """Expected delivered EPR pairs per second."""
        ...

    @property
    def fidelity(self) -> float | None:
        """Werner fidelity of a delivered pair; None on a classical-only link."""
        ...

    @property
    def latency_s(self) -> float:
        """One-way classical latency between the nodes, in seconds."""
        ...


@dataclass(frozen=True)
class NodeTiming:
    """Durations (seconds), error rates and memory times of one node's QPU.

    Defaults describe an unspecified superconducting-like device: 1q gate 50 ns,
    2q gate 300 ns, measurement and reset 1 µs, feed-forward (a classical decision
    on the node) 500 ns; errors 1e-4 (1q), 5e-3 (2q), 1e-2 (readout), average
    gate infidelities as IBM reports them; T1 = T2 = 100 µs.
    """

    gate_1q_s: float = 50e-9
    gate_2q_s: float = 300e-9
    measure_s: float = 1e-6
    reset_s: float = 1e-6
    feedforward_s: float = 500e-9
    error_1q: float = 1e-4
    error_2q: float = 5e-3
    error_readout: float = 1e-2
    t1_s: float = 100e-6
    t2_s: float = 100e-6

    def __post_init__(self) -> None:
        times = (self.gate_1q_s, self.gate_2q_s, self.measure_s, self.reset_s, self.feedforward_s)
        if any(t < 0 for t in times):
            raise PlanError("node timing: durations must be >= 0 s")
        if not all(0 <= e <= 0.5 for e in (self.error_1q, self.error_2q, self.error_readout)):
            raise PlanError("node timing: error rates must be in [0, 0.5]")
        if not (self.t1_s > 0 and self.t2_s > 0 and self.t2_s <= 2 * self.t1_s):
            raise PlanError("node timing: need T1 > 0 and 0 < T2 <= 2·T1")

    @classmethod
    def perfect(cls) -> NodeTiming:
        """Default durations with no errors and memories that never decohere."""
        return cls(error_1q=0.0, error_2q=0.0, error_readout=0.0, t1_s=math.inf, t2_s=math.inf)


def _median(values: Sequence[float]) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def timing_from_target(target: object, default: NodeTiming | None = None) -> NodeTiming:
    """Median durations, errors and T1/T2 over a qiskit ``Target``'s qubits.

    1q figures come from physical 1q gates (not virtual ``rz``), 2q from any
    2q gate; a value the target lacks keeps ``default`` (documented defaults).
    T2 is clipped to 2·T1. Feed-forward latency is never in a target.
    """
    base = default or NodeTiming()
    found: dict[str, list[float]] = defaultdict(list)
    virtual = {"rz", "p", "u1", "z", "s", "sdg", "t", "tdg", "delay", "id"}
    for name in target.operation_names:  # type: ignore[attr-defined]
        for qargs, props in target[name].items():  # type: ignore[index]
            if props is None or qargs is None:
                continue
            kind = {1: "1q", 2: "2q"}.get(len(qargs), "")
            if name in ("measure", "reset"):
                kind = name
            elif kind == "1q" and name in virtual:
                continue
            if kind and props.duration is not None:
                found[kind + "_s"].append(props.duration)
            if kind and kind != "reset" and props.error is not None:
                found[kind + "_err"].append(props.error)
    qprops = [p for p in (getattr(target, "qubit_properties", None) or []) if p is not None]
    t1 = _median([p.t1 for p in qprops if p.t1]) or base.t1_s
    t2 = _median([p.t2 for p in qprops if p.t2]) or base.t2_s

    def pick(key: str, fallback: float) -> float:
        value = _median(found[key])
        return fallback if value is None else value

    return NodeTiming(
        gate_1q_s=pick("1q_s", base.gate_1q_s),
        gate_2q_s=pick("2q_s", base.gate_2q_s),
        measure_s=pick("measure_s", base.measure_s),
        reset_s=pick("reset_s", base.reset_s),
        feedforward_s=base.feedforward_s,
        error_1q=pick("1q_err", base.error_1q),
        error_2q=pick("2q_err", base.error_2q),
        error_readout=pick("measure_err", base.error_readout),
        t1_s=t1,
        t2_s=min(t2, 2 * t1),
    )


# ---- channel physics shared with simulate.py -------------------------------------------------


def depolarizing_param(error: float, num_qubits: int) -> float:
    """Parameter λ of qiskit-aer's ``depolarizing_error`` with average infidelity ``error``."""
    dim = 2**num_qubits
    return error * dim / (dim - 1)


def gate_error_probability(error: float, num_qubits: int) -> float:
    """Probability of a non-identity Pauli in the depolarising channel of average infidelity."""
    dim = 2**num_qubits
    return depolarizing_param(error, num_qubits) * (dim * dim - 1) / (dim * dim)


def werner_depolarizing_param(fidelity: float) -> float:
    """λ of ``depolarizing_error(λ, 2)`` after ideal |Φ+⟩ giving Werner fidelity F: 4(1−F)/3."""
    return 4.0 * (1.0 - fidelity) / 3.0


def idle_error_probability(idle_s: float, t1_s: float, t2_s: float) -> float:
    """Pauli-error probability of thermal relaxation over ``idle_s`` (Pauli-twirled)."""
    decay_1 = math.exp(-idle_s / t1_s) if math.isfinite(t1_s) else 1.0
    decay_2 = math.exp(-idle_s / t2_s) if math.isfinite(t2_s) else 1.0
    return (1.0 - decay_1) / 4.0 + (1.0 - decay_2) / 2.0


def relaxation_flip_probability(idle_s: float, t1_s: float) -> float:
    """The X and Y part of :func:`idle_error_probability`: ``(1 − e^{−t/T1})/2``; what an
    idle gap costs a qubit on which a Z error no longer matters."""
    decay_1 = math.exp(-idle_s / t1_s) if math.isfinite(t1_s) else 1.0
    return (1.0 - decay_1) / 2.0


def stored_pair_fidelity(
    fidelity: float, storage_a_s: float, storage_b_s: float, t2_a_s: float, t2_b_s: float
) -> float:
    """Fidelity to |Φ+⟩ of a Werner pair after its halves dephase for the given times.

    With Werner weight ``w = (4F − 1)/3`` and coherence ``D = e^{−t_a/T2_a − t_b/T2_b}``:
    ``F(t) = 1/4 + w(1 + 2D)/4`` (memory T1 neglected).
    """
    weight = (4.0 * fidelity - 1.0) / 3.0
    rate = sum(t / t2 for t, t2 in ((storage_a_s, t2_a_s), (storage_b_s, t2_b_s)) if t > 0)
    return 0.25 + weight * (1.0 + 2.0 * math.exp(-rate)) / 4.0


def pair_storage_penalty(
    link: PairLinkLike, t2_a_s: float, t2_b_s: float, storage_s: float | None = None
) -> float:
    """Fidelity a pair of ``link`` loses in storage; for the partitioner's cost.

    ``storage_s`` defaults to the link's one-way latency: a remote gate's far half
    waits for one classical message before it is used. Returns ``F − F(stored)``
    in [0, 0.75]; compare with
    :data:`qorch.workloads.distributed.schedule.MAX_STORAGE_LOSS`.
    """
    wait_s = link.latency_s if storage_s is None else storage_s
    fidelity = link_fidelity(link)
    return fidelity - stored_pair_fidelity(fidelity, 0.0, wait_s, t2_a_s, t2_b_s)


def find_link(
    links: Mapping[Pair, PairLinkLike], a: str, b: str, *, quantum: bool = True
) -> PairLinkLike:
    """The link between nodes ``a`` and ``b`` (either key order); with ``quantum``, one
    that delivers pairs. Raises PlanError."""
    link = links.get((a, b)) or links.get((b, a))
    if link is None:
        raise PlanError(f"no link between nodes '{a}' and '{b}', but the program needs one")
    if quantum and (link.rate_hz <= 0 or link.fidelity is None):
        raise PlanError(f"link {a}–{b} delivers no EPR pairs, but the program needs them")
    return link


def link_fidelity(link: PairLinkLike) -> float:
    """Werner fidelity of a quantum link (checked by :func:`find_link`)."""
    return 0.0 if link.fidelity is None else link.fidelity
