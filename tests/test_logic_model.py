"""The logic model of issue 12 in model runs: building blocks with identities, phased and
responsive support, team-based delivery, and home and community care in several teams.

As in ``test_patterns.py``: both arms of a comparison run on the same seeds (common random
numbers) and a one-sided paired t-test at p < 0.01 decides. The rules themselves are tested
on the pure functions in ``test_mechanisms.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_patterns import COACHING, LIGHT_TOUCH, greater, lab

from sim import TransformationModel, load_scenario, simulate
from sim import mechanisms as mech
from sim.params import BUILDING_BLOCKS

SEEDS = range(10)
ALL_APPROVED = {
    "system.n_teams": 12,
    "system.first_cohort_share": 1.0,
    "system.first_cohort_month": 0,
    "shocks.pandemic.enabled": False,
}


def stepped(scenario, seed: int = 0, months: int = 1) -> TransformationModel:
    model = TransformationModel(scenario, rng=seed)
    for _ in range(months):
        model.step()
    return model


# ------------------------------------------------------------------ building blocks


def test_relationship_work_builds_the_blocks_and_content_general_capacity():
    """At equal hours, coaching builds more block capacity and content more general capacity
    (thesis L404)."""

    def gains(mix):
        rows = []
        for seed in SEEDS:
            system = simulate(lab(6.0, "partner", months=24, **mix), seed=seed).system
            rows.append(
                (
                    system["mean_S"].iloc[-1] - system["mean_S"].iloc[0],
                    system["mean_G"].iloc[-1] - system["mean_G"].iloc[0],
                )
            )
        return np.array(rows).T

    coached_S, coached_G = gains(COACHING)
    content_S, content_G = gains(LIGHT_TOUCH)
    greater(coached_S, content_S, "block capacity gained: coaching > content at equal hours")
    greater(content_G, coached_G, "general capacity gained: content > coaching at equal hours")


def test_needs_matched_ta_raises_the_weakest_blocks_more_than_a_pitched_package():
    def weakest(focus):
        return [
            mech.implementation_capacity(
                stepped(lab(6.0, months=24, **{"mechanisms.expertise_focus": focus}), seed, 24).S,
                weakest=4,
            ).mean()
            for seed in SEEDS
        ]

    greater(weakest(4.0), weakest(0.0), "mean of the four weakest blocks: matched > pitched")


def test_implementation_waits_for_the_weakest_blocks_whatever_the_mean():
    model = TransformationModel(load_scenario("baseline", {"providers": []}), rng=2)
    model.stage[:] = mech.PREPARING
    model.S[:, :4] = 0.05  # half the blocks far from what implementing needs
    model.S[:, 4:] = 0.95  # the mean (0.5) is well above implement_capacity
    model.step()
    assert not np.any(model.stage == mech.IMPLEMENTING)
    model.S[:] = 0.5
    model.step()
    assert np.all(model.stage[mech.is_adopting(model.stage)] == mech.IMPLEMENTING)


def test_ta_hours_by_block_add_up_to_the_hours_and_follow_a_partners_domains():
    system = simulate("ontario_partners", seed=4, months=24).system
    by_block = system[[f"hours_{block}" for block in BUILDING_BLOCKS]]
    assert by_block.sum(axis=1).to_numpy() == pytest.approx(system["ta_hours"].to_numpy())
    governance_only = load_scenario(
        "baseline",
        {
            "months": 24,
            "mechanisms.expertise_focus": 0.0,
            "providers.0.domains": ["leadership_governance"],
            "providers.1.domains": ["leadership_governance"],
            "providers.2.domains": ["leadership_governance"],
        },
    )
    shares = (
        simulate(governance_only, seed=4)
        .system[[f"hours_{block}" for block in BUILDING_BLOCKS]]
        .sum()
    )
    assert shares.idxmax() == "hours_leadership_governance"


# ------------------------------------------------------------------ phased, responsive support


def test_responsive_support_starts_foundational_fades_with_progress_and_returns_on_a_slip():
    scenario = load_scenario(
        "baseline", ALL_APPROVED | {"funder.phasing": "responsive", "funder.budget_per_month": 1e8}
    )
    model = stepped(scenario)
    assert np.all(model.team_phase == mech.FOUNDATIONAL)  # nobody has adopted yet
    flows = model.month_flows
    mix = model.scenario.funder.foundation_mix
    assert flows["hours_content"] / flows["ta_hours"] == pytest.approx(mix.content)
    members = model.org_team == 0
    model.stage[members] = mech.IMPLEMENTING
    model.adopting = mech.is_adopting(model.stage)
    model.step()
    assert model.team_phase[0] == mech.FADING
    model.stage[members] = mech.EXPLORING  # the team slips back
    model.adopting = mech.is_adopting(model.stage)
    model.step()
    assert model.team_phase[0] == mech.FOUNDATIONAL


def test_fading_support_gives_the_fading_share_of_the_dose():
    settings = ALL_APPROVED | {"funder.budget_per_month": 1e8, "providers.0.count": 40}
    fixed = stepped(load_scenario("baseline", settings))
    fading = stepped(
        load_scenario(
            "baseline",
            settings
            | {
                "funder.phasing": "responsive",
                "funder.building_share": 0.0,
                "funder.fading_share": 0.0,
                "funder.foundation_mix": {"content": 0.8, "relationship": 0.1, "peer": 0.1},
            },
        )
    )
    assert np.all(fading.team_phase == mech.FADING)
    share = fading.scenario.funder.fading_dose
    assert fading.month_flows["ta_hours"] == pytest.approx(share * fixed.month_flows["ta_hours"])


def test_phased_support_on_the_shipped_scenario_moves_teams_on():
    system = simulate("phased_team_coaching", seed=3).system
    first, last = system.iloc[13], system.iloc[-1]
    assert first["teams_foundational"] > first["teams_capacity_building"]
    assert last["teams_capacity_building"] + last["teams_fading"] > 0


# ------------------------------------------------------------------ team-based delivery


def test_team_based_coaching_shares_provider_time_and_counts_a_team_once():
    settings = ALL_APPROVED | {"funder.budget_per_month": 1e8, "funder.dosage_hours": 4.0}
    one_to_one = stepped(load_scenario("baseline", settings))
    together = stepped(load_scenario("baseline", settings | {"providers.0.delivery": "team"}))
    group = together.providers.group == 0
    used = together.month_flows["provider_hours"] / together.month_flows["ta_hours"]
    assert used < one_to_one.month_flows["provider_hours"] / one_to_one.month_flows["ta_hours"]
    p = together.providers
    teams_served = len(np.unique(together.org_team[p.link_org[p.group[p.link_provider] == 0]]))
    assert together.caseload[group].sum() <= teams_served + 1e-9


def test_team_sessions_are_joint_work_that_matures_the_team():
    settings = ALL_APPROVED | {"funder.budget_per_month": 1e8}
    grown = {}
    for delivery in ("organization", "team"):
        scenario = load_scenario("baseline", settings | {"providers.1.delivery": delivery})
        rows = []
        for seed in SEEDS:
            model = TransformationModel(scenario, rng=seed)
            start = model.team_maturity.copy()
            for _ in range(6):
                model.step()
            rows.append((model.team_maturity - start).mean())
        grown[delivery] = rows
    greater(grown["team"], grown["organization"], "team maturity gained: team sessions > none")
