"""A loaded plan and its errors: ``FILE:LINE: field: message``, one problem or many.

What every layer above the loader needs to locate an error in a plan; the
loading itself is :mod:`qorch.engine.planfile`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qorch.contract.errors import PlanError, QorchError
from qorch.engine.limits import MAX_LISTED_ISSUES

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

    plan: Any  # the kind's PlanModel subclass
    path: Path
    display: str  # the path as the user wrote it
    lines: dict[PathKey, int] = field(repr=False)
    text_sha256: str = ""

    @property
    def kind(self) -> str:
        """The plan's ``kind``."""
        return str(self.plan.kind)

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
