"""A posterior sample, as ``tasim calibrate`` writes it: read it, summarize it, draw from it.

A posterior is a table of weighted parameter sets (one column per dotted path, plus
``weight``). Experiments run under it (``tasim compare --posterior``, the dashboard's what-if
page) without the calibration machinery that produces it, so it lives here, below calibration.
"""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.errors import ArgumentError
from experiments.runner import DEFAULT_SEED, RunSpec, check_scenario
from sim import ScenarioError
from sim.params import read_text

# The posterior behind the shipped baseline's fitted parameters: data shipped with the calibration
# package, found by its place next to this package so that experiments need not import calibration.
SHIPPED_POSTERIOR = (
    Path(__file__).resolve().parent.parent / "calibration" / "posterior" / "posterior.csv"
)


POSTERIOR_LIMIT = 64 * 1024 * 1024  # bytes in a posterior file (64 MiB: ~500,000 samples)


def read_posterior(path: str | Path) -> pd.DataFrame:
    """A posterior.csv, checked: finite numbers in every column, weights >= 0 with a positive sum.

    Read as a scenario file is (sim.params.read_text): a regular UTF-8 file of at most
    POSTERIOR_LIMIT bytes, so /dev/zero or a binary file is one line, not a hang or a traceback.
    """
    text = read_text(path, "posterior", POSTERIOR_LIMIT)
    try:
        posterior = pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise ScenarioError(f"{path}: cannot be read as a posterior ({error})") from None
    if "weight" not in posterior or len(posterior.columns) < 2:
        raise ScenarioError(
            f"{path}: a posterior needs a weight column and at least one parameter column"
        )
    for column in posterior.columns.drop("weight"):
        if not _finite_numbers(posterior[column]):
            raise ScenarioError(
                f"{path}: {column}: a parameter column must hold finite numbers in every row"
            )
    weights = posterior["weight"]
    if not _finite_numbers(weights) or (weights < 0).any() or weights.sum() <= 0:
        raise ScenarioError(
            f"{path}: weight: must be numbers >= 0 with a positive sum (finite, in every row)"
        )
    return posterior


def _finite_numbers(values: pd.Series) -> bool:
    """Whether a column holds numbers (not text, not booleans) with no NaN or infinity."""
    return (
        pd.api.types.is_numeric_dtype(values)
        and not pd.api.types.is_bool_dtype(values)
        and bool(np.isfinite(values.to_numpy(float)).all())
    )


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(
        values[order][min(np.searchsorted(cumulative, q * cumulative[-1]), len(values) - 1)]
    )


def posterior_median(posterior: pd.DataFrame) -> dict[str, float]:
    """Weighted median of every parameter column."""
    weights = posterior["weight"].to_numpy(float)
    return {
        column: weighted_quantile(posterior[column].to_numpy(float), weights, 0.5)
        for column in posterior.columns.drop("weight")
    }


def posterior_draws(
    posterior: pd.DataFrame, k: int, seed: int = DEFAULT_SEED
) -> list[dict[str, float]]:
    """``k`` parameter sets drawn with replacement in proportion to the weights, reproducibly.

    Each is a dict of dotted-path overrides, as ``load_scenario`` and the experiments layer take
    them: running a scenario once per draw propagates the posterior uncertainty into its results.
    """
    if k < 1:
        raise ArgumentError("k", f"must be at least 1 (got {k})")
    weights = posterior["weight"].to_numpy(float)
    rows = np.random.default_rng(seed).choice(len(posterior), size=k, p=weights / weights.sum())
    parameters = posterior.drop(columns="weight")
    return [
        {column: float(value) for column, value in parameters.iloc[row].items()} for row in rows
    ]


def under_posterior(
    specs: list[RunSpec], posterior: pd.DataFrame, seed: int = DEFAULT_SEED
) -> list[RunSpec]:
    """Give replicate r of every arm posterior draw r, so arms stay paired on the same parameters.

    Bands and differences over the replicates then carry parameter uncertainty as well as seed
    noise. An arm's own overrides (e.g. ``--set``) win over the draw.
    """
    draws = posterior_draws(posterior, 1 + max(spec.labels["replicate"] for spec in specs), seed)
    for draw in draws:
        check_scenario(specs[0].scenario, {**draw, **specs[0].overrides})
    return [
        replace(spec, overrides={**draws[spec.labels["replicate"]], **spec.overrides})
        for spec in specs
    ]
