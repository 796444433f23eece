"""The teaching experiment: outcomes against TA hours per month, per readiness level or provider role.

A controlled set-up (one provider group, enough hours and budget, every team approved at
the start, no pandemic) so the curves show the mechanisms: saturation, readiness gating,
minimum effective dose, overload and dependence after withdrawal.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from sim import ScenarioError  # noqa: E402
from sim import mechanisms as mech  # noqa: E402
from sim.params import ROLES  # noqa: E402

READINESS_LEVELS = {"low": 0.15, "medium": 0.45, "high": 0.75}  # initial mean motivation and general capacity
OVERLOAD_COST = 0.5  # capacity-equivalents lost per unit of overloaded share (teaching weight; assumption)
LAB = {
    "system.n_teams": 15,
    "system.first_cohort_share": 1.0,
    "system.first_cohort_month": 0,
    "shocks.pandemic.enabled": False,
    "funder.policy": "universal",
    "funder.budget_per_month": 1e7,
    "providers.0.count": 40,
    "providers.0.modality": "in_person",
    "providers.0.caseload_limit": 400,
    "providers.0.activity_mix.content": 0.1,
    "providers.0.activity_mix.relationship": 0.8,
    "providers.0.activity_mix.peer": 0.1,
    "providers.1.count": 0,
    "providers.2.count": 0,
}


def lab(dose: float, role: str = "facilitator", readiness: float = READINESS_LEVELS["medium"], withdraw: int = 0, months: int = 60) -> dict:
    """Overrides of the baseline for one point of the dose-response experiment."""
    return {**LAB, "months": months, "funder.dosage_hours": dose, "funder.withdraw_month": withdraw, "providers.0.role": role, "initial.motivation_mean": readiness, "initial.general_capacity_mean": readiness}


def dose_response_arms(by: str, doses: list[float], withdraw: int, months: int) -> list[tuple[str, dict, dict]]:
    """One arm per curve and dose."""
    if by == "readiness":
        curves = {level: {"readiness": value} for level, value in READINESS_LEVELS.items()}
    elif by == "role":
        curves = {role: {"role": role} for role in ROLES}
    else:
        raise ScenarioError(f"--by {by}: must be readiness or role")
    return [("baseline", lab(dose, withdraw=withdraw, months=months, **settings), {by: curve, "dose": dose}) for curve, settings in curves.items() for dose in doses]


def dose_response_table(table: pd.DataFrame, by: str, withdraw: int) -> pd.DataFrame:
    """Per curve and dose, means over replicates of final and time-integrated outcomes and net benefit."""
    rows = []
    for (curve, dose, _), run in table.groupby([by, "dose", "run_id"], sort=False):
        run = run.set_index("month")
        capacity_gain = run["mean_S"].iloc[-1] - run["mean_S"].iloc[0]
        overloaded = run["overloaded_share"].mean()
        rows.append({
            by: curve,
            "dose": dose,
            "final_adoption": run["adoption"].iloc[-1],
            "integrated_adoption": run["adoption"].mean(),
            "final_fidelity": run["mean_F"].iloc[-1],
            "fidelity_drop_after_withdrawal": run["mean_F"][withdraw - 1] - run["mean_F"][min(withdraw + 6, run.index.max())] if withdraw > 0 else float("nan"),
            "capacity_gain": capacity_gain,
            "overloaded_share": overloaded,
            "net_benefit": mech.net_benefit(capacity_gain, 1.0, overloaded, OVERLOAD_COST),
        })
    return pd.DataFrame(rows).groupby([by, "dose"]).mean().reset_index()


def plot_dose_response(curves: pd.DataFrame, by: str):
    """Four panels of outcome against dose, one line per curve."""
    figure, axes = plt.subplots(2, 2, figsize=(12, 8), constrained_layout=True)
    for axis, column in zip(axes.ravel(), ("capacity_gain", "final_adoption", "net_benefit", "fidelity_drop_after_withdrawal"), strict=True):
        for curve, group in curves.groupby(by, sort=False):
            axis.plot(group["dose"], group[column], marker="o", label=str(curve))
        axis.set(title=column.replace("_", " "), xlabel="TA hours per organization per month")
    axes[0, 0].legend(title=by)
    return figure
