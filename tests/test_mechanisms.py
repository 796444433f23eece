"""Each rule of sim/mechanisms.py: bounds, monotonicity, saturation, gating, thresholds, optimum."""

import numpy as np
import pytest

from sim import mechanisms as mech
from sim.params import MechanismParams

RNG = np.random.default_rng(7)
UNIT = RNG.uniform(0, 1, 2000)
HOURS = np.linspace(0, 40, 401)


def test_absorption_bounded_increasing_and_saturating():
    for general in (0.1, 0.5, 0.9):
        a = mech.absorption(HOURS, general, 4.0, 1.5)
        assert np.all((a >= 0) & (a < 1))
        assert np.all(np.diff(a) > 0)
    assert mech.absorption(1e6, 0.5, 4.0, 1.5) > 0.999
    assert np.all(mech.absorption(5.0, np.array([0.1, 0.5, 0.9]), 4.0, 1.5)[1:] > mech.absorption(5.0, np.array([0.1, 0.5, 0.9]), 4.0, 1.5)[:-1])


def test_minimum_effective_dose_only_when_hill_above_one():
    marginal = lambda hill: np.diff(mech.absorption(HOURS, 0.5, 4.0, hill))  # noqa: E731
    assert marginal(2.0)[0] < marginal(2.0)[30]  # convex start: little, then a tip
    assert np.all(np.diff(marginal(1.0)) < 0)  # concave from the first hour


def test_readiness_is_zero_if_any_component_is_zero():
    zeros = np.zeros_like(UNIT)
    assert np.all(mech.readiness(zeros, UNIT, UNIT) == 0)
    assert np.all(mech.readiness(UNIT, zeros, UNIT) == 0)
    assert np.all(mech.readiness(UNIT, UNIT, zeros) == 0)
    assert np.all((mech.readiness(UNIT, UNIT, UNIT) >= 0) & (mech.readiness(UNIT, UNIT, UNIT) <= 1))


@pytest.mark.parametrize("motivation, general", [(0.0, 0.8), (0.8, 0.0)])
def test_capacity_gate_blocks_all_capacity_gain(motivation, general):
    n = 50
    gate = mech.capacity_gate(np.full(n, motivation), np.full(n, general))
    specific = np.full((n, 8), 0.3)
    after = mech.specific_capacity_update(specific, np.ones(n), gate, 1.0, np.ones((n, 8)), 0.0, np.zeros((n, 8)), 0.0, np.zeros(n))
    assert np.array_equal(after, specific)
    assert np.array_equal(mech.general_capacity_update(np.full(n, general), np.ones(n), gate, 1.0, 0.0, np.full(n, general)), np.full(n, general))


def test_capacity_updates_stay_in_bounds_and_grow_with_absorption():
    n = 500
    specific = RNG.uniform(0, 1, (n, 8))
    gate = mech.capacity_gate(UNIT[:n], UNIT[n : 2 * n])
    low = mech.specific_capacity_update(specific, np.full(n, 0.1), gate, 0.2, np.ones((n, 8)), 0.03, RNG.uniform(0, 1, (n, 8)), 0.01, np.full(n, 0.01))
    high = mech.specific_capacity_update(specific, np.full(n, 0.9), gate, 0.2, np.ones((n, 8)), 0.03, RNG.uniform(0, 1, (n, 8)), 0.01, np.full(n, 0.01))
    assert np.all((low >= 0) & (low <= 1) & (high >= 0) & (high <= 1))
    assert high.mean() > low.mean()


def test_caseload_dilution_and_navigation_burden():
    quality = mech.caseload_quality(np.arange(1, 60), 0.025, 5)
    assert np.all(quality[:5] == 1) and np.all(np.diff(quality[4:]) < 0)
    assert mech.navigation_burden(1, 4.0, False, 0.8) == 0
    assert mech.navigation_burden(4, 4.0, True, 0.8) < mech.navigation_burden(4, 4.0, False, 0.8) == pytest.approx(12.0)


