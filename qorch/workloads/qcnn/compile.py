"""Compile a qcnn plan: check data, features, model and targets; the run's bundle.

A qcnn bundle holds no jobs at compile time (training runs in-process; the
evaluation and fine-tuning jobs are added to the run once the model is
trained). Its manifest's ``qcnn`` block says what the run will train on.
"""

from __future__ import annotations

import hashlib

from qorch.engine.compile import CompiledBundle
from qorch.engine.loadedplan import LoadedPlan
from qorch.engine.manifest import PlanInfo, build_manifest
from qorch.engine.registry import versions
from qorch.engine.targets import check_targets
from qorch.workloads.qcnn import prepare as prep
from qorch.workloads.qcnn.plan import qcnn_targets


def compile_qcnn(loaded: LoadedPlan) -> CompiledBundle:
    """The run's bundle (manifest only); its ``memo`` is the prepared data set.

    Raises errors located at the plan field responsible (data, features, model,
    memory, targets).
    """
    prep.check_memory(loaded)
    prepared = prep.prepare(loaded)
    prep.check_features(loaded, prepared)
    n_params = prep.check_model(loaded, prepared)
    plan = prep.qcnn_plan(loaded)
    targets = qcnn_targets(plan)
    check_targets(loaded, targets)
    digest = hashlib.sha256(loaded.canonical_hash().encode() + prepared.source_digest.encode())
    info = PlanInfo.of(loaded.path, plan, digest.hexdigest())
    block = {"n_params": n_params, "data": prepared.counts(), "classes": prepared.class_names,
             "source": str(plan.data.source),
             "features_in": prepared.n_features,
             "sweep_tasks": len(prep.sweep_tasks(plan))}  # fmt: skip
    used = versions(sorted({spec.provider for _, spec in targets}))
    manifest = build_manifest(info, [], used, {"qcnn": block})
    return CompiledBundle(manifest=manifest, payloads={}, memo=prepared)
