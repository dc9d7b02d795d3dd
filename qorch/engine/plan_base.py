"""Building blocks shared by every plan kind: the strict base model, targets, budgets.

Numbers in plans are numbers: every model refuses ``true``/``false`` where a
field takes a number (pydantic would read ``shots: true`` as 1 shot), and
refuses non-finite floats (``.inf``, ``.nan``, ``1e400``) everywhere. Seeds and
counts have upper bounds (see :mod:`qorch.engine.limits` for the reasons).
"""

from __future__ import annotations

import fnmatch
import math
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainValidator,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from qorch.engine.limits import DEFAULT_LEVEL, MAX_EXECUTION_TIME_S, MAX_LIST_ITEMS, MAX_SEED

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
TARGET_PATTERN = r"^[a-z][a-z0-9_-]*:[A-Za-z0-9_./:-]+$"
MAX_SHOTS = 10_000_000

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]
Shots = Annotated[int, Field(gt=0, le=MAX_SHOTS)]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED)]  # numpy and scikit-learn take < 2**32
Finite = Annotated[float, Field(allow_inf_nan=False)]  # also the default of every Model
TargetString = Annotated[str, Field(pattern=TARGET_PATTERN)]


class FieldError(ValueError):
    """A model validator's error about one of the model's sub-fields (``path``).

    The plan loader appends ``path`` to the error's location, so the message is
    located at the sub-field's line, not at the model's.
    """

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


def _option_value(value: Any) -> str | int | float | bool:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("input should be a finite number")
    if isinstance(value, str | int | float | bool):
        return value
    raise ValueError("an option value is a string, a number or true/false")


OptionValue = Annotated[
    str | int | float | bool,
    PlainValidator(_option_value),
    WithJsonSchema({"type": ["string", "number", "boolean"]}),
]
Options = Annotated[dict[str, OptionValue], Field(max_length=100)]


def _numbers_only(annotation: Any) -> bool:
    """True if ``annotation`` holds int or float (or int literals) but no bool anywhere."""
    found: set[str] = set()
    _kinds(annotation, found)
    return "number" in found and "bool" not in found


def _kinds(annotation: Any, found: set[str]) -> None:
    if annotation is bool:
        found.add("bool")
    elif annotation in (int, float):
        found.add("number")
    origin = typing.get_origin(annotation)
    if origin is Literal:
        for value in typing.get_args(annotation):
            if isinstance(value, bool):
                found.add("bool")
            elif isinstance(value, int):
                found.add("number")
        return
    if origin is Annotated:
        _kinds(typing.get_args(annotation)[0], found)
        return
    if origin in (Union, types.UnionType, list, tuple, dict, set, frozenset):
        for argument in typing.get_args(annotation):
            _kinds(argument, found)


def _holds_bool(value: Any, depth: int = 0) -> bool:
    if isinstance(value, bool):
        return True
    if depth < 3 and isinstance(value, list | tuple):
        return any(_holds_bool(item, depth + 1) for item in value)
    return False


class Model(BaseModel):
    """Base of every plan model: unknown fields are errors; instances are immutable.

    Floats must be finite, and a boolean is never taken for a number.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_booleans_as_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, value in data.items():
            field_info = cls.model_fields.get(name) if isinstance(name, str) else None
            if field_info is None or not _holds_bool(value):
                continue
            if _numbers_only(field_info.annotation):
                word = "true" if value is True else "false" if value is False else "true/false"
                raise FieldError((name,), f"must be a number, not {word}")
        return data


class TargetSpec(Model):
    """Where to run: ``provider:device`` with optional per-target options."""

    target: TargetString
    optimization_level: int = Field(default=1, ge=0, le=3)
    noise: TargetString | None = None
    shots: Shots | None = None
    max_execution_time_s: int | None = Field(default=None, gt=0, le=MAX_EXECUTION_TIME_S)
    options: Options = Field(default_factory=dict)

    @property
    def provider(self) -> str:
        """The provider part of ``target``."""
        return self.target.split(":", 1)[0]

    @property
    def device(self) -> str:
        """The device part of ``target``."""
        return self.target.split(":", 1)[1]


def unique_names(items: list[Any], what: str) -> list[Any]:
    """``items`` unchanged; a FieldError at the second one's ``name`` if two share it."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        if item.name in seen:
            raise FieldError((index, "name"), f"{what} name '{item.name}' is used twice")
        seen.add(item.name)
    return items


