"""Building blocks shared by every plan kind: the strict base model, targets, budgets."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
TARGET_PATTERN = r"^[a-z][a-z0-9_-]*:[A-Za-z0-9_./:-]+$"
MAX_SHOTS = 10_000_000

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=64)]
Shots = Annotated[int, Field(gt=0, le=MAX_SHOTS)]
OptionValue = str | int | float | bool


class Model(BaseModel):
    """Base of every plan model: unknown fields are errors; instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetSpec(Model):
    """Where to run: ``provider:device`` with optional per-target options."""

    target: str = Field(pattern=TARGET_PATTERN)
    optimization_level: int = Field(default=1, ge=0, le=3)
    noise: str | None = Field(default=None, pattern=TARGET_PATTERN)
    shots: Shots | None = None
    max_execution_time_s: int | None = Field(default=None, gt=0)
    options: dict[str, OptionValue] = Field(default_factory=dict)

    @property
    def provider(self) -> str:
        """The provider part of ``target``."""
        return self.target.split(":", 1)[0]

    @property
    def device(self) -> str:
        """The device part of ``target``."""
        return self.target.split(":", 1)[1]


def unique_names(items: list[Any], what: str) -> list[Any]:
    """``items`` unchanged; ValueError if two of them have the same ``name``."""
    seen: set[str] = set()
    for item in items:
        if item.name in seen:
            raise ValueError(f"{what} name '{item.name}' is used twice")
        seen.add(item.name)
    return items


def target_from_string(value: Any) -> Any:
    """Accept ``provider:device`` as shorthand for ``{target: provider:device}``."""
    return {"target": value} if isinstance(value, str) else value


class Budget(Model):
    """Limits enforced at compile time, before anything is submitted or paid for."""

    max_total_shots: int | None = Field(default=None, gt=0)
    max_cost_usd: float | None = Field(default=None, ge=0)
