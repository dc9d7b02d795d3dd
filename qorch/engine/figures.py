"""Figures as PNG bytes: matplotlib without a display, files without a software stamp (so
the same figure gives the same bytes, which compile's byte-identical bundles rely on)."""

from __future__ import annotations

import io
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the headless Agg backend (imported on first use: slow)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def png_bytes(figure: Any, **savefig: Any) -> bytes:
    """``figure`` as PNG bytes (``savefig`` options such as ``dpi``), then closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None}, **savefig)
    pyplot().close(figure)
    return buffer.getvalue()