def test_adoption_hazard_rises_with_each_driver():
    base = mech.adoption_hazard(0.0025, 0.05, 0.2, 0.5, 0.2)
    assert 0 < base < 1
    assert mech.adoption_hazard(0.01, 0.05, 0.2, 0.5, 0.2) > base
    assert mech.adoption_hazard(0.0025, 0.05, 0.6, 0.5, 0.2) > base
    assert mech.adoption_hazard(0.0025, 0.05, 0.2, 0.5, 0.6) > base
    assert not mech.adopts(np.array([1.0]), np.array([0.2]), np.array([0.3]), np.array([0.0]))[0]


def test_trust_grows_with_relationship_hours_decays_without_contact_and_likes_regular_contact():
    trust = np.full(3, 0.4)
    grown = mech.trust_update(trust, np.array([0.0, 2.0, 8.0]), 1.0, np.array([True, True, True]), 0.3, 2.0, 0.08, 1.0)
    assert grown[0] == pytest.approx(0.4) and grown[0] < grown[1] < grown[2] < 1
    assert mech.trust_update(trust, 0.0, 1.0, np.array([False] * 3), 0.3, 2.0, 0.08, 1.0)[0] == pytest.approx(0.4 * 0.92)
    weekly = mech.trust_update(trust, 8.0, 4.3, True, 0.3, 2.0, 0.08, 1.0)
    monthly = mech.trust_update(trust, 8.0, 1.0, True, 0.3, 2.0, 0.08, 1.0)
    assert np.all(weekly > monthly)


def test_fidelity_supplied_by_substitution_vanishes_with_the_hours():
    specific = np.full(2, 0.2)
    with_doer = mech.fidelity(specific, 0.8, mech.substitution(np.array([10.0, 0.0]), 0.75, 10.0), True)
    assert with_doer[0] > with_doer[1] + 0.5
    assert np.all(mech.fidelity(UNIT, 0.8, UNIT, True) <= 1)
    assert np.all(mech.fidelity(UNIT, 0.8, UNIT, False) == 0)


def test_learning_by_doing_stops_when_the_work_is_substituted():
    assert mech.learning_by_doing(0.02, 0.5, True, 1.0) == 0
    assert mech.learning_by_doing(0.02, 0.5, True, 0.0) == pytest.approx(0.01)
    assert mech.learning_by_doing(0.02, 0.5, False, 0.0) == 0


def test_discontinuation_is_five_to_eight_percent_a_year_at_median_ownership_and_capacity():
    monthly = mech.discontinuation_hazard(MechanismParams().discontinuation, 0.5, 0.5)
    annual = 1 - (1 - monthly) ** 12
    assert 0.05 <= annual <= 0.08


def test_lagged_outcome_moves_monotonically_toward_target():
    values = [0.0]
    for _ in range(50):
        values.append(mech.lagged(values[-1], 1.0, 9.0))
    assert np.all(np.diff(values) > 0) and values[-1] < 1


def net_benefit_curve(size_fte, general):
    """Compose the rules as the model does: dose -> absorption; dose -> workload -> overload."""
    params = MechanismParams()
    absorbed = mech.absorption(mech.effective_dose(0.0, HOURS, 0.0, 1.0, 0.7, params.trust_exponent, 1.0, params.content_weight, params.peer_weight), general, params.half_saturation, params.hill)
    change_hours = 0.6 * size_fte * (0.5 + general)
    strain = mech.overload(mech.workload(HOURS, params.recipient_hours, params.task_hours, 0.0, change_hours), params.overload_threshold)
    return mech.net_benefit(absorbed, 1.0, strain, 0.5)


def test_net_benefit_has_an_interior_optimum_lower_for_low_capacity():
    low = net_benefit_curve(size_fte=20, general=0.2)
    high = net_benefit_curve(size_fte=80, general=0.8)
    best_low, best_high = int(np.argmax(low)), int(np.argmax(high))
    assert 0 < best_low < len(HOURS) - 1
    assert low[-1] < low[best_low] - 0.2  # heavy TA makes a low-capacity organization worse off
    assert HOURS[best_low] < HOURS[best_high]
