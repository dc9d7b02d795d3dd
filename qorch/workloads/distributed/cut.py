"""Circuit cutting: split a circuit between partitions with gate cuts, and reconstruct.

:func:`plan_cut` cuts every gate that crosses partitions (qiskit-addon-cutting's
quasi-probability decomposition), checks the sampling overhead against a budget
*before* generating anything, and generates the sub-experiments exactly
(``num_samples=inf``), so the same input always gives the same circuits. Each
sub-experiment is made runnable on any qorch provider by
:func:`~qorch.workloads.distributed.cut_runnable.make_runnable` (one classical register,
only terminal measurements; the bit layout kept in its
:class:`~qorch.workloads.distributed.cut_runnable.Readout`).

:func:`reconstruct` is pure: counts in, estimates with standard errors out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import BudgetError, PlanError
from qorch.workloads.distributed.cut_runnable import Readout, make_runnable

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

PAULI_CHARS = frozenset("IXYZ")
MAX_SUBEXPERIMENTS = 20_000
"""Most circuits :func:`plan_cut` generates (all partitions): 6 per CX cut, multiplied."""


@dataclass(frozen=True)
class Estimate:
    """A reconstructed expectation value and its standard error (shot noise)."""

    value: float
    std_error: float


@dataclass(frozen=True)
class CutPlan:
    """A circuit cut into per-partition sub-experiments, and how to put them back together.

    ``subexperiments[label][i * G + g]`` is coefficient ``i``'s circuit for the
    label's commuting group ``g`` (``G`` groups); ``terms[label][o]`` lists, for
    observable ``o``, the ``(g, mask)`` pairs whose parity estimates it (mask
    over observable bits), averaged when there are several.
    """

    observables: tuple[str, ...]
    labels: tuple[str, ...]
    subexperiments: dict[str, list[QuantumCircuit]]
    readouts: dict[str, tuple[Readout, ...]]
    coefficients: tuple[float, ...]
    subobservables: dict[str, tuple[str, ...]]
    terms: dict[str, tuple[tuple[tuple[int, int], ...], ...]]
    sampling_overhead: float
    num_cuts: int
    qubits_per_label: dict[str, int]

    @property
    def num_subexperiments(self) -> int:
        """How many circuits all partitions run together."""
        return sum(len(circuits) for circuits in self.subexperiments.values())


def plan_cut(
    circuit: QuantumCircuit,
    labels: Sequence[str],
    observables: Sequence[str],
    *,
    max_sampling_overhead: float | None = None,
) -> CutPlan:
    """Cut ``circuit`` between partitions and generate each partition's sub-experiments.

    ``labels[i]`` names the partition (node) of qubit ``i``; ``observables``
    are Pauli labels, rightmost character = qubit 0. Final measurements are
    ignored. Raises PlanError for bad labels, observables or circuits that
    cannot be cut, BudgetError if the sampling overhead exceeds
    ``max_sampling_overhead`` (checked before anything is generated).
    """
    import numpy as np
    from qiskit.quantum_info import PauliList
    from qiskit_addon_cutting import generate_cutting_experiments, partition_problem

    body = _uncut_body(circuit)
    _check_labels(body, labels)
    paulis = PauliList(check_observables(observables, body.num_qubits))
    try:
        problem = partition_problem(body, list(labels), paulis)
    except (ValueError, TypeError) as error:
        raise PlanError(f"cannot cut circuit '{circuit.name}': {_one_line(error)}") from None
    overhead = float(np.prod([basis.overhead for basis in problem.bases]))
    check_budget(overhead, len(problem.bases), max_sampling_overhead)
    subobservables = problem.subobservables or {}
    _check_size(problem.bases, subobservables)
    raw, coefficients = generate_cutting_experiments(
        problem.subcircuits, subobservables, num_samples=math.inf
    )
    assert isinstance(raw, dict)
    order = tuple(dict.fromkeys(labels))
    subexperiments: dict[str, list[QuantumCircuit]] = {}
    readouts: dict[str, tuple[Readout, ...]] = {}
    for label in order:
        runnable = [
            make_runnable(sub, f"{circuit.name}-cut-{label}-{k}")
            for k, sub in enumerate(raw[label])
        ]
        subexperiments[label] = [pair[0] for pair in runnable]
        readouts[label] = tuple(pair[1] for pair in runnable)
    return CutPlan(
        observables=tuple(observables),
        labels=order,
        subexperiments=subexperiments,
        readouts=readouts,
        coefficients=tuple(float(value) for value, _ in coefficients),
        subobservables={
            label: tuple(p.to_label() for p in subobservables[label]) for label in order
        },
        terms={label: _terms(subobservables[label]) for label in order},
        sampling_overhead=overhead,
        num_cuts=len(problem.bases),
        qubits_per_label={
            label: max(c.num_qubits for c in subexperiments[label]) for label in order
        },
    )


def check_budget(overhead: float, num_cuts: int, limit: float | None) -> None:
    """Raise BudgetError (one line) if ``overhead`` exceeds ``limit`` (None: no limit)."""
    if limit is not None and overhead > limit:
        raise BudgetError(
            f"cut overhead {overhead:.1f} ({num_cuts} gate cut{'s' * (num_cuts != 1)}) exceeds "
            f"the plan's budget max_sampling_overhead {limit:g}"
        )


def _check_size(bases: Sequence[Any], subobservables: Mapping[Any, Any]) -> None:
    """BudgetError if exact generation would make more than MAX_SUBEXPERIMENTS circuits."""
    from qiskit_addon_cutting.utils.observable_grouping import ObservableCollection

    terms = math.prod(len(basis.coeffs) for basis in bases)
    groups = sum(len(ObservableCollection(so).groups) for so in subobservables.values())
    if terms * groups > MAX_SUBEXPERIMENTS:
        raise BudgetError(
            f"cut needs {terms * groups} sub-experiments ({len(bases)} gate cuts); "
            f"qorch generates at most {MAX_SUBEXPERIMENTS}: partition to cut fewer gates"
        )


def check_observables(observables: Sequence[str], num_qubits: int) -> list[str]:
    """The observables, if each is a Pauli label of ``num_qubits`` I/X/Y/Z; else PlanError."""
    if isinstance(observables, str) or not observables:
        raise PlanError("cut: give a list of observables (Pauli labels such as 'ZIIZ')")
    for index, label in enumerate(observables):
        if not isinstance(label, str) or not label or set(label) - PAULI_CHARS:
            raise PlanError(
                f"observables[{index}]: {label!r} is not a Pauli label (letters I, X, Y, Z only)"
            )
        if len(label) != num_qubits:
            raise PlanError(
                f"observables[{index}]: {label!r} has {len(label)} letters; the circuit has "
                f"{num_qubits} qubits (rightmost letter = qubit 0)"
            )
    return list(observables)


def _check_labels(circuit: QuantumCircuit, labels: Sequence[str]) -> None:
    if len(labels) != circuit.num_qubits:
        raise PlanError(
            f"cut: {circuit.num_qubits} qubits need {circuit.num_qubits} partition labels, "
            f"got {len(labels)}"
        )
    bad = [label for label in labels if not isinstance(label, str) or not label]
    if bad:
        raise PlanError(f"cut: partition labels must be non-empty names, got {bad[0]!r}")


def _uncut_body(circuit: QuantumCircuit) -> QuantumCircuit:
    """The circuit without final measurements and barriers; PlanError if it is not unitary."""
    body = circuit.remove_final_measurements(inplace=False)
    assert body is not None
    if body.parameters:
        raise PlanError(f"cannot cut circuit '{circuit.name}': it has unbound parameters")
    out = body.copy_empty_like()
    for instruction in body.data:
        name = instruction.operation.name
        if name == "barrier":
            continue
        if instruction.clbits or name in ("measure", "reset") or not instruction.qubits:
            raise PlanError(
                f"cannot cut circuit '{circuit.name}': '{name}' is not a unitary gate "
                "(only final measurements are allowed)"
            )
        out.append(instruction)
    return out


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def _terms(subobservables: Any) -> tuple[tuple[tuple[int, int], ...], ...]:
    """Per subobservable, the (group, bitmask) pairs that estimate it, as the add-on groups them."""
    from qiskit_addon_cutting.utils.observable_grouping import ObservableCollection

    collection = ObservableCollection(subobservables)
    return tuple(
        tuple(
            (group, collection.groups[group].pauli_bitmasks[index])
            for group, index in collection.lookup[pauli]
        )
        for pauli in subobservables
    )


def reconstruct(cut: CutPlan, counts: Mapping[str, Sequence[Mapping[str, int]]]) -> list[Estimate]:
    """Reconstruct each observable of ``cut`` from its sub-experiments' counts.

    ``counts[label][k]`` are the qorch counts (Qiskit order, all clbits) of
    ``cut.subexperiments[label][k]``. The value is ``Σ_i c_i Π_L m_iL``, where
    ``m_iL`` is partition L's mean ±1 parity (QPD bits ⊕ observable bits) for
    coefficient i. Its shot-noise variance ``v_iL = (1 − m_iL²)/(N − 1)`` for
    N shots (averaged groups: ``Σ v / n²``). The circuits are independent, so
    ``Var = Σ_i c_i² (Π_L (μ_iL² + v_iL) − Π_L μ_iL²)``; it is estimated without
    bias by replacing ``Π_L (μ² + v)`` with ``Π_L m²`` and ``Π_L μ²`` with
    ``Π_L (m² − v)``::

        Var ≈ Σ_i c_i² (Π_L m_iL² − Π_L (m_iL² − v_iL))

    Each term is floored at ``c_i² Π_L v_iL``, its variance when every
    partition mean is 0 and a lower bound on it otherwise. Where means are near
    0 the unbiased term swings from negative to several times its expectation;
    flooring only the total let a run report a fifth of the true error (GHZ-8
    cut, ⟨Z₀Z₇⟩: 5e-5 against a spread of 2.5e-4 over seeded runs) and fail a
    3σ test on shot noise. Floored per term, the reported error was never
    below the spread in 300 seeded runs and at most ~1.35× it (pure zero means
    overstate the variance ~1.7×; plugging ``m`` in for ``μ`` would overstate
    the error up to √3-fold). ``std_error = √Var``. Raises PlanError if the
    counts do not match the plan.
    """
    _check_counts(cut, counts)
    values = [0.0] * len(cut.observables)
    variances = [0.0] * len(cut.observables)
    for i, coefficient in enumerate(cut.coefficients):
        for o in range(len(cut.observables)):
            moments = [_label_moments(cut, counts, label, i, o) for label in cut.labels]
            product = math.prod(mean for mean, _ in moments)
            squared = math.prod(mean * mean - var for mean, var in moments)
            values[o] += coefficient * product
            floor = math.prod(var for _, var in moments)  # never above the term's variance
            variances[o] += coefficient * coefficient * max(product * product - squared, floor)
    return [Estimate(value, math.sqrt(var)) for value, var in zip(values, variances, strict=True)]


def _label_moments(
    cut: CutPlan, counts: Mapping[str, Sequence[Mapping[str, int]]], label: str, i: int, o: int
) -> tuple[float, float]:
    """Mean and variance of label's estimate of observable o's factor for coefficient i."""
    groups = len(cut.readouts[label]) // len(cut.coefficients)
    pairs = cut.terms[label][o]
    means: list[float] = []
    variances: list[float] = []
    for group, mask in pairs:
        k = i * groups + group
        mean, shots = parity_mean(counts[label][k], cut.readouts[label][k], mask)
        means.append(mean)
        variances.append((1.0 - mean * mean) / (shots - 1) if shots > 1 else 1.0)
    n = len(pairs)
    return sum(means) / n, sum(variances) / (n * n)


def parity_mean(counts: Mapping[str, int], readout: Readout, mask: int) -> tuple[float, int]:
    """Mean of (−1)^(QPD bits ⊕ masked observable bits) over ``counts``, and the shot count."""
    from qorch.workloads.sources.pauli import parity_mean as mean_of_bits

    wanted = [b for j, b in enumerate(readout.observable_bits) if mask >> j & 1 and b >= 0]
    wanted += [b for b in readout.qpd_bits if b >= 0]
    return mean_of_bits(counts, wanted)


def _check_counts(cut: CutPlan, counts: Mapping[str, Sequence[Mapping[str, int]]]) -> None:
    for label in cut.labels:
        runs = counts.get(label)
        expected = len(cut.subexperiments[label])
        if runs is None or len(runs) != expected:
            found = "none" if runs is None else len(runs)
            raise PlanError(f"cut: partition '{label}' needs {expected} counts, got {found}")
        for k, (run, readout) in enumerate(zip(runs, cut.readouts[label], strict=True)):
            if not run or sum(run.values()) <= 0:
                raise PlanError(f"cut: partition '{label}' sub-experiment {k} has no shots")
            if any(len(key) != readout.num_clbits for key in run):
                raise PlanError(
                    f"cut: partition '{label}' sub-experiment {k}: counts keys must have "
                    f"{readout.num_clbits} bits"
                )


def exact_expectations(circuit: QuantumCircuit, observables: Sequence[str]) -> list[float]:
    """Exact ⟨P⟩ of each Pauli label on ``circuit``'s state (final measurements ignored)."""
    from qiskit.quantum_info import Pauli, Statevector

    body = _uncut_body(circuit)
    state = Statevector(body)
    labels = check_observables(observables, body.num_qubits)
    return [float(state.expectation_value(Pauli(label)).real) for label in labels]
