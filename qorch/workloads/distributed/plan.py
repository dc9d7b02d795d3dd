"""The ``distributed`` plan kind: one circuit, a network of QPUs, how to split and run it."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from qorch.engine.limits import MAX_LIST_ITEMS
from qorch.engine.plan_base import (
    NAME_PATTERN,
    Budget,
    FieldError,
    Finite,
    Model,
    Name,
    Options,
    PlanModel,
    Seed,
    Shots,
    TargetSpec,
    TargetString,
    unique_names,
)
from qorch.workloads.distributed.network import LinkSpec
from qorch.workloads.sources.spec import (
    CIRCUIT_SOURCE,
    GhzCircuit,
    QaoaMaxcutCircuit,
    QasmCircuit,
    QftCircuit,
    RandomCircuit,
    circuit_tag,
)

PAULI_PATTERN = r"^[IXYZ]+$"


# The plan's one circuit may leave out its name ("circuit"): the same models with a
# default name, so the JSON Schema says so too (a before-validator filling the name
# in would hide it from the schema).
DEFAULT_CIRCUIT_NAME = "circuit"


class DistributedGhzCircuit(GhzCircuit):
    name: Name = DEFAULT_CIRCUIT_NAME


class DistributedQftCircuit(QftCircuit):
    name: Name = DEFAULT_CIRCUIT_NAME


class DistributedRandomCircuit(RandomCircuit):
    name: Name = DEFAULT_CIRCUIT_NAME


class DistributedQaoaMaxcutCircuit(QaoaMaxcutCircuit):
    name: Name = DEFAULT_CIRCUIT_NAME


class DistributedQasmCircuit(QasmCircuit):
    name: Name = DEFAULT_CIRCUIT_NAME


DistributedCircuitSpec = Annotated[
    Annotated[DistributedGhzCircuit, Tag("ghz")]
    | Annotated[DistributedQftCircuit, Tag("qft")]
    | Annotated[DistributedRandomCircuit, Tag("random")]
    | Annotated[DistributedQaoaMaxcutCircuit, Tag("qaoa-maxcut")]
    | Annotated[DistributedQasmCircuit, Tag("qasm")],
    Discriminator(
        circuit_tag, custom_error_type="circuit_source", custom_error_message=CIRCUIT_SOURCE
    ),
]


class NodeTimingSpec(Model):
    """Overrides of a node's durations (s), error rates and memory times.

    Unset fields come from the node's backend (IBM fake backends give gate
    durations, errors and T1/T2) or from the documented defaults.
    """

    gate_1q_s: Finite | None = Field(default=None, ge=0)
    gate_2q_s: Finite | None = Field(default=None, ge=0)
    measure_s: Finite | None = Field(default=None, ge=0)
    reset_s: Finite | None = Field(default=None, ge=0)
    feedforward_s: Finite | None = Field(default=None, ge=0)
    error_1q: Finite | None = Field(default=None, ge=0, le=0.5)
    error_2q: Finite | None = Field(default=None, ge=0, le=0.5)
    error_readout: Finite | None = Field(default=None, ge=0, le=0.5)
    t1_s: Finite | None = Field(default=None, gt=0)
    t2_s: Finite | None = Field(default=None, gt=0)

    def overrides(self) -> dict[str, float]:
        """The fields that are set."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class NodeSpec(Model):
    """One QPU: the backend that runs (or models) it, its size and its communication qubits.

    ``capacity`` counts every qubit of the QPU; ``comm_qubits`` of them are
    reserved for entanglement with other nodes, the rest hold data.
    """

    name: Name
    target: TargetString
    capacity: int = Field(ge=1, le=1000)
    comm_qubits: int = Field(default=2, ge=0, le=100)
    timing: NodeTimingSpec = Field(default_factory=NodeTimingSpec)
    options: Options = Field(default_factory=dict)

    @model_validator(mode="after")
    def _room_for_data(self) -> NodeSpec:
        if self.comm_qubits >= self.capacity:
            raise ValueError(
                f"comm_qubits ({self.comm_qubits}) must be less than capacity ({self.capacity})"
            )
        return self

    @property
    def data_qubits(self) -> int:
        """Qubits left for data: capacity minus communication qubits."""
        return self.capacity - self.comm_qubits


