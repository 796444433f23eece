"""The levers a policymaker controls, set from the chosen scenario and kept inside allowed ranges.

Picking a scenario sets every lever to *that* scenario's value (``scenario_levers``), and the
model applies as an override only a lever whose value differs from the scenario's
(``lever_changes``): a lever left where it was never overwrites the setting that defines the
scenario (``coordinated`` stays coordinated, ``withdraw_at_24`` still withdraws). The model
keeps what it changed, so the page can say which levers differ from the scenario and what the
scenario's scheduled changes will do, and when (``lever_notes``, ``schedule_notes``).

A finished run (``running`` is False after the scenario's last month) does not step on.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import cache
from typing import Any

from mesa.visualization import Slider

from sim import (
    ScenarioError,
    TransformationModel,
    events,
    list_scenarios,
    load_scenario,
    parameter_info,
    paths,
)
from sim.params import (
    GRADUATIONS,
    MODALITIES,
    PERIODICITIES,
    PHASINGS,
    POLICIES,
    ROLES,
    Scenario,
)

AS_SCENARIO = "as in scenario"
GROUP_WIDE = {"provider_role": "role", "provider_modality": "modality"}  # lever -> group field
SCENARIOS = list_scenarios()


@cache
def shipped(name: str) -> Scenario:
    """A shipped scenario as it is read from its file (read once; never changed in place)."""
    return load_scenario(name)


# ------------------------------------------------------------------ the levers


@dataclass(frozen=True)
class Lever:
    """One scenario parameter as a widget: a slider over [low, high], a choice or a checkbox."""

    path: str
    label: str  # on the widget
    name: str  # in a sentence: "TA budget", "dosage"
    low: float | None = None
    high: float | None = None
    step: float | None = None
    values: tuple[str, ...] = ()

    def widget(self, scenario: Scenario) -> Slider | dict:
        value = paths.get(scenario, self.path)
        if self.values:
            return {
                "type": "Select",
                "value": value,
                "values": list(self.values),
                "label": self.label,
            }
        if isinstance(value, bool):
            return {"type": "Checkbox", "value": value, "label": self.label}
        dtype = int if isinstance(value, int) else float
        # a scenario may sit outside the usual slider range (never outside the allowed range)
        low, high = min(self.low, value), max(self.high, value)
        return Slider(self.label, value=value, min=low, max=high, step=self.step, dtype=dtype)


SCENARIO_LEVERS = (
    Lever("system.n_teams", "Teams (fewer: network view)", "teams", 5, 120, 1),
    Lever("months", "Months to simulate", "months simulated", 12, 240, 6),
    Lever("funder.budget_per_month", "TA budget ($/month)", "TA budget", 0, 500_000, 5_000),
    Lever("funder.policy", "Allocation policy", "allocation policy", values=POLICIES),
    Lever("funder.dosage_hours", "Dosage (h/organization/month)", "dosage", 0, 40, 0.5),
    Lever("funder.periodicity", "Periodicity", "periodicity", values=PERIODICITIES),
    Lever("funder.coordinated", "Providers coordinated", "provider coordination"),
    Lever("shocks.pandemic.enabled", "Pandemic", "pandemic"),
    Lever("shocks.pandemic.start_month", "Pandemic starts (month)", "pandemic start", 0, 120, 1),
    Lever("funder.withdraw_month", "TA withdrawn at month (0 = never)", "TA withdrawal", 0, 120, 1),
    Lever("funder.graduation", "Who graduates from TA", "graduation", values=GRADUATIONS),
    Lever("funder.taper_months", "TA fades out over (months)", "tapering", 0, 36, 1),
    Lever("funder.phasing", "Support phases", "support phasing", values=PHASINGS),
)
BY_PATH = {lever.path: lever for lever in SCENARIO_LEVERS}


def _check_slider_ranges() -> None:
    """Refuse at import a slider whose range leaves its parameter's allowed range."""
    for lever in SCENARIO_LEVERS:
        info = parameter_info(shipped("baseline"), lever.path)
        if lever.low is not None and (lever.low < info.low or lever.high > info.high):
            raise ValueError(
                f"{lever.path}: slider [{lever.low}, {lever.high}] leaves the allowed range "
                f"{info.range_text}"
            )


_check_slider_ranges()


def _select(label: str, values) -> dict:
    return {
        "type": "Select",
        "value": AS_SCENARIO,
        "values": [AS_SCENARIO, *values],
        "label": label,
    }


