"""Options several commands share, declared once so they read and behave the same everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Overrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a parameter: dotted.path=value (repeatable)."),
]
FixedOverrides = Annotated[
    list[str] | None,
    typer.Option("--set", help="Fixed override for every run: dotted.path=value (repeatable)."),
]
Out = Annotated[
    Path, typer.Option(help="Experiment folder; re-running the same command resumes it.")
]
Replicates = Annotated[int, typer.Option(help="Replicates per design point.")]
Workers = Annotated[
    int | None, typer.Option(help="Local worker processes (default: all cores; 1 runs serially).")
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (instead of local workers)."
    ),
]
Months = Annotated[
    int | None, typer.Option(help="Months per run (default: the scenario's horizon).")
]
Seed = Annotated[
    int,
    typer.Option(
        help="Experiment seed: entropy of the SeedSequence the replicate seeds come from."
    ),
]
CommonRandomNumbers = Annotated[
    bool,
    typer.Option(
        "--crn/--no-crn",
        help="Reuse the same replicate seeds at every design point (common random numbers).",
    ),
]
