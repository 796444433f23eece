"""The levers a policymaker controls, as widgets whose ranges stay inside the allowed ranges."""

from __future__ import annotations

import inspect

from mesa.visualization import Slider

from sim import (
    ScenarioError,
    TransformationModel,
    list_scenarios,
    load_scenario,
    parameter_info,
    paths,
)
from sim.params import MODALITIES, PERIODICITIES, POLICIES, ROLES, Scenario

AS_SCENARIO = "as in scenario"


def slider(path: str, label: str, low: float, high: float, step: float) -> Slider:
    """A slider over [low, high], refused at import if that leaves the parameter's allowed range."""
    info = parameter_info(load_scenario("baseline"), path)
    if low < info.low or high > info.high:
        raise ValueError(
            f"{path}: slider [{low}, {high}] leaves the allowed range {info.range_text}"
        )
    dtype = int if isinstance(info.value, int) and not isinstance(info.value, bool) else float
    return Slider(label, value=info.value, min=low, max=high, step=step, dtype=dtype)


def select(label: str, values, value) -> dict:
    return {"type": "Select", "value": value, "values": list(values), "label": label}


def checkbox(path: str, label: str) -> dict:
    return {
        "type": "Checkbox",
        "value": parameter_info(load_scenario("baseline"), path).value,
        "label": label,
    }


LEVERS = {
    "scenario_name": select("Scenario", list_scenarios(), "baseline"),
    "rng": {
        "type": "SliderInt",
        "value": 1,
        "min": 0,
        "max": 999,
        "step": 1,
        "label": "Random seed",
    },
    "system__n_teams": slider("system.n_teams", "Teams (fewer: network view)", 5, 120, 1),
    "funder__budget_per_month": slider(
        "funder.budget_per_month", "TA budget ($/month)", 0, 500_000, 5_000
    ),
    "funder__policy": select("Allocation policy", POLICIES, "on_request"),
    "funder__dosage_hours": slider(
        "funder.dosage_hours", "Dosage (h/organization/month)", 0, 40, 0.5
    ),
    "funder__periodicity": select("Periodicity", PERIODICITIES, "monthly"),
    "provider_role": select("Provider role (all groups)", (AS_SCENARIO, *ROLES), AS_SCENARIO),
    "provider_modality": select("Modality (all groups)", (AS_SCENARIO, *MODALITIES), AS_SCENARIO),
    "funder__coordinated": checkbox("funder.coordinated", "Providers coordinated"),
    "shocks__pandemic__enabled": checkbox("shocks.pandemic.enabled", "Pandemic"),
    "shocks__pandemic__start_month": slider(
        "shocks.pandemic.start_month", "Pandemic starts (month)", 0, 120, 1
    ),
    "funder__withdraw_month": slider(
        "funder.withdraw_month", "TA withdrawn at month (0 = never)", 0, 120, 1
    ),
}


def scenario_from_levers(
    scenario_name: str, provider_role: str, provider_modality: str, overrides: dict
) -> Scenario:
    """The scenario the levers describe; a group-wide role or modality applies to every group."""
    base = load_scenario(scenario_name)
    for field, choice in (("role", provider_role), ("modality", provider_modality)):
        if choice != AS_SCENARIO:
            overrides = overrides | {
                f"providers__{index}__{field}": choice for index in range(len(base.providers))
            }
    return base.with_overrides({paths.from_keyword(key): value for key, value in overrides.items()})


class DashboardModel(TransformationModel):
    """The model as the live page builds it: from lever values, never failing on a bad combination.

    SolaraViz re-creates the model with the lever values as keywords. It reads the model's
    signature to decide what to pass, so the signature below names exactly the levers: with no
    catch-all keywords, SolaraViz passes no scenario of its own, and ``model.scenario`` is the
    one the levers describe. A combination the schema rejects keeps the scenario as shipped
    and shows the message.
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
        try:
            resolved = scenario_from_levers(
                scenario_name, provider_role, provider_modality, overrides
            )
        except ScenarioError as error:
            self.input_error = str(error)
            resolved = load_scenario(scenario_name)
        super().__init__(resolved, rng=int(rng))
        self.scenario_name = scenario_name


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
