"""Zero-noise extrapolation's jobs: each observed circuit, globally folded, measured in its bases.

A target with ``mitigation: {zne: ...}`` whose device is noisy (the test M3
uses: ``Provider.readout_noise``; on an ideal simulator ZNE is a no-op) gets,
per circuit with observables and per scale factor above 1, the circuit's
measurement-basis job again on the folded circuit
(:func:`~qorch.workloads.circuits.zne.fold_global`): ``role: zne``, its
``scale_factor`` and ``first_basis``. They are ordinary jobs of the run:
counted by validate and the budget, resumed, never submitted twice. The
unfolded scale (1) is the observable's basis job itself. A translated payload
is checked to keep the folds: at least ``scale ×`` the two-qubit gates of the
unfolded one, or the target is refused at its ``mitigation.zne``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qorch.contract.errors import CapabilityError, OptionError, ProviderError
from qorch.contract.payload import from_qpy
from qorch.engine.compile import derive_seed
from qorch.engine.manifest import ManifestJob, job_record, payload_name
from qorch.workloads.circuits.observables import basis_circuit
from qorch.workloads.circuits.obsjobs import ROLE as OBSERVABLES_ROLE
from qorch.workloads.circuits.zne import fold_global, two_qubit_gates

if TYPE_CHECKING:
    from qorch.contract.provider import Payload, Provider, TargetOptions
    from qorch.engine.loadedplan import LoadedPlan
    from qorch.engine.plan_base import TargetSpec
    from qorch.workloads.circuits.obsjobs import CircuitObservables
    from qorch.workloads.circuits.plan import ZneOptions

ROLE = "zne"  # the ``role`` of a folded circuit's measurement job
NOT_QPY = (
    "zero-noise extrapolation needs to see that the folds survive translation, which qorch "
    "reads from a QPY (Qiskit) payload; {target} payloads are {format}, and its compiler may "
    "cancel U† U"
)


def zne_jobs(
    loaded: LoadedPlan,
    entry: CircuitObservables,
    target: tuple[int, TargetSpec, Provider, TargetOptions, int],
    options: ZneOptions,
    first_index: int,
    payloads: dict[str, bytes],
) -> list[ManifestJob]:
    """The folded measurement jobs of ``entry`` on one target (``target``: its index, spec,
    provider, options and shots per basis), one per scale factor above 1 (more if its
    bases do not fit one job), indexed from ``first_index``; payloads added to
    ``payloads``. Raises a CapabilityError located at the target's ``mitigation.zne``."""
    t_index, spec, provider, target_options, shots = target
    key = ("targets", t_index, "mitigation", "zne")
    # the unfolded basis job's seed: the same transpiler randomness for every scale
    seed = derive_seed(loaded.plan.seed, entry.circuit, spec.target, str(t_index),
                       OBSERVABLES_ROLE)  # fmt: skip
    try:
        unfolded = provider.translate(entry.measured, spec.device, target_options, seed)
        per_job = provider.device(spec.device).sets_per_job(shots)
    except (CapabilityError, OptionError, ProviderError) as error:
        raise loaded.error(key, error.message, type(error)) from None
    if unfolded.format != "qpy":
        raise loaded.error(key, NOT_QPY.format(target=spec.target, format=unfolded.format),
                           CapabilityError)  # fmt: skip
    base_gates = two_qubit_gates(from_qpy(unfolded.data))
    rows = entry.rows()
    jobs: list[ManifestJob] = []
    for scale in options.scale_factors:
        if scale == 1:
            continue
        measured = basis_circuit(fold_global(entry.body, scale), entry.bases)
        try:
            payload = provider.translate(measured, spec.device, target_options, seed)
        except (CapabilityError, OptionError, ProviderError) as error:
            raise loaded.error(key, error.message, type(error)) from None
        gates = two_qubit_gates(from_qpy(payload.data))
        if gates < scale * base_gates:
            message = (f"{spec.target} kept {gates} two-qubit gates of circuit "
                       f"'{entry.circuit}' folded {scale}×, not {scale} × {base_gates}: its "
                       f"translation cancels folds")  # fmt: skip
            raise loaded.error(key, message, CapabilityError)
        index = first_index + len(jobs)
        file = payload_name(index, f"{entry.circuit}-{ROLE}{scale}", spec.target,
                            payload.extension)  # fmt: skip
        payloads[file] = payload.data
        if not measured.parameters:  # Z only: one basis, a plain circuit
            chunks: list[tuple[int, list[list[float]] | None]] = [(0, None)]
        else:
            chunks = [(at, rows[at : at + per_job]) for at in range(0, len(rows), per_job)]
        for start, chunk in chunks:
            jobs.append(_job(entry.circuit, target, payload, file, first_index + len(jobs),
                             derive_seed(seed, ROLE, str(scale), str(start)), scale, start,
                             chunk))  # fmt: skip
    return jobs


def _job(
    circuit: str,
    target: tuple[int, TargetSpec, Provider, TargetOptions, int],
    payload: Payload,
    file: str,
    index: int,
    seed: int,
    scale: int,
    start: int,
    rows: list[list[float]] | None,
) -> ManifestJob:
    t_index, spec, provider, options, shots = target
    cost = provider.estimate_cost(spec.device, payload, shots, len(rows or ()))
    return job_record(index=index, circuit=circuit, target=spec.target, target_index=t_index,
                      options=options, shots=shots, seed=seed, payload_file=file,
                      payload=payload, cost=cost, role=ROLE, scale_factor=scale,
                      first_basis=start, parameter_values=rows, mitigation=ROLE)  # fmt: skip
