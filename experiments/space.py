"""The parameter space of an experiment: checked ranges, factorial and Latin hypercube points.

Every range is checked against the parameter's allowed range in ``sim/params.py`` before
anything runs, so a bad specification costs one line of error, not a half-finished sweep. A
design's size is checked against RUN_LIMIT before any of its points is generated.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import qmc

from experiments.errors import ArgumentError
from sim import Scenario, ScenarioError, parameter_info

# The most runs one experiment may have (design points x replicates): a million short runs are
# days of computing; more is a typo (a factorial of 10^12 points) that would exhaust memory
# while the design is generated, long before the first run.
RUN_LIMIT = 1_000_000


def check_runs(points: int, replicates: int, argument: str, design: str = "design") -> None:
    """Refuse ``points`` design points x ``replicates`` over RUN_LIMIT, before generating any.

    ``argument`` is what sets the number of points, named when the points alone are too many;
    otherwise it is the replicates that take the design past the limit.
    """
    if points > RUN_LIMIT:
        raise ArgumentError(
            argument, f"{design} has {points:,} points, more than the limit of {RUN_LIMIT:,} runs"
        )
    if points * replicates > RUN_LIMIT:
        raise ArgumentError(
            "replicates",
            f"{points:,} points x {replicates:,} replicates = {points * replicates:,} runs, more "
            f"than the limit of {RUN_LIMIT:,}",
        )


@dataclass(frozen=True)
class Range:
    """One varied parameter: a dotted path, bounds inside its allowed range, grid points."""

    path: str
    low: float
    high: float
    count: int | None = None
    integer: bool = False

    def cast(self, value: float) -> int | float:
        """A value as the parameter takes it (integer parameters rounded)."""
        return int(round(value)) if self.integer else float(value)


def numeric_range(
    scenario: Scenario,
    path: str,
    low: float | None = None,
    high: float | None = None,
    count: int | None = None,
) -> Range:
    """A range of a numeric parameter, by default its whole allowed range.

    Unknown paths, parameters without a range and bounds outside it raise ScenarioError.
    """
    info = parameter_info(scenario, path)
    if info.low is None or isinstance(info.value, bool):
        raise ScenarioError(f"{path}: not a numeric parameter with a range")
    low = info.low if low is None else low
    high = info.high if high is None else high
    if not info.low <= low <= high <= info.high:
        raise ScenarioError(
            f"{path}: {low:g}:{high:g} must lie in the allowed range {info.range_text} "
            "with lo <= hi"
        )
    if count is not None and count < 1:
        raise ScenarioError(f"{path}: the number of grid points must be at least 1 (got {count})")
    return Range(path, float(low), float(high), count, isinstance(info.value, int))


def parse_range(text: str, scenario: Scenario) -> Range:
    """``key=lo:hi:n`` (``:n`` may be left out for a Latin hypercube) -> a checked Range."""
    key, separator, spec = text.partition("=")
    parts = spec.split(":")
    try:
        if not separator or len(parts) not in (2, 3):
            raise ValueError
        low, high = float(parts[0]), float(parts[1])
        count = int(parts[2]) if len(parts) == 3 else None
    except ValueError:
        raise ArgumentError(
            "range", "expected key=lo:hi:n, e.g. funder.dosage_hours=0:20:5", text
        ) from None
    return numeric_range(scenario, key.strip(), low, high, count)


def factorial(ranges: list[Range], replicates: int = 1) -> list[dict]:
    """Every combination of the grid points of every range (integer grids without repeats).

    The number of points (the product of the ranges' counts) is checked against RUN_LIMIT,
    with ``replicates`` runs each, before any grid is generated.
    """
    if missing := [r.path for r in ranges if r.count is None]:
        raise ArgumentError(
            "ranges", "a factorial design needs the number of points, key=lo:hi:n", missing[0]
        )
    counts = [r.count for r in ranges]
    check_runs(
        math.prod(counts), replicates, "ranges", f"a factorial of {' x '.join(map(str, counts))}"
    )
    grids = [
        list(dict.fromkeys(r.cast(value) for value in np.linspace(r.low, r.high, r.count)))
        for r in ranges
    ]
    return [
        dict(zip((r.path for r in ranges), combination, strict=True))
        for combination in itertools.product(*grids)
    ]


def latin_hypercube(
    ranges: list[Range], samples: int, seed: int, replicates: int = 1
) -> list[dict]:
    """``samples`` points of a scrambled Latin hypercube over the ranges (scipy.stats.qmc)."""
    if samples < 1:
        raise ArgumentError("samples", f"must be at least 1 (got {samples})")
    check_runs(samples, replicates, "samples", "a Latin hypercube")
    unit = qmc.LatinHypercube(d=len(ranges), rng=seed).random(samples)
    low, high = np.array([r.low for r in ranges]), np.array([r.high for r in ranges])
    return [point(ranges, row) for row in low + unit * (high - low)]


def point(ranges: list[Range], values) -> dict:
    """A row of a design (one value per range) as scenario overrides."""
    return {r.path: r.cast(value) for r, value in zip(ranges, values, strict=True)}
