"""Tables as the pages show them: numbers rounded, an undefined value in words, never NaN."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.analysis import undefined_as


def rounded(value: float, digits: int) -> float | int:
    """``value`` to ``digits`` decimals, or to a whole number from 1,000 up."""
    return round(value) if abs(value) >= 1000 else round(value, digits)


def readable(table: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    """``table`` with numbers rounded (``rounded``) and every NaN or infinity in words.

    What the words are is the column's (``experiments.analysis.undefined_as``): a time to a
    level is "not reached", a cost per unit of the cost itself or of no gain "n/a".
    """
    shown = table.copy()
    for column in shown.columns:
        values = shown[column]
        if pd.api.types.is_float_dtype(values):
            words = undefined_as(column)
            shown[column] = pd.Series(  # objects: 9055425 stays whole beside 0.1693
                [rounded(value, digits) if np.isfinite(value) else words for value in values],
                index=values.index,
                dtype=object,
            )
    return shown
