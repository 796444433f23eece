"""Global sensitivity analysis with SALib: Morris screening and Sobol indices over parameter ranges.

The ranges are the allowed ranges of ``sim/params.py``. The stochastic model enters as the
mean over replicates with common random numbers (anchor-sa-calibration.md 1.3); the
convergence check compares indices from the first half of the Sobol design with the whole
(power-of-2 prefixes of a Sobol design are designs themselves, anchor-sa-calibration.md 1.6).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from SALib import ProblemSpec
from SALib.analyze import morris as morris_analysis
from SALib.analyze import sobol as sobol_analysis

from experiments.analysis import run_summaries
from experiments.errors import ArgumentError
from experiments.space import Range, check_runs, numeric_range, point
from sim import Scenario, load_scenario
from sim.metrics import SYSTEM_COLUMNS, summary

# A documented default subset: the levers and rule constants the dose-response hinges on.
DEFAULT_PARAMETERS = (
    "funder.dosage_hours",
    "funder.budget_per_month",
    "mechanisms.half_saturation",
    "mechanisms.hill",
    "mechanisms.capacity_rate",
    "mechanisms.caseload_penalty",
    "mechanisms.trust_build",
    "mechanisms.imitation_q",
    "mechanisms.absorption_adoption",
    "mechanisms.learning_rate",
    "mechanisms.overload_threshold",
    "mechanisms.specific_decay",
)
SAMPLE_SEED = 1
ANALYSIS_SEED = 2  # SALib's bootstrap is random: a fixed seed makes the CIs reproducible
RESAMPLES = 200
MORRIS_LEVELS = 4


def summary_measures() -> tuple[str, ...]:
    """The per-run summary measures a sensitivity analysis can explain (sim.metrics.summary).

    Read off the summary of a one-month table of zeros, so the list cannot drift from the
    summary itself and no simulation is needed to know it.
    """
    months = pd.DataFrame(0.0, index=[0], columns=list(SYSTEM_COLUMNS))
    return tuple(summary(months, Scenario()))


def check_output(output: str) -> None:
    """Refuse an ``output`` that is no per-run summary measure, before any run."""
    if output not in (known := summary_measures()):
        raise ArgumentError("output", f"must be one of {', '.join(known)}", output)


def ranges(paths: list[str], scenario: str = "baseline") -> list[Range]:
    """The whole allowed range of each parameter (unknown or non-numeric paths are refused)."""
    if not paths or len(set(paths)) < len(paths):
        raise ArgumentError("paths", "name at least one parameter, each once", paths)
    resolved = load_scenario(scenario)
    return [numeric_range(resolved, path) for path in paths]


def problem(varied: list[Range]) -> ProblemSpec:
    """A SALib problem over the given ranges."""
    return ProblemSpec(
        {
            "names": [r.path for r in varied],
            "bounds": [[r.low, r.high] for r in varied],
            "outputs": ["Y"],
        }
    )


def sample(
    spec: ProblemSpec,
    method: str,
    base_samples: int,
    second_order: bool = False,
    replicates: int = 1,
) -> np.ndarray:
    """The design in parameter units: Sobol' or Morris trajectories.

    Sobol' needs N a power of 2 and has N(D+2) rows, N(2D+2) with second order; Morris has
    N(D+1). Second order is Sobol's only. The rows times ``replicates`` are checked against
    the limit on runs before any row is sampled.
    """
    count = len(spec["names"])
    if method == "sobol":
        if base_samples < 2 or base_samples & (base_samples - 1):
            raise ArgumentError(
                "base_samples", f"must be a power of 2 for Sobol (got {base_samples})"
            )
        rows = base_samples * (2 * count + 2 if second_order else count + 2)
        check_runs(rows, replicates, "base_samples", f"a Sobol design of N={base_samples}")
        spec.sample_sobol(base_samples, calc_second_order=second_order, seed=SAMPLE_SEED)
    elif method == "morris":
        if base_samples < 2:
            raise ArgumentError(
                "base_samples", f"Morris needs at least 2 trajectories (got {base_samples})"
            )
        if second_order:
            raise ArgumentError("second_order", "only with Sobol (Morris has no second order)")
        rows = base_samples * (count + 1)
        check_runs(rows, replicates, "base_samples", f"{base_samples} Morris trajectories")
        spec.sample_morris(base_samples, num_levels=MORRIS_LEVELS, seed=SAMPLE_SEED)
    else:
        raise ArgumentError("method", "must be morris or sobol", method)
    return spec.samples


def arms(
    varied: list[Range], rows: np.ndarray, scenario: str, fixed: dict | None = None
) -> list[tuple[str, dict, dict]]:
    """One experiment arm per design row, labelled with its row number (to restore the order)."""
    return [
        (scenario, {**(fixed or {}), **point(varied, row)}, {"sample": index})
        for index, row in enumerate(rows)
    ]


def replicate_means(table: pd.DataFrame, output: str, points: int) -> np.ndarray:
    """The mean of a per-run summary over replicates at each design point, in design order.

    SALib needs the order of its design.
    """
    summaries = run_summaries(table, ["sample"])
    if output not in summaries:
        known = [c for c in summaries.columns if c not in ("run_id", "replicate", "sample")]
        raise ArgumentError("output", f"must be one of {', '.join(known)}", output)
    means = summaries.groupby("sample")[output].mean().reindex(range(points))
    if means.isna().any():
        raise ArgumentError(
            "output",
            f"undefined (NaN) at {int(means.isna().sum())} design points; "
            "choose a measure every run defines",
            output,
        )
    return means.to_numpy()


def _sobol(spec: ProblemSpec, outputs: np.ndarray, second_order: bool) -> dict:
    definition = {
        "names": list(spec["names"]),
        "bounds": spec["bounds"],
        "num_vars": len(spec["names"]),
    }
    return sobol_analysis.analyze(
        definition,
        np.asarray(outputs, float),
        calc_second_order=second_order,
        num_resamples=RESAMPLES,
        conf_level=0.95,
        seed=ANALYSIS_SEED,
    )


def analyze(
    spec: ProblemSpec,
    method: str,
    samples: np.ndarray,
    outputs: np.ndarray,
    second_order: bool = False,
) -> pd.DataFrame:
    """Indices with 95 % bootstrap half-widths, one row per parameter; outputs in design order.

    ``second_order`` must say how the Sobol' design was sampled (its rows come in blocks of
    D+2 or 2D+2); S2 itself comes from ``second_order_indices``.
    """
    names = list(spec["names"])
    if method == "sobol":
        result = _sobol(spec, outputs, second_order)
        return pd.DataFrame(
            {
                "parameter": names,
                "S1": result["S1"],
                "S1_conf": result["S1_conf"],
                "ST": result["ST"],
                "ST_conf": result["ST_conf"],
            }
        )
    definition = {"names": names, "bounds": spec["bounds"], "num_vars": len(names)}
    result = morris_analysis.analyze(
        definition,
        samples,
        np.asarray(outputs, float),
        num_resamples=RESAMPLES,
        conf_level=0.95,
        num_levels=MORRIS_LEVELS,
        seed=ANALYSIS_SEED,
    )
    return pd.DataFrame(
        {
            "parameter": names,
            "mu_star": result["mu_star"],
            "mu_star_conf": result["mu_star_conf"],
            "sigma": result["sigma"],
        }
    )


def convergence(
    spec: ProblemSpec, outputs: np.ndarray, base_samples: int, second_order: bool = False
) -> pd.DataFrame:
    """Sobol ST from the first half of the design next to ST from the whole design.

    Stable: the two differ by at most 0.05 or 10 % of ST (the SALib maintainers' rule of thumb
    for confidence half-widths, anchor-sa-calibration.md 1.4).
    """
    half = len(outputs) // 2  # the first N/2 base points' blocks form an N/2 design
    whole, part = (
        _sobol(spec, outputs, second_order)["ST"],
        _sobol(spec, outputs[:half], second_order)["ST"],
    )
    difference = whole - part
    return pd.DataFrame(
        {
            "parameter": list(spec["names"]),
            f"ST_N{base_samples}": whole,
            f"ST_N{base_samples // 2}": part,
            "difference": difference,
            "stable": np.abs(difference) <= np.maximum(0.05, 0.1 * np.abs(whole)),
        }
    )


def second_order_indices(spec: ProblemSpec, outputs: np.ndarray) -> pd.DataFrame:
    """S2 for every pair of parameters (a design sampled with second order)."""
    names = list(spec["names"])
    result = _sobol(spec, outputs, True)
    return pd.DataFrame(
        [
            {
                "first": names[i],
                "second": names[j],
                "S2": result["S2"][i, j],
                "S2_conf": result["S2_conf"][i, j],
            }
            for i in range(len(names))
            for j in range(i + 1, len(names))
        ]
    )


# what each index means, for a reader of the explorer or a figure
INDEX_WORDS = {
    "mu_star": (
        "mu* (Morris): the mean absolute change in the output when the parameter moves one step "
        "across its range: how much it matters"
    ),
    "sigma": (
        "sigma (Morris): how much that change varies from one point of the design to another: "
        "large against mu* means a nonlinear effect or interactions with other parameters"
    ),
    "S1": "S1 (Sobol): the share of the output's variance the parameter explains on its own",
    "ST": (
        "ST (Sobol): the share it explains with all its interactions; ST well above S1 means "
        "interactions"
    ),
}


def ranked(indices: pd.DataFrame, method: str) -> pd.DataFrame:
    """The indices, most important first (by mu* for Morris, ST for Sobol)."""
    key = "ST" if method == "sobol" else "mu_star"
    return indices.sort_values(key, ascending=False, kind="stable").reset_index(drop=True)


def plot_indices(indices: pd.DataFrame, method: str, title: str):
    """Bar chart of the indices, most important on top, with their 95 % whiskers cut at 0 (an
    index is never negative; a whisker across 0 says it cannot be told from none)."""
    indices = ranked(indices, method)
    figure = Figure(figsize=(9, 0.45 * len(indices) + 1.5), layout="constrained")
    axis = figure.subplots()
    positions = np.arange(len(indices))
    bars = (("S1", -0.2, 0.4), ("ST", 0.2, 0.4)) if method == "sobol" else (("mu_star", 0.0, 0.6),)
    for column, offset, height in bars:
        values, half = indices[column].to_numpy(), indices[f"{column}_conf"].to_numpy()
        axis.barh(
            positions + offset,
            values,
            height,
            xerr=[np.clip(np.minimum(half, values), 0, None), half],
            label="mu*" if column == "mu_star" else column,
            capsize=3,
        )
    axis.set_yticks(positions, indices["parameter"])
    axis.invert_yaxis()
    axis.set(title=title, xlabel="index (bars: estimate; whiskers: 95 % bootstrap interval)")
    lowest = min(float(indices[column].min()) for column, _, _ in bars)
    axis.set_xlim(left=min(0.0, lowest))
    axis.legend()
    return figure


def plot_morris_plane(indices: pd.DataFrame, title: str):
    """Morris's mu*-sigma plane: importance against nonlinearity or interaction, each parameter
    a labelled point; above the line sigma = mu* the effect depends on where the others are."""
    figure = Figure(figsize=(7, 5), layout="constrained")
    axis = figure.subplots()
    axis.scatter(indices["mu_star"], indices["sigma"])
    for row in indices.itertuples():
        axis.annotate(
            row.parameter,
            (row.mu_star, row.sigma),
            fontsize=8,
            xytext=(3, 3),
            textcoords="offset points",
        )
    top = float(max(indices["mu_star"].max(), indices["sigma"].max(), 1e-12)) * 1.1
    axis.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=0.8, label="sigma = mu*")
    axis.set(
        xlim=(0, top),
        ylim=(0, top),
        xlabel="mu*: how much the parameter matters",
        ylabel="sigma: nonlinearity or interactions",
        title=title,
    )
    axis.legend(fontsize=8)
    return figure
