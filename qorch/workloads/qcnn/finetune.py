"""Hardware-in-the-loop fine-tuning: SPSA or parameter-shift steps measured on a target.

Each step draws a seeded mini-batch, lets the gradient rule ask for the read-out
probabilities it needs (a first, recording pass), runs all of them as parameter
sets of ONE job per circuit through the runner (state store, idempotency
tokens), then replays the rule on the measured frequencies and updates the
parameters. The step's result is stored at once, so a killed run resumes at the
next step, and a step whose job was already submitted re-attaches to it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from qorch.contract.errors import BudgetError, CapabilityError, ProviderError, QorchError
from qorch.engine import registry
from qorch.engine.compile import CompiledBundle, derive_seed, merge_bundles
from qorch.engine.loadedplan import LoadedPlan
from qorch.engine.manifest import ManifestJob, build_manifest, job_record
from qorch.engine.runner import RunContext
from qorch.engine.wording import usd
from qorch.workloads.qcnn import prepare as prep
from qorch.workloads.qcnn.evaljobs import read_json_counts
from qorch.workloads.qcnn.evaluate import outcome_probabilities
from qorch.workloads.qcnn.plan import QCNNPlan
from qorch.workloads.qcnn.runfiles import Progress

Call = tuple[Any, np.ndarray, np.ndarray]  # (model, params, X)


class _Recorder:
    """An estimator that records what is asked and answers uniform placeholders."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def __call__(self, model: Any, params: np.ndarray, X: Any) -> np.ndarray:
        self.calls.append((model, np.array(params, dtype=np.float64), np.asarray(X)))
        return np.full((len(X), model.n_outcomes), 1.0 / model.n_outcomes)


class _Replayer:
    """An estimator that answers, in call order, with measured frequencies."""

    def __init__(self, answers: list[np.ndarray]) -> None:
        self.answers = list(answers)

    def __call__(self, model: Any, params: np.ndarray, X: Any) -> np.ndarray:
        return self.answers.pop(0)


def gradient_rule(plan: QCNNPlan, loss: str, reduction: str) -> Callable[..., Any]:
    """``rule(model, params, X, y, estimate, seed) -> (loss, grad)`` for the plan's method."""
    from qorch.workloads.qcnn.gradients import parameter_shift, spsa_gradient

    assert plan.fine_tune is not None
    method = plan.fine_tune.gradient

    def rule(model: Any, params: np.ndarray, X: Any, y: Any, estimate: Any, seed: int) -> Any:
        if method == "spsa":
            rng = np.random.default_rng(seed)
            return spsa_gradient(model, params, X, y, loss, rng, 0.1, estimate, reduction)
        return parameter_shift(model, params, X, y, loss, estimate, reduction)

    return rule


def run_fine_tune(
    loaded: LoadedPlan,
    ctx: RunContext,
    plan: QCNNPlan,
    prepared: prep.Prepared,
    trained: dict[str, Any],
    progress: Progress,
) -> None:
    """Fine-tune from the trained parameters; store every step; write the result."""
    from qorch.workloads.qcnn.model import QCNN
    from qorch.workloads.qcnn.task import features

    spec = plan.fine_tune
    assert spec is not None
    run_id = ctx.run.run_id
    stored = ctx.store.tasks(run_id).get("fine_tune")
    state = dict(stored.result) if stored is not None and stored.result else {}
    if state.get("done"):
        return
    model, params = QCNN.from_dict(trained["model"])
    params = np.array(state.get("params", params.tolist()), dtype=np.float64)
    X_train, X_test, _ = features(trained["config"], prepared.split)
    y_train, y_test = prepared.split["y_train"], prepared.split["y_test"]
    rule = gradient_rule(plan, trained["config"]["loss"], trained["config"]["reduction"])
    history = list(state.get("history", []))
    start = len(history)
    for step in range(start, spec.steps):
        seed = derive_seed(plan.seed, "fine_tune", str(step))
        batch = np.random.default_rng(seed).choice(len(y_train), spec.batch_size, replace=True)
        X, y = X_train[batch], y_train[batch]
        recorder = _Recorder()
        rule(model, params, X, y, recorder, seed)
        answers = measure(loaded, ctx, plan, recorder.calls, step)
        loss, grad = rule(model, params, X, y, _Replayer(answers), seed)
        params = params - spec.learning_rate * np.asarray(grad)
        history.append(float(loss))
        state = {"params": params.tolist(), "history": history, "step": step + 1}
        ctx.store.set_task(run_id, "fine_tune", "running", state)
        progress("fine_tune", step + 1, spec.steps)
        ctx.notify(f"fine-tune step {step + 1}/{spec.steps} on {spec.target.target}: "
                   f"measured loss {loss:.4f}")  # fmt: skip
    accuracy = float(np.mean(model.predict(params, X_test) == y_test))
    state.update(done=True, target=spec.target.target, gradient=spec.gradient,
                 exact_test_accuracy_after=accuracy,
                 exact_test_accuracy_before=trained["metrics"]["test_accuracy"])  # fmt: skip
    ctx.store.set_task(run_id, "fine_tune", "done", state)


