"""The teaching experiment: outcomes against TA hours per month, per readiness level or role.

A controlled set-up on the baseline (one provider group with hours and budget to spare,
every team approved at the start, universal policy, no pandemic) so the curves show the
mechanisms: saturation, readiness gating, a minimum effective dose, overload under heavy
doses and dependence after withdrawal. A no-TA arm (dose 0) is always included: gains are
measured against it.
"""

from __future__ import annotations

import pandas as pd
from matplotlib import rcParams
from matplotlib.figure import Figure

from experiments.errors import ArgumentError
from sim import Scenario, load_scenario
from sim import mechanisms as mech
from sim.params import ROLES

# initial mean motivation and general capacity
READINESS_LEVELS = {"low": 0.15, "medium": 0.45, "high": 0.75}
# capacity-equivalents lost per unit of overloaded share (teaching weight; assumption)
OVERLOAD_COST = 0.5
LAB_SCENARIO = "baseline"  # the scenario the lab is set up on
LAB_SETTINGS = {
    "system.n_teams": 15,
    "system.first_cohort_share": 1.0,
    "system.first_cohort_month": 0,
    "shocks.pandemic.enabled": False,
    "funder.policy": "universal",
    "funder.budget_per_month": 1e7,
}
# The one provider group of the lab, the scenario's first; its other groups are emptied. Each
# team is served by one provider of the group: 5 FTE each delivers about 25 h per
# organization-month to a team of average size, so doses up to 20+ are not rationed.
LAB_GROUP = {
    "count": 100,
    "fte": 5.0,
    "modality": "in_person",
    "caseload_limit": 400,
    "activity_mix.content": 0.1,
    "activity_mix.relationship": 0.8,
    "activity_mix.peer": 0.1,
}
CURVES = {  # one curve per readiness level or per provider role, in the order they are drawn
    "readiness": {level: {"readiness": value} for level, value in READINESS_LEVELS.items()},
    "role": {role: {"role": role} for role in ROLES},
}
# months over which the fidelity drop after withdrawal is measured (fewer if the run ends first)
AFTER_WITHDRAWAL = 6


def lab_overrides(scenario: Scenario) -> dict:
    """The lab as overrides of ``scenario``: its first provider group serves, the others are empty.

    Derived from the scenario's own provider groups, so a scenario with more or fewer of them
    gets the same lab.
    """
    return {
        **LAB_SETTINGS,
        **{f"providers.0.{key}": value for key, value in LAB_GROUP.items()},
        **{f"providers.{index}.count": 0 for index in range(1, len(scenario.providers))},
    }


LAB = lab_overrides(load_scenario(LAB_SCENARIO))  # the lab on the shipped baseline


def lab(
    dose: float,
    role: str = "facilitator",
    readiness: float = READINESS_LEVELS["medium"],
    withdraw: int = 0,
    months: int = 60,
    extra: dict | None = None,
    scenario: str = LAB_SCENARIO,
) -> dict:
    """Overrides of ``scenario`` for one point of the dose-response experiment.

    ``extra`` comes last, e.g. ``{"mechanisms.hill": 2}``.
    """
    point = {
        "months": months,
        "funder.dosage_hours": dose,
        "funder.withdraw_month": withdraw,
        "providers.0.role": role,
        "initial.motivation_mean": readiness,
        "initial.general_capacity_mean": readiness,
    }
    base = LAB if scenario == LAB_SCENARIO else lab_overrides(load_scenario(scenario))
    return {**base, **point, **(extra or {})}


def dose_response_arms(
    by: str,
    doses: list[float],
    withdraw: int,
    months: int,
    extra: dict | None = None,
    scenario: str = LAB_SCENARIO,
) -> list[tuple[str, dict, dict]]:
    """One arm per curve and dose, the no-TA dose 0 included, in the lab on ``scenario``."""
    if by not in CURVES:
        raise ArgumentError("by", "must be readiness or role", by)
    if not 0 <= withdraw < months:
        raise ArgumentError(
            "withdraw", f"must be 0 (never) or a month before the last of {months} months", withdraw
        )
    if any(dose < 0 for dose in doses):
        raise ArgumentError("doses", f"TA hours must be at least 0 (got {min(doses):g})")
    doses = sorted({0.0, *map(float, doses)})
    return [
        (
            scenario,
            lab(dose, withdraw=withdraw, months=months, extra=extra, scenario=scenario, **settings),
            {by: curve, "dose": dose},
        )
        for curve, settings in CURVES[by].items()
        for dose in doses
    ]


