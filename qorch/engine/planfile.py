"""Loading plan files: YAML with line numbers, and errors as ``FILE:LINE: field: message``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from qorch.contract.errors import PlanError, QorchError
from qorch.engine.inputfile import InputFileError, bad_utf8_line, read_regular_file
from qorch.engine.limits import MAX_LISTED_ISSUES, MAX_PLAN_BYTES
from qorch.engine.plan import (
    KINDS,
    NAME_PATTERN,
    PLAN_ADAPTER,
    TARGET_PATTERN,
    AnyPlan,
    CircuitsPlan,
)
from qorch.engine.plan_base import FieldError
from qorch.engine.planyaml import YamlProblem
from qorch.engine.planyaml import load as load_yaml
from qorch.workloads.qcnn.plan import ENCODING_PATTERN

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Issue:
    """One problem in a plan file, located by line and field path."""

    line: int
    field: str
    message: str

    def render(self, file: str) -> str:
        """``FILE:LINE: field: message``."""
        where = f"{self.field}: " if self.field else ""
        return f"{file}:{self.line}: {where}{self.message}"


class PlanErrors(PlanError):
    """A plan with one or more issues; ``str()`` is the first, one line."""

    def __init__(self, file: str, issues: list[Issue]) -> None:
        self.file = file
        self.issues = sorted(issues, key=lambda issue: issue.line)
        first = self.issues[0].render(file)
        more = len(self.issues) - 1
        suffix = f" (and {more} more; 'qorch validate' lists all)" if more else ""
        super().__init__(first + suffix)

    def lines(self) -> list[str]:
        """Every issue, one line each (the first MAX_LISTED_ISSUES, then a count)."""
        shown = [issue.render(self.file) for issue in self.issues[:MAX_LISTED_ISSUES]]
        hidden = len(self.issues) - len(shown)
        if hidden:
            last = self.issues[MAX_LISTED_ISSUES].line
            shown.append(f"{self.file}:{last}: and {hidden} more problems, not listed")
        return shown


def issue_of(error: QorchError, file: str) -> Issue:
    """The Issue of an error made by :meth:`LoadedPlan.error` (``FILE:LINE: field``)."""
    location = error.location or ""
    if not location.startswith(f"{file}:"):
        return Issue(1, "", str(error).removeprefix(f"{file}: "))
    line_text, _, field_path = location[len(file) + 1 :].partition(": ")
    line = int(line_text) if line_text.isdigit() else 1
    return Issue(line, field_path, error.message)


def raise_all(file: str, errors: list[QorchError]) -> None:
    """Nothing if ``errors`` is empty; one error as it is; several as one PlanErrors."""
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise PlanErrors(file, [issue_of(error, file) for error in errors])


@dataclass(frozen=True)
class LoadedPlan:
    """A validated plan with where it came from, for errors and relative paths."""

    plan: AnyPlan
    path: Path
    display: str  # the path as the user wrote it
    lines: dict[PathKey, int] = field(repr=False)
    text_sha256: str = ""

    @property
    def circuits_plan(self) -> CircuitsPlan:
        """The plan, which must be of kind ``circuits``."""
        if not isinstance(self.plan, CircuitsPlan):
            kind = self.plan.kind
            raise PlanError(f"{self.display}: expected a plan of kind circuits, not {kind}")
        return self.plan

    @property
    def base_dir(self) -> Path:
        """Directory that relative paths in the plan are resolved against."""
        return self.path.parent

    def line_of(self, *key: str | int) -> int:
        """Line of the deepest part of ``key`` present in the file (1 if none)."""
        return locate(self.lines, key)

    def error(self, key: PathKey, message: str, cls: type[QorchError] = PlanError) -> QorchError:
        """A one-line error located at field ``key`` of this plan."""
        location = f"{self.display}:{self.line_of(*key)}"
        field_path = format_path(key)
        if field_path:
            location += f": {field_path}"
        return cls(message, location=location)

    def canonical_hash(self) -> str:
        """SHA-256 of the validated plan's canonical JSON (formatting-independent)."""
        data = self.plan.model_dump(mode="json")
        text = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()


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
        raise PlanErrors(file, [Issue(line, "", f"YAML syntax error: {problem_text}")]) from None
    except yaml.YAMLError as error:
        text_of = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise PlanErrors(file, [Issue(1, "", f"YAML error: {text_of}")]) from None
    if loaded is None:
        raise PlanErrors(file, [Issue(1, "", "the plan file is empty")])
    return loaded


