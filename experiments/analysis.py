"""Reading experiment tables: per-run summaries, bands over replicates, paired differences with intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

BAND = (0.05, 0.95)  # a 90 % band over replicates
COMPARE_MEASURES = ["final_adoption", "final_fidelity", "admissions_avoided", "ta_cost_total"]


def run_summaries(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """One row per run: its labels and the per-run summary (``run_*`` columns, from sim.metrics.summary)."""
    columns = ["run_id", "replicate", *by, *[column for column in table.columns if column.startswith("run_")]]
    first = table.drop_duplicates("run_id")[list(dict.fromkeys(columns))]
    return first.rename(columns=lambda column: column.removeprefix("run_") if column != "run_id" else column).reset_index(drop=True)


def bands(table: pd.DataFrame, by: str, columns: list[str]) -> pd.DataFrame:
    """Mean and 90 % band of each column per group and month."""
    grouped = table.groupby([by, "month"])[columns]
    low, high = grouped.quantile(BAND[0]), grouped.quantile(BAND[1])
    return pd.concat({"mean": grouped.mean(), "low": low, "high": high}, axis=1).reset_index()


def paired_differences(summaries: pd.DataFrame, by: str, reference: str, measures: list[str], confidence: float = 0.95) -> pd.DataFrame:
    """Each arm minus the reference arm, paired by replicate (common random numbers), with t intervals."""
    base = summaries[summaries[by] == reference].set_index("replicate")
    rows = []
    for arm, group in summaries.groupby(by, sort=False):
        if arm == reference:
            continue
        paired = group.set_index("replicate")
        for measure in measures:
            difference = (paired[measure] - base[measure]).dropna()
            mean = difference.mean()
            half = stats.t.ppf(0.5 + confidence / 2, len(difference) - 1) * difference.std(ddof=1) / np.sqrt(len(difference)) if len(difference) > 1 else np.nan
            rows.append({by: arm, "measure": measure, "difference": mean, "low": mean - half, "high": mean + half, "replicates": len(difference)})
    return pd.DataFrame(rows)