def target_from_string(value: Any) -> Any:
    """Accept ``provider:device`` as shorthand for ``{target: provider:device}``."""
    return {"target": value} if isinstance(value, str) else value


# A target as plans write it: ``provider:device`` or a mapping. The JSON Schema says
# both (json_schema_input_type), so editors and ``qorch schema`` accept the shorthand.
Target = Annotated[
    TargetSpec,
    BeforeValidator(target_from_string, json_schema_input_type=TargetString | TargetSpec),
]
Targets = Annotated[list[Target], Field(min_length=1, max_length=MAX_LIST_ITEMS)]


class Budget(Model):
    """Limits enforced at compile time, before anything is submitted or paid for."""

    max_total_shots: int | None = Field(default=None, gt=0)
    max_cost_usd: Finite | None = Field(default=None, ge=0)


class Check(Model):
    """One assertion of a plan's ``checks:`` list."""

    metric: str = Field(min_length=1, max_length=100)
    circuit: str | None = Field(default=None, max_length=200)  # glob; None: every circuit
    target: str | None = Field(default=None, max_length=200)  # glob, e.g. "ibm:*"
    min: float | None = Field(default=None, allow_inf_nan=False)
    max: float | None = Field(default=None, allow_inf_nan=False)
    value: float | None = Field(default=None, allow_inf_nan=False)
    within: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    strict: bool = False
    level: float = Field(default=DEFAULT_LEVEL, gt=0.5, lt=1.0)
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_bound(self) -> Check:
        ranged = self.min is not None or self.max is not None
        pinned = self.value is not None or self.within is not None
        if ranged == pinned:
            raise ValueError("give min and/or max, or value with within")
        if pinned and (self.value is None or self.within is None):
            raise ValueError("value and within go together: 'value: 1.0, within: 0.05'")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is greater than max {self.max:g}")
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        """The accepted range ``[low, high]`` of the metric."""
        if self.value is not None and self.within is not None:
            return self.value - self.within, self.value + self.within
        return (-math.inf if self.min is None else self.min,
                math.inf if self.max is None else self.max)  # fmt: skip

    def describe_bound(self) -> str:
        """The bound as people write it: ``≥ 0.9``, ``≤ 0.02``, ``in [0.8, 0.9]``, ``1 ± 0.05``."""
        if self.value is not None:
            return f"{self.value:g} ± {self.within:g}"
        if self.min is not None and self.max is not None:
            return f"in [{self.min:g}, {self.max:g}]"
        return f"≥ {self.min:g}" if self.min is not None else f"≤ {self.max:g}"

    def label(self) -> str:
        """A name for reports: the check's own, else metric and selector."""
        if self.name:
            return self.name
        where = [part for part in (self.circuit, self.target) if part]
        return self.metric + (f" [{' '.join(where)}]" if where else "")

    def selects(self, metric: Any) -> bool:
        """True if ``metric`` is this check's metric on a selected circuit and target."""
        return (
            metric.name == self.metric
            and _matches(self.circuit, metric.circuit)
            and _matches(self.target, metric.target)
        )


def _matches(pattern: str | None, value: str | None) -> bool:
    if pattern is None:
        return True
    return value is not None and fnmatch.fnmatchcase(value, pattern)


class PlanModel(Model):
    """Base of every plan kind's model (a workload's ``plan_model`` subclasses it).

    A subclass narrows ``kind`` to its own ``Literal["KIND"]`` (the tag of the
    plan union) and adds its fields; the engine reads only the fields below.
    """

    version: Literal[1]
    kind: str
    name: Name | None = None
    description: str | None = None
    seed: Seed = 0
    budget: Budget = Field(default_factory=Budget)
    checks: list[Check] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)


@dataclass(frozen=True)
class Pattern:
    """``Annotated[str, Pattern(REGEX, MESSAGE)]``: a string matching ``REGEX``, whose error
    is ``MESSAGE`` (``{input!r}`` is the value) — what the field accepts in words, not a
    regular expression. The JSON Schema still carries the pattern, for editors."""

    pattern: str
    message: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        compiled = re.compile(self.pattern)
        message = self.message

        def check(value: str) -> str:
            if compiled.match(value) is None:
                raise ValueError(message.format(input=value))
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = dict(handler(schema))
        found["pattern"] = self.pattern
        return found
