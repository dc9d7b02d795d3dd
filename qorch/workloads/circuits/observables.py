"""Observables of a circuits plan: grouping, measurement-basis circuits, estimates from counts.

Pure: no I/O. Every term of every observable of a circuit is grouped with
Qiskit's qubit-wise commuting grouping (``SparsePauliOp.group_commuting``), so
each group is measured in one basis. The basis change is one parameterised
circuit (per qubit ``ry`` for X, ``rx`` for Y), run with one parameter set per
group: one job per circuit and target where the device takes parameter sets
(IBM: one Sampler PUB; Braket: one program set), resumable like every job.

Qubit order is Qiskit's throughout: the rightmost letter of a Pauli string is
qubit 0, and qubit ``q`` is measured into clbit ``q`` (the rightmost bit of a key).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qorch.contract.provider import unseen_variance_floor
from qorch.workloads.sources.pauli import label_problem, parity, support

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

METRIC_PREFIX = "observable:"
MAX_EXACT_QUBITS = 24  # a statevector of 2**24 amplitudes (256 MiB) for the exact value
ANGLE = math.pi / 2  # ry(-π/2) takes X's eigenbasis to Z's; rx(π/2) takes Y's


def metric_name(observable: str) -> str:
    """The metric of an observable: ``observable:NAME`` (no result module needed: ``validate``
    names the metrics a plan will report)."""
    return METRIC_PREFIX + observable


@dataclass(frozen=True)
class Observable:
    """A named observable: Pauli string (Qiskit order) → real coefficient."""

    name: str
    terms: dict[str, float]

    def to_json(self) -> dict[str, Any]:
        """As kept in the bundle: ``{"name", "terms"}``."""
        return {"name": self.name, "terms": dict(self.terms)}


@dataclass(frozen=True)
class Estimate:
    """An observable's value from counts: standard error (shot noise) and shots used."""

    value: float
    std_error: float
    shots: int


def width_problems(
    observables: Sequence[Observable], num_qubits: int
) -> list[tuple[int, str, str]]:
    """Every Pauli string whose width is not ``num_qubits``: (observable index, string, why)."""
    found = []
    for index, observable in enumerate(observables):
        for label in observable.terms:
            problem = label_problem(label, num_qubits)
            if problem is not None:
                found.append((index, label, problem))
    return found


def measured_terms(observables: Sequence[Observable]) -> list[str]:
    """The distinct Pauli strings that need measuring (identity strings are constants)."""
    seen: dict[str, None] = {}
    for observable in observables:
        for label in observable.terms:
            if support(label):
                seen.setdefault(label)
    return list(seen)


def measurement_bases(observables: Sequence[Observable]) -> list[str]:
    """One basis per group of qubit-wise commuting terms (Qiskit's grouping), as a string of
    X, Y, Z per qubit (Qiskit order; Z where no term of the group acts). Deterministic."""
    labels = measured_terms(observables)
    if not labels:
        return []
    from qiskit.quantum_info import SparsePauliOp

    groups = SparsePauliOp(labels).group_commuting(qubit_wise=True)
    bases = []
    for group in groups:
        letters = ["Z"] * len(labels[0])
        for label in group.paulis.to_labels():
            for position, letter in enumerate(label):
                if letter != "I":
                    letters[position] = letter
        bases.append("".join(letters))
    return sorted(set(bases))


def basis_of(label: str, bases: Sequence[str]) -> int:
    """Index of the first basis that measures Pauli string ``label``."""
    for index, basis in enumerate(bases):
        if all(letter in ("I", b) for letter, b in zip(label, basis, strict=True)):
            return index
    raise ValueError(f"no measurement basis measures {label}")


def unitary_body(circuit: QuantumCircuit) -> QuantumCircuit:
    """``circuit`` without its final measurements; ValueError if anything else measures,
    resets or branches on a classical bit (an observable is of the final state)."""
    body = circuit.remove_final_measurements(inplace=False)
    assert body is not None
    for instruction in body.data:
        name = instruction.operation.name
        if name in ("measure", "reset") or instruction.clbits:
            raise ValueError(
                f"observables need a circuit whose only measurements are final; "
                f"'{name}' comes before the end"
            )
    return body


def rotated_qubits(bases: Sequence[str]) -> tuple[list[int], list[int]]:
    """The qubits some basis measures in X, and those some basis measures in Y."""
    width = len(bases[0]) if bases else 0
    x_qubits = [q for q in range(width) if any(b[-1 - q] == "X" for b in bases)]
    y_qubits = [q for q in range(width) if any(b[-1 - q] == "Y" for b in bases)]
    return x_qubits, y_qubits


def basis_circuit(circuit: QuantumCircuit, bases: Sequence[str]) -> QuantumCircuit:
    """The circuit's state rotated into a measurement basis and measured, qubit q into
    clbit q: ``ry(basis_x_Q)`` on each qubit Q some basis measures in X and
    ``rx(basis_y_Q)`` on those measured in Y, the angles given per basis by
    :func:`basis_rows`. Parameters carry UUIDs derived from their names, so the
    serialised circuit (QPY) is the same in every process: compile stays deterministic."""
    body = unitary_body(circuit)
    x_qubits, y_qubits = rotated_qubits(bases)
    for qubit in x_qubits:
        body.ry(_parameter("basis_x", qubit), qubit)
    for qubit in y_qubits:
        body.rx(_parameter("basis_y", qubit), qubit)
    body.measure_all()
    body.name = circuit.name
    return body


