"""Numbers as people read them: rounded to what they carry, signed where they are changes, in
dollars where they are money. The CLI's summaries and the dashboard's pages use the same words.
"""

from __future__ import annotations

import math


def money(value: float, sign: bool = False) -> str:
    """Dollars to three significant figures (what a mean over a few replicates carries), in
    millions from a million; a change with its sign (``sign``): ``+$1.2 M``, ``-$300``."""
    size = float(f"{abs(value):.3g}")
    millions = size / 1e6
    if size >= 1e8:
        shown = f"${millions:,.0f} M"
    elif size >= 1e6:
        shown = f"${millions:g} M"
    else:
        shown = f"${size:,.0f}"
    if shown == "$0":
        return shown
    return f"-{shown}" if value < 0 else f"+{shown}" if sign else shown


def signed(value: float) -> str:
    """A whole number with its sign, never ``-0``: ``+17``, ``0``, ``-1,204``."""
    whole = round(value)
    return f"{whole:+,d}" if whole else "0"


def significant(value: float, digits: int = 3) -> str:
    """A change to ``digits`` significant figures with its sign, no trailing zeros, never
    ``-0``: ``+0.0123``, ``-1,230``, ``+7``, ``0``."""
    if not math.isfinite(value):
        return "n/a"
    rounded = float(f"{value:.{digits}g}")
    if rounded == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    shown = f"{rounded:+,.{decimals}f}"
    return shown.rstrip("0").rstrip(".") if "." in shown else shown


def points(share: float) -> str:
    """A change in a share in percentage points, signed: ``+17 points``."""
    return f"{signed(100 * share)} points"
