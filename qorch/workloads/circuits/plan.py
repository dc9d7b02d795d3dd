"""The ``circuits`` plan model: circuits (generators or OpenQASM files) on many targets,
each with optional named observables (weighted Pauli strings)."""

from __future__ import annotations

import itertools
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

MAX_ZNE_SCALES = 8  # scale factors per target: each is a job per observed circuit
MAX_ZNE_SCALE = 31  # folds: a circuit 31 times as deep is already mostly noise

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


class ZneOptions(Model):
    """Zero-noise extrapolation, Mitiq's method by hand (Mitiq 1.1.0 pins numpy < 2.3 and,
    for Qiskit, qiskit-aer 0.17 and qiskit-ibm-runtime 0.41, which qorch's stack is past):
    each observable measured on the circuit globally folded to every ``scale_factors``
    (odd: U (U† U)^k for 2k+1) and extrapolated to zero noise (see qorch.workloads.circuits.zne)."""

    scale_factors: list[int] = Field([1, 3, 5], max_length=MAX_ZNE_SCALES)
    extrapolation: Literal["richardson", "linear"] = "richardson"

    @field_validator("scale_factors")
    @classmethod
    def _odd_ascending(cls, value: list[int]) -> list[int]:
        for at, factor in enumerate(value):
            if factor < 1 or factor % 2 == 0 or factor > MAX_ZNE_SCALE:
                raise FieldError(
                    (at,),
                    f"{factor} is not an odd integer from 1 to {MAX_ZNE_SCALE}"
                    " (global folding U (U† U)^k scales the noise by 2k+1)",
                )
        if len(value) < 2:
            raise ValueError("at least two scale factors are needed to extrapolate")
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"scale factors must be ascending and unique: {value}")
        return value


class Mitigation(Model):
    """Error mitigation of a target: ``readout: m3`` (M3 from calibration jobs of the run),
    ``zne: {...}`` (:class:`ZneOptions`), or both (ZNE then extrapolates M3's values)."""

    # each left out of the canonical form when absent, so older plans keep their hash
    readout: Literal["m3"] | None = Field(None, exclude_if=lambda v: v is None)
    zne: ZneOptions | None = Field(None, exclude_if=lambda v: v is None)

    @model_validator(mode="after")
    def _asks_something(self) -> Mitigation:
        if self.readout is None and self.zne is None:
            raise ValueError("ask for readout: m3, zne: {...} or both")
        return self


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
        folded = sum(len(t.mitigation.zne.scale_factors) - 1 for t in self.targets
                     if t.mitigation and t.mitigation.zne)  # fmt: skip
        jobs = (len(self.circuits) + with_observables) * len(self.targets)
        jobs += with_observables * folded
        if jobs > MAX_JOBS:
            extra = (
                f" (and {with_observables} observable jobs per target)" if with_observables else ""
            )
            extra += f" (and {with_observables * folded} folded ones for ZNE)" if folded else ""
            raise FieldError(
                ("targets",),
                f"{len(self.circuits)} circuits{extra} × {len(self.targets)} targets make "
                f"{jobs} jobs; at most {MAX_JOBS} per plan",
            )
        return self

    @model_validator(mode="after")
    def _zne_has_observables(self) -> CircuitsPlan:
        """ZNE extrapolates observables: a plan without any cannot take it, and a swept
        circuit's observables are not extrapolated (yet): both refused at the option."""
        for index, target in enumerate(self.targets):
            if not (target.mitigation and target.mitigation.zne):
                continue
            where = ("targets", index, "mitigation", "zne")
            if not any(circuit.observables for circuit in self.circuits):
                raise FieldError(where, "zero-noise extrapolation needs observables; no circuit"
                                        " of the plan has any")  # fmt: skip
            swept = [c.name for c in self.circuits if c.observables and c.parameters]
            if swept:
                message = "zero-noise extrapolation of a sweep's observables is not supported: "
                raise FieldError(where, message + f"circuit '{swept[0]}'")
        return self

    def target_shots(self, target: TargetSpec) -> int:
        """Shots for jobs on ``target``: its override, else the plan's."""
        return target.shots if target.shots is not None else self.shots
