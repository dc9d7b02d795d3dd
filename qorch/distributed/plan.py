"""The ``distributed`` plan kind: one circuit, a network of QPUs, how to split and run it."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from qorch.distributed.network import LinkSpec
from qorch.plan import CircuitSpec
from qorch.plan_base import (
    NAME_PATTERN,
    TARGET_PATTERN,
    Budget,
    Model,
    Name,
    OptionValue,
    Shots,
    unique_names,
)

PAULI_PATTERN = r"^[IXYZ]+$"


class NodeTimingSpec(Model):
    """Overrides of a node's durations (s), error rates and memory times.

    Unset fields come from the node's backend (IBM fake backends give gate
    durations, errors and T1/T2) or from the documented defaults.
    """

    gate_1q_s: float | None = Field(default=None, ge=0)
    gate_2q_s: float | None = Field(default=None, ge=0)
    measure_s: float | None = Field(default=None, ge=0)
    reset_s: float | None = Field(default=None, ge=0)
    feedforward_s: float | None = Field(default=None, ge=0)
    error_1q: float | None = Field(default=None, ge=0, le=0.5)
    error_2q: float | None = Field(default=None, ge=0, le=0.5)
    error_readout: float | None = Field(default=None, ge=0, le=0.5)
    t1_s: float | None = Field(default=None, gt=0)
    t2_s: float | None = Field(default=None, gt=0)

    def overrides(self) -> dict[str, float]:
        """The fields that are set."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class NodeSpec(Model):
    """One QPU: the backend that runs (or models) it, its size and its communication qubits.

    ``capacity`` counts every qubit of the QPU; ``comm_qubits`` of them are
    reserved for entanglement with other nodes, the rest hold data.
    """

    name: Name
    target: str = Field(pattern=TARGET_PATTERN)
    capacity: int = Field(ge=1, le=1000)
    comm_qubits: int = Field(default=2, ge=0, le=100)
    timing: NodeTimingSpec = Field(default_factory=NodeTimingSpec)
    options: dict[str, OptionValue] = Field(default_factory=dict)

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
    """How to partition: the method, what to minimise, and the seed."""

    method: Literal["auto", "blocks", "kl"] = "auto"
    objective: Literal["time", "fidelity", "pairs"] = "time"
    seed: int = Field(default=0, ge=0)


class Execute(Model):
    """What to do after partitioning.

    ``simulate`` runs the combined program on Aer with the links' noise;
    ``cut`` cuts the circuit between partitions and runs each part on its own
    node's backend; ``estimate`` stops after the cost, time and fidelity report.
    ``perfect_links`` simulates with ideal Bell pairs and no idle noise.
    """

    mode: Literal["simulate", "cut", "estimate"] = "simulate"
    shots: Shots = 20_000
    observables: list[str] = Field(default_factory=list)
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

    max_sampling_overhead: float | None = Field(default=None, gt=0)


class DistributedPlan(Model):
    """Partition one circuit over QPUs joined by modelled links; estimate, simulate or cut."""

    version: Literal[1]
    kind: Literal["distributed"]
    name: Name | None = None
    description: str | None = None
    seed: int = Field(default=0, ge=0)
    circuit: CircuitSpec
    nodes: list[NodeSpec] = Field(min_length=1)
    links: list[LinkSpec] = Field(default_factory=list)
    strategy: Strategy = Field(default_factory=Strategy)
    execute: Execute = Field(default_factory=Execute)
    budget: DistributedBudget = Field(default_factory=DistributedBudget)

    @field_validator("circuit", mode="before")
    @classmethod
    def _default_circuit_name(cls, value: Any) -> Any:
        if isinstance(value, dict) and "name" not in value:
            return {"name": "circuit", **value}
        return value

    @field_validator("nodes")
    @classmethod
    def _unique_nodes(cls, value: list[NodeSpec]) -> list[NodeSpec]:
        return unique_names(value, "node")

    @property
    def node_names(self) -> list[str]:
        """Node names in plan order."""
        return [node.name for node in self.nodes]


__all__ = ["NAME_PATTERN", "DistributedBudget", "DistributedPlan", "Execute", "NodeSpec"]