def run_outcomes(run: pd.DataFrame, withdraw: int) -> dict:
    """One run's outcomes for the curves, from its monthly series."""
    run = run.set_index("month")
    on = run.loc[1 : (withdraw - 1 if withdraw else run.index.max())]
    return {
        "delivered": (on["ta_hours"] / on["n_orgs"]).mean(),
        "final_adoption": run["adoption"].iloc[-1],
        "integrated_adoption": run["adoption"].mean(),
        "final_fidelity": run["mean_F"].iloc[-1],
        "integrated_fidelity": run["mean_F"].mean(),
        "fidelity_drop_after_withdrawal": run["mean_F"][withdraw - 1]
        - run["mean_F"][min(withdraw + AFTER_WITHDRAWAL, run.index.max())]
        if withdraw
        else float("nan"),
        "capacity_gain": run["mean_S"].iloc[-1] - run["mean_S"].iloc[0],
        "overloaded_share": run["overloaded_share"].mean(),
    }


def dose_response_runs(table: pd.DataFrame, by: str, withdraw: int) -> pd.DataFrame:
    """One row per run: its curve, dose, replicate, outcomes and net benefit.

    Net benefit as ``mechanisms.net_benefit`` defines it.
    """
    rows = [
        {
            by: curve,
            "dose": dose,
            "replicate": run["replicate"].iloc[0],
            **run_outcomes(run, withdraw),
        }
        for (curve, dose, _), run in table.groupby([by, "dose", "run_id"], sort=False)
    ]
    order = list(CURVES[by])
    runs = (
        pd.DataFrame(rows)
        .sort_values(
            [by, "dose", "replicate"],
            key=lambda column: column.map(order.index) if column.name == by else column,
        )
        .reset_index(drop=True)
    )
    runs["net_benefit"] = mech.net_benefit(
        runs["capacity_gain"], 1.0, runs["overloaded_share"], OVERLOAD_COST
    )
    return runs


def dose_response_table(table: pd.DataFrame, by: str, withdraw: int) -> pd.DataFrame:
    """Per curve and dose, means over replicates and the capacity gained per TA hour over no TA."""
    curves = (
        dose_response_runs(table, by, withdraw)
        .drop(columns="replicate")
        .groupby([by, "dose"], sort=False)
        .mean()
        .reset_index()
    )
    no_ta = curves[curves["dose"] == 0].set_index(by)["capacity_gain"]
    gain = curves["capacity_gain"] - curves[by].map(no_ta)
    curves["gain_per_hour"] = (gain / curves["delivered"]).where(curves["dose"] > 0)
    return curves.reset_index(drop=True)


PANELS = {
    "final_adoption": "adoption: final (solid) and time-averaged (dashed)",
    "final_fidelity": "fidelity: final (solid) and time-averaged (dashed)",
    "net_benefit": "net benefit: capacity gained - overload cost",
    "gain_per_hour": "capacity gained per TA hour, log scale (a rise: minimum effective dose)",
    "overloaded_share": "share of organizations overloaded",
    "fidelity_drop_after_withdrawal": (
        f"fidelity drop in the {AFTER_WITHDRAWAL} months after TA is withdrawn"
    ),
}
UNITS = {  # each panel's y-axis
    "final_adoption": "share of organizations",
    "final_fidelity": "mean fidelity (0-1)",
    "net_benefit": "capacity index (0-1)",
    "gain_per_hour": "capacity index per hour",
    "overloaded_share": "share of organizations",
    "fidelity_drop_after_withdrawal": "fall in mean fidelity (0-1)",
}
INTEGRATED = {"final_adoption": "integrated_adoption", "final_fidelity": "integrated_fidelity"}
# so the rise of the low-readiness curve is as visible as the fall of the others
LOG_SCALE = {"gain_per_hour"}


def plot_dose_response(curves: pd.DataFrame, by: str):
    """Six panels of outcome against the TA hours received, one colour per curve."""
    figure = Figure(figsize=(16, 8.5), layout="constrained")
    axes = figure.subplots(2, 3)
    for axis, (column, title) in zip(axes.ravel(), PANELS.items(), strict=True):
        for (curve, group), colour in zip(
            curves.groupby(by, sort=False),
            rcParams["axes.prop_cycle"].by_key()["color"],
            strict=False,
        ):
            axis.plot(group["delivered"], group[column], marker="o", color=colour, label=str(curve))
            if column in INTEGRATED:
                axis.plot(
                    group["delivered"], group[INTEGRATED[column]], linestyle="--", color=colour
                )
        axis.set(
            title=title,
            xlabel="TA hours received per organization-month",
            ylabel=UNITS[column],
            yscale="log" if column in LOG_SCALE else "linear",
        )
        axis.title.set_fontsize(10)
    axes[0, 0].legend(title=by)
    return figure
