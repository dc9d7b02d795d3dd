"""Evaluate a trained QCNN on provider targets: test-set inference with shots, few jobs.

The trained circuit has its weights bound and its encoding inputs as
parameters (``x``); every test sample is one parameter set, so a target
runs the whole test set in as few jobs as the device allows (one Sampler PUB
per IBM job, one program set per Braket task). Jobs go through the same
bundle, state store and runner as every other plan.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from qorch.engine import registry
from qorch.engine.compile import CompiledBundle, derive_seed
from qorch.engine.manifest import ManifestJob, PlanInfo, build_manifest, job_record, slug
from qorch.engine.plan_base import TargetSpec
from qorch.engine.targets import target_options

Z95 = 1.959963984540054


def trained_circuit(model: Any, params: Any) -> Any:
    """The trained QCNN: weights bound, encoding inputs as ``ParameterVector('x')``."""
    circuit = model.circuit(params, None)
    circuit.name = "qcnn"
    return circuit


def build_jobs(
    model: Any,
    params: Any,
    rows: np.ndarray,
    targets: list[TargetSpec],
    shots: int,
    seed: int,
    first_index: int,
    plan: PlanInfo,
) -> CompiledBundle:
    """Translate the trained circuit for every target and split the rows into jobs.

    ``plan``: the run's plan, recorded in the jobs' manifest. Raises
    CapabilityError/ProviderError from translation (the caller locates it).
    """
    circuit = trained_circuit(model, params)
    jobs: list[ManifestJob] = []
    files: dict[str, bytes] = {}
    for t_index, spec in enumerate(targets):
        provider = registry.load(spec.provider)
        options = target_options(spec)
        job_shots = spec.shots or shots
        translated = provider.translate(
            circuit, spec.device, options, derive_seed(seed, "evaluate", spec.target)
        )
        per_job = provider.device(spec.device).sets_per_job(job_shots)
        for start in range(0, len(rows), per_job):
            chunk = rows[start : start + per_job]
            index = first_index + len(jobs)
            name = f"payloads/evaluate-{t_index:02d}-{slug(spec.target)}.{translated.extension}"
            files[name] = translated.data
            cost = provider.estimate_cost(spec.device, translated, job_shots, len(chunk))
            job_seed = derive_seed(seed, "evaluate", spec.target, str(index))
            jobs.append(job_record(
                index=index, circuit="qcnn", target=spec.target, target_index=t_index,
                options=options, shots=job_shots, seed=job_seed, payload_file=name,
                payload=translated, cost=cost, first_row=start,
                parameter_values=[[float(v) for v in row] for row in chunk],
            ))  # fmt: skip
    return CompiledBundle(manifest=build_manifest(plan, jobs, {}), payloads=files)


def outcome_probabilities(counts: list[dict[str, int]], n_readout: int) -> np.ndarray:
    """Read-out outcome frequencies ``(samples, 2**n_readout)`` from per-sample counts.

    The read-out register is the circuit's first register: the rightmost bits of a key.
    """
    out = np.zeros((len(counts), 1 << n_readout))
    for row, sample in enumerate(counts):
        total = max(1, sum(sample.values()))
        for bits, count in sample.items():
            out[row, int(bits[-n_readout:], 2)] += count / total
    return out


def predict(model: Any, outcomes: np.ndarray) -> np.ndarray:
    """Predicted classes from measured outcome frequencies (the model's own rule)."""
    from qorch.workloads.qcnn.loss import predict_classes

    return predict_classes(model.class_probabilities(outcomes))


def wilson_interval(correct: int, total: int) -> tuple[float, float]:
    """95% Wilson score interval of an accuracy ``correct / total``."""
    if total == 0:
        return (0.0, 1.0)
    p = correct / total
    denominator = 1 + Z95**2 / total
    centre = (p + Z95**2 / (2 * total)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / total + Z95**2 / (4 * total**2)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def score(
    model: Any, y: np.ndarray, counts: list[dict[str, int]], exact_accuracy: float
) -> dict[str, Any]:
    """Accuracy from shots, its 95% interval and the gap to the exact accuracy."""
    predicted = predict(model, outcome_probabilities(counts, len(model.layout.readout)))
    correct = int(np.sum(predicted == y[: len(predicted)]))
    low, high = wilson_interval(correct, len(predicted))
    accuracy = correct / max(1, len(predicted))
    return {
        "accuracy": round(accuracy, 6),
        "ci95": [round(low, 6), round(high, 6)],
        "samples": len(predicted),
        "exact_accuracy": round(exact_accuracy, 6),
        "gap_points": round(100 * (accuracy - exact_accuracy), 3),
    }
