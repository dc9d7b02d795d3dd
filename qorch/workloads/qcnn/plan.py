"""The ``qcnn`` plan kind: data, model, train, baselines, sweep, evaluate, fine_tune.

Defaults reproduce Hur, Kim & Park (QMI 2022): 8 qubits, the reference
layout, SU(4) convolutions with the reference pooling, RY angle encoding of
8 PCA features, cross-entropy, Nesterov momentum (lr 0.01, momentum 0.9),
200 steps of batch 25 drawn with replacement.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from qorch.engine.limits import (
    MAX_LIST_ITEMS,
    MAX_SAMPLES,
    MAX_SEED,
    MAX_STEPS,
    MAX_SWEEP_SEEDS,
    MAX_SWEEP_TASKS,
    MAX_WORKERS,
)
from qorch.engine.plan_base import (
    FieldError,
    Finite,
    Model,
    Pattern,
    PlanModel,
    Seed,
    Shots,
    Target,
    Targets,
    TargetSpec,
)

Ansatz = Literal[
    "ttn", "sim5", "sim6", "sim9", "sim13", "sim14", "sim15", "so4", "su4", "su4-exp"
]  # fmt: skip
ENCODING_PATTERN = r"^(amplitude|angle|compact-angle|(hde|hae)(-[1-9][0-9]?)?|iqp(-[1-9][0-9]?)?)$"
# hde-k / hae-k: blocks of k qubits (default 4); iqp-r: r repetitions (default 2)
UNKNOWN_ENCODING = (
    "unknown encoding {input!r} (amplitude, angle, compact-angle, hde[-k], hae[-k], iqp[-reps])"
)
Encoding = Annotated[str, Pattern(ENCODING_PATTERN, UNKNOWN_ENCODING)]
Loss = Literal["mse", "cross-entropy"]
Optimizer = Literal["nesterov", "adam", "sgd", "spsa", "cobyla"]
Compression = Literal["none", "pca", "resize", "autoencoder"]
Baseline = Literal["logistic", "mlp", "cnn1d"]
DATA_PATTERN = r"^(sklearn:(digits|breast_cancer|wine|iris)|csv:.+|npz:.+|openml:.+)$"


def _default_classes() -> list[int | str]:
    return [0, 1]


def _default_baselines() -> list[Baseline]:
    return ["logistic", "mlp"]


class DataSpec(Model):
    """Where the data comes from and how it is prepared (fitted on the training set only)."""

    source: str = Field(default="sklearn:digits", pattern=DATA_PATTERN)
    label_column: str | None = None
    classes: list[int | str] | None = Field(
        default_factory=lambda: _default_classes(), max_length=MAX_LIST_ITEMS
    )
    test_size: Finite = Field(default=0.3, gt=0, lt=1)
    compression: Compression = "pca"
    compression_for: dict[str, Compression] = Field(default_factory=dict, max_length=100)
    width: int | None = Field(default=None, gt=0, le=2**20)  # default: what the encoding needs
    # Both left out of the canonical plan at their defaults, so existing plans keep their hash.
    standardize: bool = Field(default=False, exclude_if=lambda v: not v)  # before compression
    angle_scaling: Literal["per-feature", "global"] = Field(
        default="per-feature", exclude_if=lambda v: v == "per-feature"
    )

    def compression_of(self, encoding: str) -> str:
        """The compression used for ``encoding`` (its override, else ``compression``)."""
        return self.compression_for.get(encoding, self.compression)

    @field_validator("classes")
    @classmethod
    def _at_least_two(cls, value: list[int | str] | None) -> list[int | str] | None:
        if value is not None:
            if len(value) < 2:
                raise ValueError("select at least two classes")
            if len(set(map(str, value))) != len(value):
                raise ValueError("a class is listed twice")
        return value

    @model_validator(mode="after")
    def _csv_needs_label(self) -> DataSpec:
        if self.source.startswith("csv:") and not self.label_column:
            raise ValueError("a csv: source needs label_column (the column holding the labels)")
        return self


class ModelSpec(Model):
    """The QCNN architecture."""

    qubits: int = Field(default=8, ge=2, le=20)
    layout: Literal["reference", "chain", "general"] = "reference"
    ansatz: Ansatz = "su4"
    pooling: Literal["reference", "measured"] = "reference"
    encoding: Encoding = "angle"
    # parameter sharing inside a layer (per layer with a list)
    share: bool | Annotated[list[bool], Field(max_length=100)] = True

    @model_validator(mode="after")
    def _reference_is_eight_qubits(self) -> ModelSpec:
        if self.layout == "reference" and self.qubits != 8:
            raise ValueError("the reference layout has 8 qubits; use layout general or chain")
        return self


class EarlyStopping(Model):
    """Stop when the monitored loss has not improved by ``min_delta`` for ``patience`` steps."""

    patience: int = Field(default=20, gt=0, le=MAX_STEPS)
    min_delta: Finite = Field(default=1e-4, ge=0)


class TrainSpec(Model):
    """How the QCNN is trained on the built-in simulator."""

    loss: Loss = "cross-entropy"
    optimizer: Optimizer = "nesterov"
    learning_rate: Finite = Field(default=0.01, gt=0)
    momentum: Finite = Field(default=0.9, ge=0, lt=1)
    steps: int = Field(default=200, gt=0, le=MAX_STEPS)
    batch_size: int = Field(default=25, gt=0, le=MAX_SAMPLES)
    replacement: bool = True
    gradient: Literal["adjoint", "parameter-shift", "spsa"] = "adjoint"
    reduction: Literal["reference", "sum", "mean"] = "reference"  # reference: CE summed, MSE mean
    early_stopping: EarlyStopping | None = None
    checkpoint_every: int = Field(default=50, gt=0, le=MAX_STEPS)


class SweepSpec(Model):
    """A grid over ansatz × encoding × loss × optimiser × seeds (unset axes: the plan's own)."""

    ansatz: list[Ansatz] | None = Field(default=None, min_length=1, max_length=100)
    encoding: list[Encoding] | None = Field(default=None, min_length=1, max_length=100)
    loss: list[Loss] | None = Field(default=None, min_length=1, max_length=100)
    optimizer: list[Optimizer] | None = Field(default=None, min_length=1, max_length=100)
    seeds: (
        Annotated[int, Field(ge=1, le=MAX_SWEEP_SEEDS)]
        | Annotated[list[Seed], Field(min_length=1, max_length=MAX_SWEEP_SEEDS)]
    ) = 3
    workers: int | None = Field(default=None, gt=0, le=MAX_WORKERS)

    @field_validator("ansatz", "encoding", "loss", "optimizer", "seeds")
    @classmethod
    def _listed_once(cls, value: Any, info: ValidationInfo) -> Any:
        what = "seed" if info.field_name == "seeds" else info.field_name
        if isinstance(value, list):
            seen: set[Any] = set()
            for item in value:
                if item in seen:
                    raise ValueError(f"{what} {item} is listed twice")
                seen.add(item)
        return value

    @model_validator(mode="after")
    def _tasks_bounded(self) -> SweepSpec:
        seeds = self.seeds if isinstance(self.seeds, int) else len(self.seeds)
        axes = [(self.ansatz, "ansätze"), (self.encoding, "encodings"), (self.loss, "losses"),
                (self.optimizer, "optimisers")]  # fmt: skip
        factors = [(len(values), label) for values, label in axes if values]
        factors.append((seeds, "seeds"))
        tasks = 1
        for count, _ in factors:
            tasks *= count
        if tasks > MAX_SWEEP_TASKS:
            product = " × ".join(f"{count} {label}" for count, label in factors)
            raise ValueError(f"{tasks} training tasks ({product}); at most {MAX_SWEEP_TASKS}")
        return self

    def seed_list(self, base: int) -> list[int]:
        """The seeds to run: the listed ones, or ``seeds`` consecutive from the plan seed."""
        if isinstance(self.seeds, int):
            return [base + offset for offset in range(self.seeds)]
        return list(self.seeds)


class EvaluateSpec(Model):
    """Test-set inference of the trained model on provider targets, with shots."""

    targets: Targets
    shots: Shots = 2000
    max_samples: int | None = Field(default=None, gt=0, le=MAX_SAMPLES)


class FineTuneSpec(Model):
    """Hardware-in-the-loop fine-tuning from the trained parameters against a target."""

    target: Target
    steps: int = Field(default=10, gt=0, le=10_000)
    gradient: Literal["spsa", "parameter-shift"] = "spsa"
    learning_rate: Finite = Field(default=0.05, gt=0)
    shots: Shots = 1000
    batch_size: int = Field(default=10, gt=0, le=MAX_SAMPLES)


class QCNNPlan(PlanModel):
    """Train, benchmark, sweep and evaluate a quantum convolutional neural network."""

    kind: Literal["qcnn"]
    data: DataSpec = Field(default_factory=DataSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    train: TrainSpec = Field(default_factory=TrainSpec)
    baselines: list[Baseline] = Field(default_factory=_default_baselines, max_length=100)
    sweep: SweepSpec | None = None
    evaluate: EvaluateSpec | None = None
    fine_tune: FineTuneSpec | None = None

    @model_validator(mode="after")
    def _sweep_seeds_fit(self) -> QCNNPlan:
        if self.sweep is not None and isinstance(self.sweep.seeds, int):
            last = self.seed + self.sweep.seeds - 1
            if last > MAX_SEED:
                raise FieldError(
                    ("sweep", "seeds"),
                    f"{self.sweep.seeds} seeds from the plan seed {self.seed} reach {last}; "
                    f"seeds must be at most {MAX_SEED}",
                )
        return self


def qcnn_targets(plan: QCNNPlan) -> list[tuple[tuple[str | int, ...], TargetSpec]]:
    """The targets a qcnn plan names (evaluation targets, the fine-tuning target), each
    with the path of its mapping."""
    found: list[tuple[tuple[str | int, ...], TargetSpec]] = []
    if plan.evaluate is not None:
        found += [(("evaluate", "targets", i), t) for i, t in enumerate(plan.evaluate.targets)]
    if plan.fine_tune is not None:
        found.append((("fine_tune", "target"), plan.fine_tune.target))
    return found
