"""Parameter sweeps of a circuits plan: the ``parameters:`` of a circuit with symbolic angles.

A circuit whose OpenQASM 3 declares ``input float theta;`` (or a QAOA generator whose
``gammas``/``betas`` name parameters) takes its values from ``parameters:``, written
one of three ways, each giving the parameter sets in a fixed order (the plan's):

- a list of sets: ``[{theta: 0.1, phi: 0}, {theta: 0.2, phi: 0}]``, in list order;
- a grid: ``{grid: {theta: [0.1, 0.2], phi: [0, 1]}}``, every combination, the first
  name varying slowest (itertools.product);
- a zip: ``{zip: {theta: [0.1, 0.2], phi: [0, 1]}}``, the k-th value of every list.

Pure: no I/O. The names are checked against the built circuit in
:func:`sweep_problems` (missing or extra names, located at their field).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import Discriminator, Field, Tag, field_validator

from qorch.engine.limits import MAX_LIST_ITEMS
from qorch.engine.plan_base import FieldError, Finite, Model

ParameterName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64)]
Values = Annotated[list[Finite], Field(max_length=MAX_LIST_ITEMS)]
ParameterSet = Annotated[dict[ParameterName, Finite], Field(max_length=256)]
MAX_SETS = MAX_LIST_ITEMS  # parameter sets per circuit

Key = tuple[str | int, ...]


class GridSweep(Model):
    """Every combination of the listed values (the first name varies slowest)."""

    grid: Annotated[dict[ParameterName, Values], Field(min_length=1, max_length=256)]

    @field_validator("grid")
    @classmethod
    def _values_given(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        size = 1
        for name, values in value.items():
            if not values:
                raise FieldError((name,), f"grid parameter '{name}' has no values")
            size *= len(values)
        if size > MAX_SETS:
            raise FieldError((), f"the grid makes {size} parameter sets; at most {MAX_SETS}")
        return value


class ZipSweep(Model):
    """The k-th value of every list, for each k: the lists must be equally long."""

    zip: Annotated[dict[ParameterName, Values], Field(min_length=1, max_length=256)]

    @field_validator("zip")
    @classmethod
    def _same_length(cls, value: dict[str, list[float]]) -> dict[str, list[float]]:
        lengths = {name: len(values) for name, values in value.items()}
        first_name, first = next(iter(lengths.items()))
        for name, length in lengths.items():
            if length == 0:
                raise FieldError((name,), f"zip parameter '{name}' has no values")
            if length != first:
                raise FieldError((name,), f"zip parameter '{name}' has {length} values; "
                                          f"'{first_name}' has {first}")  # fmt: skip
        return value


SetList = Annotated[list[ParameterSet], Field(min_length=1, max_length=MAX_SETS)]
SWEEP_FORMS = (
    "'parameters:' takes a list of sets, {grid: {NAME: [VALUES]}} or {zip: {NAME: [VALUES]}}"
)


def _sweep_form(value: Any) -> str | None:
    """The union tag of a sweep as written (or built): which of the three forms it is."""
    if isinstance(value, list):
        return "sweep-sets"
    if isinstance(value, GridSweep) or (isinstance(value, dict) and "grid" in value):
        return "sweep-grid"
    if isinstance(value, ZipSweep) or (isinstance(value, dict) and "zip" in value):
        return "sweep-zip"
    return None


# a tagged union, so an error names the form written, not every form it might have been
Sweep = Annotated[
    Annotated[SetList, Tag("sweep-sets")]
    | Annotated[GridSweep, Tag("sweep-grid")]
    | Annotated[ZipSweep, Tag("sweep-zip")],
    Discriminator(_sweep_form, custom_error_type="sweep_form", custom_error_message=SWEEP_FORMS),
]


def parameter_sets(sweep: Sweep) -> list[dict[str, float]]:
    """The sweep's parameter sets, in the plan's order (see the module)."""
    if isinstance(sweep, GridSweep):
        names = list(sweep.grid)
        return [dict(zip(names, combo, strict=True))
                for combo in itertools.product(*sweep.grid.values())]  # fmt: skip
    if isinstance(sweep, ZipSweep):
        names = list(sweep.zip)
        return [
            dict(zip(names, combo, strict=True)) for combo in zip(*sweep.zip.values(), strict=True)
        ]
    return [dict(entry) for entry in sweep]


def sweep_problems(sweep: Sweep, names: Sequence[str]) -> list[tuple[Key, str]]:
    """Where the sweep does not name exactly the circuit's parameters ``names``:
    (key under the circuit's ``parameters`` field, why), every problem once."""
    wanted = set(names)
    listing = ", ".join(sorted(wanted))
    if isinstance(sweep, GridSweep | ZipSweep):
        form = "grid" if isinstance(sweep, GridSweep) else "zip"
        given = sweep.grid if isinstance(sweep, GridSweep) else sweep.zip
        return _names_problems(given, wanted, listing, (form,))
    problems: list[tuple[Key, str]] = []
    for index, entry in enumerate(sweep):
        problems += _names_problems(entry, wanted, listing, (index,))
    return problems


def _names_problems(
    given: Mapping[str, Any], wanted: set[str], listing: str, key: Key
) -> list[tuple[Key, str]]:
    problems: list[tuple[Key, str]] = []
    for name in given:
        if name not in wanted:
            problems.append(((*key, name), f"the circuit has no parameter '{name}' "
                                           f"(its parameters: {listing})"))  # fmt: skip
    missing = sorted(wanted - set(given))
    if missing:
        problems.append((key, f"parameter set has no value for {', '.join(missing)} "
                              f"(the circuit's parameters: {listing})"))  # fmt: skip
    return problems


def rows_of(sets: Sequence[Mapping[str, float]], order: Sequence[str]) -> list[list[float]]:
    """The sets as rows of values, columns in ``order`` (a circuit's parameter names)."""
    return [[float(entry[name]) for name in order] for entry in sets]
