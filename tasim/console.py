"""Printing for people: the console every command writes to, and data frames as tables."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

console = Console()


def print_frame(frame: pd.DataFrame, title: str) -> None:
    """A data frame as a rich table, numbers to four significant digits."""
    table = Table(*map(str, frame.columns), title=title)
    for row in frame.itertuples(index=False):
        table.add_row(
            *(f"{value:,.4g}" if isinstance(value, float) else str(value) for value in row)
        )
    Console(width=max(console.width, 200)).print(table)  # wide tables stay readable when piped
