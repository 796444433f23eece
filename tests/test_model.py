"""Invariants every month of every shipped scenario, determinism, checkpointing and bad input."""

import pickle
import random

import numpy as np
import pandas as pd
import pytest

from sim import ScenarioError, TransformationModel, list_scenarios, load_scenario, simulate
from sim.system import HOURS_PER_FTE

SMALL = {"system.n_teams": 15}
STATE_IN_UNIT_INTERVAL = ("M", "G", "S", "T", "O", "P", "F", "R")


def test_thirteen_scenarios_are_shipped():
    assert {"baseline", "hands_on", "coordinated", "readiness_targeted", "need_targeted", "doer_heavy", "facilitator_heavy", "no_pandemic", "budget_cut", "mandate_year3", "withdraw_at_24", "northern_boots_on_ground", "adaptive"} <= set(list_scenarios())


@pytest.mark.parametrize("name", list_scenarios())
def test_invariants_hold_every_month(name):
    scenario = load_scenario(name, SMALL)
    model = TransformationModel(scenario, rng=3)
    for _ in range(scenario.months):
        model.step()
        for variable in STATE_IN_UNIT_INTERVAL:
            values = getattr(model, variable)
            assert np.all((values >= 0) & (values <= 1)), f"{variable} out of [0, 1] at month {model.steps}"
        assert np.all(model.W >= 0)
        capacity = (model.providers.hours).sum()
        assert model.month_flows["provider_hours"] <= capacity + 1e-9
        assert model.month_flows["spent"] <= model.budget + 1e-6
        assert np.all(model.caseload <= model.providers.caseload_limit)
    system = model.system_frame()
    stages = system.filter(like="stage_").sum(axis=1)
    assert (stages == system["n_orgs"]).all()
    for family in (("doer", "partner", "facilitator"), ("content", "relationship", "peer"), ("in_person", "hybrid", "virtual")):
        assert np.allclose(system[[f"hours_{part}" for part in family]].sum(axis=1), system["ta_hours"])
    assert (system["provider_hours"] <= model.providers.hours.sum() + 1e-9).all()
    assert (system["spent"] <= system["budget"] + 1e-6).all()


def test_provider_capacity_is_fte_times_direct_hours():
    model = TransformationModel("baseline", rng=1)
    assert model.providers.hours.sum() == pytest.approx(sum(g.count * g.fte for g in model.params.providers) * HOURS_PER_FTE)


def test_budget_binds_when_small():
    result = simulate(load_scenario("baseline", {**SMALL, "funder.budget_per_month": 1000.0, "funder.policy": "universal"}), seed=2)
    spending = result.system["spent"].iloc[20:]
    assert (spending <= 1000.0 + 1e-6).all() and spending.max() > 990.0


def test_same_seed_same_output_even_with_global_random_state_disturbed():
    scenario = load_scenario("baseline", SMALL)
    random.seed(1)
    np.random.seed(1)
    first = simulate(scenario, seed=11)
    random.seed(99)
    np.random.seed(99)
    random.random()
    np.random.random(100)
    second = simulate(scenario, seed=11)
    pd.testing.assert_frame_equal(first.system, second.system)
    pd.testing.assert_frame_equal(first.teams, second.teams)
    assert not simulate(scenario, seed=12).system.equals(first.system)


def test_model_pickles_and_resumes_identically():
    model = TransformationModel(load_scenario("baseline", SMALL), rng=5)
    for _ in range(30):
        model.step()
    copy = pickle.loads(pickle.dumps(model))
    for _ in range(30):
        model.step()
        copy.step()
    pd.testing.assert_frame_equal(model.system_frame(), copy.system_frame())


def test_agents_are_views_over_state_arrays():
    model = TransformationModel(load_scenario("baseline", SMALL), rng=5)
    organization = model.organizations.to_list()[3]
    assert organization.M == model.M[3]
    organization.M = 0.25
    assert model.M[3] == 0.25
    assert len(model.organizations) == model.n_orgs == model.grid.G.number_of_nodes()
    assert organization.stage == "not_engaged" and organization.region in ("urban", "rural", "northern")


def test_overrides_through_constructor_keywords():
    model = TransformationModel("baseline", rng=1, funder__budget_per_month=12345.0, **{"system.n_teams": 4})
    assert model.params.funder.budget_per_month == 12345.0 and len(model.teams.size) == 4


def test_scheduled_event_changes_parameters_at_its_month():
    model = TransformationModel(load_scenario("budget_cut", SMALL), rng=1)
    for _ in range(47):
        model.step()
    assert model.budget == 60000.0
    model.step()
    assert model.budget == 30000.0


BAD_SCENARIOS = {
    "unknown top-level key": ("colour = 'red'\n", "colour: unknown parameter"),
    "unknown nested key": ("[funder]\nbudgett = 5.0\n", "funder.budgett: unknown parameter"),
    "wrong type": ("[funder]\nbudget_per_month = 'lots'\n", "funder.budget_per_month"),
    "negative budget": ("[funder]\nbudget_per_month = -1.0\n", "funder.budget_per_month: must be between 0 and"),
    "out of range": ("[mechanisms]\nhill = 9.0\n", "mechanisms.hill: must be between 1 and 4"),
    "NaN": ("[mechanisms]\nhill = nan\n", "mechanisms.hill: must be a finite number"),
    "shares not summing to 1": ("[system.region_shares]\nurban = 0.9\nrural = 0.3\nnorthern = 0.1\n", "system.region_shares: shares must sum to 1"),
    "activity shares": ("[[providers]]\nactivity_mix = { content = 0.5, relationship = 0.2, peer = 0.1 }\n", "providers.0.activity_mix: shares must sum to 1"),
    "inconsistent sizes": ("[system]\nteam_size_min = 50\nteam_size_max = 10\n", "team_size_min must be <= team_size_max"),
    "unknown policy": ("[funder]\npolicy = 'lottery'\n", "funder.policy: must be one of"),
    "malformed TOML": ("[funder\n", "not valid TOML"),
    "unknown extends": ("extends = 'nowhere'\n", "nowhere: unknown scenario"),
    "event with unknown key": ("[[events]]\nmonth = 5\nset = { 'funder.nope' = 1 }\n", "funder.nope: unknown parameter"),
}


@pytest.mark.parametrize("case", BAD_SCENARIOS)
def test_bad_scenarios_are_rejected_with_one_line_before_anything_runs(case, tmp_path, monkeypatch):
    text, expected = BAD_SCENARIOS[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    monkeypatch.setattr(TransformationModel, "_build", lambda self: pytest.fail("the model was built"))
    with pytest.raises(ScenarioError) as error:
        simulate(str(path), seed=1)
    message = str(error.value)
    assert expected in message and "\n" not in message


def test_circular_extends_is_rejected(tmp_path):
    (tmp_path / "a.toml").write_text("extends = 'b.toml'\n")
    (tmp_path / "b.toml").write_text("extends = 'a.toml'\n")
    with pytest.raises(ScenarioError, match="circular"):
        load_scenario(tmp_path / "a.toml")


def test_unknown_override_and_out_of_range_override():
    with pytest.raises(ScenarioError, match="funder.nope: unknown parameter"):
        load_scenario("baseline", {"funder.nope": 1})
    with pytest.raises(ScenarioError, match=r"providers.0.count: must be between 0 and 2000"):
        load_scenario("baseline", {"providers.0.count": -3})