def _parameter(prefix: str, qubit: int) -> Any:
    """A parameter named ``PREFIX_QQQQQ`` (zero-padded, so Qiskit's by-name order is the
    qubit order) with a UUID derived from its name."""
    import uuid

    from qiskit.circuit import Parameter

    name = f"{prefix}_{qubit:05d}"
    return Parameter(name, uuid=uuid.uuid5(uuid.NAMESPACE_OID, f"qorch.observables.{name}"))


def basis_rows(bases: Sequence[str]) -> list[list[float]]:
    """One row of angles per basis for :func:`basis_circuit`, columns in its parameters'
    order (Qiskit's, by name: the ``basis_x`` qubits ascending, then ``basis_y``): −π/2 on an X
    qubit's ``ry``, π/2 on a Y qubit's ``rx``, 0 elsewhere. Rows are empty when every
    basis is Z (the circuit has no parameters)."""
    x_qubits, y_qubits = rotated_qubits(bases)
    rows = []
    for basis in bases:
        row = [-ANGLE if basis[-1 - q] == "X" else 0.0 for q in x_qubits]
        row += [ANGLE if basis[-1 - q] == "Y" else 0.0 for q in y_qubits]
        rows.append(row)
    return rows


def basis_angles(bases: Sequence[str]) -> list[dict[str, float]]:
    """Per basis, the angle of each parameter of :func:`basis_circuit` by name (the rows
    of :func:`basis_rows` as mappings, to merge with a sweep's own parameters)."""
    x_qubits, y_qubits = rotated_qubits(bases)
    names = [_parameter("basis_x", q).name for q in x_qubits]
    names += [_parameter("basis_y", q).name for q in y_qubits]
    return [dict(zip(names, row, strict=True)) for row in basis_rows(bases)]


def swept_basis_rows(
    measured: QuantumCircuit, bases: Sequence[str], sets: Sequence[Mapping[str, float]]
) -> list[list[float]]:
    """One row per (parameter set, basis), set-major (row ``s * len(bases) + g``), columns
    in ``measured``'s parameter order: the set's values and the basis's angles."""
    order = [parameter.name for parameter in measured.parameters]
    angles = basis_angles(bases) if bases else [{}]
    return [[float({**entry, **basis}[name]) for name in order]
            for entry in sets for basis in angles]  # fmt: skip


def estimate(
    observable: Observable, bases: Sequence[str], counts: Sequence[Mapping[str, int]]
) -> Estimate:
    """The observable's value from ``counts[g]``, the counts measured in ``bases[g]``.

    Per basis g, each shot gives x = Σ c_k (±1 parity of term k's qubits) over the
    terms measured there; the value is the identity's coefficient plus Σ_g mean(x_g),
    its variance Σ_g s²(x_g)/N_g (sample variance: terms measured on the same shots
    are correlated, and this counts their covariance). Bases are independent.
    """
    constant = sum(c for label, c in observable.terms.items() if not support(label))
    by_basis: dict[int, list[tuple[float, tuple[int, ...]]]] = {}
    for label, coefficient in observable.terms.items():
        if support(label):
            by_basis.setdefault(basis_of(label, bases), []).append((coefficient, support(label)))
    value, variance, shots = constant, 0.0, 0
    for index, terms in sorted(by_basis.items()):
        mean, var, n = _moments(counts[index], terms)
        value += mean
        variance += var
        shots += n
    return Estimate(value, math.sqrt(variance), shots)


def _moments(
    counts: Mapping[str, int], terms: Sequence[tuple[float, tuple[int, ...]]]
) -> tuple[float, float, int]:
    """Mean of x per shot, the variance of that mean, and the shots."""
    total = sum(counts.values())
    if total == 0:
        return 0.0, math.inf, 0
    first = second = 0.0
    for key, count in counts.items():
        x = sum(c * parity(key, bits) for c, bits in terms)
        first += count * x
        second += count * x * x
    mean = first / total
    bound = sum(abs(c) for c, _ in terms)
    if total == 1:
        return mean, bound * bound, total
    sample_variance = max(0.0, (second - total * mean * mean) / (total - 1))
    return mean, max(sample_variance, unseen_variance_floor(bound, total)) / total, total


def exact_values(
    circuit: QuantumCircuit,
    observables: Sequence[Observable],
    bound: Mapping[str, float] | None = None,
) -> list[float] | None:
    """Each observable's exact ideal value on the circuit's final state (Statevector), its
    parameters bound to ``bound`` by name, or None for circuits wider than
    :data:`MAX_EXACT_QUBITS`."""
    if circuit.num_qubits > MAX_EXACT_QUBITS or not observables:
        return None
    if bound is not None:
        circuit = circuit.assign_parameters({p: bound[p.name] for p in circuit.parameters})
    from qiskit.quantum_info import SparsePauliOp, Statevector

    state = Statevector(unitary_body(circuit))
    values = []
    for observable in observables:
        operator = SparsePauliOp(list(observable.terms), list(observable.terms.values()))
        values.append(float(state.expectation_value(operator).real))
    return values