GROUP_WIDE_LEVERS = {
    "provider_role": _select("Provider role (all groups)", ROLES),
    "provider_modality": _select("Modality (all groups)", MODALITIES),
}
ORDER = (  # as the levers appear on the page
    "system.n_teams",
    "months",
    "funder.budget_per_month",
    "funder.policy",
    "funder.dosage_hours",
    "funder.periodicity",
    "provider_role",
    "provider_modality",
    "funder.coordinated",
    "shocks.pandemic.enabled",
    "shocks.pandemic.start_month",
    "funder.withdraw_month",
    "funder.graduation",
    "funder.taper_months",
    "funder.phasing",
)


def _widget(key: str, scenario: Scenario) -> tuple[str, Slider | dict]:
    if key in GROUP_WIDE_LEVERS:
        return key, dict(GROUP_WIDE_LEVERS[key])
    return paths.to_keyword(key), BY_PATH[key].widget(scenario)


def scenario_levers(scenario_name: str = "baseline", seed: int = 1) -> dict:
    """Mesa's ``model_params`` for a scenario: every lever at that scenario's value.

    The scenario's name is a fixed parameter (the page picks the scenario, see ``live.py``);
    the seed is no scenario setting and is carried over from the run before.
    """
    scenario = shipped(scenario_name)
    seed_slider = {
        "type": "SliderInt",
        "value": seed,
        "min": 0,
        "max": 999,
        "step": 1,
        "label": "Random seed",
    }
    return {
        "scenario_name": scenario_name,
        "rng": seed_slider,
        **dict(_widget(key, scenario) for key in ORDER),
    }


LEVERS = scenario_levers("baseline")


def lever_values(levers: dict) -> dict:
    """What Reset sends for ``levers`` before any is moved: each widget's value."""
    return {
        key: widget.value
        if isinstance(widget, Slider)
        else widget["value"]
        if isinstance(widget, dict)
        else widget
        for key, widget in levers.items()
    }


def number(value: float) -> str:
    """A value as a page shows it: ``60,000``, ``3.5``, ``1,000,000``, ``0.3`` (never
    ``0.30000000000000004`` or ``1e+06``)."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{float(f'{value:.6g}'):,.6f}".rstrip("0").rstrip(".")


def is_slider(widget: Slider | dict) -> bool:
    """Whether a lever's widget is a slider (Mesa's ``Slider``, or the seed's ``SliderInt``)."""
    return isinstance(widget, Slider) or widget.get("type") == "SliderInt"


def shown_value(key: str, widget: Slider | dict, value) -> str | None:
    """What the page writes under a lever: a slider's value (``60,000``; a slider alone shows
    it only in a bubble while dragged, which clips long numbers, "100000" as "0000("), what the
    chosen option of a choice means, None for a checkbox or a choice that says it all."""
    if is_slider(widget):
        return number(value)
    meaning = CHOICE_WORDS.get(paths.from_keyword(key), {}).get(value)
    return f"TA {meaning}" if paths.from_keyword(key) == "funder.policy" else meaning


def lever_changes(
    scenario: Scenario,
    provider_role: str = AS_SCENARIO,
    provider_modality: str = AS_SCENARIO,
    levers: dict | None = None,
) -> dict[str, Any]:
    """The dotted-path overrides the levers make: only values that differ from ``scenario``.

    ``levers`` are keyword-spelled parameters (``funder__budget_per_month``); None means "as in
    the scenario". A group-wide role or modality changes each group that has another one.
    """
    changes = {}
    for key, value in (levers or {}).items():
        path = paths.from_keyword(key)
        if value is not None and value != paths.get(scenario, path):
            changes[path] = value
    for lever, field in GROUP_WIDE.items():
        choice = {"provider_role": provider_role, "provider_modality": provider_modality}[lever]
        if choice in (None, AS_SCENARIO):
            continue
        for index, group in enumerate(scenario.providers):
            if getattr(group, field) != choice:
                changes[f"providers.{index}.{field}"] = choice
    return changes


