"""Dose-response page for teaching: five lessons, then the full experiment.

Each lesson (``experiments.lessons``) is one figure with what to look for beside it and whether
studies observe it or it follows from the mechanisms; the minimum effective dose has the Hill
exponent as its control. Below, the full dose-response experiment: outcome against TA hours in
the lab, a Job (dashboards.jobs), one at a time, stopped when the page goes away.
"""

from __future__ import annotations

import tempfile
from html import escape
from pathlib import Path

import solara
import solara.lab

from dashboards.images import figure_png
from dashboards.jobs import Job, Report, job_controls, job_outcome, use_job
from experiments import lessons
from experiments.dose_response import (
    READINESS_LEVELS,
    dose_response_arms,
    dose_response_table,
    plot_dose_response,
)
from experiments.runner import Store, design, run_experiment
from sim import load_scenario

MONTHS = 60  # months per run
STORE_PREFIX = "tasim-dose-response-"  # the runs are kept in a temporary folder so named
DOSES = [0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 12.0, 16.0, 20.0, 30.0]
MECHANISMS = load_scenario("baseline").mechanisms  # the lessons' curves are the baseline's
GROUPS = (
    "Readiness groups: an organization's mean motivation and general capacity start at "
    + ", ".join(f"{value:g} ({level})" for level, value in READINESS_LEVELS.items())
    + ". Roles: a doer does the work for an organization, a partner with it, a facilitator "
    "helps it do the work itself."
)

by = solara.reactive("readiness")
withdraw = solara.reactive(36)
replicates = solara.reactive(2)
hill = solara.reactive(2.0)


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
def LessonCard(key: str, image: bytes):
    """One lesson: its figure, and beside it what to look for and how strong the evidence is."""
    lesson = lessons.LESSONS[key]
    with solara.Card(lesson.title), solara.Columns([3, 2]):
        solara.Image(image)
        with solara.Column():
            solara.HTML(
                tag="p", unsafe_innerHTML=f"<b>What to look for.</b> {escape(lesson.look_for)}"
            )
            solara.HTML(tag="p", unsafe_innerHTML=f"<b>Evidence.</b> {escape(lesson.evidence)}")


@solara.component
def Lessons():
    """The five lessons; the mechanism curves redraw at once, the dependence course is run once."""
    mp = MECHANISMS
    LessonCard("saturation", figure_png(lessons.saturation(mp)))
    LessonCard("gating", figure_png(lessons.gating(mp)))
    low, high, step = lessons.HILL_EXPONENTS
    solara.SliderFloat(
        f"Hill exponent of the minimum-effective-dose lesson: {hill.value:g} (the baseline's "
        f"is {mp.hill:g})",
        value=hill,
        min=low,
        max=high,
        step=step,
    )
    LessonCard("minimum_dose", figure_png(lessons.minimum_dose(mp, hill.value)))
    LessonCard("overload", figure_png(lessons.overload(mp)))
    LessonCard("dependence", solara.use_memo(lambda: figure_png(lessons.dependence()), []))


@solara.component
def Teaching():
    solara.Title("Dose-response")
    use_job(dose_response)
    solara.Text(GROUPS)
    Lessons()
    with solara.Card("The full experiment: outcomes against TA hours per organization per month"):
        solara.Text(
            f'Each curve runs the lab for {MONTHS} months at each dose; "final" is at month '
            f"{MONTHS}, {MONTHS - withdraw.value} months after TA is withdrawn at month "
            f"{withdraw.value}, and the dashed lines average over the whole run."
        )
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
