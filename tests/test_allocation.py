"""Allocation: priority filling versus pro-rata rationing inside provider hours, caseloads and
budget; the adaptive funder's tests.
"""

import numpy as np
import pytest

from sim.allocation import allocate, lagging_teams, underserved_regions

N = 10
LINK_ORG = np.arange(N)
LINK_PROVIDER = np.zeros(N, dtype=int)
DEMAND = np.full(N, 4.0)
PRIORITY = np.linspace(1, 0, N)  # organization 0 first


def run(provider_hours=20.0, budget=1e9, caseload=100, proportional=False, sessions=None):
    return allocate(
        link_org=LINK_ORG,
        link_provider=LINK_PROVIDER,
        demand=DEMAND,
        order_key=PRIORITY,
        time_per_hour=np.ones(N),
        provider_hours=np.array([provider_hours]),
        provider_cost=np.array([100.0]),
        caseload_limit=np.array([caseload]),
        budget=budget,
        proportional=proportional,
        sessions=sessions,
    )


def test_priority_policies_give_the_first_served_their_full_dose():
    delivered, used = run()
    assert delivered[:5] == pytest.approx(4.0) and np.all(delivered[5:] == 0)
    assert used.sum() == pytest.approx(20.0)


def test_universal_rationing_gives_everyone_the_same_share():
    delivered, used = run(proportional=True)
    assert delivered == pytest.approx(np.full(N, 2.0))
    assert used.sum() == pytest.approx(20.0)


@pytest.mark.parametrize("proportional", [False, True])
def test_budget_and_caseload_bind_in_both_modes(proportional):
    delivered, used = run(budget=1000.0, proportional=proportional)
    assert (used * 100.0).sum() == pytest.approx(1000.0)
    delivered, _ = run(caseload=3, proportional=proportional)
    assert np.count_nonzero(delivered) == 3 and np.all(delivered[3:] == 0)


@pytest.mark.parametrize("proportional", [False, True])
def test_a_team_session_is_rationed_whole_and_its_time_shared(proportional):
    one_to_one = run(proportional=proportional)
    unshared = run(proportional=proportional, sessions=np.full(N, -1))
    assert all(np.array_equal(a, b) for a, b in zip(one_to_one, unshared, strict=True))
    # two teams of five members meet the provider in two sessions of 4 hours
    sessions = np.repeat([0, 1], 5)
    delivered, used = run(
        caseload=1, provider_hours=100.0, sessions=sessions, proportional=proportional
    )
    assert np.count_nonzero(delivered) == 5  # a caseload of one: one whole session
    assert delivered[:5] == pytest.approx(4.0) and used.sum() == pytest.approx(4.0)
    # provider hours for one session and a half: the first whole, the second cut, never split
    delivered, used = run(provider_hours=6.0, sessions=sessions, proportional=proportional)
    assert used.sum() == pytest.approx(6.0)
    for session in (0, 1):
        members = delivered[sessions == session]
        assert np.all(members == members[0])  # every member of a session gets the same hours
    assert delivered[:5].sum() + delivered[5:].sum() > 6.0  # shared: more hours than time


def test_only_lagging_teams_with_limited_capacity_are_moved_to_hands_on_coaching():
    adoption = np.array([0.1, 0.1, 0.1, 0.5, 0.1])
    capacity = np.array([0.2, 0.3, 0.8, 0.1, 0.25])
    months = np.array([12, 12, 12, 12, 6])  # the last team has not had a full review period
    assert lagging_teams(
        adoption_by_team=adoption,
        capacity_by_team=capacity,
        admissions_fall_by_team=np.zeros(5),
        months_approved=months,
        review_interval=12,
        lagging_share=0.3,
        capacity_quantile=0.5,
        outcome_share=0.5,
    ).tolist() == [
        True,
        False,
        False,
        False,
        False,
    ]
    assert lagging_teams(
        adoption_by_team=adoption,
        capacity_by_team=capacity,
        admissions_fall_by_team=np.zeros(5),
        months_approved=months,
        review_interval=12,
        lagging_share=0.3,
        capacity_quantile=1.0,
        outcome_share=0.5,
    ).tolist() == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_a_team_adopting_well_but_behind_on_outcomes_lags_too():
    """The funder reviews outcomes as well as adoption (thesis M32): a limited team adopting
    above the lagging share lags once its fall in admissions is under half the mean fall."""
    common = dict(
        adoption_by_team=np.array([0.5, 0.5, 0.5, 0.5]),
        capacity_by_team=np.array([0.1, 0.2, 0.3, 0.9]),
        months_approved=np.full(4, 24),
        review_interval=12,
        lagging_share=0.3,
        capacity_quantile=0.75,
    )
    falls = np.array([0.01, 0.05, 0.06, 0.0])  # mean 0.03: the first and last under half
    assert lagging_teams(**common, admissions_fall_by_team=falls, outcome_share=0.5).tolist() == [
        True,
        False,
        False,
        True,
    ]
    assert not lagging_teams(**common, admissions_fall_by_team=falls, outcome_share=0.0).any()
    assert not lagging_teams(  # no fall anywhere yet: no team is behind on outcomes
        **common, admissions_fall_by_team=np.zeros(4), outcome_share=0.5
    ).any()


def test_a_region_with_too_few_ta_hours_per_organization_month_is_underserved():
    region = np.array([0, 0, 1, 1, 2])
    months = np.array([10, 10, 10, 10, 0])  # region 2 has no approved organization yet
    hours = np.array(
        [20.0, 20.0, 5.0, 5.0, 0.0]
    )  # 2 versus 0.5 h per organization-month; system 1.25
    assert underserved_regions(
        hours_received=hours, months_approved=months, org_region=region, n_regions=3, share=0.5
    ).tolist() == [False, True, False]
    assert not underserved_regions(
        hours_received=hours, months_approved=months, org_region=region, n_regions=3, share=0.0
    ).any()
