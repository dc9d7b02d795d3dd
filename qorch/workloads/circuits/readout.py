"""Readout mitigation with M3 (``mthree``): calibration jobs at compile, corrections at results.

A target with ``mitigation: {readout: m3}`` whose device has readout errors
(``Provider.readout_noise``) gets two calibration jobs of the run (``role:
calibration``): every physical qubit that any of its counts or basis jobs
measures, prepared in 0 and then in 1 and measured (M3's ``marginal``
calibration). Each clbit's physical qubit is read from the translated payload
(an ISA circuit: qubits are the device's), so the calibration measures the very
qubits the circuits do. At results time the per-qubit assignment matrices are
handed to :class:`mthree.M3Mitigation` (``cals_from_matrices``) and every
mitigated job's counts become quasi-probabilities. On a device without readout
errors (ideal simulators) this is a no-op: no calibration, nothing corrected.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import CapabilityError, OptionError, ProviderError
from qorch.contract.payload import from_qpy
from qorch.engine.compile import derive_seed
from qorch.engine.manifest import ManifestJob, job_record, payload_name

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from qorch.contract.provider import Provider, TargetOptions
    from qorch.engine.loadedplan import LoadedPlan
    from qorch.engine.plan_base import TargetSpec

CALIBRATION = "calibration"  # the ``role`` of a readout calibration job
CALIBRATION_CIRCUIT = "m3-calibration"
QUBITS = "readout_qubits"  # a mitigated job's extra field: physical qubit of each clbit
NOT_QPY = (
    "readout mitigation (m3) needs each measured clbit's physical qubit, which qorch reads "
    "from a QPY (Qiskit) payload; {target} payloads are {format}"
)


def measured_qubits(data: bytes) -> list[int] | None:
    """The physical qubit measured into each clbit (list index = clbit) of a QPY payload's
    circuit, or None if a clbit is not measured exactly once."""
    circuit = from_qpy(data)
    found: dict[int, int] = {}
    for instruction in circuit.data:
        if instruction.operation.name != "measure":
            continue
        clbit = circuit.find_bit(instruction.clbits[0]).index
        if clbit in found:
            return None
        found[clbit] = circuit.find_bit(instruction.qubits[0]).index
    if sorted(found) != list(range(circuit.num_clbits)):
        return None
    return [found[clbit] for clbit in range(circuit.num_clbits)]


def mitigate_readout(
    loaded: LoadedPlan,
    target: tuple[int, TargetSpec, Provider, TargetOptions, int],
    jobs: list[ManifestJob],
    payloads: dict[str, bytes],
) -> list[ManifestJob]:
    """``jobs`` (one target's, the last of the plan so far) with each counts or basis
    job's ``readout_qubits``, followed by the target's two calibration jobs. Raises a
    CapabilityError located at the target's ``mitigation.readout``."""
    t_index, spec = target[0], target[1]
    key = ("targets", t_index, "mitigation", "readout")
    marked: list[ManifestJob] = []
    union: set[int] = set()
    for job in jobs:
        if job.observables is not None:  # a native estimator's job: no counts to correct
            marked.append(job)
            continue
        if job.format != "qpy":
            message = NOT_QPY.format(target=spec.target, format=job.format)
            raise loaded.error(key, message, CapabilityError)
        qubits = measured_qubits(payloads[job.payload])
        if qubits is None:
            message = f"readout mitigation (m3) needs every clbit of {job.circuit} measured once"
            raise loaded.error(key, message, CapabilityError)
        union.update(qubits)
        marked.append(ManifestJob.model_validate({**job.model_dump(), QUBITS: qubits}))
    if not union:
        return marked
    first = marked[-1].index + 1
    return marked + calibration_jobs(loaded, target, sorted(union), first, payloads)


def calibration_circuit(qubits: Sequence[int], prepared: int) -> QuantumCircuit:
    """Physical ``qubits`` (an ISA-style circuit as wide as the highest) prepared in
    ``prepared`` (0 or 1) and measured, qubit ``qubits[k]`` into clbit k."""
    from qiskit import QuantumCircuit

    circuit = QuantumCircuit(max(qubits) + 1, len(qubits), name=f"{CALIBRATION_CIRCUIT}-{prepared}")
    if prepared:
        circuit.x(list(qubits))
    circuit.barrier()
    circuit.measure(list(qubits), range(len(qubits)))
    return circuit


def calibration_jobs(
    loaded: LoadedPlan,
    target: tuple[int, TargetSpec, Provider, TargetOptions, int],
    qubits: Sequence[int],
    first_index: int,
    payloads: dict[str, bytes],
) -> list[ManifestJob]:
    """The two calibration jobs of one target (all 0, all 1 on ``qubits``), translated at
    optimization level 0 (trivial layout: qubit i stays physical qubit i)."""
    t_index, spec, provider, options, shots = target
    trivial = dataclasses.replace(options, optimization_level=0)
    key = ("targets", t_index, "mitigation", "readout")
    jobs: list[ManifestJob] = []
    for prepared in (0, 1):
        circuit = calibration_circuit(qubits, prepared)
        seed = derive_seed(loaded.plan.seed, CALIBRATION, spec.target, str(t_index), str(prepared))
        try:
            payload = provider.translate(circuit, spec.device, trivial, seed)
        except (CapabilityError, OptionError, ProviderError) as error:
            raise loaded.error(key, error.message, type(error)) from None
        if measured_qubits(payload.data) != list(qubits):
            message = f"{spec.target} moved the calibration circuit off the measured qubits"
            raise loaded.error(key, message, CapabilityError)
        index = first_index + len(jobs)
        file = payload_name(index, circuit.name, spec.target, payload.extension)
        payloads[file] = payload.data
        cost = provider.estimate_cost(spec.device, payload, shots)
        jobs.append(job_record(index=index, circuit=CALIBRATION_CIRCUIT, target=spec.target,
                               target_index=t_index, options=trivial, shots=shots, seed=seed,
                               payload_file=file, payload=payload, cost=cost, role=CALIBRATION,
                               prepared=prepared, mitigation="m3",
                               **{QUBITS: list(qubits)}))  # fmt: skip
    return jobs


def assignment_matrices(
    zeros: Mapping[str, int], ones: Mapping[str, int], qubits: Sequence[int]
) -> dict[int, Any]:
    """Per physical qubit, M3's 2×2 matrix: column j holds P(read 0), P(read 1) given j
    prepared; ``zeros``/``ones`` are the calibration counts (clbit k ↔ ``qubits[k]``)."""
    import numpy as np

    def read_one(counts: Mapping[str, int], clbit: int) -> float:
        total = sum(counts.values()) or 1
        return sum(n for key, n in counts.items() if key[-1 - clbit] == "1") / total

    matrices = {}
    for clbit, qubit in enumerate(qubits):
        p10, p11 = read_one(zeros, clbit), read_one(ones, clbit)
        matrices[qubit] = np.array([[1 - p10, 1 - p11], [p10, p11]], dtype=np.float32)
    return matrices


class Corrector:
    """M3 for one target, calibrated from its two calibration jobs' counts."""

    def __init__(self, zeros: Mapping[str, int], ones: Mapping[str, int], qubits: Sequence[int]):
        import mthree

        matrices = assignment_matrices(zeros, ones, qubits)
        self._m3 = mthree.M3Mitigation()
        self._m3.cals_from_matrices([matrices.get(q) for q in range(max(qubits) + 1)])
        self._m3.cal_shots = sum(zeros.values())

    def correct(
        self, counts: Mapping[str, int], qubits: Sequence[int]
    ) -> tuple[dict[str, float], float]:
        """``counts`` (clbit k measured physical qubit ``qubits[k]``) as M3's
        quasi-probabilities, and M3's mitigation overhead (its variance factor)."""
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # M3 warns about faulty qubits and iterations
            quasi = self._m3.apply_correction(dict(counts), list(qubits),
                                              return_mitigation_overhead=True)  # fmt: skip
        return {key: float(value) for key, value in sorted(quasi.items())}, float(
            quasi.mitigation_overhead
        )


def quasi_moments(
    quasi: Mapping[str, float],
    overhead: float,
    counts: Mapping[str, int],
    terms: Sequence[tuple[float, tuple[int, ...]]],
) -> tuple[float, float]:
    """Mean of x = Σ c·(±1 parity) under the quasi-probabilities, and the variance of that
    mean: the raw counts' sample variance of x over the shots times M3's overhead."""
    from qorch.workloads.sources.pauli import parity

    mean = sum(p * sum(c * parity(key, bits) for c, bits in terms) for key, p in quasi.items())
    total = sum(counts.values())
    if total < 2:
        return mean, math.inf
    first = second = 0.0
    for key, count in counts.items():
        x = sum(c * parity(key, bits) for c, bits in terms)
        first += count * x
        second += count * x * x
    raw = max(0.0, (second - first * first / total) / (total - 1))
    return mean, overhead * raw / total


NO_OP = "none needed: the target has no readout error"


def with_readout(
    jobs: Sequence[dict[str, Any]],
    specs: Mapping[int, ManifestJob],
    mitigation: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """``jobs`` with, on each job of a readout-mitigated target whose calibration is done,
    ``quasi_probabilities`` (M3's, like ``counts``: one mapping, or a list per parameter
    set) and ``mitigation_overhead`` (likewise); calibration jobs carry ``role``. A job
    of a target that asked for M3 but has no readout error (``mitigation``, the
    manifest's block, says who asked) says so in ``readout_mitigation``."""
    calibrated = {spec.target_index for spec in specs.values() if spec.extra("role") == CALIBRATION}
    asked = {int(t) for t, options in (mitigation or {}).items() if options.get("readout")}
    calibrations: dict[int, dict[int, Any]] = {}
    for job in jobs:
        spec = specs[job["index"]]
        if spec.extra("role") == CALIBRATION and job.get("status") == "done" and job.get("counts"):
            calibrations.setdefault(spec.target_index, {})[int(spec.extra("prepared"))] = job
    correctors = {}
    for t_index, prepared in calibrations.items():
        if 0 in prepared and 1 in prepared:
            qubits = specs[prepared[0]["index"]].extra(QUBITS)
            correctors[t_index] = Corrector(prepared[0]["counts"], prepared[1]["counts"], qubits)
    out = []
    for job in jobs:
        spec = specs[job["index"]]
        if spec.extra("role") == CALIBRATION:
            out.append({**job, "role": CALIBRATION})
            continue
        if spec.target_index in asked - calibrated and spec.observables is None:
            job = {**job, "readout_mitigation": NO_OP}
        corrector = correctors.get(spec.target_index)
        counts, qubits = job.get("counts"), spec.extra(QUBITS)
        if corrector is None or qubits is None or not counts or job.get("status") != "done":
            out.append(job)
            continue
        sets = counts if isinstance(counts, list) else [counts]
        corrected = [corrector.correct(entry, qubits) for entry in sets]
        quasi = [entry for entry, _ in corrected]
        overhead = [factor for _, factor in corrected]
        single = not isinstance(counts, list)
        out.append({**job, "readout_mitigation": "m3",
                    "quasi_probabilities": quasi[0] if single else quasi,
                    "mitigation_overhead": overhead[0] if single else overhead})  # fmt: skip
    return out
