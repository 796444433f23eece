"""The dynamics of issue 11 in model runs: sustainment after support, dependence and graduation,
peers with structure, teams that act, and who a shock lets accelerate.

Like ``test_patterns.py``: both arms of a comparison run on the same seeds (common random
numbers) and a one-sided paired t-test at p < 0.01 decides, so no result rests on one seed.
The rules themselves are tested on the pure functions in ``test_mechanisms.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from test_patterns import ALPHA, greater, lab, positive, run_model

from sim import TransformationModel, load_scenario, simulate
from sim import mechanisms as mech
from sim.system import PRIMARY_CARE

SEEDS = range(10)


def fidelity_around_withdrawal(scenario, seed: int, before: int, after: int) -> tuple:
    """Mean fidelity of the organizations operating in month ``before``, then in ``after``;
    and the shares of them operating at a reduced level and discontinued in ``after``."""
    model = TransformationModel(scenario, rng=seed)
    for _ in range(before):
        model.step()
    operating = mech.is_operating(model.stage)
    start = model.F[operating].mean()
    for _ in range(after - before):
        model.step()
    stage = model.stage[operating]
    return (
        start,
        model.F[operating].mean(),
        (stage == mech.REDUCED).mean(),
        (stage == mech.DISCONTINUED).mean(),
    )


# ------------------------------------------------------------------ sustainment after support


@pytest.fixture(scope="module")
def withdrawn_by_role():
    """The teaching lab at 4 h a month, TA withdrawn at month 24, for a doer and a facilitator."""
    return {
        role: np.array(
            [
                fidelity_around_withdrawal(
                    lab(4.0, role, months=48, **{"funder.withdraw_month": 24}), seed, 23, 36
                )
                for seed in SEEDS
            ]
        )
        for role in ("doer", "facilitator")
    }


def test_a_doers_fidelity_falls_when_the_doer_leaves_a_facilitators_is_retained(withdrawn_by_role):
    doer, facilitator = withdrawn_by_role["doer"], withdrawn_by_role["facilitator"]
    doer_drop, facilitator_drop = doer[:, 0] - doer[:, 1], facilitator[:, 0] - facilitator[:, 1]
    greater(
        doer_drop,
        facilitator_drop,
        "fidelity lost in the year after withdrawal: doer > facilitator",
    )
    positive(doer_drop - 0.2, "a doer's adopters lose more than 0.2 of fidelity")
    assert np.all(facilitator[:, 1] >= 0.85 * facilitator[:, 0]), (
        f"a facilitator's adopters keep their fidelity: {facilitator[:, 1].mean():.2f} a year on, "
        f"{facilitator[:, 0].mean():.2f} before"
    )
    greater(doer[:, 2], facilitator[:, 2], "share operating at a reduced level: doer > facilitator")


def test_after_support_ends_fidelity_erodes_and_some_go_on_at_a_reduced_level():
    """The baseline with TA withdrawn at 24 months against the baseline, on the same 20 seeds
    (few organizations operate by month 24 of the baseline, so more seeds than elsewhere)."""
    rows = {
        name: np.array(
            [fidelity_around_withdrawal(load_scenario(name), seed, 23, 60) for seed in range(20)]
        )
        for name in ("baseline", "withdraw_at_24")
    }
    supported, withdrawn = rows["baseline"], rows["withdraw_at_24"]
    greater(supported[:, 1], withdrawn[:, 1], "fidelity 3 years on: support continued > withdrawn")
    positive(withdrawn[:, 0] - withdrawn[:, 1], "fidelity falls after support ends (no rise)")
    positive(withdrawn[:, 2], "share of the operating organizations at a reduced level 3 years on")
    greater(
        withdrawn[:, 3], supported[:, 3], "share discontinued 3 years on: withdrawn > supported"
    )


def test_tapered_withdrawal_keeps_more_than_abrupt_at_the_same_hours():
    """A doer's TA tapered over 12 months from month 24 against stopped at month 30: both give
    six months of the full dose after month 24 (``mechanisms.taper_factor``)."""

    def arm(extra):
        return np.array(
            [
                fidelity_around_withdrawal(lab(4.0, "doer", months=60, **extra), seed, 23, 60)
                for seed in SEEDS
            ]
        )

    tapered = arm({"funder.withdraw_month": 24, "funder.taper_months": 12})
    abrupt = arm({"funder.withdraw_month": 30})
    greater(tapered[:, 1], abrupt[:, 1], "fidelity at month 60: tapered > abrupt")


@pytest.mark.parametrize("name", ["baseline", "hands_on", "facilitator_heavy", "doer_heavy"])
def test_some_organizations_reach_sustaining_within_the_horizon(name):
    for seed in range(3):
        system = simulate(load_scenario(name), seed=seed).system
        assert system["stage_sustaining"].max() > 0, f"{name}, seed {seed}: nobody sustains"


def test_organizations_at_a_reduced_level_recover_when_capacity_returns_or_stop():
    """Every organization at a reduced level came from implementing or sustaining, and leaves
    only for implementing (capacity back) or discontinued."""
    model = TransformationModel(load_scenario("withdraw_at_24"), rng=3)
    entered = left = 0
    while model.running:
        before = model.stage.copy()
        model.step()
        into = (model.stage == mech.REDUCED) & (before != mech.REDUCED)
        out = (before == mech.REDUCED) & (model.stage != mech.REDUCED)
        assert np.isin(before[into], [mech.IMPLEMENTING, mech.SUSTAINING]).all()
        assert np.isin(model.stage[out], [mech.IMPLEMENTING, mech.DISCONTINUED]).all()
        entered, left = entered + into.sum(), left + out.sum()
    assert entered > 0 and left > 0


# ------------------------------------------------------------------ graduation


@pytest.mark.parametrize("graduation", ["organization", "team"])
def test_graduated_organizations_get_no_ta_once_their_taper_ends(graduation):
    taper = 3
    scenario = load_scenario(
        "hands_on", {"funder.graduation": graduation, "funder.taper_months": taper}
    )
    model = TransformationModel(scenario, rng=1)
    while model.running:
        model.step()
        done = model.funder.graduated + taper <= model.steps
        assert np.all(model.H[done] == 0)
    graduated = model.funder.graduated < 10**6
    assert graduated.any()
    if graduation == "team":  # whole teams graduate together
        by_team = np.bincount(model.org_team, weights=graduated) / model.teams.size
        assert set(np.unique(by_team)) <= {0.0, 1.0}


def test_graduation_frees_hours_for_those_still_working():
    """Under a binding budget, graduating sustaining organizations leaves more hours for the
    others: non-graduates get more TA than the same organizations without graduation."""
    rows = []
    for seed in range(6):
        hours = []
        for graduation in ("none", "organization"):
            model = TransformationModel(
                load_scenario("hands_on", {"funder.graduation": graduation}), rng=seed
            )
            received = np.zeros(model.n_orgs)
            while model.running:
                model.step()
                received += model.H
            hours.append(received)
            if graduation == "organization":
                never = model.funder.graduated == 10**6
        rows.append((hours[1][never].mean(), hours[0][never].mean()))
    with_graduation, without = np.array(rows).T
    greater(with_graduation, without, "TA hours of organizations that never graduate")


# ------------------------------------------------------------------ peers and teams


def test_denser_ties_spread_adoption_faster():
    def arm(density):
        scenario = load_scenario(
            "baseline", {"system.n_teams": 30, "system.within_team_density": density}
        )
        return np.array([simulate(scenario, seed=seed).summary["final_adoption"] for seed in SEEDS])

    greater(arm(0.9), arm(0.35), "final adoption: within-team density 0.9 > 0.35")


def test_mature_teams_progress_more_through_their_ties_and_governance_alone():
    """With no motivation or trust boost from maturity at the start, teams with more years of
    collaboration still adopt more: the only channels left are stronger ties and governance."""
    overrides = {"system.n_teams": 30, "initial.maturity_motivation": 0.0}
    maturity, adoption = [], []
    for seed in range(20):
        model, _ = run_model(load_scenario("baseline", overrides), seed)
        maturity.append(stats.rankdata(model.teams.maturity))
        adoption.append(stats.rankdata(model.team_average(model.adopting)))
    pooled = stats.spearmanr(
        np.concatenate(maturity), np.concatenate(adoption), alternative="greater"
    )
    assert pooled.statistic > 0.1 and pooled.pvalue < ALPHA, (
        f"Spearman of prior collaboration and final adoption over 600 teams: "
        f"{pooled.statistic:.3f} (p = {pooled.pvalue:.3g})"
    )


def test_teams_mature_with_collaboration():
    model, _ = run_model(load_scenario("baseline", {"system.n_teams": 30}), 2)
    grown = model.team_maturity - model.teams.maturity
    # each month adds the share of members adopting at its start: a year per 12 member-months
    member_months = model.months_adopting - model.adopting
    collaboration = np.bincount(model.org_team, weights=member_months) / model.teams.size
    assert grown == pytest.approx(collaboration / 12.0)
    assert np.all(grown >= 0) and grown.max() > 0


def test_peer_exchange_hours_strengthen_cross_team_ties_and_work_through_ties():
    peer_mix = {
        "providers.0.activity_mix.content": 0.0,
        "providers.0.activity_mix.relationship": 0.0,
        "providers.0.activity_mix.peer": 1.0,
    }
    model = TransformationModel(lab(4.0, months=24, **peer_mix), rng=1)
    start = model.network.cross.data.copy()
    for _ in range(24):
        model.step()
    assert np.all(model.network.cross.data >= start) and np.any(model.network.cross.data > start)

    def gain(density, seed):
        scenario = lab(
            4.0,
            months=24,
            **peer_mix,
            **{"system.within_team_density": density, "mechanisms.peer_spillover": 0.0},
        )
        result = simulate(scenario, seed=seed)
        return result.system["mean_S"].iloc[-1] - result.system["mean_S"].iloc[0]

    greater(
        [gain(0.9, seed) for seed in SEEDS],
        [gain(0.1, seed) for seed in SEEDS],
        "capacity built by peer-exchange hours: dense ties > sparse ties",
    )


def test_sector_shapes_the_start_primary_care_engages_less_and_hospitals_convene():
    model = TransformationModel(load_scenario("baseline"), rng=0)
    primary = model.org_sector == PRIMARY_CARE
    assert model.M[primary].mean() < model.M[~primary].mean() - 0.05
    assert model.team_coordinator.mean() > 0.5  # most teams have a hospital member


# ------------------------------------------------------------------ shocks


def test_who_accelerates_in_the_pandemic_had_capacity_trust_and_ties():
    """Over the pandemic window, organizations whose readiness rose most had higher capacity,
    trust and connectedness when it struck than those whose readiness fell most."""
    rows = []
    scenario = load_scenario("baseline", {"system.n_teams": 30})
    pandemic = scenario.shocks.pandemic
    for seed in SEEDS:
        model = TransformationModel(scenario, rng=seed)
        for _ in range(pandemic.start_month - 1):
            model.step()
        strength = np.sqrt(model.G * model.T) * model._ties().connectedness
        before = model.R.copy()
        for _ in range(pandemic.duration):
            model.step()
        change = model.R - before
        low, high = np.quantile(change, [0.1, 0.9])
        rows.append((strength[change >= high].mean(), strength[change <= low].mean()))
    accelerated, fell_back = np.array(rows).T
    greater(
        accelerated, fell_back, "sqrt(G T) x connectedness: top tenth of readiness change > bottom"
    )


# ------------------------------------------------------------------ funder and providers


def test_the_adaptive_funder_raises_the_budget_only_while_spending_reaches_it():
    model = TransformationModel(load_scenario("adaptive"), rng=1)
    budgets, spent = [model.funder.budget], []
    while model.running:
        spent.append(model.month_flows["spent"])
        model.step()
        budgets.append(model.funder.budget)
    for month in np.flatnonzero(np.diff(budgets) > 0):
        assert spent[month] >= 0.99 * budgets[month], f"raised in month {month + 1} below budget"
    system = model.system_frame()
    assert system["budget"].iloc[-1] <= 1.5 * system["spent"].max()


def test_a_provider_event_keeps_every_existing_provider_and_link():
    added = {
        "name": "added",
        "role": "doer",
        "count": 2,
        "regions": ["northern"],
    }
    baseline = load_scenario("baseline")
    groups = [group.model_dump() for group in baseline.providers] + [added]
    model = TransformationModel(
        load_scenario("baseline", {"events": [{"month": 12, "set": {"providers": groups}}]}), rng=4
    )
    for _ in range(11):
        model.step()
    before = model.providers
    model.step()
    after = model.providers
    kept = before.count
    assert after.count == kept + 2
    assert np.array_equal(after.expertise[:kept], before.expertise)
    old_links = len(before.link_org)
    assert np.array_equal(after.link_org[:old_links], before.link_org)
    assert np.array_equal(after.link_provider[:old_links], before.link_provider)


# ------------------------------------------------------------------ acceptability and satisfaction


def test_burdensome_ta_lowers_acceptability_for_low_capacity_organizations():
    """Small, low-capacity organizations in the lab: a heavy dose overloads them, so the same
    transformation becomes less acceptable than under a moderate dose (seed 004 L162)."""
    low_capacity = {"system.size_median": 8.0, "initial.general_capacity_mean": 0.15}

    def acceptability(dose):
        return [
            simulate(lab(dose, months=36, **low_capacity), seed=seed)
            .system["mean_acceptability"]
            .iloc[-1]
            for seed in SEEDS
        ]

    greater(acceptability(4.0), acceptability(20.0), "acceptability: moderate dose > heavy dose")


def test_satisfaction_is_recorded_per_link_and_summed_to_the_system():
    model = TransformationModel(load_scenario("baseline"), rng=5)
    for _ in range(30):
        model.step()
    links = model.link_satisfaction()
    delivered = model.providers.link_org.shape == links.shape and model.H.sum() > 0
    assert delivered and np.all((links >= 0) & (links <= 1))
    # each organization's satisfaction is the hours-weighted mean over its links
    hours = model._month_satisfaction_inputs[0]
    by_org = np.bincount(model.providers.link_org, weights=hours * links, minlength=model.n_orgs)
    served = model.H > 0
    assert by_org[served] / model.H[served] == pytest.approx(model.satisfaction[served])
    system = model.system_frame().iloc[-1]
    assert system["satisfaction"] == pytest.approx(model.H @ model.satisfaction / model.H.sum())
    assert np.all(model.satisfaction[~served] == 0)


def test_the_adaptive_funder_raises_the_budget_whatever_the_periodicity():
    """Spending reaches the budget only in contact months; a quarterly rhythm still binds."""
    for periodicity in ("monthly", "quarterly"):
        model = TransformationModel(
            load_scenario("adaptive", {"funder.periodicity": periodicity}), rng=1
        )
        while model.running:
            model.step()
        assert model.funder.raised > 1.0, periodicity


def test_a_doers_prop_lasts_through_months_without_contact_until_ta_has_ended():
    """Under a bimonthly rhythm every other month has no contact; organizations a doer served
    keep its substitution as their prop in those months, and lose it once TA has ended."""
    scenario = load_scenario("doer_heavy", {"funder.periodicity": "bimonthly"})
    gap = scenario.mechanisms.ta_gap_months
    model = TransformationModel(scenario, rng=2)
    propped_between = 0
    for _ in range(48):
        model.step()
        between = (model.H == 0) & (model.months_without_ta < gap)
        propped_between += int(np.sum(model.prop[between] > 0))
        assert np.all(model.prop[model.months_without_ta >= gap] == 0)
    assert propped_between > 0
