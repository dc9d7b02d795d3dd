"""Plan kinds, found through the ``qorch.workloads`` entry-point group.

Each entry point names a :class:`~qorch.engine.workload.Workload` class; the
built-in kinds (``circuits``, ``qcnn``, ``distributed``) are registered in
qorch's own ``pyproject.toml``, exactly as a third-party package would register
its kind. Listing the kinds reads package metadata only; a kind's module is
imported when that kind is used. The plan union and its JSON Schema are built
from every registered kind (cached; :func:`forget` clears the caches).
"""

from __future__ import annotations

import difflib
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Annotated, Any, Union

from pydantic import Field, TypeAdapter

from qorch.contract.errors import PlanError
from qorch.engine.workload import Workload

GROUP = "qorch.workloads"


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


@cache
def names() -> tuple[str, ...]:
    """The registered plan kinds, sorted (cheap: reads package metadata only)."""
    return tuple(sorted(_entry_points()))


@cache
def load(kind: str) -> Workload:
    """The workload of plan kind ``kind``. Raises PlanError naming the known kinds."""
    eps = _entry_points()
    if kind not in eps:
        close = difflib.get_close_matches(kind, list(eps), n=2)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise PlanError(f"unknown plan kind {kind!r} (known: {', '.join(names())}){hint}")
    cls = eps[kind].load()
    if not (isinstance(cls, type) and issubclass(cls, Workload)):
        raise PlanError(f"entry point '{kind}' of {GROUP} is not a qorch Workload")
    workload = cls()
    if workload.kind != kind:
        raise PlanError(f"entry point '{kind}' of {GROUP} is a workload of kind {workload.kind!r}")
    return workload


@cache
def plan_adapter() -> TypeAdapter[Any]:
    """Every registered kind's plan model, in one union discriminated by ``kind``."""
    models = [load(kind).plan_model for kind in names()]
    if len(models) == 1:
        return TypeAdapter(models[0])
    union: Any = Union[tuple(models)]  # noqa: UP007 - built from a runtime list of models
    annotated: Any = Annotated[union, Field(discriminator="kind")]
    return TypeAdapter(annotated)


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema of the plan format (every registered kind), for editors and CI."""
    schema = plan_adapter().json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "qorch plan, version 1"
    return schema


def forget() -> None:
    """Clear the caches, so kinds registered since are seen (tests register a toy kind)."""
    for cached in (names, load, plan_adapter):
        cached.cache_clear()
