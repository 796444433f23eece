"""Outputs (DESIGN.md section 7): monthly system and team series, quadruple-aim outcomes,
equity, run summary.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim import mechanisms as mech
from sim.params import (
    ACTIVITIES,
    BUILDING_BLOCKS,
    MODALITIES,
    REGIONS,
    ROLES,
    Scenario,
)

OUTCOMES = ("admissions", "patient_experience", "provider_experience", "per_capita_cost")
FLOW_COLUMNS = (
    "ta_hours",
    "provider_hours",
    *(f"hours_{role}" for role in ROLES),
    *(f"hours_{activity}" for activity in ACTIVITIES),
    *(f"hours_{modality}" for modality in MODALITIES),
    *(f"hours_{block}" for block in BUILDING_BLOCKS),
    "spent",
    "staff_cost",
    "overloaded_share",
)
SYSTEM_COLUMNS = (
    "month",
    "n_orgs",
    *(f"stage_{stage}" for stage in mech.STAGES),
    "adoption",
    "mean_M",
    "mean_G",
    "mean_S",
    *(f"mean_S_{block}" for block in BUILDING_BLOCKS),
    "mean_T",
    "mean_O",
    "mean_W",
    "mean_P",
    "mean_F",
    "p10_F",
    "p90_F",
    "mean_R",
    "mean_acceptability",
    "satisfaction",
    "navigation_hours",
    "transition_hours",
    *(f"teams_{phase}" for phase in mech.SUPPORT_PHASES),
    *FLOW_COLUMNS,
    "budget",
    "population",
    *OUTCOMES,
    "setup_cost",
    "savings",
    "gap_adoption_region",
    "gap_adoption_capacity",
    "gap_fidelity_capacity",
    "gap_admissions_region",
    "gap_admissions_capacity",
)
STATE_MEANS = ("M", "G", "T", "O", "W", "P", "F", "R", "A", "navigation", "transition_hours")
TEAM_COLUMNS = (
    "adoption",
    "mean_P",
    "mean_F",
    *OUTCOMES,
    "ta_hours",
    "hands_on",
    "support_phase",
)


# ------------------------------------------------------------------ TA flows


def empty_flows() -> dict[str, float]:
    return dict.fromkeys(FLOW_COLUMNS, 0.0)


def flows(
    model,
    *,
    delivered,
    time_used,
    link_mix,
    link_modality,
    role_of_link,
    cost,
    overload,
    hours_by_block,
) -> dict[str, float]:
    """TA hours received by role, activity, modality and building block; provider time and
    money spent."""
    by_role = np.bincount(role_of_link, weights=delivered, minlength=len(ROLES))
    by_activity = delivered @ link_mix
    by_modality = np.bincount(link_modality, weights=delivered, minlength=len(MODALITIES))
    return {
        "ta_hours": float(delivered.sum()),
        "provider_hours": float(time_used.sum()),
        **{f"hours_{role}": float(hours) for role, hours in zip(ROLES, by_role, strict=True)},
        **{
            f"hours_{activity}": float(hours)
            for activity, hours in zip(ACTIVITIES, by_activity, strict=True)
        },
        **{
            f"hours_{modality}": float(hours)
            for modality, hours in zip(MODALITIES, by_modality, strict=True)
        },
        **{
            f"hours_{block}": float(hours)
            for block, hours in zip(BUILDING_BLOCKS, hours_by_block, strict=True)
        },
        "spent": float(cost.sum()),
        "staff_cost": float(model.staff_cost_by_team.sum()),
        "overloaded_share": float(np.count_nonzero(overload) / len(overload)),
    }


# ------------------------------------------------------------------ outcomes (rule 14)


def initial_outcomes(model) -> dict[str, np.ndarray]:
    """Each team's outcomes before any change; its avoidable admissions follow the risk of the
    populations its members serve (``system.admission_risk``)."""
    params, n_teams = model.scenario.outcomes, model.n_teams
    return {
        "admissions": model.base_team_admissions.copy(),
        "admissions_onset": model.base_team_admissions.copy(),
        "patient_experience": np.full(n_teams, params.experience_base),
        "provider_experience": np.full(n_teams, params.provider_base),
        "setup": np.zeros(n_teams),
        "savings": np.zeros(n_teams),
        "per_capita_cost": np.full(n_teams, params.cost_base),
    }


def admissions_fall(model) -> np.ndarray:
    """Each team's avoidable admissions avoided so far, per 1,000 a year: its rate before change
    less its rate now (what the funder's review and the equity gaps on outcomes compare, so a
    team's case mix is not counted as a gap)."""
    return model.base_team_admissions - model.outcomes["admissions"]


def team_mean(model, values) -> np.ndarray:
    """Population-weighted mean of an organization-level array per team."""
    return (
        np.bincount(model.org_team, weights=values * model.org_population) / model.team_population
    )


FUNDING_BLOCK = np.eye(len(BUILDING_BLOCKS))[BUILDING_BLOCKS.index("funding_incentives")]


def update_outcomes(model, overload) -> dict[str, np.ndarray]:
    """The quadruple aim, each aim from its own drivers, following its target with its lag.

    Each organization's change in practice (``mech.practice_change``: delivered, at fidelity,
    carried by the blocks acting on the aim) sets its targets: avoidable admissions at its
    population's risk, patient experience (less the strain of overload), provider experience
    (working change against workload and overload). Per-capita cost is a J-curve: set-up costs,
    TA and recipient staff time at once, savings from avoided use only once the change is
    sustained, kept as the funding and incentives allow, with the cost lag (rule 14; realist
    synthesis L1348-1398, L1440, L1474).
    """
    params, needed = model.scenario.outcomes, model.scenario.mechanisms.implement_capacity
    previous = model.outcomes
    level = mech.operating_level(model.stage, reduced_level=model.scenario.mechanisms.reduced_level)

    # the change delivered at fidelity, worked out once: each aim's change is it carried by
    # the blocks acting on that aim, and working in the changed way is it unweighted
    working = mech.practice_change(
        level=level, fidelity_value=model.F, gamma=params.fidelity_gamma, support=1.0
    )

    def change(weights):
        return working * mech.block_support(model.S, weights=weights, needed=needed)

    averted = change(mech.ADMISSION_BLOCKS)
    admissions = mech.avoidable_admissions(
        base_rate=model.base_admissions,
        change=averted,
        max_cut=params.admissions_cut,
    )
    patient = mech.patient_experience_target(
        base=params.experience_base,
        gain=params.experience_gain,
        change=change(mech.EXPERIENCE_BLOCKS),
        overload=overload,
        strain_loss=params.experience_strain,
    )
    provider = mech.provider_experience_target(
        base=params.provider_base,
        gain=params.provider_gain,
        working_change=working,
        workload=model.W,
        workload_loss=params.provider_workload,
        overload=overload,
        overload_loss=params.provider_overload,
    )
    savings = mech.kept_savings(
        savings=params.savings,
        change=averted,
        months_sustained=model.months_faithful,
        after=params.savings_after,
        kept_base=params.savings_kept,
        funding_support=mech.block_support(model.S, weights=FUNDING_BLOCK, needed=needed),
    )
    in_setup = model.adopting & (model.months_adopting <= params.setup_months)
    setup = team_mean(model, params.setup_cost * in_setup)
    kept = mech.lagged(
        previous["savings"], target=team_mean(model, savings), delay=params.delay_cost
    )
    return {
        # a second-order delay (two stages of half the delay each): fewer crises before fewer
        # admissions, so nothing shows for a while rather than most in the first months
        "admissions_onset": (
            onset := mech.lagged(
                previous["admissions_onset"],
                target=team_mean(model, admissions),
                delay=params.delay_health / 2,
            )
        ),
        "admissions": mech.lagged(
            previous["admissions"], target=onset, delay=params.delay_health / 2
        ),
        "patient_experience": mech.lagged(
            previous["patient_experience"],
            target=team_mean(model, patient),
            delay=params.delay_process,
        ),
        "provider_experience": mech.lagged(
            previous["provider_experience"],
            target=team_mean(model, provider),
            delay=params.delay_process,
        ),
        "setup": setup,
        "savings": kept,
        "per_capita_cost": params.cost_base
        + setup
        + 12.0 * (model.ta_cost_by_team + model.staff_cost_by_team) / model.team_population
        - kept,
    }


# ------------------------------------------------------------------ rows and frames


def equity_contrasts(model) -> np.ndarray:
    """Rows that turn an organization-level array into a gap by one dot product.

    Row 0: urban minus rural/northern mean; row 1: highest minus lowest baseline-capacity
    quintile mean (DESIGN.md section 7). A row is NaN where a group is empty.
    """
    urban = model.org_region == REGIONS.index("urban")
    pairs = ((urban, ~urban), (model.capacity_quintile == 4, model.capacity_quintile == 0))
    rows = []
    for first, second in pairs:
        if first.any() and second.any():
            rows.append(first / first.sum() - second / second.sum())
        else:
            rows.append(np.full(model.n_orgs, np.nan))
    return np.array(rows)


def tenth_and_ninetieth_percentiles(values) -> tuple[float, float]:
    """``np.quantile(values, [0.1, 0.9])`` (linear method) at a fifth of its call overhead.

    It runs every month.
    """
    ordered = np.sort(values)
    position = np.array([0.1, 0.9]) * (len(ordered) - 1)
    return tuple(np.interp(position, np.arange(len(ordered)), ordered).tolist())


def system_row(model) -> dict[str, float]:
    """Everything DESIGN.md section 7 lists per month, for the system as a whole."""
    stage_counts = np.bincount(model.stage, minlength=len(mech.STAGES))
    adopting = model.adopting.astype(float)
    weights = model.team_population / model.team_population.sum()
    p10_F, p90_F = tenth_and_ninetieth_percentiles(model.F)
    means = dict(
        zip(
            STATE_MEANS,
            np.vstack([getattr(model, name) for name in STATE_MEANS]).mean(axis=1).tolist(),
            strict=True,
        )
    )
    region_gap, capacity_gap = model.equity_contrasts @ adopting
    by_block = model.S.mean(axis=0).tolist()
    row = {
        "month": model.steps,
        "n_orgs": model.n_orgs,
        **{
            f"stage_{stage}": int(count)
            for stage, count in zip(mech.STAGES, stage_counts, strict=True)
        },
        "adoption": float(adopting.mean()),
        **{f"mean_{name}": means[name] for name in ("M", "G")},
        "mean_S": sum(by_block) / len(by_block),
        **dict(zip((f"mean_S_{block}" for block in BUILDING_BLOCKS), by_block, strict=True)),
        **{f"mean_{name}": means[name] for name in ("T", "O", "W", "P", "F")},
        "p10_F": float(p10_F),
        "p90_F": float(p90_F),
        "mean_R": means["R"],
        "mean_acceptability": means["A"],
        # hours-weighted over the organizations that received TA (0 in a month without any)
        "satisfaction": float(model.H @ model.satisfaction / max(model.H.sum(), 1e-12)),
        "navigation_hours": means["navigation"],
        "transition_hours": means["transition_hours"],
        # approved teams by the phase of their support (all in capacity building when fixed)
        **dict(
            zip(
                (f"teams_{phase}" for phase in mech.SUPPORT_PHASES),
                np.bincount(
                    model.team_phase[model.teams.approval_month <= model.steps],
                    minlength=len(mech.SUPPORT_PHASES),
                ).tolist(),
                strict=True,
            )
        ),
        **model.month_flows,
        "budget": float(model.funder.budget),
        "population": float(model.team_population.sum()),
        **{name: float(weights @ model.outcomes[name]) for name in OUTCOMES},
        # this month's set-up costs and kept savings, in dollars (per-capita rates per year)
        **{
            column: float(model.team_population @ model.outcomes[name] / 12.0)
            for column, name in (("setup_cost", "setup"), ("savings", "savings"))
        },
        "gap_adoption_region": float(region_gap),
        "gap_adoption_capacity": float(capacity_gap),
        "gap_fidelity_capacity": float(model.equity_contrasts[1] @ model.F),
        # equity on outcomes: the same contrasts of the admissions avoided so far by each
        # one's team (per 1,000 a year), so the case mix of teams is not counted as a gap
        **dict(
            zip(
                ("gap_admissions_region", "gap_admissions_capacity"),
                (model.equity_contrasts @ admissions_fall(model)[model.org_team]).tolist(),
                strict=True,
            )
        ),
    }
    return row


def team_row(model) -> np.ndarray:
    """One month of per-team values, in TEAM_COLUMNS order."""
    return np.column_stack(
        [
            model.team_average(model.adopting),
            team_mean(model, model.P),
            team_mean(model, model.F),
            *(model.outcomes[name] for name in OUTCOMES),
            np.bincount(model.org_team, weights=model.H, minlength=len(model.teams.size)),
            model.funder.hands_on.astype(float),
            model.team_phase.astype(float),
        ]
    )


def team_frame(model) -> pd.DataFrame:
    """Tidy per-team monthly series (month, team, cohort, region, members, TEAM_COLUMNS)."""
    history = np.stack(model.team_history)  # (months + 1, teams, columns)
    n_months, n_teams, _ = history.shape
    frame = pd.DataFrame(history.reshape(n_months * n_teams, -1), columns=list(TEAM_COLUMNS))
    frame.insert(0, "month", np.repeat(np.arange(n_months), n_teams))
    frame.insert(1, "team", np.tile(np.arange(n_teams), n_months))
    frame.insert(2, "cohort", np.tile(model.teams.cohort, n_months))
    frame.insert(
        3,
        "region",
        pd.Categorical(
            np.tile(np.array(REGIONS)[model.teams.region], n_months), categories=REGIONS
        ),
    )
    frame.insert(4, "members", np.tile(model.teams.size, n_months))
    frame["hands_on"] = frame["hands_on"].astype(bool)
    frame["support_phase"] = pd.Categorical.from_codes(
        frame["support_phase"].astype(int), categories=mech.SUPPORT_PHASES
    )
    return frame


def summary(system: pd.DataFrame, scenario: Scenario) -> dict[str, float]:
    """Per-run results: time to 50 % adoption, fidelity, sustainment after TA ends, cost per
    outcome, equity.
    """
    reached = system.loc[system["adoption"] >= 0.5, "month"]
    withdraw = scenario.funder.withdraw_month
    by_month = system.set_index("month")
    if withdraw > 0 and withdraw + 24 in by_month.index and by_month.at[withdraw, "adoption"] > 0:
        # share of the organizations adopting at withdrawal not discontinued 24 months later
        adopters = by_month.at[withdraw, "adoption"] * by_month.at[withdraw, "n_orgs"]
        stopped = (
            by_month.at[withdraw + 24, "stage_discontinued"]
            - by_month.at[withdraw, "stage_discontinued"]
        )
        sustainment = float(1.0 - stopped / adopters)
    else:
        sustainment = float("nan")
    base = scenario.outcomes.admissions_base
    avoided_by_month = (base - system["admissions"]) * system["population"] / 1000.0 / 12.0
    avoided = float(avoided_by_month.sum())
    cost = float(system["spent"].sum())
    discount = mech.discount_factor(system["month"], rate=scenario.outcomes.discount_rate)
    # what the change costs the system: TA, recipient staff time and set-up, before savings
    full_cost = system["spent"] + system["staff_cost"] + system["setup_cost"]
    last = system.iloc[-1]
    return {
        "time_to_50pct_adoption": float(reached.iloc[0]) if len(reached) else float("nan"),
        "final_adoption": float(last["adoption"]),
        "peak_fidelity": float(system["mean_F"].max()),
        "final_fidelity": float(last["mean_F"]),
        "final_patient_experience": float(last["patient_experience"]),
        "final_provider_experience": float(last["provider_experience"]),
        "sustainment_24m": sustainment,
        "ta_hours_total": float(system["ta_hours"].sum()),
        "ta_cost_total": cost,
        "admissions_avoided": avoided,
        "cost_per_admission_avoided": cost / avoided if avoided > 0 else float("nan"),
        "staff_cost_total": float(system["staff_cost"].sum()),
        "setup_cost_total": float(system["setup_cost"].sum()),
        "savings_total": float(system["savings"].sum()),
        "full_cost_discounted": float((full_cost * discount).sum()),
        "savings_discounted": float((system["savings"] * discount).sum()),
        "net_cost_discounted": float(((full_cost - system["savings"]) * discount).sum()),
        "admissions_avoided_discounted": float((avoided_by_month * discount).sum()),
        "gap_adoption_region": float(last["gap_adoption_region"]),
        "gap_adoption_capacity": float(last["gap_adoption_capacity"]),
        "gap_admissions_region": float(last["gap_admissions_region"]),
        "gap_admissions_capacity": float(last["gap_admissions_capacity"]),
    }
