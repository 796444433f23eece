"""Reading experiment tables: per-run summaries, bands over replicates, differences, intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from experiments.wording import money, significant

BAND = (0.05, 0.95)  # a 90 % band over replicates
BAND_MEASURES = ["adoption", "mean_F", "admissions", "per_capita_cost"]  # what-if trajectories
# What a what-if compares, as a page or a printed table names it: the measure in words, its unit
# and the factor from the run summary's value (shares are shown in percentage points)
COMPARED = {
    "final_adoption": ("Adoption at the end", "percentage points", 100.0),
    "final_fidelity": ("Mean fidelity at the end", "points of 100", 100.0),
    "admissions_avoided": ("Avoidable admissions avoided over the run", "admissions", 1.0),
    "final_patient_experience": ("Patient experience at the end", "score points", 1.0),
    "final_provider_experience": ("Provider experience at the end", "score points", 1.0),
    "net_cost_discounted": ("Cost net of savings, discounted", "$", 1.0),
    "ta_cost_total": ("TA cost over the run", "$", 1.0),
}
PER = {"admissions": "admission"}  # "per admission"; any other unit is counted in points
COMPARE_MEASURES = list(COMPARED)
COSTS = ("net_cost_discounted", "ta_cost_total")  # no cost per unit of a cost
SWEEP_MEASURES = ["final_adoption", "final_fidelity", "time_to_50pct_adoption", "ta_cost_total"]


def undefined_as(column: str) -> str:
    """What an undefined (NaN) value in ``column`` means, in words for a page or a table.

    A time to reach a level (``time_to_50pct_adoption``) is undefined where the level was never
    reached; any other measure where it does not apply (the cost per unit of the cost itself).
    """
    return "not reached" if column.startswith("time_to") else "n/a"


def run_summaries(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """One row per run: its labels and per-run summary (``run_*`` columns, sim.metrics.summary)."""
    columns = [
        "run_id",
        "replicate",
        *by,
        *[column for column in table.columns if column.startswith("run_")],
    ]
    first = table.drop_duplicates("run_id")[list(dict.fromkeys(columns))]
    return first.rename(
        columns=lambda column: column.removeprefix("run_") if column != "run_id" else column
    ).reset_index(drop=True)


def bands(table: pd.DataFrame, by: str, columns: list[str]) -> pd.DataFrame:
    """Mean and 90 % band of each column per group and month."""
    grouped = table.groupby([by, "month"])[columns]
    low, high = grouped.quantile(BAND[0]), grouped.quantile(BAND[1])
    return pd.concat({"mean": grouped.mean(), "low": low, "high": high}, axis=1).reset_index()


def paired_differences(
    summaries: pd.DataFrame,
    by: str,
    reference: str,
    measures: list[str],
    confidence: float = 0.95,
    paired: bool = True,
) -> pd.DataFrame:
    """Each arm minus the reference arm with t intervals.

    Paired by replicate under common random numbers (``paired``), else Welch's.
    """
    base = summaries[summaries[by] == reference].set_index("replicate")
    rows = []
    for arm, group in summaries.groupby(by, sort=False):
        if arm == reference:
            continue
        other = group.set_index("replicate")
        for measure in measures:
            rows.append(
                {
                    by: arm,
                    "measure": measure,
                    **difference_interval(other[measure], base[measure], confidence, paired),
                }
            )
    return pd.DataFrame(rows)


def with_cost_per_unit(differences: pd.DataFrame, by: str) -> pd.DataFrame:
    """Add ``cost_per_unit``: each arm's extra TA dollars per unit gained of every other measure."""
    extra_cost = differences.pivot(index=by, columns="measure", values="difference")[
        "ta_cost_total"
    ]
    cost_per_unit = (differences[by].map(extra_cost) / differences["difference"]).where(
        ~differences["measure"].isin(COSTS)
    )
    return differences.assign(cost_per_unit=cost_per_unit)


def difference_interval(
    arm: pd.Series, reference: pd.Series, confidence: float, paired: bool
) -> dict:
    """Mean difference and its t interval, leaving out replicates where a value is undefined."""
    if paired:
        difference = (arm - reference).dropna()
        count, mean = len(difference), difference.mean()
        error, freedom = difference.std(ddof=1) / np.sqrt(count), count - 1
    else:
        arm, reference = arm.dropna(), reference.dropna()
        count, mean = min(len(arm), len(reference)), arm.mean() - reference.mean()
        result = stats.ttest_ind(arm, reference, equal_var=False)
        error, freedom = (
            np.sqrt(arm.var(ddof=1) / len(arm) + reference.var(ddof=1) / len(reference)),
            result.df,
        )
    half = stats.t.ppf(0.5 + confidence / 2, freedom) * error if count > 1 else np.nan
    return {"difference": mean, "low": mean - half, "high": mean + half, "replicates": count}


def compare_arms(table: pd.DataFrame, reference: str, paired: bool = True) -> pd.DataFrame:
    """What-if: each ``arm`` minus the reference on COMPARE_MEASURES, with the cost per unit gained.

    The table of ``tasim compare`` and of the dashboard's what-if page.
    """
    summaries = run_summaries(table, ["arm"])
    return with_cost_per_unit(
        paired_differences(summaries, "arm", reference, COMPARE_MEASURES, paired=paired), "arm"
    )


def plain_comparison(differences: pd.DataFrame, by: str = "arm") -> pd.DataFrame:
    """``compare_arms``' table as a page or a printed summary shows it: each measure in words
    with its unit, changes to three significant figures with their 95 % interval, and the extra
    TA dollars per unit gained only where the gain is distinguishable from none (a gain whose
    interval includes 0 would give a huge or meaningless ratio)."""
    rows = []
    for row in differences.to_dict("records"):
        name, unit, factor = COMPARED[row["measure"]]

        def shown(value, unit=unit):
            return money(value, sign=True) if unit == "$" else significant(value)

        low, high = factor * row["low"], factor * row["high"]
        gained = low > 0 and row["measure"] not in COSTS
        rows.append(
            {
                "Scenario": row[by],
                "Measure": name if unit == "$" else f"{name} ({unit})",
                "Change": shown(factor * row["difference"]),
                "95 % interval": f"{shown(low)} to {shown(high)}"
                if np.isfinite(low)
                else "n/a (one replicate)",
                "Extra TA cost per unit gained (undiscounted)": (
                    f"{money(row['cost_per_unit'] / factor)} per {PER.get(unit, 'point')}"
                    if gained
                    else "n/a"
                ),
            }
        )
    return pd.DataFrame(rows)


def sweep_means(summaries: pd.DataFrame, paths: list[str]) -> pd.DataFrame:
    """Per design point of a sweep (its ``point`` and varied ``paths``), SWEEP_MEASURES' means."""
    return summaries.groupby(["point", *paths])[SWEEP_MEASURES].mean().reset_index()
