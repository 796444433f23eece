"""Figures as PNG bytes for the pages' images."""

from __future__ import annotations

import io

from matplotlib.figure import Figure


def figure_png(figure: Figure, dpi: int = 90) -> bytes:
    """The figure encoded as PNG (a bare Figure: nothing to close afterwards)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()
