"""Printing for people: the console every command writes to, and data frames as tables."""

from __future__ import annotations

import math

import pandas as pd
from rich.console import Console
from rich.table import Table

console = Console()


def print_frame(frame: pd.DataFrame, title: str) -> None:
    """A data frame as a rich table, numbers to four significant digits, no ``nan`` shown."""
    table = Table(*map(str, frame.columns), title=title)
    for row in frame.itertuples(index=False):
        table.add_row(
            *(cell(column, value) for column, value in zip(frame.columns, row, strict=True))
        )
    Console(width=max(console.width, 200)).print(table)  # wide tables stay readable when piped


def cell(column: str, value) -> str:
    """One value in words: a missing time-to-threshold was "not reached", any other "n/a"."""
    if isinstance(value, float) and math.isnan(value):
        return "not reached" if str(column).startswith("time_to") else "n/a"
    return f"{value:,.4g}" if isinstance(value, float) else str(value)
