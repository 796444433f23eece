"""What-if page: two to four scenarios side by side over replicates, run in the background.

Optionally over the calibrated posterior (replicate r at posterior draw r), as ``tasim compare
--posterior`` does; the analysis is the same, ``experiments.analysis.compare_arms``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import solara
import solara.lab

from dashboards.images import figure_png
from experiments.analysis import BAND_MEASURES, bands, compare_arms
from experiments.figures import plot_bands
from experiments.posterior import SHIPPED_POSTERIOR, read_posterior, under_posterior
from experiments.runner import Store, design, run_experiment
from sim import list_scenarios

chosen = solara.reactive(["baseline", "hands_on"])
replicates = solara.reactive(8)
months = solara.reactive(120)
progress = solara.reactive(0.0)
uncertain = solara.reactive(False)


@solara.lab.task
def compare_scenarios():
    """Run the comparison in a background thread, reporting progress: (figure PNG, differences)."""
    names = list(chosen.value)
    if not 2 <= len(names) <= 4:
        raise ValueError("pick two to four scenarios")
    specs = design(
        [(name, {}, {"arm": name}) for name in names], replicates.value, months=months.value
    )
    if uncertain.value:
        specs = under_posterior(specs, read_posterior(SHIPPED_POSTERIOR))
    with tempfile.TemporaryDirectory() as folder:
        table = run_experiment(
            "what-if",
            specs,
            Store(Path(folder)),
            progress=lambda done, total: progress.set(done / total),
        )
    return figure_png(plot_bands(bands(table, "arm", BAND_MEASURES))), compare_arms(table, names[0])


@solara.component
def WhatIf():
    solara.Title("What-if")
    with solara.Card("Compare scenarios"):
        solara.SelectMultiple(
            "Scenarios (the first is the reference)", all_values=list_scenarios(), values=chosen
        )
        solara.SliderInt("Replicates", value=replicates, min=2, max=40)
        solara.SliderInt("Months", value=months, min=12, max=120, step=12)
        solara.Checkbox(
            label="Include parameter uncertainty "
            "(each replicate draws its parameters from the calibrated posterior)",
            value=uncertain,
        )
        solara.Button(
            "Run comparison",
            on_click=compare_scenarios,
            disabled=compare_scenarios.pending,
            color="primary",
        )
        if compare_scenarios.pending:
            solara.ProgressLinear(value=100 * progress.value)
            solara.Text(f"running: {progress.value:.0%}")
    if compare_scenarios.error:
        solara.Warning(f"The comparison could not run: {compare_scenarios.exception}")
    if compare_scenarios.finished and compare_scenarios.value:
        image, differences = compare_scenarios.value
        solara.Image(image)
        spread = (
            "paired replicates, each at its own posterior draw"
            if uncertain.value
            else "paired replicates"
        )
        solara.Text(
            f"Each scenario minus {chosen.value[0]}: mean difference and 95 % interval over "
            f"{spread}; cost_per_unit = extra TA $ per unit gained."
        )
        solara.DataFrame(differences.round(4))
        with solara.Row():
            solara.FileDownload(image, filename="what-if.png", label="Download figure (PNG)")
            solara.FileDownload(
                differences.to_csv(index=False),
                filename="what-if.csv",
                label="Download differences (CSV)",
            )
