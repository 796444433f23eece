"""The model's Mesa-facing surface: agents as views over state, constructor overrides, scheduled events.

Invariants, determinism, checkpointing and bad input are in test_model_invariants.py.
"""

import pytest

from sim import TransformationModel, load_scenario
from sim.system import HOURS_PER_FTE

SMALL = {"system.n_teams": 15}


def test_provider_capacity_is_fte_times_direct_hours():
    model = TransformationModel("baseline", rng=1)
    assert model.providers.hours.sum() == pytest.approx(
        sum(g.count * g.fte for g in model.params.providers) * HOURS_PER_FTE
    )


def test_agents_are_views_over_state_arrays():
    model = TransformationModel(load_scenario("baseline", SMALL), rng=5)
    organization = model.organizations.to_list()[3]
    assert model.M[3] == organization.M
    organization.M = 0.25
    assert model.M[3] == 0.25
    assert len(model.organizations) == model.n_orgs == model.grid.G.number_of_nodes()
    assert organization.stage == "not_engaged" and organization.region in (
        "urban",
        "rural",
        "northern",
    )


def test_overrides_through_constructor_keywords():
    model = TransformationModel(
        "baseline", rng=1, funder__budget_per_month=12345.0, **{"system.n_teams": 4}
    )
    assert model.params.funder.budget_per_month == 12345.0 and len(model.teams.size) == 4


def test_scheduled_event_changes_parameters_at_its_month():
    model = TransformationModel(load_scenario("budget_cut", SMALL), rng=1)
    for _ in range(47):
        model.step()
    assert model.budget == 60000.0
    model.step()
    assert model.budget == 30000.0
