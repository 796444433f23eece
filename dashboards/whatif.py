"""What-if page: two to four scenarios side by side over replicates, run in the background.

Optionally over the calibrated posterior (replicate r at posterior draw r), as ``tasim compare
--posterior`` does; the analysis is the same, ``experiments.analysis.compare_arms``. The inputs
are checked before anything runs (``problem``), the comparison is a Job (one at a time, stopped
when the page goes away) and its result says what was run.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from html import escape
from pathlib import Path

import pandas as pd
import solara
import solara.lab

from dashboards.images import figure_png
from dashboards.jobs import Job, Report, job_controls, job_outcome, use_job
from dashboards.levers import is_parameter, say_name, say_value, shipped
from experiments.analysis import BAND_MEASURES, bands, compare_arms, plain_comparison
from experiments.economics import cost_effectiveness
from experiments.figures import plot_bands, plot_ceac
from experiments.posterior import SHIPPED_POSTERIOR, read_posterior, under_posterior
from experiments.provenance import code_version, model_version
from experiments.runner import DEFAULT_SEED, Store, design, run_experiment
from sim import Scenario, ScenarioError, list_scenarios, load_scenario, parameter_table

FEWEST, MOST = 2, 4  # scenarios compared at once
MONTHS = (12, 120, 12)  # the horizon slider: least, most, step
STORE_PREFIX = "tasim-what-if-"  # a comparison's runs are kept in a temporary folder so named

chosen = solara.reactive(["baseline", "hands_on"])
replicates = solara.reactive(8)
months = solara.reactive(120)
uncertain = solara.reactive(False)


@dataclass(frozen=True)
class Comparison:
    """What one comparison runs: the page's inputs when Run was pressed."""

    names: tuple[str, ...]
    replicates: int
    months: int
    uncertain: bool


@dataclass(frozen=True)
class Compared:
    """A finished comparison: what was run, its figure (PNG), its differences table, each arm's
    cost-effectiveness (with its summary in words) and the acceptability curves (PNG)."""

    asked: Comparison
    image: bytes
    differences: pd.DataFrame
    economics: pd.DataFrame
    ceac: bytes