def measure(
    loaded: LoadedPlan, ctx: RunContext, plan: QCNNPlan, calls: list[Call], step: int
) -> list[np.ndarray]:
    """Run every recorded call as parameter sets of one job per circuit; frequencies back."""
    from qorch.engine import runner
    from qorch.engine.bundle import read_bundle, write_bundle
    from qorch.workloads.qcnn.encoding import input_values

    spec = plan.fine_tune
    assert spec is not None
    circuits: dict[int, tuple[Any, Any, list[tuple[int, np.ndarray]]]] = {}
    for number, (model, params, X) in enumerate(calls):
        key = id(model)
        if key not in circuits:
            circuits[key] = (model, model.circuit(None, None, bind_weights=False), [])
        values = input_values(model.spec.encoding, X, model.spec.num_qubits)
        rows = [_row(circuits[key][1], params, x) for x in values]
        circuits[key][2].append((number, np.array(rows)))
    group = f"fine_tune-{step}"
    earlier = [j.index for j in ctx.bundle.jobs if j.extra("step") == step]
    if f"jobs:{group}" in ctx.store.tasks(ctx.run.run_id) and earlier:
        bundle, order = _jobs(loaded, ctx, plan, circuits, min(earlier), step)  # re-attach
    else:
        first = len(ctx.store.jobs(ctx.run.run_id))
        bundle, order = _jobs(loaded, ctx, plan, circuits, first, step)
        late = runner.run_bundle_dir(ctx.state_dir, ctx.run.run_id)
        plan_info = ctx.bundle.manifest.plan
        existing = read_bundle(late, plan_info) if (late / "manifest.json").exists() else None
        write_bundle(merge_bundles(existing, bundle) if existing else bundle, late)
        ctx.store.add_jobs_once(ctx.run.run_id, group, bundle.new_jobs())
        ctx.add_bundle(bundle)
    runner.submit_pending(ctx)
    if not runner.wait(ctx, timeout_s=None, poll_s=0.5):
        raise QorchError("fine-tuning jobs did not finish")
    return _answers(ctx, calls, bundle, order)


def _row(circuit: Any, params: np.ndarray, x: np.ndarray) -> list[float]:
    """Values in ``circuit.parameters`` order: weights ``θ[i]`` and inputs ``x[j]``."""
    return [float(x[p.index] if p.vector.name == "x" else params[p.index])
            for p in circuit.parameters]  # fmt: skip


