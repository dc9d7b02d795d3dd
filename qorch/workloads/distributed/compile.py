"""Compile a distributed plan into a bundle of ordinary provider jobs.

- ``simulate``: the combined program with its link and idle noise on ``local:aer``,
  and the monolithic circuit beside it as the reference;
- ``cut``: each partition's sub-experiments on its own node's target;
- ``estimate``: no jobs, only the report.

The bundle's manifest carries the ``partition`` report and what post-processing
needs (``distributed``) as the kind's extension blocks, and a diagram beside
the payloads.
"""

from __future__ import annotations

from qorch.engine import registry
from qorch.engine.compile import CompiledBundle, check_budget, derive_seed
from qorch.engine.loadedplan import LoadedPlan
from qorch.engine.manifest import ManifestJob, PlanInfo, build_manifest, job_record, payload_name
from qorch.engine.targets import check_targets
from qorch.workloads.distributed import jobs as job_builder
from qorch.workloads.distributed.analysis import distributed_plan
from qorch.workloads.distributed.diagram import network_png
from qorch.workloads.distributed.pipeline import analyse, plan_digest
from qorch.workloads.distributed.plan import node_targets
from qorch.workloads.distributed.report import partition_summary

DIAGRAM = "partition.png"


def compile_distributed(loaded: LoadedPlan) -> CompiledBundle:
    """The bundle of a distributed plan: jobs, payloads, the partition report and diagram."""
    plan = distributed_plan(loaded)
    check_targets(loaded, node_targets(plan))
    analysis = analyse(loaded)
    payloads: dict[str, bytes] = {}
    records: list[ManifestJob] = []
    for spec in job_builder.job_specs(analysis):
        seed = derive_seed(plan.seed, spec.name, spec.target)
        payload, cost, options = job_builder.translate(loaded, spec, seed)
        index = len(records)
        file = payload_name(index, spec.name, spec.target, payload.extension)
        payloads[file] = payload.data
        records.append(
            job_record(
                index=index, circuit=spec.name, target=spec.target, target_index=spec.node_index,
                options=options, shots=plan.execute.shots, seed=seed, payload_file=file,
                payload=payload, cost=cost, role=spec.role, label=spec.label,
                meas_clbits=list(spec.meas_clbits),
            )
        )  # fmt: skip
    summary = partition_summary(analysis)
    payloads[DIAGRAM] = network_png(analysis, summary)
    info = PlanInfo.of(loaded.path, plan, plan_digest(loaded))
    versions = registry.versions(sorted({r.provider for r in records} | {"local"}))
    blocks = {"partition": summary, "distributed": job_builder.post_processing(analysis)}
    manifest = build_manifest(info, records, versions, blocks, files=[DIAGRAM])
    check_budget(loaded, manifest)
    return CompiledBundle(manifest=manifest, payloads=payloads)
