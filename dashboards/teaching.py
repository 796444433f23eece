"""Dose-response page for teaching: outcome against TA hours, what each shape means, its source."""

from __future__ import annotations

import tempfile
from pathlib import Path

import solara
import solara.lab

from dashboards.images import figure_png
from experiments.dose_response import dose_response_arms, dose_response_table, plot_dose_response
from experiments.runner import Store, design, run_experiment

DOSES = [0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 20.0, 30.0]
CAPTIONS = {
    "Saturation": (
        "More hours help less and less: an organization can absorb only so much support a "
        "month. Observed in studies (Gold 2019: support did not add up; Kilbourne 2015: large "
        "returns at very low doses)."
    ),
    "Readiness gating": (
        "Where motivation or general capacity is low, the same hours build little capacity "
        "(R = MC²). Observed: effects concentrate in engaged, ready users (Chinman 2013, "
        "Smith 2020)."
    ),
    "Minimum effective dose": (
        "With a Hill exponent above 1 (set mechanisms.hill), small doses do almost nothing, "
        "then the curve tips. Follows from the mechanisms; weakly supported by data."
    ),
    "Overload": (
        "TA costs staff time (about 0.8 recipient hours per TA hour, Ritchie 2020): heavy "
        "doses overload small, low-capacity organizations, so net benefit can fall. Follows "
        "from the mechanisms; not directly observed."
    ),
    "Dependence": (
        "A doer does the work: fidelity rises fast but drops when TA is withdrawn; a "
        "facilitator builds capacity slowly and it lasts. Observed in direction (Nastase 2021; "
        "Acosta 2020); the size is an assumption."
    ),
}

by = solara.reactive("readiness")
withdraw = solara.reactive(36)
replicates = solara.reactive(2)


@solara.lab.task
def run_dose_response():
    arms = dose_response_arms(by.value, DOSES, withdraw.value, months=60)
    with tempfile.TemporaryDirectory() as folder:
        table = run_experiment(
            "dose-response", design(arms, replicates.value, months=60), Store(Path(folder))
        )
    return figure_png(
        plot_dose_response(dose_response_table(table, by.value, withdraw.value), by.value)
    )


@solara.component
def Teaching():
    solara.Title("Dose-response")
    with solara.Card("Dose-response: outcomes against TA hours per organization per month"):
        solara.ToggleButtonsSingle(value=by, values=["readiness", "role"])
        solara.SliderInt("TA withdrawn at month", value=withdraw, min=12, max=59)
        solara.SliderInt("Replicates", value=replicates, min=1, max=10)
        solara.Button(
            "Draw the curves",
            on_click=run_dose_response,
            disabled=run_dose_response.pending,
            color="primary",
        )
        if run_dose_response.pending:
            solara.ProgressLinear(True)
    if run_dose_response.error:
        solara.Warning(f"The experiment could not run: {run_dose_response.exception}")
    if run_dose_response.finished and run_dose_response.value:
        solara.Image(run_dose_response.value)
    for title, text in CAPTIONS.items():
        with solara.Card(title):
            solara.Text(text)
