"""Dose-response page for teaching: outcome against TA hours, what each shape means, its source.

The curves are a Job (dashboards.jobs): one at a time, stopped when the page goes away.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import solara
import solara.lab

from dashboards.images import figure_png
from dashboards.jobs import Job, Report, job_controls, job_outcome, use_job
from experiments.dose_response import dose_response_arms, dose_response_table, plot_dose_response
from experiments.runner import Store, design, run_experiment

MONTHS = 60  # months per run
STORE_PREFIX = "tasim-dose-response-"  # the runs are kept in a temporary folder so named
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


def curves(asked: tuple[str, int, int], report: Report) -> bytes:
    """Run the experiment for (by, withdraw, replicates), reporting progress: its figure (PNG)."""
    by_what, withdraw_at, count = asked
    arms = dose_response_arms(by_what, DOSES, withdraw_at, months=MONTHS)
    with tempfile.TemporaryDirectory(prefix=STORE_PREFIX) as folder:
        table = run_experiment(
            "dose-response",
            design(arms, count, months=MONTHS),
            Store(Path(folder)),
            progress=report,
            chunk_size=1,
        )
    return figure_png(plot_dose_response(dose_response_table(table, by_what, withdraw_at), by_what))


dose_response = Job(curves)


def draw_curves() -> None:
    dose_response.start((by.value, withdraw.value, replicates.value))


@solara.component
def Teaching():
    solara.Title("Dose-response")
    use_job(dose_response)
    with solara.Card("Dose-response: outcomes against TA hours per organization per month"):
        solara.ToggleButtonsSingle(value=by, values=["readiness", "role"])
        solara.SliderInt(
            f"TA withdrawn at month {withdraw.value}", value=withdraw, min=12, max=MONTHS - 1
        )
        solara.SliderInt(f"Replicates: {replicates.value}", value=replicates, min=1, max=10)
        job_controls(
            dose_response, start=draw_curves, idle="Draw the curves", busy="Drawing the curves"
        )
    job_outcome(
        dose_response,
        failed="The experiment could not run",
        stopped="The curves were stopped before they were finished.",
    )
    if dose_response.result is not None:
        solara.Image(dose_response.result)
    for title, text in CAPTIONS.items():
        with solara.Card(title):
            solara.Text(text)