def validate(data: Any, lines: dict[PathKey, int], file: str) -> AnyPlan:
    """Validate parsed data against the plan model; errors are located Issues."""
    if not isinstance(data, dict):
        raise PlanErrors(file, [Issue(1, "", "a plan must be a mapping of fields")])
    kind = data.get("kind")
    if kind not in KINDS:
        line = lines.get(("kind",), 1)
        known = ", ".join(KINDS)
        message = f"unknown plan kind {kind!r} (known: {known})" if kind else "missing"
        raise PlanErrors(file, [Issue(line, "kind", message)])
    try:
        return PLAN_ADAPTER.validate_python(data)
    except ValidationError as error:
        errors = [_untagged(err, kind) for err in error.errors()]
        issues = [_issue(err, data, lines) for err in _union_merged(errors, data)]
        raise PlanErrors(file, issues) from None


def _untagged(err: Any, kind: str) -> Any:
    """Drop the plan-kind tag pydantic puts first in the location of every error.

    A FieldError raised by a model validator carries the sub-field it is about;
    it is appended to the location.
    """
    loc = tuple(err["loc"])
    if loc[:1] == (kind,):
        loc = loc[1:]
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, FieldError):
        loc = (*loc, *cause.path)
    return {**err, "loc": loc}


def _is_type_error(err: Any) -> bool:
    kind = str(err["type"])
    return kind.endswith(("_type", "_parsing")) or kind == "int_from_float"


def _union_merged(errors: list[Any], data: Any) -> list[Any]:
    """One error per field where a union's members each failed.

    ``seeds: int | list[int]`` given 10**9 fails as "less than or equal to 1000"
    (the int) and "a valid list" (the list): only the first is about the value.
    Type mismatches are dropped beside any other error at the same field, and
    merged into one ("a valid integer or a valid list") when they are all there is.
    """
    by_key: dict[PathKey, list[Any]] = {}
    for err in errors:
        by_key.setdefault(data_path(data, err["loc"]), []).append(err)
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


def _issue(err: Any, data: Any, lines: dict[PathKey, int]) -> Issue:
    key = data_path(data, err["loc"])
    message = _message(err, data, key)
    if err["type"] == "missing":
        return Issue(locate(lines, key[:-1]), format_path(key), message)
    return Issue(locate(lines, key), format_path(key), message)


def _message(err: Any, data: Any, key: PathKey) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "required field is missing"
    if kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == TARGET_PATTERN:
        return f"{err['input']!r} is not of the form provider:device (e.g. local:aer)"
    if kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == ENCODING_PATTERN:
        return (
            f"unknown encoding {err['input']!r} (amplitude, angle, compact-angle, hde[-k], "
            "hae[-k], iqp[-reps])"
        )
    if kind == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == NAME_PATTERN:
        return f"{err['input']!r} is not a valid name (letters, digits, '_', '.', '-')"
    text = str(err["msg"])
    text = text.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return text[:1].lower() + text[1:]


def data_path(data: Any, loc: tuple[Any, ...]) -> PathKey:
    """Pydantic's error location reduced to keys that exist in the data (tags dropped)."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if _has(node, part):
            path.append(part)
            node = node[part]
        elif isinstance(node, dict) and isinstance(part, str) and _is_field_name(part):
            path.append(part)  # a missing field (union tags are dropped)
            node = None
    return tuple(path)


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _is_field_name(part: str) -> bool:
    return part.replace("_", "").isalnum() and not _is_tag(part)


def _is_tag(part: str) -> bool:
    return part in {"ghz", "qft", "random", "qaoa-maxcut", "qasm", "function-before"}


def locate(lines: dict[PathKey, int], key: PathKey) -> int:
    """Line of the longest prefix of ``key`` that appears in the file."""
    for end in range(len(key), -1, -1):
        if key[:end] in lines:
            return lines[key[:end]]
    return 1


def format_path(key: PathKey) -> str:
    """``('targets', 1, 'shots')`` → ``targets[1].shots``."""
    out = ""
    for part in key:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
