"""Ctrl-C that is never lost: a flag that outlives a swallowed KeyboardInterrupt.

Python delivers SIGINT as a ``KeyboardInterrupt`` raised wherever the main
thread happens to be. Raised inside a finaliser or an import-time callback it
is printed as "Exception ignored in …" and dropped, and the run would go on
to submit jobs. The handler installed here also records the interrupt, and
every step that is about to do something costly (submit a job, start a
training task, wait again) calls :func:`raise_if_interrupted` first, so an
interrupt is acted on at the next step even if its exception was swallowed.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

_interrupted = threading.Event()


def install() -> None:
    """Record SIGINT in a flag and raise KeyboardInterrupt (main thread only; idempotent).

    A KeyboardInterrupt that Python can only drop (raised in a finaliser or an
    import lock's callback) is not printed as "Exception ignored in …": the
    flag already holds it, and the next step acts on it.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGINT, _on_sigint)
    if sys.unraisablehook is not _quiet_about_interrupts:
        global _next_unraisable_hook
        _next_unraisable_hook = sys.unraisablehook
        sys.unraisablehook = _quiet_about_interrupts


_next_unraisable_hook = sys.__unraisablehook__


def _quiet_about_interrupts(unraisable: Any) -> None:
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _interrupted.is_set():
        return
    _next_unraisable_hook(unraisable)


def _on_sigint(signum: int, frame: FrameType | None) -> None:
    _interrupted.set()
    raise KeyboardInterrupt


def interrupted() -> bool:
    """True once Ctrl-C was pressed in this process."""
    return _interrupted.is_set()


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if Ctrl-C was pressed, even if its first exception was lost."""
    if _interrupted.is_set():
        raise KeyboardInterrupt


def caused_by_interrupt(error: BaseException) -> bool:
    """True if ``error`` comes from a Ctrl-C: native code (qiskit's Rust modules while they
    initialise) re-raises our KeyboardInterrupt as another error, e.g. ``RuntimeError: An
    error occurred while initializing class SparseObservable``, with it as the cause."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def reset() -> None:
    """Forget an earlier interrupt (tests; an in-process caller that handled it)."""
    _interrupted.clear()
