"""``--help`` in the style people know from Click and git: ``PLAN...``, ``--poll FLOAT``.

Typer 0.29's plain formatter writes required arguments as ``{plans}...`` and adds
Python type names (``<list[Path]>``, ``<str>``) beside every parameter. A person
reading help wants the argument's name in capitals and Click's metavars; this
command class gives its parameters that look, and nothing else changes.
"""

from __future__ import annotations

from typing import Any

from typer.core import TyperArgument, TyperCommand, TyperOption, _click

METAVARS = {"str": "TEXT", "int": "INTEGER", "int range": "INTEGER", "float range": "FLOAT"}
"""Typer's type labels as Click's metavars (others: upper-cased, e.g. PATH, FLOAT)."""


class _Argument(TyperArgument):
    @property
    def display_name_raw(self) -> str:
        return self.metavar if self.metavar is not None else str(self.name).upper()

    def display_type_rich(self, ctx: _click.Context) -> str | None:
        return None  # the name says what it is; its help says the rest

    def _usage_display_name(self) -> str:
        name = self.display_name_raw
        if not self.required and not name.startswith("["):
            name = f"[{name}]"
        return name + ("..." if self.nargs != 1 and not name.endswith("...") else "")


class _Option(TyperOption):
    def display_type_rich(self, ctx: _click.Context) -> str | None:
        if self.metavar is not None:
            return self.metavar
        label = self.display_type(ctx).strip("<>")  # Typer's "<float range>", "<a|b>", …
        if "|" in label:
            return f"[{label}]"
        return METAVARS.get(label, label.upper())


class HelpCommand(TyperCommand):
    """A Typer command whose help names its parameters as Click does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if type(param) is TyperArgument:
                param.__class__ = _Argument
            elif type(param) is TyperOption:
                param.__class__ = _Option
