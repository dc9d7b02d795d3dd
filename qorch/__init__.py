"""qorch: hardware-abstracted quantum orchestration.

Declarative plans (YAML) are compiled into provider-specific jobs, submitted
to local simulators, IBM Quantum or Amazon Braket, and collected into results.

The library API (:mod:`qorch.api`) is available from this package: ``qorch.run``,
``qorch.validate``, ``qorch.compile``, … It is imported on first use, so
``import qorch`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Cancelled",
    "Compiled",
    "CountsPlot",
    "GcPlan",
    "PlanReport",
    "RunObserver",
    "RunOptions",
    "RunResults",
    "__version__",
    "attach",
    "cancel",
    "compile",
    "counts_csv",
    "counts_plot",
    "diff",
    "gc",
    "history",
    "load",
    "plan_kinds",
    "results",
    "run",
    "runs",
    "schema",
    "show",
    "status",
    "submit",
    "template",
    "validate",
]

if TYPE_CHECKING:
    from qorch.api import (
        Cancelled,
        Compiled,
        CountsPlot,
        GcPlan,
        PlanReport,
        RunObserver,
        RunOptions,
        RunResults,
        attach,
        cancel,
        compile,
        counts_csv,
        counts_plot,
        diff,
        gc,
        history,
        load,
        plan_kinds,
        results,
        run,
        runs,
        schema,
        show,
        status,
        submit,
        template,
        validate,
    )


def __getattr__(name: str) -> Any:
    """The library API, imported on first use (PEP 562)."""
    if name in __all__ and name != "__version__":
        from qorch import api

        return getattr(api, name)
    raise AttributeError(f"module 'qorch' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