def listed(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def scheduled_changes(scenario: Scenario) -> list[tuple[int, str]]:
    """(month, what) of each change a scenario schedules after its start, earliest first.

    Its events, the month all TA is withdrawn, the month a mandated policy starts to require TA
    and the month coordination starts (where it is on): what a horizon must reach for the
    scenario to differ from the one it is built on.
    """
    funder = scenario.funder
    changes = [
        (
            event.month,
            listed(
                [
                    f"{say_name(path, scenario)} becomes {say_value(path, value)}"
                    if is_parameter(scenario, path)
                    else f"the {path.replace('.', ' ').replace('_', ' ')} settings change"
                    for path, value in event.set.items()
                ]
            ),
        )
        for event in scenario.events
    ]
    if funder.withdraw_month > 0:
        changes.append((funder.withdraw_month, "all TA is withdrawn"))
    if funder.policy == "mandated" and funder.mandate_month > 0:
        changes.append((funder.mandate_month, "TA becomes required"))
    if funder.coordinated and funder.coordination_start > 0:
        changes.append((funder.coordination_start, "provider coordination starts"))
    return sorted(changes)


SHOWN_DIFFERENCES = 6  # settings a scenario card lists before "and N more"


def differences_from(scenario: Scenario, reference: Scenario) -> list[str]:
    """What ``scenario`` sets differently from ``reference`` at its start, in words: each
    changed setting with both values, each provider group added or dropped. Its scheduled
    changes are ``scheduled_changes``."""

    def table(of: Scenario) -> dict:
        return {
            row.path: row.value
            for row in parameter_table(of)
            if row.path not in ("name", "description") and not row.path.startswith("events")
        }

    mine, theirs = table(scenario), table(reference)
    said = []
    for path, value in mine.items():
        if path in theirs and theirs[path] != value and not path.startswith("providers."):
            said.append(
                f"{say_name(path, scenario)}: {say_value(path, value)} "
                f"(baseline: {say_value(path, theirs[path])})"
            )
    base_groups = {group.name: group.model_dump() for group in reference.providers}
    names = [group.name for group in scenario.providers]
    for group in scenario.providers:
        if group.name not in base_groups:
            said.append(f"adds the {group.name.replace('_', ' ')} provider group")
            continue
        base = base_groups[group.name]
        changed = [field for field, value in group.model_dump().items() if base[field] != value]
        if changed:
            fields = ", ".join(field.replace("_", " ") for field in changed)
            said.append(f"the {group.name.replace('_', ' ')} provider group differs in {fields}")
    said += [
        f"has no {name.replace('_', ' ')} provider group"
        for name in base_groups
        if name not in names
    ]
    return said


def problem(asked: Comparison) -> str | None:
    """Why the comparison should not run, in a sentence for the page; None if it may.

    Too few or too many scenarios, or a horizon that ends before a scenario's first scheduled
    change shows (a run of 24 months sees nothing of a change at month 24).
    """
    count = len(asked.names)
    if not FEWEST <= count <= MOST:
        return (
            f"Pick {FEWEST} to {MOST} scenarios to compare (now {count}): the first is the "
            "reference the others are measured against."
        )
    late = []
    for name in asked.names:
        try:
            changes = scheduled_changes(load_scenario(name))
        except ScenarioError as error:
            return f"Scenario {name} cannot be read: {error}"
        if changes and changes[0][0] >= asked.months:
            late.append((name, *changes[0]))
    if not late:
        return None
    needed = max(month for _, month, _ in late)
    enough = MONTHS[2] * math.ceil((needed + 1) / MONTHS[2])
    advice = (
        f"Choose at least {enough} months, or other scenarios."
        if enough <= MONTHS[1]
        else "No horizon on this page reaches that: choose other scenarios."
    )
    if len(late) == 1:
        ((name, month, what),) = late
        told = (
            f"{name}: its first change comes at month {month} ({what}) and until then it is the "
            "scenario it is built on, so the comparison would not show what it changes"
        )
    else:
        told = listed(
            [f"{name} (first change at month {month}: {what})" for name, month, what in late]
        )
        told += (
            ": until then each is the scenario it is built on, so the comparison would not "
            "show what they change"
        )
    return f"A {asked.months}-month run is too short for {told}. {advice}"


def compare(asked: Comparison, report: Report) -> Compared:
    """Run the comparison, reporting progress between runs: its figure and differences."""
    names = list(asked.names)
    specs = design(
        [(name, {}, {"arm": name}) for name in names], asked.replicates, months=asked.months
    )
    if asked.uncertain:
        specs = under_posterior(specs, read_posterior(SHIPPED_POSTERIOR))
    with tempfile.TemporaryDirectory(prefix=STORE_PREFIX) as folder:
        table = run_experiment("what-if", specs, Store(Path(folder)), progress=report, chunk_size=1)
    figure = plot_bands(bands(table, "arm", BAND_MEASURES), reference=names[0], arms=names)
    economics, curves = cost_effectiveness(table, names[0])
    return Compared(
        asked,
        figure_png(figure),
        compare_arms(table, names[0]),
        economics,
        figure_png(plot_ceac(curves)),
    )


comparison = Job(compare)


def run_comparison() -> None:
    asked = Comparison(tuple(chosen.value), replicates.value, months.value, uncertain.value)
    comparison.start(asked, problem=problem(asked))


@solara.component
def WhatIf():
    solara.Title("What-if")
    use_job(comparison)
    with solara.Card("Compare scenarios"):
        solara.SelectMultiple(
            f"Scenarios ({FEWEST} to {MOST}; the first is the reference)",
            all_values=list_scenarios(),
            values=chosen,
        )
        solara.SliderInt(f"Replicates: {replicates.value}", value=replicates, min=2, max=40)
        solara.SliderInt(
            f"Months: {months.value}", value=months, min=MONTHS[0], max=MONTHS[1], step=MONTHS[2]
        )
        solara.Checkbox(
            label="Include parameter uncertainty "
            "(each replicate draws its parameters from the calibrated posterior)",
            value=uncertain,
        )
        job_controls(
            comparison, start=run_comparison, idle="Run comparison", busy="Running comparison"
        )
    ScenarioCards(tuple(chosen.value))
    job_outcome(
        comparison,
        failed="The comparison could not run",
        stopped="The comparison was stopped before it finished.",
    )
    result = comparison.result
    if result is not None:
        Result(result)


def with_settings(table: pd.DataFrame, asked: Comparison) -> str:
    """A table as a CSV download that says how it was made: the comparison's settings (its
    scenarios, replicates, months, seed, parameter uncertainty) and the code and model versions,
    on every row, so a file read alone still carries them."""
    return table.assign(
        reference=asked.names[0],
        scenarios=" ".join(asked.names),
        replicates=asked.replicates,
        months=asked.months,
        seed=DEFAULT_SEED,
        parameter_uncertainty=asked.uncertain,
        code_version=code_version(),
        model_version=model_version(),
    ).to_csv(index=False)


def card_html(name: str) -> str:
    """One scenario in words: its description, what it sets differently from the baseline at
    its start and what it changes later, and when."""
    scenario = shipped(name)
    items = [] if name == "baseline" else differences_from(scenario, shipped("baseline"))
    more = len(items) - SHOWN_DIFFERENCES
    shown = items[:SHOWN_DIFFERENCES] + ([f"and {more} more"] if more > 0 else [])
    parts = [f"<p><i>{escape(scenario.description)}</i></p>"]
    if name == "baseline":
        parts.append("<p>The shipped default every other scenario is built on.</p>")
    elif shown:
        parts.append("<p>Differs from the baseline:</p><ul>")
        parts += [f"<li>{escape(item)}</li>" for item in shown]
        parts.append("</ul>")
    if changes := scheduled_changes(scenario):
        parts.append("<p>Later:</p><ul>")
        parts += [f"<li>month {month}: {escape(what)}</li>" for month, what in changes]
        parts.append("</ul>")
    return "".join(parts)


def card_or_why(name: str) -> str:
    """``card_html``, or why a scenario cannot be told, or its description alone where its
    settings are of a kind the words do not cover yet."""
    try:
        return card_html(name)
    except ScenarioError as error:
        return f"<p>Cannot be read: {escape(str(error))}</p>"
    except (TypeError, ValueError, KeyError):
        return f"<p><i>{escape(shipped(name).description)}</i></p>"


@solara.component
def ScenarioCards(names: tuple[str, ...]):
    """A card per chosen scenario (``card_html``), so what is compared is said before it runs;
    worked out when the choice changes, not on every redraw of the page (a running comparison
    redraws it with each run's progress)."""
    texts = solara.use_memo(lambda: [card_or_why(name) for name in names], [names])
    with solara.Row(style={"flex-wrap": "wrap", "align-items": "stretch"}):
        for name, text in zip(names, texts, strict=True):
            with solara.Card(name, style={"width": "330px"}):
                solara.HTML(tag="div", unsafe_innerHTML=text)


@solara.component
def Result(result: Compared):
    """The comparison's summary in words first (the same sentences ``tasim compare`` prints),
    then the trajectories, the table of changes and the acceptability curves."""
    asked = result.asked
    spread = (
        "paired replicates, each at its own posterior draw"
        if asked.uncertain
        else "paired replicates"
    )
    with solara.Card("In short"):
        # plain HTML: solara.Markdown would fetch KaTeX from a CDN the page may not reach
        solara.HTML(
            tag="ul",
            unsafe_innerHTML="".join(
                f"<li>{escape(sentence)}</li>" for sentence in result.economics["summary"]
            ),
        )
    solara.Image(result.image)
    solara.Text(
        f"{', '.join(asked.names)} over {asked.months} months, {asked.replicates} replicates. "
        f"Each scenario minus {asked.names[0]} (the reference, dashed): mean change and 95 % "
        f"interval over {spread}. The extra TA cost per unit gained is shown only where the "
        "gain is distinguishable from none. The shaded bands of the chart hold 90 % of the "
        "simulated runs (what one run may look like); the table's 95 % intervals are for the "
        "mean difference (how sure the comparison is): more replicates narrow the intervals, "
        "not the bands, and parameter uncertainty widens the bands, while pairing keeps the "
        "intervals of the differences narrow."
    )
    solara.DataFrame(plain_comparison(result.differences))
    solara.Image(result.ceac)
    solara.Text(
        "Probability that each scenario is cost-effective against the reference, over the "
        "willingness to pay for an avoided admission: the share of paired replicates whose "
        "admissions avoided are worth more than their extra cost (TA, staff time and set-up "
        "less savings, discounted)."
    )
    with solara.Row():
        solara.FileDownload(result.image, filename="what-if.png", label="Download figure (PNG)")
        solara.FileDownload(
            with_settings(result.differences, asked),
            filename="what-if.csv",
            label="Download differences (CSV)",
        )
        solara.FileDownload(
            with_settings(result.economics, asked),
            filename="cost-effectiveness.csv",
            label="Download cost-effectiveness (CSV)",
        )
