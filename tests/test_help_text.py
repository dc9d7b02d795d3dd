"""``--help`` that teaches (issue 13, item 3): Click-style names (``PLANS...``, ``--poll
FLOAT``) instead of Typer's type labels, whole command summaries, no idle flags."""

from __future__ import annotations

import json
import re

import pytest

from qorch.cli.app import app

COMMANDS = sorted(command.name or "" for command in app.registered_commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_names_parameters_as_a_person_reads_them(cli, command: str) -> None:
    shown = cli(command, "--help", env={"COLUMNS": "100"})
    assert shown.returncode == 0, shown.stderr
    leaked = re.findall(r"<[a-z][^>]*>|\{[a-z_]+\}|list\[", shown.stdout)
    assert not leaked, (command, leaked, shown.stdout)


def test_every_command_summary_fits_whole(cli) -> None:
    shown = cli("--help", env={"COLUMNS": "80"})
    listing = shown.stdout.split("Commands:")[1]
    assert "..." not in listing, listing
    assert {line.split()[0] for line in listing.strip().splitlines()} == set(COMMANDS)


def test_usage_lines_name_arguments_in_capitals(cli) -> None:
    assert "Usage: qorch validate [OPTIONS] PLANS...\n" in cli("validate", "--help").stdout
    assert "Usage: qorch init [OPTIONS] KIND [PATH]\n" in cli("init", "--help").stdout
    assert "--poll FLOAT " in cli("run", "--help", env={"COLUMNS": "100"}).stdout


def test_schema_has_no_flag_that_does_nothing(cli) -> None:
    assert "--json" not in cli("schema", "--help").stdout
    for args in (("schema",), ("schema", "--json")):  # still accepted from old scripts
        assert json.loads(cli(*args).stdout)["title"]


def test_link_plan_alone_takes_its_only_link(cli) -> None:
    alone = cli("link", "--plan", "plans/distributed-qft.yaml", "--json")
    assert alone.returncode == 0, alone.stderr
    explicit = cli("link", "--plan", "plans/distributed-qft.yaml", "--link", "0", "--json")
    assert json.loads(alone.stdout) == json.loads(explicit.stdout)
    several = cli("link", "--plan", "plans/distributed-ions.yaml")
    assert several.returncode == 1
    assert "the plan has 2 links: choose one with --link 0–1" in several.stderr
    assert len(several.stderr.strip().splitlines()) == 1
    assert cli("link", "--link", "0").returncode == 2  # a link of which plan?
