"""Observables on Braket's LocalSimulator: expectation result types, one task per basis.

The payload is the circuit measured on every qubit (``measure_all`` before
translation), so its ``b[k] = measure q[j];`` lines say which Braket qubit holds
the circuit's qubit ``k``. Here the measurements are dropped and, per group of
qubit-wise commuting terms (Qiskit's grouping), one program carries a
``#pragma braket result expectation`` for each term; with shots the simulator
samples once in the group's basis and returns each term's value. The values
are Braket's; the standard error of each observable's share of a group comes
from the same shots (the task's measurements, in the rotated basis), counting
the covariance of terms measured together.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

from qorch.contract.errors import ProviderError
from qorch.contract.provider import (
    JobRequest,
    Result,
    expectations_result,
    unseen_variance_floor,
)
from qorch_braket.translate import qubit_clbits

METHOD = "Braket expectation result types"
Term = tuple[str, float]


def run_local(request: JobRequest, backend: str) -> Result:
    """The request's observables, each task ``request.shots`` shots on ``backend``."""
    source = request.payload.data.decode("utf-8")
    clbits = request.payload.measured_clbits
    qubit_of = {clbit: qubit for qubit, clbit in qubit_clbits(source, clbits).items()}
    body = "\n".join(line for line in source.splitlines()
                     if "measure" not in line and not line.startswith("bit["))  # fmt: skip
    labels = sorted({label for terms in request.observables for label, _ in terms if _acts(label)})
    values = [sum(c for label, c in terms if not _acts(label)) for terms in request.observables]
    variances = [0.0] * len(request.observables)
    for group in _groups(labels):
        result = _run(backend, body + "\n" + _pragmas(group, qubit_of), request.shots)
        measured = dict(zip(group, (float(v) for v in result.values), strict=True))
        columns = {int(q): j for j, q in enumerate(result.measured_qubits)}
        signs = 1 - 2 * result.measurements.astype(int)  # ±1 per shot and Braket qubit
        for index, terms in enumerate(request.observables):
            mine = [(label, c) for label, c in terms if label in measured]
            if not mine:
                continue
            values[index] += sum(c * measured[label] for label, c in mine)
            variances[index] += _variance(mine, signs, columns, qubit_of)
    errors = [math.sqrt(v) for v in variances]
    return expectations_result(values, errors, request.shots, METHOD)


def _acts(label: str) -> bool:
    return any(letter != "I" for letter in label)


def _groups(labels: Sequence[str]) -> list[list[str]]:
    """The labels in groups of qubit-wise commuting terms (Qiskit's grouping), in order."""
    if not labels:
        return []
    from qiskit.quantum_info import SparsePauliOp

    groups = SparsePauliOp(list(labels)).group_commuting(qubit_wise=True)
    return sorted(sorted(group.paulis.to_labels()) for group in groups)


def _factors(label: str, qubit_of: dict[int, int]) -> list[tuple[str, int]]:
    """(Braket letter, Braket qubit) per non-identity letter; qubit 0 is the last letter."""
    return [(letter.lower(), qubit_of[q]) for q, letter in enumerate(reversed(label))
            if letter != "I"]  # fmt: skip


def _pragmas(group: Sequence[str], qubit_of: dict[int, int]) -> str:
    lines = []
    for label in group:
        factors = " @ ".join(f"{letter}(q[{qubit}])" for letter, qubit in _factors(label, qubit_of))
        lines.append(f"#pragma braket result expectation {factors}")
    return "\n".join(lines) + "\n"


def _variance(
    terms: Sequence[Term], signs: Any, columns: dict[int, int], qubit_of: dict[int, int]
) -> float:
    """Variance of the mean of Σ c·(product of ±1 outcomes) over the task's shots."""
    import numpy as np

    shots = signs.shape[0]
    x = np.zeros(shots)
    for label, c in terms:
        product = np.ones(shots)
        for _, qubit in _factors(label, qubit_of):
            product = product * signs[:, columns[qubit]]
        x += c * product
    bound = sum(abs(c) for _, c in terms)
    if shots < 2:
        return bound**2
    return max(float(np.var(x, ddof=1)), unseen_variance_floor(bound, shots)) / shots


def _run(backend: str, source: str, shots: int) -> Any:
    from braket.devices import LocalSimulator
    from braket.ir.openqasm import Program

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="You are running a noise-free circuit")
        result = LocalSimulator(backend).run(Program(source=source), shots=shots).result()
    if result.measurements is None or len(result.values) == 0:
        raise ProviderError("the LocalSimulator returned no expectation values")
    return result
