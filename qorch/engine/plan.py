"""The plan model, version 1: pure data, validated by pydantic.

One model per plan kind, under a discriminated union on ``kind``. Every
model forbids unknown fields, so a typo is an error, not a silent default.
File loading, line numbers and error formatting live in :mod:`qorch.engine.planfile`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    Tag,
    TypeAdapter,
    field_validator,
    model_validator,
)

from qorch.engine.limits import MAX_JOBS, MAX_LIST_ITEMS
from qorch.engine.plan_base import (
    MAX_SHOTS,
    NAME_PATTERN,
    TARGET_PATTERN,
    Budget,
    FieldError,
    Finite,
    Model,
    Name,
    OptionValue,
    Seed,
    Shots,
    Targets,
    TargetSpec,
    unique_names,
)


class GhzCircuit(Model):
    """GHZ state on ``qubits`` qubits: H then a CNOT chain; ideal outcomes all-0 and all-1."""

    name: Name
    generator: Literal["ghz"]
    qubits: int = Field(ge=2, le=64)


class QftCircuit(Model):
    """Quantum Fourier transform on ``qubits`` qubits.

    With ``value`` set, the circuit prepares the Fourier state of ``value`` and
    applies the inverse QFT, so the ideal outcome is ``value`` in binary: a
    QFT workload with a known answer.
    """

    name: Name
    generator: Literal["qft"]
    qubits: int = Field(ge=1, le=64)
    value: int | None = Field(default=None, ge=0)
    swaps: bool = True

    @model_validator(mode="after")
    def _value_fits(self) -> QftCircuit:
        if self.value is not None and self.value >= 2**self.qubits:
            raise ValueError(f"value {self.value} does not fit in {self.qubits} qubits")
        return self


class RandomCircuit(Model):
    """Seeded random circuit (Qiskit's ``random_circuit``) of ``depth`` layers."""

    name: Name
    generator: Literal["random"]
    qubits: int = Field(ge=1, le=64)
    depth: int = Field(ge=1, le=10_000)
    seed: Seed
    max_operands: int = Field(default=2, ge=1, le=3)


class QaoaMaxcutCircuit(Model):
    """QAOA for MaxCut on a seeded random ``degree``-regular graph, p layers at given angles."""

    name: Name
    generator: Literal["qaoa-maxcut"]
    qubits: int = Field(ge=2, le=64)
    degree: int = Field(default=3, ge=1)
    p: int = Field(default=1, ge=1, le=100)
    gammas: list[Finite] = Field(max_length=100)
    betas: list[Finite] = Field(max_length=100)
    seed: Seed

    @model_validator(mode="after")
    def _graph_and_angles(self) -> QaoaMaxcutCircuit:
        if self.degree >= self.qubits:
            raise ValueError(f"degree {self.degree} must be less than qubits ({self.qubits})")
        if (self.degree * self.qubits) % 2:
            raise ValueError("degree × qubits must be even for a regular graph to exist")
        for label, angles in (("gammas", self.gammas), ("betas", self.betas)):
            if len(angles) != self.p:
                raise ValueError(f"{label} has {len(angles)} angles but p is {self.p}")
        return self


class QasmCircuit(Model):
    """A circuit from an OpenQASM 2 or 3 file (path relative to the plan file)."""

    name: Name
    qasm: str = Field(min_length=1, max_length=4096)  # a path (PATH_MAX on Linux)


def circuit_tag(value: Any) -> str | None:
    """The union tag of a circuit as written (a mapping) or built (a model)."""
    if isinstance(value, dict):
        if "qasm" in value and "generator" not in value:
            return "qasm"
        generator = value.get("generator")
        return generator if isinstance(generator, str) else None
    if isinstance(value, BaseModel):
        return "qasm" if isinstance(value, QasmCircuit) else getattr(value, "generator", None)
    return None


CIRCUIT_SOURCE = "a circuit needs 'qasm: FILE' or 'generator:' one of ghz, qft, random, qaoa-maxcut"
CircuitSpec = Annotated[
    Annotated[GhzCircuit, Tag("ghz")]
    | Annotated[QftCircuit, Tag("qft")]
    | Annotated[RandomCircuit, Tag("random")]
    | Annotated[QaoaMaxcutCircuit, Tag("qaoa-maxcut")]
    | Annotated[QasmCircuit, Tag("qasm")],
    Discriminator(
        circuit_tag, custom_error_type="circuit_source", custom_error_message=CIRCUIT_SOURCE
    ),
]


class CircuitsPlan(Model):
    """Run circuits on targets and collect counts."""

    version: Literal[1]
    kind: Literal["circuits"]
    name: Name | None = None
    description: str | None = None
    shots: Shots = 1024
    seed: Seed = 0
    circuits: list[CircuitSpec] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    targets: Targets
    budget: Budget = Field(default_factory=Budget)

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


from qorch.workloads.distributed.plan import DistributedPlan  # noqa: E402 - after the shared models
from qorch.workloads.qcnn.plan import QCNNPlan  # noqa: E402 - after the shared models it builds on

AnyPlan: TypeAlias = CircuitsPlan | QCNNPlan | DistributedPlan
Plan = Annotated[AnyPlan, Field(discriminator="kind")]
PLAN_ADAPTER: TypeAdapter[AnyPlan] = TypeAdapter(Plan)
KINDS = ("circuits", "qcnn", "distributed")
__all__ = [
    "KINDS",
    "MAX_SHOTS",
    "NAME_PATTERN",
    "PLAN_ADAPTER",
    "TARGET_PATTERN",
    "AnyPlan",
    "Budget",
    "CircuitsPlan",
    "DistributedPlan",
    "Model",
    "Name",
    "OptionValue",
    "QCNNPlan",
    "Shots",
    "TargetSpec",
]


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the plan format, for editors and CI linting."""
    schema = PLAN_ADAPTER.json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "qorch plan, version 1"
    return schema
