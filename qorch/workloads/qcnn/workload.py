"""The ``qcnn`` plan kind as a registered workload: train, sweep, evaluate, fine-tune."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import QorchError
from qorch.engine.plan_base import TargetSpec
from qorch.engine.views import View
from qorch.engine.workload import (
    FieldKey,
    PlanCheck,
    Reported,
    RunObserver,
    RunOptions,
    RunStart,
    Workload,
    WorkloadResult,
)
from qorch.workloads.qcnn.plan import QCNNPlan, qcnn_targets

if TYPE_CHECKING:
    from qorch.engine.compile import CompiledBundle
    from qorch.engine.loadedplan import LoadedPlan
    from qorch.engine.runner import RunContext


class QCNNWorkload(Workload):
    """A quantum convolutional neural network experiment: trained on the built-in simulator,
    compared with classical baselines, evaluated (and fine-tuned) on provider targets."""

    kind = "qcnn"
    plan_model = QCNNPlan

    def targets(self, plan: Any) -> list[tuple[FieldKey, TargetSpec]]:
        return qcnn_targets(plan)

    def check(self, loaded: LoadedPlan) -> PlanCheck:
        from qorch.engine.wording import counted

        sweep = int(self.compile(loaded).manifest.extension["qcnn"]["sweep_tasks"])
        fields = {"jobs": 0, "tasks": 1 + sweep, "sweep_tasks": sweep}
        said = "1 training task" + (f" and a sweep of {counted(sweep, 'task')}" if sweep else "")
        return PlanCheck(fields, said)

    def reported(self, loaded: LoadedPlan) -> Reported:
        plan: QCNNPlan = loaded.plan
        names = {"test_accuracy", "train_accuracy"}
        names |= {f"{baseline}_test_accuracy" for baseline in plan.baselines}
        if plan.evaluate is not None:
            names.add("evaluation_accuracy")
        if plan.fine_tune is not None:
            names.add("fine_tune_test_accuracy")
        targets = tuple(spec.target for _, spec in qcnn_targets(plan))
        return Reported(frozenset(names), (), targets)

    def compile(self, loaded: LoadedPlan) -> CompiledBundle:
        from qorch.workloads.qcnn.compile import compile_qcnn

        return compile_qcnn(loaded)

    def holds(self, bundle: CompiledBundle) -> str:
        data = bundle.manifest.extension["qcnn"]["data"]
        return f"{data['train']} training and {data['test']} test samples"

    def execute(self, start: RunStart, options: RunOptions, observer: RunObserver) -> bool:
        from qorch.workloads.qcnn import pipeline
        from qorch.workloads.qcnn.prepare import prepare

        if start.loaded is None:
            raise QorchError(
                "a qcnn run starts from its plan file (qorch run PLAN), not from a compiled "
                "bundle directory: training needs the plan's data"
            )
        prepared = start.ctx.bundle.memo or prepare(start.loaded)
        return pipeline.execute(start.loaded, start.ctx, prepared, options, observer.step)

    def results(self, ctx: RunContext, run: dict[str, Any]) -> WorkloadResult:
        from qorch.workloads.qcnn.result import collect

        return collect(ctx)

    def compile_view(self, bundle: CompiledBundle, directory: Path) -> View:
        from qorch.workloads.qcnn.views import compile_view

        return compile_view(bundle.manifest.extension["qcnn"])

    def results_view(self, run: dict[str, Any], result: WorkloadResult) -> View:
        from qorch.workloads.qcnn.views import results_view

        return results_view(run)