class DashboardModel(TransformationModel):
    """The model as the live page builds it: from lever values, never failing on a bad combination.

    Reset re-creates the model with every lever's value as a keyword. Mesa's SolaraViz reads the
    model's signature to decide what to pass, so the signature below names exactly the levers:
    with no catch-all keywords it passes no scenario of its own, and ``model.scenario`` is the
    one the levers describe. Only a lever that differs from the scenario is applied
    (``changes``); a combination the schema rejects keeps the scenario as shipped and shows the
    message.
    """

    def __init__(
        self,
        scenario_name: str = "baseline",
        rng=1,
        provider_role: str = AS_SCENARIO,
        provider_modality: str = AS_SCENARIO,
        **overrides,
    ):
        self.input_error = None
        self.shipped = shipped(scenario_name)
        self.group_wide = {"role": provider_role, "modality": provider_modality}
        try:
            self.changes = lever_changes(self.shipped, provider_role, provider_modality, overrides)
            resolved = self.shipped.with_overrides(self.changes)
        except ScenarioError as error:
            self.input_error = str(error)
            self.changes = {}
            resolved = self.shipped
        super().__init__(resolved, rng=int(rng))
        self.planned = resolved  # the run's scenario before any scheduled change
        self.scenario_name = scenario_name
        self.seed = int(rng)
        self._month = self.step  # Mesa's step: its clock, then the model's month
        self.step = self._step_while_running

    def _step_while_running(self) -> None:
        """A month, unless the run is over: a finished run stays at its last month."""
        if self.running:
            self._month()


def _lever_signature(init) -> inspect.Signature:
    """``DashboardModel.__init__``'s signature with each lever keyword named, and no ``**``."""
    named = [p for p in inspect.signature(init).parameters.values() if p.kind != p.VAR_KEYWORD]
    levers = [
        inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=None)
        for key in LEVERS
        if key not in {p.name for p in named}
    ]
    return inspect.Signature([*named, *levers])


DashboardModel.__init__.__signature__ = _lever_signature(DashboardModel.__init__)


# ------------------------------------------------------------------ the page's words

POLICY_WORDS = {
    "universal": "offered to all, in random order",
    "on_request": "on request",
    "need": "offered to all, lowest capacity first",
    "readiness": "offered to all, most ready first",
    "cohort": "offered to all, newest cohort first",
    "mandated": "on request, then required from the mandate month",
}
# what each option of a choice lever means, written under it on the live page
CHOICE_WORDS = {
    "funder.policy": POLICY_WORDS,
    "funder.graduation": {
        "none": "No one graduates: TA goes on while it is taken up.",
        "organization": "Each organization graduates on reaching sustaining.",
        "team": "A whole team graduates once enough of its members implement or sustain.",
    },
    "funder.phasing": {
        "fixed": "Each provider group keeps its own mix of content, coaching and peer work.",
        "responsive": (
            "Each team's support moves from foundational work to capacity building to fading "
            "as its members progress, and back if they slip."
        ),
    },
}


def say_value(path: str, value: Any, short: bool = False) -> str:
    """A parameter value in words: "$160,000 a month", "6 h per organization per month".

    ``short`` leaves out the "a month" and "per organization per month" a sentence already has.
    """
    if isinstance(value, bool):
        return "on" if value else "off"
    if path == "funder.policy":
        return POLICY_WORDS.get(value, value)
    if path == "funder.withdraw_month":
        return "never" if value == 0 else f"month {value}"
    if isinstance(value, list | tuple):
        return ", ".join(say_value(path, item, short=True) for item in value)
    info = parameter_info(shipped("baseline"), _schema_path(path))
    unit = info.unit
    if value == 0 and "0 = never" in info.meaning:
        return "never"
    if unit == "$/month":
        return f"${value:,.0f}" + ("" if short else " a month")
    if unit == "h/org/month":
        return f"{value:g} h" + ("" if short else " per organization per month")
    if unit == "month":
        return f"month {value}"
    if isinstance(value, str):
        return value.replace("_", " ")
    shown = f"{value:,}" if isinstance(value, int) else number(float(f"{value:.3g}"))
    return shown if short or unit in ("", "choice", "providers") else f"{shown} {unit}"


def _schema_path(path: str) -> str:
    """A path the baseline also has (``providers.3.count`` -> ``providers.0.count``)."""
    parts = path.split(".")
    if parts[0] == "providers" and len(parts) > 2:
        parts[1] = "0"
    return ".".join(parts)


def say_name(path: str, scenario: Scenario) -> str:
    """A parameter's name in a sentence: "TA budget", "the team coaching group's role"."""
    if path in BY_PATH:
        return BY_PATH[path].name
    if group := _group(path, scenario):
        return f"the {group} group's {path.rsplit('.', 1)[1].replace('_', ' ')}"
    return parameter_info(shipped("baseline"), _schema_path(path)).meaning


