"""Pauli strings read from counts: shared by the plan kinds that estimate expectation values.

A Pauli label is Qiskit's: one letter of I, X, Y, Z per qubit, the rightmost
letter on qubit 0. Counts are qorch's: clbit 0 is the rightmost character of a
key. Pure: no Qiskit import.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

PAULI_LETTERS = frozenset("IXYZ")


def label_problem(label: str, num_qubits: int | None = None) -> str | None:
    """Why ``label`` is not a Pauli string (of ``num_qubits`` letters), or None if it is."""
    if not label:
        return "a Pauli string needs at least one letter"
    bad = sorted(set(label) - PAULI_LETTERS)
    if bad:
        where = label.index(bad[0])
        return (
            f"{label!r} is not a Pauli string: {bad[0]!r} (letter {where + 1}) is not one of "
            "I, X, Y, Z"
        )
    if num_qubits is not None and len(label) != num_qubits:
        return (
            f"{label!r} has {len(label)} letters but the circuit has {num_qubits} qubits "
            "(one letter per qubit, rightmost = qubit 0)"
        )
    return None


def support(label: str) -> tuple[int, ...]:
    """The qubits a Pauli label acts on (not I), ascending; qubit 0 is the rightmost letter."""
    return tuple(q for q, letter in enumerate(reversed(label)) if letter != "I")


def parity(key: str, bits: Iterable[int]) -> int:
    """(−1)^(sum of the bits of ``key`` at clbit indices ``bits``): +1 or −1."""
    ones = sum(key[-1 - b] == "1" for b in bits)
    return -1 if ones & 1 else 1


def parity_mean(counts: Mapping[str, int], bits: Iterable[int]) -> tuple[float, int]:
    """Mean ±1 parity of clbits ``bits`` over ``counts``, and the number of shots."""
    wanted = tuple(bits)
    total = 0
    signed = 0
    for key, count in counts.items():
        signed += parity(key, wanted) * count
        total += count
    return (signed / total if total else 0.0), total
