"""A cut plan in the bundle manifest: what reconstruction needs, as JSON, and back.

Compile stores the record; collection rebuilds a :class:`CutPlan` without its
circuits and reconstructs from the stored counts, so results can be recomputed
offline from the state store alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qorch.workloads.distributed.cut import CutPlan, reconstruct
from qorch.workloads.distributed.cut_runnable import Readout

MAX_EXACT_QUBITS = 24
"""Exact expectation values are computed (by statevector) up to this width."""


def reconstruction_record(cut: CutPlan, exact: Sequence[float] | None) -> dict[str, Any]:
    """The JSON form of ``cut`` minus its circuits, with the exact values if known."""
    return {
        "observables": list(cut.observables),
        "labels": list(cut.labels),
        "coefficients": list(cut.coefficients),
        "readouts": {
            label: [[r.num_clbits, list(r.observable_bits), list(r.qpd_bits)] for r in readouts]
            for label, readouts in cut.readouts.items()
        },
        "terms": {
            label: [[list(t) for t in term] for term in terms] for label, terms in cut.terms.items()
        },
        "sampling_overhead": cut.sampling_overhead,
        "num_cuts": cut.num_cuts,
        "exact": None if exact is None else list(exact),
    }


def from_record(record: Mapping[str, Any]) -> CutPlan:
    """A CutPlan fit for :func:`reconstruct` (its sub-experiment circuits are not kept)."""
    readouts = {
        label: tuple(Readout(int(n), tuple(obs), tuple(qpd)) for n, obs, qpd in items)
        for label, items in record["readouts"].items()
    }
    return CutPlan(
        observables=tuple(record["observables"]),
        labels=tuple(record["labels"]),
        subexperiments={label: [None] * len(items) for label, items in readouts.items()},
        readouts=readouts,
        coefficients=tuple(record["coefficients"]),
        subobservables={},
        terms={
            label: tuple(tuple((int(g), int(m)) for g, m in term) for term in terms)
            for label, terms in record["terms"].items()
        },
        sampling_overhead=float(record["sampling_overhead"]),
        num_cuts=int(record["num_cuts"]),
        qubits_per_label={},
    )


def reconstruct_record(
    record: Mapping[str, Any], counts: Mapping[str, Sequence[Mapping[str, int]]]
) -> list[dict[str, Any]]:
    """Each observable's reconstructed value, standard error and exact value."""
    estimates = reconstruct(from_record(record), counts)
    exact = record.get("exact") or [None] * len(estimates)
    return [
        {
            "observable": name,
            "value": e.value,
            "std_error": e.std_error,
            "exact": x,
            "deviation": None if x is None else abs(e.value - x) / max(e.std_error, 1e-12),
        }
        for name, e, x in zip(record["observables"], estimates, exact, strict=True)
    ]
