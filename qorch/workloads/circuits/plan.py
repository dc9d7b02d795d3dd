"""The ``circuits`` plan model: circuits (generators or OpenQASM files) on many targets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from qorch.engine.limits import MAX_JOBS, MAX_LIST_ITEMS
from qorch.engine.plan_base import FieldError, PlanModel, Shots, Targets, TargetSpec, unique_names
from qorch.workloads.sources.spec import CircuitSpec


class CircuitsPlan(PlanModel):
    """Run circuits on targets and collect counts."""

    kind: Literal["circuits"]
    shots: Shots = 1024
    circuits: list[CircuitSpec] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    targets: Targets

    @field_validator("circuits")
    @classmethod
    def _unique_circuit_names(cls, value: list[Any]) -> list[Any]:
        return unique_names(value, "circuit")

    @model_validator(mode="after")
    def _jobs_bounded(self) -> CircuitsPlan:
        jobs = len(self.circuits) * len(self.targets)
        if jobs > MAX_JOBS:
            raise FieldError(
                ("targets",),
                f"{len(self.circuits)} circuits × {len(self.targets)} targets make {jobs} jobs; "
                f"at most {MAX_JOBS} per plan",
            )
        return self

    def target_shots(self, target: TargetSpec) -> int:
        """Shots for jobs on ``target``: its override, else the plan's."""
        return target.shots if target.shots is not None else self.shots
