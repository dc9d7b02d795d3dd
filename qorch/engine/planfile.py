"""Loading plan files: YAML with line numbers, validated by the plan kind's registered model.

Errors are ``FILE:LINE: field: message`` (:mod:`qorch.engine.loadedplan`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from qorch.contract.errors import PlanError
from qorch.engine.inputfile import InputFileError, bad_utf8_line, read_regular_file
from qorch.engine.limits import MAX_PLAN_BYTES
from qorch.engine.loadedplan import (
    Issue,
    LoadedPlan,
    PathKey,
    PlanErrors,
    format_path,
    issue_of,
    locate,
    raise_all,
)
from qorch.engine.plan_base import NAME_PATTERN, TARGET_PATTERN, FieldError, PlanModel
from qorch.engine.planyaml import YamlProblem
from qorch.engine.planyaml import load as load_yaml


def load_plan(path: Path, display: str | None = None) -> LoadedPlan:
    """Read, parse and validate a plan file. Raises PlanErrors with located issues.

    Only a regular file of at most MAX_PLAN_BYTES is read (a FIFO or device is
    refused without blocking); see :mod:`qorch.engine.planyaml` for the YAML limits.
    """
    shown = display if display is not None else str(path)
    try:
        raw = read_regular_file(path, MAX_PLAN_BYTES)
    except InputFileError as error:
        if error.missing:
            raise PlanError(f"{shown}: plan file not found") from None
        if error.reason.startswith("not a regular file"):
            raise PlanError(f"{shown}: {error.reason}; a plan must be a regular file") from None
        if error.reason.startswith("the file is"):
            raise PlanError(f"{shown}: {error.reason}") from None
        raise PlanError(f"{shown}: cannot read plan: {error.reason}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = bad_utf8_line(raw, error)
        byte = raw[error.start]
        message = f"not UTF-8 text (byte 0x{byte:02x}); save the plan as UTF-8"
        raise PlanErrors(shown, [Issue(line, "", message)]) from None
    data, lines = parse_yaml(text, shown)
    plan = validate(data, lines, shown)
    digest = hashlib.sha256(raw).hexdigest()
    return LoadedPlan(plan=plan, path=path, display=shown, lines=lines, text_sha256=digest)


def _tab_at(text: str, line: int, column: int) -> bool:
    """True if the 0-based ``line`` of ``text`` holds a tab at or just before ``column``."""
    lines = text.splitlines()
    here = lines[line] if 0 <= line < len(lines) else ""
    return "\t" in here[max(0, column - 1) : column + 1]


def parse_yaml(text: str, file: str) -> tuple[Any, dict[PathKey, int]]:
    """Parse YAML into plain data and a map from field path to 1-based line."""
    try:
        loaded = load_yaml(text)
    except YamlProblem as problem:
        issue = Issue(problem.line, format_path(problem.path), problem.message)
        raise PlanErrors(file, [issue]) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem_text = error.problem or error.context or "invalid YAML"
        if mark is not None and _tab_at(text, mark.line, mark.column):
            problem_text += " (a tab: YAML indents with spaces only)"
        raise PlanErrors(file, [Issue(line, "", f"YAML syntax error: {problem_text}")]) from None
    except yaml.YAMLError as error:
        text_of = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PlanErrors(file, [Issue(1, "", f"YAML error: {text_of}")]) from None
    if loaded is None:
        raise PlanErrors(file, [Issue(1, "", "the plan file is empty")])
    return loaded


def validate(data: Any, lines: dict[PathKey, int], file: str) -> Any:
    """Validate parsed data against its kind's plan model; errors are located Issues."""
    from qorch.engine import kinds

    if not isinstance(data, dict):
        raise PlanErrors(file, [Issue(1, "", "a plan must be a mapping of fields")])
    kind = data.get("kind")
    known = kinds.names()
    if not isinstance(kind, str) or kind not in known:
        line = lines.get(("kind",), 1)
        message = f"unknown plan kind {kind!r} (known: {', '.join(known)})" if kind else "missing"
        raise PlanErrors(file, [Issue(line, "kind", message)])
    model = kinds.load(kind).plan_model
    try:
        return model.model_validate(data)
    except ValidationError as error:
        tags = union_tags(model)
        errors = [_sub_field(err) for err in error.errors()]
        issues = [_issue(err, data, lines, tags) for err in _union_merged(errors, data, tags)]
        raise PlanErrors(file, issues) from None


