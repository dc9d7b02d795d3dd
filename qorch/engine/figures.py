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


TITLE_BAND_IN = 0.3  # inches kept above the panels for a figure's title


def titled_layout(figure: Any, title: str, fontsize: float = 11) -> None:
    """``title`` at the top of ``figure`` in its own band, the panels laid out below it.

    ``tight_layout`` leaves no room for a suptitle: on a tall figure (one panel per
    circuit) the title was drawn over the first panel.
    """
    height = float(figure.get_size_inches()[1])
    figure.suptitle(title, fontsize=fontsize, y=1 - 0.12 / height, va="top")
    figure.tight_layout(rect=(0.0, 0.0, 1.0, 1 - TITLE_BAND_IN / height))
