"""Five lessons on TA dose-response for a lecturer, each one figure drawn from the model.

Four come straight from the mechanisms (``sim.mechanisms``), so they redraw at once when a
control moves: saturation, readiness gating, the minimum effective dose (with the Hill
exponent as the control) and overload. The fifth, dependence, needs the whole model: doer and
facilitator fidelity month by month in the dose-response lab, around the month TA is
withdrawn. Each lesson says what to look for and whether studies observe it or it follows from
the mechanisms.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from experiments.dose_response import OVERLOAD_COST, READINESS_LEVELS, lab
from sim import load_scenario, simulate
from sim import mechanisms as mech
from sim.params import MechanismParams

DOSES = np.linspace(0.0, 30.0, 121)  # TA hours per organization-month
HILL_EXPONENTS = (1.0, 3.0, 0.5)  # the control's least, most and step
# Hours a month an organization's staff have for change work: a small, stretched organization
# and a larger one (teaching values, assumption), against which TA's recipient time counts.
CHANGE_HOURS = {"small, stretched (10 h a month for change)": 10.0, "larger (40 h)": 40.0}
DEPENDENCE = {"dose": 8.0, "withdraw": 24, "months": 48, "seeds": (1, 2, 3)}
READINESS_WORDS = {  # the groups, defined where they are drawn
    "low": "low readiness (motivation and general capacity 0.15)",
    "medium": "medium readiness (0.45)",
    "high": "high readiness (0.75)",
}


@dataclass(frozen=True)
class Lesson:
    title: str
    look_for: str  # what a student should see in the figure
    evidence: str  # observed in studies, or follows from the mechanisms


LESSONS = {
    "saturation": Lesson(
        "Saturation",
        "Past the first couple of hours what is absorbed levels off: each further hour adds "
        "less, and an organization with more general capacity absorbs more of the same hours.",
        "Observed in studies (Gold 2019: support did not add up; Kilbourne 2015: large returns "
        "at very low doses).",
    ),
    "gating": Lesson(
        "Readiness gating",
        "The same hours build several times more capacity in a ready organization than in an "
        "unready one: readiness, not hours, is what limits the unready.",
        "Observed: effects concentrate in engaged, ready users (Chinman 2013, Smith 2020); "
        "R = MC² (Scaccia 2015).",
    ),
    "minimum_dose": Lesson(
        "Minimum effective dose",
        "With a Hill exponent of 1 the first hour is the most productive. Above 1, a few hours "
        "do almost nothing and the curve tips only past a threshold: spreading a budget thin "
        "can buy nothing.",
        "Follows from the mechanisms; weakly supported by data (anchor-ta-evidence.md 6.5).",
    ),
    "overload": Lesson(
        "Overload",
        "Each TA hour costs the recipients' staff about 0.8 hours. For a small, stretched "
        "organization the net benefit peaks once its change hours are used up and then falls: "
        "more TA makes things worse. A larger one has room for it.",
        "Follows from the mechanisms (Ritchie 2020 for the staff time; Repenning and Sterman "
        "for overload); not directly observed. The change hours (10 and 40 a month) and the "
        "weight of overload are teaching values, assumptions.",
    ),
    "dependence": Lesson(
        "Dependence",
        "A doer does the work, so fidelity rises early; when TA is withdrawn (dashed line) the "
        "doer's share of the work goes with it and fidelity drops. A facilitator builds the "
        "capacity to do it, so what is built mostly stays.",
        "Observed in direction (Nastase 2021; Acosta 2020); the size is an assumption.",
    ),
}


def saturation(mechanisms: MechanismParams) -> Figure:
    """Absorbed share of TA against hours, at three levels of general capacity."""
    figure, axis = _figure()
    for level, value in READINESS_LEVELS.items():
        absorbed = mech.absorption(
            DOSES,
            general_capacity=value,
            half_saturation=mechanisms.half_saturation,
            hill=mechanisms.hill,
        )
        axis.plot(DOSES, absorbed, label=f"general capacity {value:g} ({level})")
    axis.set(ylabel="TA absorbed (share of the most that can be)", ylim=(0, 1))
    return _finish(figure, axis, "More hours, less and less absorbed")


def gating(mechanisms: MechanismParams) -> Figure:
    """Capacity built a month (relative) against hours, at three levels of readiness."""
    figure, axis = _figure()
    for level, value in READINESS_LEVELS.items():
        built = mech.capacity_gate(motivation=value, general_capacity=value) * mech.absorption(
            DOSES,
            general_capacity=value,
            half_saturation=mechanisms.half_saturation,
            hill=mechanisms.hill,
        )
        axis.plot(DOSES, built, label=READINESS_WORDS[level])
    axis.set(ylabel="capacity built a month (relative)", ylim=(0, None))
    return _finish(figure, axis, "The same hours, gated by readiness")


def minimum_dose(mechanisms: MechanismParams, hill: float) -> Figure:
    """Capacity gained per TA hour against hours, at a Hill exponent of 1 and at ``hill``."""
    figure, axis = _figure()
    hours = DOSES[DOSES > 0]
    for exponent in sorted({1.0, float(hill)}):
        absorbed = mech.absorption(
            hours,
            general_capacity=READINESS_LEVELS["medium"],
            half_saturation=mechanisms.half_saturation,
            hill=exponent,
        )
        axis.plot(hours, absorbed / hours, label=f"Hill exponent {exponent:g}")
    axis.set(ylabel="absorbed per TA hour", ylim=(0, None))
    return _finish(figure, axis, "Is there a dose below which TA does nothing?")


def net_benefit_curve(mechanisms: MechanismParams, doses, *, general, change_hours):
    """Net benefit of each dose: absorbed TA less the cost of the overload its recipient staff
    time brings, for an organization of ``general`` capacity with ``change_hours`` a month."""
    absorbed = mech.absorption(
        doses,
        general_capacity=general,
        half_saturation=mechanisms.half_saturation,
        hill=mechanisms.hill,
    )
    strain = mech.overload(
        mech.workload(
            hours=doses,
            recipient_hours=mechanisms.recipient_hours,
            internal_work=0.0,
            navigation=0.0,
            change_hours=change_hours,
        ),
        threshold=mechanisms.overload_threshold,
    )
    return mech.net_benefit(absorbed, 1.0, strain, OVERLOAD_COST)


def overload(mechanisms: MechanismParams) -> Figure:
    """Net benefit (absorbed less the cost of overload) against hours, for a small, stretched
    organization and a larger one."""
    figure, axis = _figure()
    for label, hours in CHANGE_HOURS.items():
        curve = net_benefit_curve(
            mechanisms, DOSES, general=READINESS_LEVELS["medium"], change_hours=hours
        )
        axis.plot(DOSES, curve, label=label)
    axis.axhline(0, color="grey", linewidth=0.5)
    axis.set(ylabel="net benefit (absorbed less overload)")
    return _finish(figure, axis, "When more TA makes things worse")


def dependence() -> Figure:
    """Mean fidelity month by month for a doer and a facilitator in the dose-response lab,
    with TA withdrawn at ``DEPENDENCE["withdraw"]``, over a few seeds."""
    figure, axis = _figure()
    for role in ("doer", "facilitator"):
        scenario = load_scenario(
            "baseline",
            lab(
                DEPENDENCE["dose"],
                role=role,
                withdraw=DEPENDENCE["withdraw"],
                months=DEPENDENCE["months"],
            ),
        )
        runs = [simulate(scenario, seed=seed).system["mean_F"] for seed in DEPENDENCE["seeds"]]
        axis.plot(np.mean(runs, axis=0), label=role)
    axis.axvline(DEPENDENCE["withdraw"], color="grey", linestyle="--", label="TA withdrawn")
    axis.set(
        xlabel="month",
        ylabel="mean fidelity (0-1)",
        xlim=(0, DEPENDENCE["months"]),
        ylim=(0, None),
    )
    axis.legend(fontsize=9)
    axis.set_title(
        f"Fidelity with {DEPENDENCE['dose']:g} h a month, withdrawn at month "
        f"{DEPENDENCE['withdraw']}",
        loc="left",
    )
    return figure


def _figure() -> tuple[Figure, object]:
    figure = Figure(figsize=(6.4, 3.9), layout="constrained")
    return figure, figure.subplots()


def _finish(figure: Figure, axis, title: str) -> Figure:
    axis.set_xlabel("TA hours per organization-month")
    axis.set_xlim(0, DOSES[-1])
    axis.legend(fontsize=9)
    axis.set_title(title, loc="left")
    return figure
