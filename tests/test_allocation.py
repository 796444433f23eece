"""Allocation: priority filling versus pro-rata rationing, both inside provider hours, caseloads and budget."""

import numpy as np
import pytest

from sim.allocation import allocate

N = 10
LINK_ORG = np.arange(N)
LINK_PROVIDER = np.zeros(N, dtype=int)
DEMAND = np.full(N, 4.0)
PRIORITY = np.linspace(1, 0, N)  # organization 0 first


def run(provider_hours=20.0, budget=1e9, caseload=100, proportional=False):
    return allocate(LINK_ORG, LINK_PROVIDER, DEMAND, PRIORITY, np.ones(N), np.array([provider_hours]), np.array([100.0]), np.array([caseload]), budget, proportional=proportional)


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
