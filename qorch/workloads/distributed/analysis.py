"""What is known about a distributed plan before anything runs: its analysis."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from qorch.contract.errors import PlanError
from qorch.engine.loadedplan import LoadedPlan
from qorch.workloads.distributed.plan import DistributedPlan

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

    from qorch.workloads.distributed.cut import CutPlan
    from qorch.workloads.distributed.estimate import FidelityEstimate
    from qorch.workloads.distributed.network import Network, PairLink
    from qorch.workloads.distributed.partition import Partition
    from qorch.workloads.distributed.program import DistributedProgram
    from qorch.workloads.distributed.schedule import Schedule
    from qorch.workloads.distributed.timing import NodeTiming

Pair = tuple[str, str]


@dataclass(frozen=True)
class Analysis:
    """Everything known about a distributed plan before anything runs."""

    plan: DistributedPlan
    circuit: QuantumCircuit
    network: Network
    links: dict[Pair, PairLink]
    partition: Partition
    program: DistributedProgram | None
    schedule: Schedule | None
    timings: dict[str, NodeTiming]
    cut: CutPlan | None
    estimate: FidelityEstimate | None = None


def distributed_plan(loaded: LoadedPlan) -> DistributedPlan:
    """The plan, which must be of kind ``distributed``."""
    if not isinstance(loaded.plan, DistributedPlan):
        raise PlanError(f"{loaded.display}: expected a distributed plan, not {loaded.plan.kind}")
    return loaded.plan
