"""The ``circuits`` plan model: circuits (generators or OpenQASM files) on many targets,
each with optional named observables (weighted Pauli strings)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Discriminator, Field, Tag, field_validator, model_validator

from qorch.engine.limits import MAX_JOBS, MAX_LIST_ITEMS, MAX_QASM_QUBITS
from qorch.engine.plan_base import (
    FieldError,
    Finite,
    Model,
    Name,
    PlanModel,
    Shots,
    TargetSpec,
    TargetString,
    target_from_string,
    unique_names,
)
from qorch.workloads.circuits.sweep import ParameterName, Sweep
from qorch.workloads.sources.pauli import label_problem
from qorch.workloads.sources.spec import (
    CIRCUIT_SOURCE,
    GhzCircuit,
    QaoaMaxcutCircuit,
    QasmCircuit,
    QftCircuit,
    RandomCircuit,
    circuit_tag,
)

REFERENCE_METRICS = frozenset({"hellinger_fidelity", "tvd", "success_probability"})
"""Metrics judged against a circuit's ideal distribution (compile computes it when a check
names one)."""


class ObservableSpec(Model):
    """A named observable: a weighted sum of Pauli strings, e.g. ``{ZZII: 1.0, XXII: 0.5}``.

    Each key is one letter (I, X, Y, Z) per qubit of the circuit in Qiskit's
    order: the rightmost letter acts on qubit 0. The width is checked against
    the circuit's width (a generator's ``qubits``, a parsed file's qubits), the letters here.
    """

    name: Name
    terms: dict[str, Finite] = Field(min_length=1, max_length=MAX_LIST_ITEMS)

    @field_validator("terms")
    @classmethod
    def _pauli_strings(cls, value: dict[str, float]) -> dict[str, float]:
        for label in value:
            if len(label) > MAX_QASM_QUBITS:
                problem: str | None = f"{len(label)} letters: wider than any circuit qorch runs"
            else:
                problem = label_problem(label)
            if problem is not None:
                raise FieldError((label,), problem)
        return value


Observables = Annotated[list[ObservableSpec], Field(max_length=MAX_LIST_ITEMS)]


class _WithObservables(Model):
    # left out of the canonical form when empty: plans without observables keep their hash
    observables: Observables = Field(default_factory=list, exclude_if=lambda v: not v)
    # values for the circuit's symbolic parameters (a sweep); see qorch.workloads.circuits.sweep
    parameters: Sweep | None = Field(None, exclude_if=lambda v: v is None)

    @field_validator("observables")
    @classmethod
    def _unique_observable_names(cls, value: list[Any]) -> list[Any]:
        return unique_names(value, "observable")


class GhzWithObservables(GhzCircuit, _WithObservables):
    pass


class QftWithObservables(QftCircuit, _WithObservables):
    pass


class RandomWithObservables(RandomCircuit, _WithObservables):
    pass


class QaoaMaxcutWithObservables(QaoaMaxcutCircuit, _WithObservables):
    """QAOA MaxCut whose angles may name parameters (``gammas: [gamma]``) to sweep."""

    gammas: list[Finite | ParameterName] = Field(max_length=100)  # type: ignore[assignment]
    betas: list[Finite | ParameterName] = Field(max_length=100)  # type: ignore[assignment]


class QasmWithObservables(QasmCircuit, _WithObservables):
    pass


CircuitWithObservables = Annotated[
    Annotated[GhzWithObservables, Tag("ghz")]
    | Annotated[QftWithObservables, Tag("qft")]
    | Annotated[RandomWithObservables, Tag("random")]
    | Annotated[QaoaMaxcutWithObservables, Tag("qaoa-maxcut")]
    | Annotated[QasmWithObservables, Tag("qasm")],
    Discriminator(
        circuit_tag, custom_error_type="circuit_source", custom_error_message=CIRCUIT_SOURCE
    ),
]


class Mitigation(Model):
    """Error mitigation of a target: ``readout: m3`` (M3 from calibration jobs of the run).
    Zero-noise extrapolation is not offered: Mitiq (1.1.0) pins numpy < 2.3 and, for
    Qiskit, qiskit-aer 0.17 and qiskit-ibm-runtime 0.41, which qorch's stack is past."""

    readout: Literal["m3"]


class CircuitsTarget(TargetSpec):
    """A circuits plan's target. ``observables``: ``native`` uses the device's own
    estimator where its provider has one (else basis circuits); ``bases`` always
    measures basis circuits (to compare the two, or to see raw, unmitigated values).
    ``mitigation``: see :class:`Mitigation` (observables are then measured in bases)."""

    # left out of the plan's canonical form at its default, so the hash (the run's
    # idempotency key) of a plan written before this field existed does not change
    observables: Literal["native", "bases"] = Field("native", exclude_if=lambda v: v == "native")
    mitigation: Mitigation | None = Field(None, exclude_if=lambda v: v is None)


CircuitsTargets = Annotated[
    list[
        Annotated[
            CircuitsTarget,
            BeforeValidator(
                target_from_string, json_schema_input_type=TargetString | CircuitsTarget
            ),
        ]
    ],
    Field(min_length=1, max_length=MAX_LIST_ITEMS),
]


class CircuitsPlan(PlanModel):
    """Run circuits on targets and collect counts (and observables' expectation values)."""

    kind: Literal["circuits"]
    shots: Shots = 1024
    circuits: list[CircuitWithObservables] = Field(min_length=1, max_length=MAX_LIST_ITEMS)
    targets: CircuitsTargets

    @field_validator("circuits")
    @classmethod
    def _unique_circuit_names(cls, value: list[Any]) -> list[Any]:
        return unique_names(value, "circuit")

    @model_validator(mode="after")
    def _jobs_bounded(self) -> CircuitsPlan:
        with_observables = sum(1 for circuit in self.circuits if circuit.observables)
        jobs = (len(self.circuits) + with_observables) * len(self.targets)
        if jobs > MAX_JOBS:
            extra = (
                f" (and {with_observables} observable jobs per target)" if with_observables else ""
            )
            raise FieldError(
                ("targets",),
                f"{len(self.circuits)} circuits{extra} × {len(self.targets)} targets make "
                f"{jobs} jobs; at most {MAX_JOBS} per plan",
            )
        return self

    def target_shots(self, target: TargetSpec) -> int:
        """Shots for jobs on ``target``: its override, else the plan's."""
        return target.shots if target.shots is not None else self.shots
