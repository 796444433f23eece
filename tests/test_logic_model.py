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

from sim import ScenarioError, TransformationModel, load_scenario, simulate
from sim import mechanisms as mech
from sim.params import BUILDING_BLOCKS
from sim.system import HOME_CARE, HOSPITAL

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


# ------------------------------------------------------------------ home and community care


def test_home_care_organizations_work_with_other_teams_of_their_region():
    model = TransformationModel("baseline", rng=5)
    partners = model.partnerships
    home_care = np.flatnonzero(model.org_sector == HOME_CARE)
    assert set(partners.org) <= set(home_care)
    assert np.all(model.teams.region[partners.team] == model.org_region[partners.org])
    assert np.all(partners.team != model.org_team[partners.org])
    assert np.all(partners.per_org(model.n_orgs) <= model.scenario.home_care.teams_served - 1)
    assert len(set(partners.org)) > 0.8 * len(home_care)  # nearly all have a second team
    within = model.network.within
    tied = [
        np.any(model.org_team[within.indices[within.indptr[org] : within.indptr[org + 1]]] == team)
        for org, team in zip(partners.org, partners.team, strict=True)
    ]
    assert np.mean(tied) > 0.9  # tied inside the partner team as its members are
    assert np.all(model.team_parties >= model.teams.size)
    assert model.team_parties.sum() > model.teams.size.sum()
    single = TransformationModel(load_scenario("baseline", {"home_care.teams_served": 1}), rng=5)
    assert np.array_equal(single.team_parties, single.teams.size)
    assert single.home_care_contracts.max() == 1


def test_each_team_has_one_lead_a_hospital_where_it_has_one():
    model = TransformationModel("baseline", rng=6)
    leads = team_leads_of(model)
    assert np.array_equal(model.org_team[leads], np.arange(model.n_teams))
    has_hospital = model.team_coordinator
    assert np.all(model.org_sector[leads][has_hospital] == HOSPITAL)


def team_leads_of(model):
    return np.flatnonzero(model.lead_contracts > 0)[
        np.argsort(model.org_team[model.lead_contracts > 0])
    ]


def test_the_home_care_transfer_loads_contract_work_for_its_transition_only():
    scenario = load_scenario("home_care_into_teams")
    home_care = scenario.home_care
    system = simulate(scenario, seed=2, months=home_care.transfer_month + 15).system
    during = system.set_index("month")["transition_hours"]
    start, end = home_care.transfer_month, home_care.transfer_month + home_care.transition_months
    assert np.all(during.loc[start : end - 1] > 0)
    assert np.all(during.drop(range(start, end)) == 0)
    rows = []
    for seed in SEEDS:
        contracted, direct, supported = (
            stepped(load_scenario("home_care_into_teams", extra), seed, start)
            for extra in (
                {},
                {"home_care.form": "direct"},
                {"home_care.contract_support": 0.5},
            )
        )
        rows.append(
            (
                contracted.transition_hours.sum(),
                direct.transition_hours.sum(),
                supported.transition_hours.sum(),
                contracted.W.mean(),
                stepped(load_scenario("baseline"), seed, start).W.mean(),
            )
        )
    contracted, direct, supported, loaded, calm = np.array(rows).T
    assert np.all(direct < contracted) and supported == pytest.approx(0.5 * contracted)
    greater(loaded, calm, "workload in the transfer's first month: transfer > none")


def test_which_teams_home_care_serves_cannot_be_changed_by_an_event():
    with pytest.raises(ScenarioError, match="home_care.teams_served"):
        load_scenario("baseline", {"events": [{"month": 5, "set": {"home_care.teams_served": 3}}]})
    with pytest.raises(ScenarioError, match="home_care"):
        load_scenario(
            "baseline",
            {"events": [{"month": 5, "set": {"home_care": {"transfer_month": 6}}}]},
        )
    changed = load_scenario(
        "baseline", {"events": [{"month": 5, "set": {"home_care.transfer_month": 6}}]}
    )
    assert changed.events[0].set == {"home_care.transfer_month": 6}


def test_a_partner_tied_inside_another_team_is_not_also_tied_across_teams():
    network = TransformationModel("baseline", rng=7).network
    assert network.cross.multiply(network.within).nnz == 0


def test_changing_a_groups_delivery_by_an_event_keeps_its_providers_and_links():
    model = TransformationModel("ontario_partners", rng=8)
    for _ in range(11):
        model.step()
    before = model.providers
    model.step()  # month 12: RISE's coaching becomes team-based
    after = model.providers
    assert not before.team_based.any() and after.team_based[after.group == 5].all()
    assert np.array_equal(before.expertise, after.expertise)
    assert np.array_equal(before.link_org, after.link_org)
    assert np.array_equal(before.link_provider, after.link_provider)
