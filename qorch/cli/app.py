"""The ``qorch`` command: a thin Typer layer over the library.

Command modules import the library inside their functions, so ``qorch
--help`` and ``qorch validate`` never import Aer, IBM's or Braket's SDKs.
"""

from __future__ import annotations

from typing import Annotated

import typer
from typer.core import TyperCommand

from qorch import __version__
from qorch.cli import gc, history, link, logs, plans, runs, show, store
from qorch.cli.helpstyle import HelpCommand
from qorch.cli.output import emit_json
from qorch.contract import settings
from qorch.contract.errors import ExitCode

HELP = f"""Compile declarative quantum plans into provider jobs, run them, collect results.

\b
Typical use:
  qorch init circuits my-plan.yaml   write a commented starter plan
  qorch validate my-plan.yaml        check it (fast; good for CI)
  qorch compile my-plan.yaml         jobs, shots, cost; writes the bundle
  qorch run my-plan.yaml             submit, wait, collect (resumable)
  qorch results latest --json        the counts, for scripts
  qorch show latest 2                one job: id, depth, timings, cost
  qorch gc                           old job files and bundles (--yes: remove)

\b
Exit codes: 0 ok, 1 error (bad plan, provider failure, budget refused),
2 usage error, 3 submitted but not finished (run again later),
4 finished with failed or cancelled jobs, 5 a check of the plan failed,
130 interrupted.
State lives in .qorch/, found upward from the plan or the current directory
(as git finds .git), else created beside the plan; override: QORCH_STATE_DIR.
A damaged or lost state database: qorch recover.

\b
Environment:
{settings.help_text()}

\b
Shell completion: qorch --install-completion (bash, zsh, fish, PowerShell).
"""

app = typer.Typer(
    name="qorch",
    help=HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"qorch {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            envvar=settings.VERBOSE.env,
            help="Log each step on stderr (-v), or debugging detail (-vv).",
        ),
    ] = 0,
) -> None:
    """qorch: hardware-abstracted quantum orchestration."""
    logs.configure(verbose)


plans.register(app)
runs.register(app)
show.register(app)
gc.register(app)
link.register(app)
store.register(app)
history.register(app)

SUMMARIES = {
    "init": "Write a commented starter plan of KIND.",
    "validate": "Check plans: schema, files, providers, devices, checks.",
    "schema": "Print the JSON Schema of the plan format.",
    "compile": "Build the bundle; show jobs, shots, depth and cost.",
    "backends": "List providers and devices, and credentials found.",
    "submit": "Submit a plan's jobs and print the run id (idempotent).",
    "run": "Compile, submit, wait and collect: the main job.",
    "status": "List runs, or one run's jobs (re-attaches to providers).",
    "results": "A run's counts, metrics and checks (exit 3 if pending).",
    "cancel": "Cancel a run's unfinished jobs.",
    "show": "One job: target, job id, depth, timings, cost, error.",
    "gc": "List, then prune, old job files and bundles (--yes).",
    "link": "Evaluate an optical link: loss, rate, fidelity, sweeps.",
    "recover": "List or rebuild what job directories prove was submitted.",
    "history": "Metrics of every finished run over time (--plot).",
    "diff": "What changed between two runs, beyond shot noise.",
}
"""One line per command for ``qorch --help`` (Click cuts a docstring's first sentence
at ~45 characters; these fit whole)."""
for _command in app.registered_commands:
    if _command.short_help is None and _command.name in SUMMARIES:
        _command.short_help = SUMMARIES[_command.name]
    if _command.cls in (None, TyperCommand):
        _command.cls = HelpCommand


def run(args: list[str]) -> int:
    """Run the command line ``args``; returns the exit code.

    Usage errors are printed by Click (exit 2); under ``--json`` they are also
    one JSON error document on stdout, as every other error is.
    """
    try:
        code = app(args=args, prog_name="qorch", standalone_mode=False)
    except typer.Abort:
        return int(ExitCode.INTERRUPTED)
    except typer.TyperException as error:  # Click's usage errors, as Typer vendors them
        error.show()  # type: ignore[attr-defined]
        exit_code = int(getattr(error, "exit_code", ExitCode.USAGE))
        if "--json" in args:
            text = error.format_message()
            emit_json({"error": {"message": text, "file": None, "line": None, "field": None},
                       "exit_code": exit_code})  # fmt: skip
        return exit_code
    return code if isinstance(code, int) else 0


def main() -> None:
    """Console-script entry point (``qorch.cli.entry`` installs the Ctrl-C handler first)."""
    import sys

    sys.exit(run(sys.argv[1:]))
