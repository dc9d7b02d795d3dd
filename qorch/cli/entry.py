"""The ``qorch`` console script: Ctrl-C is handled from its first instruction.

The handler is installed before Typer, the CLI modules or any SDK is
imported, so an interrupt during imports is neither a traceback nor lost
(see :mod:`qorch.engine.interrupt`), and the process exits 130.
"""

from __future__ import annotations

import sys

from qorch.engine import interrupt

INTERRUPTED_EXIT = 130
INTERRUPTED_LINE = (
    "qorch: error: interrupted; jobs already submitted keep running at their providers "
    "— run the same command again to resume"
)


def main() -> None:
    """Entry point of the ``qorch`` console script and ``python -m qorch``."""
    interrupt.install()
    try:
        from qorch.cli.app import run

        code = run(sys.argv[1:])
    except KeyboardInterrupt:
        code = INTERRUPTED_EXIT
    except Exception as error:  # a Ctrl-C that native code re-raised as another error
        if not interrupt.caused_by_interrupt(error):
            raise
        code = INTERRUPTED_EXIT
    if interrupt.interrupted() and code == 0:
        code = INTERRUPTED_EXIT  # the command finished, but a Ctrl-C arrived on the way
    if code == INTERRUPTED_EXIT and not _reported():
        print(INTERRUPTED_LINE, file=sys.stderr, flush=True)
    _forget_unhandled_interrupt()
    sys.exit(code)


def _forget_unhandled_interrupt() -> None:
    """Clear CPython's "unhandled KeyboardInterrupt" flag before exiting.

    A KeyboardInterrupt raised inside code that CPython runs from a string
    (``exec`` of generated source: dataclasses, typing and Typer do this at
    import time) sets the flag even when the exception is caught; under
    ``python -m qorch`` the interpreter then kills itself with SIGINT at exit
    instead of returning our code. Every string evaluation resets the flag
    first, so evaluating one harmless string does.
    """
    exec("None")  # a constant string: resets the flag, runs nothing


def _reported() -> bool:
    """True if the command already said it was interrupted (its ``guarded`` wrapper did)."""
    output = sys.modules.get("qorch.cli.output")  # absent if Ctrl-C came during imports
    return bool(getattr(output, "interrupt_reported", False))