class Strategy(Model):
    """How to partition: the method, what to minimise, the seed, and how hard to search.

    ``effort`` bounds every search by counts (never wall time), so a plan compiles in
    bounded time with the same answer on every machine: ``fast`` searches least,
    ``thorough`` most (more time for fewer EPR pairs).
    """

    method: Literal["auto", "blocks", "kl"] = "auto"
    objective: Literal["time", "fidelity", "pairs"] = "time"
    seed: Seed = 0
    effort: Literal["fast", "default", "thorough"] = Field(
        default="default", exclude_if=lambda v: v == "default"
    )  # left out of the canonical plan at its default, so existing plans keep their hash


class Execute(Model):
    """What to do after partitioning.

    ``simulate`` runs the combined program on Aer with the links' noise;
    ``cut`` cuts the circuit between partitions and runs each part on its own
    node's backend; ``estimate`` stops after the cost, time and fidelity report.
    ``perfect_links`` simulates with ideal Bell pairs and no idle noise.
    """

    mode: Literal["simulate", "cut", "estimate"] = "simulate"
    shots: Shots = 20_000
    observables: list[str] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    perfect_links: bool = False

    @field_validator("observables")
    @classmethod
    def _paulis(cls, value: list[str]) -> list[str]:
        for text in value:
            if not re.match(PAULI_PATTERN, text):
                raise ValueError(f"observable '{text}' must be a Pauli string of I, X, Y, Z")
        return value


class DistributedBudget(Budget):
    """Limits enforced at compile time; cuts also cap their sampling overhead."""

    max_sampling_overhead: Finite | None = Field(default=None, gt=0)


class DistributedPlan(PlanModel):
    """Partition one circuit over QPUs joined by modelled links; estimate, simulate or cut."""

    kind: Literal["distributed"]
    circuit: DistributedCircuitSpec
    nodes: list[NodeSpec] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    links: list[LinkSpec] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    strategy: Strategy = Field(default_factory=Strategy)
    execute: Execute = Field(default_factory=Execute)
    budget: DistributedBudget = Field(default_factory=DistributedBudget)

    @field_validator("nodes")
    @classmethod
    def _unique_nodes(cls, value: list[NodeSpec]) -> list[NodeSpec]:
        return unique_names(value, "node")

    @model_validator(mode="after")
    def _nothing_ignored(self) -> DistributedPlan:
        """Fields only cut mode reads are refused elsewhere rather than silently ignored:
        simulate and estimate run every node on Aer's model of the network."""
        mode = self.execute.mode
        if mode == "cut":
            return self
        if self.execute.observables:
            raise FieldError(
                ("execute", "observables"),
                f"observables are estimated in cut mode only ({mode} mode "
                "reports counts and fidelities); remove them or use mode: cut",
            )
        for index, node in enumerate(self.nodes):
            if node.options:
                raise FieldError(
                    ("nodes", index, "options"),
                    f"node options are passed to its device in cut mode only "
                    f"({mode} mode models every node on Aer)",
                )
        return self

    @property
    def node_names(self) -> list[str]:
        """Node names in plan order."""
        return [node.name for node in self.nodes]


def node_targets(plan: DistributedPlan) -> list[tuple[tuple[str | int, ...], TargetSpec]]:
    """A distributed plan's nodes as targets (``nodes[i]``), whatever the execute mode."""
    return [(("nodes", i), TargetSpec(target=node.target, options=node.options))
            for i, node in enumerate(plan.nodes)]  # fmt: skip


__all__ = [
    "NAME_PATTERN",
    "DistributedBudget",
    "DistributedPlan",
    "Execute",
    "NodeSpec",
    "node_targets",
]