def _group(path: str, scenario: Scenario) -> str | None:
    """The provider group a ``providers.<i>.<field>`` path belongs to, in words."""
    parts = path.split(".")
    index = int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else len(scenario.providers)
    if parts[0] != "providers" or index >= len(scenario.providers):
        return None
    return scenario.providers[index].name.replace("_", " ")


def say_change(path: str, before: Any, after: Any, scenario: Scenario) -> str:
    """One scheduled change: "TA budget becomes $160,000 a month (was $60,000)"."""
    if path.endswith(".count") and (group := _group(path, scenario)):
        return f"the {group} group has {after:,} providers (was {before:,})"
    if isinstance(after, bool):
        return f"{say_name(path, scenario)} is switched {say_value(path, after)}"
    return (
        f"{say_name(path, scenario)} becomes {say_value(path, after)} "
        f"(was {say_value(path, before, short=True)})"
    )


def lever_notes(model: DashboardModel) -> list[str]:
    """Each lever that differs from the scenario, in words, with the scenario's own value."""
    scenario, notes, told = model.shipped, [], set()
    for field, choice in model.group_wide.items():
        set_here = [
            path for path in model.changes if _group(path, scenario) and path.endswith(field)
        ]
        if set_here:
            told.update(set_here)
            own = sorted({getattr(group, field) for group in scenario.providers})
            notes.append(f"Provider {field}: {choice} for every group (scenario: {_and(own)})")
    for path, value in model.changes.items():
        if path not in told:
            notes.append(
                f"{_capital(say_name(path, scenario))}: {say_value(path, value)} "
                f"(scenario: {say_value(path, paths.get(scenario, path), short=True)})"
            )
    return notes


@dataclass(frozen=True)
class ScheduledNote:
    month: int
    text: str  # "Month 24: dosage becomes 6 h per organization per month (from 3 h ...); ..."
    replaces: str  # "" or a sentence naming the levers this month's changes overwrite


def schedule_notes(model: DashboardModel) -> list[ScheduledNote]:
    """The scenario's scheduled changes, month by month, in words, from this run's own values.

    Each change says what it replaces ("from $60,000 a month"), and a change to a parameter a
    lever moved says so: the scenario's schedule wins from that month on.
    """
    scenario, notes = model.planned, []
    for month in sorted({event.month for event in scenario.events}):
        changes = events.changes_due(scenario.events, month)
        parts = [
            say_change(path, paths.get(scenario, path), value, scenario)
            if is_parameter(scenario, path)
            else f"{say_name(path, scenario)} change"
            for path, value in changes.items()
        ]
        moved = [
            path
            for path in model.changes
            if any(path == key or path.startswith(f"{key}.") for key in changes)
        ]
        replaces = (
            f"From month {month} this overrides the "
            f"{_and([say_name(path, scenario) for path in moved])} you set."
            if moved
            else ""
        )
        notes.append(ScheduledNote(month, f"Month {month}: {'; '.join(parts)}.", replaces))
        scenario = events.apply_changes(scenario, changes)
    return notes


def run_settings(model: DashboardModel) -> str:
    """What this run does now, in one line: the settings that tell the scenarios apart.

    Read from the running model (its funder and its current scenario), so a scheduled change
    shows from its month on.
    """
    scenario, funder = model.scenario, model.funder
    pandemic = scenario.shocks.pandemic
    coordinated = "providers coordinated" if funder.coordinated else "providers not coordinated"
    if funder.coordinated and scenario.funder.coordination_start > 0:
        coordinated += f" from month {scenario.funder.coordination_start}"
    policy = say_value("funder.policy", scenario.funder.policy)
    if scenario.funder.policy == "mandated":
        policy = f"on request, then required from month {scenario.funder.mandate_month}"
    withdraw = scenario.funder.withdraw_month
    return " · ".join(
        [
            f"TA budget ${funder.budget:,.0f} a month",
            f"TA {policy}",
            f"{scenario.funder.dosage_hours:g} h per organization per month, "
            f"{scenario.funder.periodicity}",
            coordinated,
            f"pandemic from month {pandemic.start_month} for {pandemic.duration} months"
            if pandemic.enabled
            else "no pandemic",
            f"TA withdrawn at month {withdraw}" if withdraw else "TA never withdrawn",
        ]
    )


def is_parameter(scenario: Scenario, path: str) -> bool:
    """Whether ``path`` names one parameter of ``scenario`` (not a section or a group)."""
    try:
        parameter_info(scenario, path)
    except ScenarioError:
        return False
    return True


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
