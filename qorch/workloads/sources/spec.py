"""How a plan names a circuit: a built-in generator with its parameters, or an OpenQASM file."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, Tag, model_validator

from qorch.engine.limits import MAX_GENERATOR_QUBITS
from qorch.engine.plan_base import Finite, Model, Name, Seed


class GhzCircuit(Model):
    """GHZ state on ``qubits`` qubits: H then a CNOT chain; ideal outcomes all-0 and all-1."""

    name: Name
    generator: Literal["ghz"]
    qubits: int = Field(ge=2, le=MAX_GENERATOR_QUBITS)


class QftCircuit(Model):
    """Quantum Fourier transform on ``qubits`` qubits.

    With ``value`` set, the circuit prepares the Fourier state of ``value`` and
    applies the inverse QFT, so the ideal outcome is ``value`` in binary: a
    QFT workload with a known answer.
    """

    name: Name
    generator: Literal["qft"]
    qubits: int = Field(ge=1, le=MAX_GENERATOR_QUBITS)
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
    qubits: int = Field(ge=1, le=MAX_GENERATOR_QUBITS)
    depth: int = Field(ge=1, le=10_000)
    seed: Seed
    max_operands: int = Field(default=2, ge=1, le=3)


class QaoaMaxcutCircuit(Model):
    """QAOA for MaxCut on a seeded random ``degree``-regular graph, p layers at given angles."""

    name: Name
    generator: Literal["qaoa-maxcut"]
    qubits: int = Field(ge=2, le=MAX_GENERATOR_QUBITS)
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
AnyCircuitSpec = GhzCircuit | QftCircuit | RandomCircuit | QaoaMaxcutCircuit | QasmCircuit