def _sub_field(err: Any) -> Any:
    """A FieldError raised by a model validator carries the sub-field it is about; it is
    appended to the error's location."""
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, FieldError):
        return {**err, "loc": (*err["loc"], *cause.path)}
    return err


@cache
def union_tags(model: type[PlanModel]) -> frozenset[str]:
    """The tags of the tagged unions inside a plan model (``ghz``, ``qasm``, …).

    Pydantic puts a union member's tag in an error's location; these are not fields.
    """
    return frozenset(_tags_in(model.__pydantic_core_schema__)) | {"function-before"}


def _tags_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") == "tagged-union":
            yield from (str(tag) for tag in node.get("choices", {}))
        for value in node.values():
            yield from _tags_in(value)
    elif isinstance(node, list | tuple):
        for value in node:
            yield from _tags_in(value)


def _is_type_error(err: Any) -> bool:
    error_type = str(err["type"])
    return error_type.endswith(("_type", "_parsing")) or error_type == "int_from_float"


def _union_merged(errors: list[Any], data: Any, tags: frozenset[str]) -> list[Any]:
    """One error per field where a union's members each failed.

    ``seeds: int | list[int]`` given 10**9 fails as "less than or equal to 1000"
    (the int) and "a valid list" (the list): only the first is about the value.
    Type mismatches are dropped beside any other error at the same field, and
    merged into one ("a valid integer or a valid list") when they are all there is.
    """
    by_key: dict[PathKey, list[Any]] = {}
    for err in errors:
        by_key.setdefault(data_path(data, err["loc"], tags), []).append(err)
    merged: list[Any] = []
    for group in by_key.values():
        typed = [err for err in group if _is_type_error(err)]
        others = [err for err in group if not _is_type_error(err)]
        if others:
            merged += others
        elif len(typed) > 1:
            wanted = [str(err["msg"]).removeprefix("Input should be ") for err in typed]
            unique = list(dict.fromkeys(wanted))
            merged.append({**typed[0], "msg": "Input should be " + " or ".join(unique)})
        else:
            merged += typed
    return merged


def _issue(err: Any, data: Any, lines: dict[PathKey, int], tags: frozenset[str]) -> Issue:
    key = data_path(data, err["loc"], tags)
    message = _message(err, data, key)
    if err["type"] == "missing":
        return Issue(locate(lines, key[:-1]), format_path(key), message)
    return Issue(locate(lines, key), format_path(key), message)


def _message(err: Any, data: Any, key: PathKey) -> str:
    error_type = err["type"]
    pattern = err.get("ctx", {}).get("pattern")
    if error_type == "extra_forbidden":
        return "unknown field"
    if error_type == "missing":
        return "required field is missing"
    if error_type == "string_pattern_mismatch" and pattern == TARGET_PATTERN:
        return f"{err['input']!r} is not of the form provider:device (e.g. local:aer)"
    if error_type == "string_pattern_mismatch" and pattern == NAME_PATTERN:
        return f"{err['input']!r} is not a valid name (letters, digits, '_', '.', '-')"
    text = str(err["msg"])
    text = text.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return text[:1].lower() + text[1:]


def data_path(data: Any, loc: tuple[Any, ...], tags: frozenset[str] = frozenset()) -> PathKey:
    """Pydantic's error location reduced to keys that exist in the data (``tags``, the
    union tags pydantic puts in locations, dropped)."""
    path: list[str | int] = []
    node = data
    for number, part in enumerate(loc):
        if part in tags and number + 1 < len(loc):
            continue  # a union member's tag, even where the data has a key of that name (qasm)
        if _has(node, part):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and _is_field_name(part, tags):
            path.append(part)  # a missing field (union tags are dropped)
            node = None
    return tuple(path)


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _is_field_name(part: str, tags: frozenset[str]) -> bool:
    return part.replace("_", "").isalnum() and part not in tags


__all__ = [
    "Issue",
    "LoadedPlan",
    "PathKey",
    "PlanErrors",
    "format_path",
    "issue_of",
    "load_plan",
    "locate",
    "parse_yaml",
    "raise_all",
    "validate",
]