def _jobs(
    loaded: LoadedPlan,
    ctx: RunContext,
    plan: QCNNPlan,
    circuits: dict[int, Any],
    first: int,
    step: int,
) -> tuple[CompiledBundle, list[tuple[int, int, int, int]]]:
    """One job per circuit holding all its calls' rows; ``order`` locates each call's rows."""
    from qorch.engine.targets import target_options

    spec = plan.fine_tune
    assert spec is not None
    target = spec.target
    provider = registry.load(target.provider)
    options = target_options(target)
    jobs: list[ManifestJob] = []
    files: dict[str, bytes] = {}
    order: list[tuple[int, int, int, int]] = []
    for number, (_, circuit, calls) in enumerate(circuits.values()):
        circuit.name = f"qcnn-tune-{number}"
        translated = _translate(loaded, provider, circuit, target, options, plan.seed + number)
        rows = np.concatenate([r for _, r in calls])
        index = first + len(jobs)
        name = f"payloads/fine-tune-{step:04d}-{number}.{translated.extension}"
        files[name] = translated.data
        cost = provider.estimate_cost(target.device, translated, spec.shots, len(rows))
        seed = derive_seed(plan.seed, "evaluate", target.target, str(index))
        jobs.append(job_record(
            index=index, circuit="qcnn-fine-tune", target=target.target, target_index=0,
            options=options, shots=spec.shots, seed=seed, payload_file=name, payload=translated,
            cost=cost, step=step, parameter_values=rows.tolist(),
        ))  # fmt: skip
        offset = 0
        for call_number, call_rows in calls:
            order.append((call_number, index, offset, len(call_rows)))
            offset += len(call_rows)
    _check_budget(loaded, plan, jobs)
    manifest = build_manifest(ctx.bundle.manifest.plan, jobs, {})
    return CompiledBundle(manifest=manifest, payloads=files), order


_TRANSLATED: dict[tuple[str, str, int], Any] = {}


def _translate(
    loaded: LoadedPlan, provider: Any, circuit: Any, target: Any, options: Any, seed: int
) -> Any:
    """Translate once per (target, circuit, seed): every step runs the same payload."""
    from qorch.contract.payload import to_qpy

    key = (target.target, to_qpy(circuit).hex(), seed)
    if key not in _TRANSLATED:
        try:
            _TRANSLATED[key] = provider.translate(circuit, target.device, options, seed)
        except (CapabilityError, ProviderError) as error:
            raise loaded.error(("fine_tune", "target"), error.message, type(error)) from None
    return _TRANSLATED[key]


def _check_budget(loaded: LoadedPlan, plan: QCNNPlan, jobs: list[ManifestJob]) -> None:
    spec = plan.fine_tune
    assert spec is not None
    per_step = sum(j.shots * len(j.parameter_values or ()) for j in jobs)
    total = per_step * spec.steps
    limit = plan.budget.max_total_shots
    if limit is not None and total > limit:
        message = (f"fine-tuning needs about {total} shots ({spec.steps} steps × {per_step}), "
                   f"budget allows {limit}")  # fmt: skip
        raise loaded.error(("budget", "max_total_shots"), message, BudgetError)
    cost = sum(j.cost_usd for j in jobs) * spec.steps
    if plan.budget.max_cost_usd is not None and cost > plan.budget.max_cost_usd:
        message = (f"fine-tuning costs an estimated {usd(cost)}, budget allows "
                   f"{usd(plan.budget.max_cost_usd)}")  # fmt: skip
        raise loaded.error(("budget", "max_cost_usd"), message, BudgetError)


def _answers(
    ctx: RunContext, calls: list[Call], bundle: CompiledBundle, order: list[Any]
) -> list[np.ndarray]:
    jobs = {job.idx: job for job in ctx.store.jobs(ctx.run.run_id)}
    answers: list[np.ndarray] = [np.empty(0)] * len(calls)
    for call_number, index, offset, size in order:
        job = jobs[index]
        if job.status != "done":
            raise QorchError(f"fine-tuning job {index} on {job.target} {job.status}: {job.message}")
        counts = read_json_counts(ctx, job)[offset : offset + size]
        model = calls[call_number][0]
        answers[call_number] = outcome_probabilities(counts, len(model.layout.readout))
    return answers
