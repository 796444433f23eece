"""Invariants every month of every shipped scenario, determinism, checkpoint/resume and bad input.

Every shipped scenario runs at full size for its whole horizon (a run takes ~0.3 s), with
the allocation call spied on so that the hard limits are checked per provider, not only in
the monthly totals.
"""

from __future__ import annotations

import pickle
import random

import numpy as np
import pandas as pd
import pytest

import sim.model
from sim import (
    ScenarioError,
    TransformationModel,
    allocation,
    events,
    list_scenarios,
    load_scenario,
    parameter_info,
    simulate,
)
from sim import mechanisms as mech
from sim.metrics import FLOW_COLUMNS, SYSTEM_COLUMNS, TEAM_COLUMNS
from sim.params import ACTIVITIES, BUILDING_BLOCKS, MODALITIES, ROLES

SCENARIOS = list_scenarios()
SEED = 20240
UNIT_STATE = ("M", "G", "T", "O", "P", "F", "R")
TOL = 1e-6


def test_the_shipped_scenarios_include_the_eleven_of_the_design():
    design = {
        "baseline",
        "hands_on",
        "coordinated",
        "readiness_targeted",
        "need_targeted",
        "doer_heavy",
        "facilitator_heavy",
        "no_pandemic",
        "budget_cut",
        "mandate_year3",
        "withdraw_at_24",
        "northern_boots_on_ground",
        "adaptive",
    }
    assert design <= set(SCENARIOS)


# ------------------------------------------------------------------ invariants every month


class AllocationSpy:
    """Wraps allocation.allocate and keeps the arguments and result of the latest call."""

    def __init__(self, real):
        self.real = real
        self.calls = 0
        self.last = None

    def __call__(self, **inputs):
        delivered, time_used = self.real(**inputs)
        self.calls += 1
        self.last = dict(
            link_org=inputs["link_org"],
            link_provider=inputs["link_provider"],
            demand=inputs["demand"],
            time_per_hour=inputs["time_per_hour"],
            provider_hours=np.array(inputs["provider_hours"], float),
            provider_cost=inputs["provider_cost"],
            caseload_limit=inputs["caseload_limit"],
            budget=inputs["budget"],
            sessions=inputs.get("sessions"),
            delivered=delivered.copy(),
            time_used=time_used.copy(),
        )
        return delivered, time_used


def check_month(model, spy, capacities):
    month = model.steps
    params = model.scenario
    where = f"{params.name} month {month}"
    assert spy.calls == month, where
    call = spy.last
    providers = model.providers
    n_providers = providers.count

    # Provider hours are a hard limit per provider; the pandemic stand-down shrinks them.
    pandemic = events.pandemic_active(params.shocks.pandemic, month)
    capacity = providers.hours * (1.0 - (params.shocks.pandemic.ta_standdown if pandemic else 0.0))
    assert call["provider_hours"] == pytest.approx(capacity), where
    used = np.bincount(call["link_provider"], weights=call["time_used"], minlength=n_providers)
    assert np.all(used <= capacity + TOL), where
    # a team session (team-based delivery) counts once against the caseload, and its time is
    # the longest dose among its members
    sessions = call["sessions"]
    one_to_one = np.ones(len(call["delivered"]), bool) if sessions is None else sessions < 0
    attended = call["delivered"] > 0
    served = np.bincount(
        call["link_provider"][one_to_one & attended], minlength=n_providers
    ).astype(float)
    if sessions is not None:
        held = np.unique(sessions[~one_to_one & attended])
        provider_of = dict(zip(sessions, call["link_provider"], strict=True))
        served += np.bincount([provider_of[s] for s in held], minlength=n_providers)
        for session in held:
            members = sessions == session
            longest = (call["delivered"] * call["time_per_hour"])[members].max()
            assert call["time_used"][members].sum() == pytest.approx(longest), where
    assert np.all(served <= providers.caseload_limit), where
    assert model.caseload == pytest.approx(served), where
    assert np.all(call["delivered"] >= 0) and np.all(call["time_used"] >= 0), where
    assert call["time_used"][one_to_one] == pytest.approx(
        (call["delivered"] * call["time_per_hour"])[one_to_one]
    ), where

    # The budget is a hard limit too, and the money reported is the money the provider time cost.
    assert call["budget"] == model.funder.budget, where
    cost = float((call["time_used"] * call["provider_cost"][call["link_provider"]]).sum())
    assert cost <= model.funder.budget + TOL, where
    flows = model.month_flows
    assert flows["spent"] == pytest.approx(cost, abs=1e-6), where
    assert flows["spent"] <= model.funder.budget + TOL, where
    assert flows["provider_hours"] == pytest.approx(used.sum(), abs=1e-6), where
    assert flows["provider_hours"] <= capacity.sum() + TOL, where
    capacities.append(capacity.sum())

    # Organizations get no more than they asked for, and only once approved and before withdrawal.
    demand = call["demand"]
    assert np.all(demand + TOL >= model.H), where
    approved = model.teams.approval_month[model.org_team] <= month
    assert np.all(demand[~approved] == 0) and np.all(model.H[~approved] == 0), where
    if params.funder.withdraw_month and month >= params.funder.withdraw_month:
        assert np.all(model.H == 0), where

    # State stays in bounds.
    for name in UNIT_STATE:
        values = getattr(model, name)
        assert np.all(np.isfinite(values)) and np.all((values >= 0) & (values <= 1)), (
            f"{name} out of [0, 1]: {where}"
        )
    assert np.all(np.isfinite(model.S)) and np.all((model.S >= 0) & (model.S <= 1)), (
        f"S out of [0, 1]: {where}"
    )
    assert model.S.shape == (model.n_orgs, 8)
    assert np.all(np.isfinite(model.W)) and np.all(model.W >= 0), f"W negative: {where}"
    assert np.all(model.H >= 0) and np.all(model.navigation >= 0), where
    assert np.all((model.stage >= 0) & (model.stage < len(mech.STAGES))), where
    assert np.bincount(model.stage, minlength=len(mech.STAGES)).sum() == model.n_orgs, where


@pytest.mark.parametrize("name", SCENARIOS)
def test_invariants_hold_every_month_of_every_shipped_scenario(name, monkeypatch):
    spy = AllocationSpy(allocation.allocate)
    monkeypatch.setattr(allocation, "allocate", spy)
    scenario = load_scenario(name)
    model = TransformationModel(scenario, rng=SEED)
    n_orgs = model.n_orgs
    capacities: list[float] = []
    for _ in range(scenario.months):
        model.step()
        check_month(model, spy, capacities)
        assert model.n_orgs == n_orgs

    system = model.system_frame()
    assert list(system.columns) == list(SYSTEM_COLUMNS)
    assert len(system) == scenario.months + 1 and system["month"].tolist() == list(
        range(scenario.months + 1)
    )
    stage_columns = [f"stage_{stage}" for stage in mech.STAGES]
    assert (system[stage_columns].sum(axis=1) == n_orgs).all() and (
        system["n_orgs"] == n_orgs
    ).all()
    for column in (
        "mean_M",
        "mean_G",
        "mean_S",
        "mean_T",
        "mean_O",
        "mean_P",
        "mean_F",
        "mean_R",
        "p10_F",
        "p90_F",
        "adoption",
        "overloaded_share",
    ):
        assert system[column].between(0, 1).all(), column
    assert (system["p10_F"] <= system["p90_F"]).all()
    assert (system["mean_W"] >= 0).all() and np.isfinite(system["mean_W"]).all()
    for family in (ROLES, ACTIVITIES, MODALITIES, BUILDING_BLOCKS):
        parts = system[[f"hours_{part}" for part in family]].sum(axis=1)
        assert np.allclose(parts, system["ta_hours"], rtol=1e-9, atol=1e-9), family
    flows = system.iloc[1:]
    assert (flows["provider_hours"].to_numpy() <= np.array(capacities) + TOL).all()
    assert (system["spent"] <= system["budget"] + TOL).all()
    assert system["ta_hours"].sum() > 0  # the invariants above are not vacuous
    assert (system[list(FLOW_COLUMNS)] >= 0).all().all()

    teams = model.team_frame()
    assert list(teams.columns[5:]) == list(TEAM_COLUMNS)
    assert len(teams) == (scenario.months + 1) * len(model.teams.size)
    for column in ("adoption", "mean_P", "mean_F"):
        assert teams[column].between(0, 1).all(), column
    team_hours = teams.groupby("month")["ta_hours"].sum().to_numpy()
    assert np.allclose(team_hours, system["ta_hours"].to_numpy(), rtol=1e-9, atol=1e-9)
    members = teams[teams["month"] == 0]["members"]
    assert members.sum() == n_orgs
    assert members.between(scenario.system.team_size_min, scenario.system.team_size_max).all()


def test_budget_binds_and_is_never_exceeded_when_small():
    result = simulate(
        load_scenario(
            "baseline",
            {
                "funder.budget_per_month": 1000.0,
                "funder.policy": "universal",
                "shocks.pandemic.enabled": False,
            },
        ),
        seed=2,
    )
    spending = result.system["spent"].iloc[12:]
    assert (spending <= 1000.0 + TOL).all() and spending.max() > 990.0


def test_provider_hours_bind_and_are_never_exceeded_when_providers_are_few():
    scenario = load_scenario(
        "baseline",
        {
            "funder.budget_per_month": 1e8,
            "funder.policy": "universal",
            "funder.dosage_hours": 40.0,
            "shocks.pandemic.enabled": False,
        },
    )
    model = TransformationModel(scenario, rng=4)
    for _ in range(36):
        model.step()
    system = model.system_frame()
    capacity = model.providers.hours.sum()
    assert (system["provider_hours"] <= capacity + TOL).all()
    assert system["provider_hours"].max() > 0.95 * capacity


# ------------------------------------------------------------------ determinism


def disturb_global_random(state: int) -> None:
    random.seed(state)
    np.random.seed(state % 2**32)
    random.random()
    np.random.random(7)


@pytest.mark.parametrize("name", ["baseline", "hands_on", "adaptive", "need_targeted"])
def test_same_seed_same_output_even_with_global_random_state_disturbed(name):
    scenario = load_scenario(name, {"system.n_teams": 20})
    disturb_global_random(1)
    first = simulate(scenario, seed=11)
    disturb_global_random(987654)
    second = simulate(scenario, seed=11)
    pd.testing.assert_frame_equal(first.system, second.system)
    pd.testing.assert_frame_equal(first.teams, second.teams)
    assert first.summary.keys() == second.summary.keys()
    for key, value in first.summary.items():
        assert value == second.summary[key] or (
            np.isnan(value) and np.isnan(second.summary[key])
        ), key


def test_global_random_state_disturbed_between_months_changes_nothing_and_is_not_consumed():
    scenario = load_scenario("hands_on", {"system.n_teams": 20})
    quiet = TransformationModel(scenario, rng=5)
    noisy = TransformationModel(scenario, rng=5)
    for month in range(scenario.months):
        quiet.step()
        disturb_global_random(month)
        python_state, numpy_state = random.getstate(), np.random.get_state()
        noisy.step()
        assert random.getstate() == python_state, "the model draws from the global random module"
        after = np.random.get_state()
        assert (
            after[0] == numpy_state[0]
            and np.array_equal(after[1], numpy_state[1])
            and after[2:] == numpy_state[2:]
        ), "the model draws from numpy's global RNG"
    pd.testing.assert_frame_equal(quiet.system_frame(), noisy.system_frame())
    pd.testing.assert_frame_equal(quiet.team_frame(), noisy.team_frame())


def test_different_seeds_give_different_systems_and_trajectories():
    scenario = load_scenario("baseline", {"system.n_teams": 20})
    first, second = simulate(scenario, seed=1), simulate(scenario, seed=2)
    assert not first.system.equals(second.system)
    assert not first.teams.equals(second.teams)
    assert not np.allclose(first.system["mean_F"].iloc[1:], second.system["mean_F"].iloc[1:])
    assert not np.array_equal(
        TransformationModel(scenario, rng=1).G, TransformationModel(scenario, rng=2).G
    )


# ------------------------------------------------------------------ pickling: checkpoint and resume


def state_arrays(model):
    return {
        "team_hands_on": model.funder.hands_on,
        **{
            name: getattr(model, name)
            for name in (
                "M",
                "G",
                "S",
                "T",
                "O",
                "W",
                "P",
                "F",
                "R",
                "H",
                "stage",
                "months_without_ta",
            )
        },
    }


@pytest.mark.parametrize(
    "name, checkpoint",
    [("baseline", 0), ("hands_on", 12), ("adaptive", 30), ("withdraw_at_24", 20)],
)
def test_unpickled_model_resumes_exactly_like_the_original(name, checkpoint):
    """Checkpoints before events (hands_on month 24), adaptive reviews and withdrawal still resume
    identically.
    """
    scenario = load_scenario(name, {"system.n_teams": 20})
    model = TransformationModel(scenario, rng=9)
    for _ in range(checkpoint):
        model.step()
    copy = pickle.loads(pickle.dumps(model))
    assert copy is not model and copy.steps == model.steps == checkpoint
    for _ in range(checkpoint, 48):
        model.step()
        copy.step()
    pd.testing.assert_frame_equal(model.system_frame(), copy.system_frame())
    pd.testing.assert_frame_equal(model.team_frame(), copy.team_frame())
    for table in model.datacollector.tables:  # everything the DataCollector recorded
        pd.testing.assert_frame_equal(
            model.datacollector.get_table_dataframe(table),
            copy.datacollector.get_table_dataframe(table),
        )
    for key, value in state_arrays(model).items():
        assert np.array_equal(value, state_arrays(copy)[key]), key
    assert (
        model.funder.budget == copy.funder.budget
        and model.scenario.validated == copy.scenario.validated
    )
    assert model.funder.coordinated == copy.funder.coordinated
    assert model.funder.local_providers == copy.funder.local_providers
    # The resumed run also matches an uninterrupted run from scratch.
    fresh = TransformationModel(scenario, rng=9)
    for _ in range(48):
        fresh.step()
    pd.testing.assert_frame_equal(fresh.system_frame(), copy.system_frame())


def test_a_finished_model_pickles_with_its_results():
    model = TransformationModel(load_scenario("baseline", {"system.n_teams": 10}), rng=3)
    for _ in range(24):
        model.step()
    copy = pickle.loads(pickle.dumps(model))
    pd.testing.assert_frame_equal(model.system_frame(), copy.system_frame())
    assert len(copy.organizations) == copy.n_orgs


# --------------------------------------------------------- bad input: rejected before anything runs


@pytest.fixture
def nothing_runs(monkeypatch):
    """Fail loudly if a TransformationModel is constructed or a month is stepped."""
    built = []

    def refuse_init(self, *args, **kwargs):
        built.append(args)
        raise AssertionError("TransformationModel was constructed for an invalid scenario")

    monkeypatch.setattr(sim.model.TransformationModel, "__init__", refuse_init)
    monkeypatch.setattr(
        sim.model.TransformationModel, "step", lambda self: pytest.fail("a month ran")
    )
    yield built
    assert not built


def assert_one_line(error: pytest.ExceptionInfo, *expected: str) -> str:
    message = str(error.value)
    assert message.strip(), "empty message"
    assert "\n" not in message and "\r" not in message, f"not one line: {message!r}"
    assert "Traceback" not in message and "pydantic" not in message.lower(), message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    return message


def range_text(path: str) -> str:
    info = parameter_info(load_scenario("baseline"), path)
    return f"between {info.low:g} and {info.high:g}"


BAD_FILES = {
    "unknown top-level key": ('colour = "red"\n', ["colour", "unknown parameter"]),
    "unknown nested key": ("[funder]\nbudgett = 5.0\n", ["funder.budgett", "unknown parameter"]),
    "unknown deeply nested key": (
        "[shocks.pandemic]\nseverity = 2.0\n",
        ["shocks.pandemic.severity", "unknown parameter"],
    ),
    "unknown key in a provider": (
        '[[providers]]\nname = "x"\ncolor = 1\n',
        ["providers.0.color", "unknown parameter"],
    ),
    "unknown key in an extending file": (
        'extends = "baseline"\n[mechanisms]\nhil = 2.0\n',
        ["mechanisms.hil", "unknown parameter"],
    ),
    "wrong type: string for int": ('[system]\nn_teams = "many"\n', ["system.n_teams", "'many'"]),
    "wrong type: float for int": ("[system]\nn_teams = 5.5\n", ["system.n_teams", "5.5"]),
    "wrong type: bool for number": (
        "[funder]\nbudget_per_month = true\n",
        ["funder.budget_per_month"],
    ),
    "wrong type: number for bool": ("[funder]\ncoordinated = 1\n", ["funder.coordinated"]),
    "wrong type: scalar for section": ("funder = 3\n", ["funder"]),
    "wrong type: list for string": ('[[providers]]\nrole = ["doer"]\n', ["providers.0.role"]),
    "NaN": ("[mechanisms]\nhill = nan\n", ["mechanisms.hill", "finite"]),
    "infinity": ("[funder]\nbudget_per_month = inf\n", ["funder.budget_per_month", "finite"]),
    "NaN in a list": (
        "[mechanisms]\nreadiness_weights = [nan, 1.0, 1.0]\n",
        ["mechanisms.readiness_weights", "finite"],
    ),
    "negative budget": (
        "[funder]\nbudget_per_month = -1.0\n",
        ["funder.budget_per_month", range_text("funder.budget_per_month"), "-1.0"],
    ),
    "out of range: hill": (
        "[mechanisms]\nhill = 9.0\n",
        ["mechanisms.hill", range_text("mechanisms.hill"), "9.0"],
    ),
    "out of range: months": ("months = 0\n", ["months", range_text("months")]),
    "out of range: provider count": (
        "[[providers]]\ncount = -3\n",
        ["providers.0.count", range_text("providers.0.count")],
    ),
    "out of range: role": (
        "[roles.doer]\nsubstitution = 1.5\n",
        ["roles.doer.substitution", range_text("roles.doer.substitution")],
    ),
    "out of range: pandemic": (
        "[shocks.pandemic]\nslack_cut = 1.2\n",
        ["shocks.pandemic.slack_cut", range_text("shocks.pandemic.slack_cut")],
    ),
    "out of range: nested mix": (
        "[funder.hands_on_mix]\ncontent = 2.0\nrelationship = 0.0\npeer = 0.0\n",
        ["funder.hands_on_mix.content", range_text("funder.hands_on_mix.content")],
    ),
    "out of range: share": (
        "[system]\nfirst_cohort_share = 0.0\n",
        ["system.first_cohort_share", range_text("system.first_cohort_share")],
    ),
    "activity shares not summing to 1": (
        "[[providers]]\nactivity_mix = { content = 0.5, relationship = 0.2, peer = 0.1 }\n",
        ["providers.0.activity_mix", "sum to 1", "0.8"],
    ),
    "hands-on shares not summing to 1": (
        "[funder.hands_on_mix]\ncontent = 0.5\nrelationship = 0.8\npeer = 0.1\n",
        ["funder.hands_on_mix", "sum to 1", "1.4"],
    ),
    "region shares not summing to 1": (
        "[system.region_shares]\nurban = 0.9\nrural = 0.3\nnorthern = 0.1\n",
        ["system.region_shares", "sum to 1", "1.3"],
    ),
    "team_size_min > team_size_max": (
        "[system]\nteam_size_min = 50\nteam_size_max = 10\n",
        ["system", "team_size_min", "team_size_max"],
    ),
    "unknown policy": (
        '[funder]\npolicy = "lottery"\n',
        ["funder.policy", "'lottery'", "'need'", "'readiness'"],
    ),
    "unknown role": (
        '[[providers]]\nrole = "consultant"\n',
        ["providers.0.role", "'consultant'", "'facilitator'"],
    ),
    "unknown periodicity": (
        '[funder]\nperiodicity = "daily"\n',
        ["funder.periodicity", "'daily'", "'quarterly'"],
    ),
    "unknown region": ('[[providers]]\nregions = ["south"]\n', ["providers.0.regions", "'south'"]),
    "no region": ("[[providers]]\nregions = []\n", ["providers.0", "regions"]),
    "malformed TOML": ("[funder\nbudget_per_month = 1\n", ["bad.toml", "not valid TOML"]),
    "duplicate TOML key": ("months = 12\nmonths = 24\n", ["bad.toml", "not valid TOML"]),
    "extends an unknown scenario": ('extends = "nowhere"\n', ["nowhere", "unknown scenario"]),
    "extends a missing file": (
        'extends = "nowhere.toml"\n',
        ["nowhere.toml", "no such scenario file"],
    ),
    "extends is not a name": ("extends = 5\n", ["extends"]),
    "event sets an unknown key": (
        '[[events]]\nmonth = 5\nset = { "funder.nope" = 1 }\n',
        ["events.0", "funder.nope", "unknown parameter"],
    ),
    "event sets an out-of-range value": (
        '[[events]]\nmonth = 5\nset = { "funder.budget_per_month" = -5.0 }\n',
        ["events.0", "funder.budget_per_month", range_text("funder.budget_per_month")],
    ),
    "event sets an invalid literal": (
        '[[events]]\nmonth = 5\nset = { "funder.policy" = "lottery" }\n',
        ["events.0", "funder.policy", "'lottery'"],
    ),
    "event after the horizon": (
        'months = 12\n[[events]]\nmonth = 20\nset = { "funder.budget_per_month" = 1.0 }\n',
        ["events.0.month", "12"],
    ),
    "event with an unknown key of its own": (
        '[[events]]\nmonth = 5\nwhen = "soon"\n',
        ["events.0.when", "unknown parameter"],
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_invalid_scenario_file_is_rejected_with_one_line_naming_the_field(
    case, tmp_path, nothing_runs
):
    text, expected = BAD_FILES[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as error:
        simulate(path, seed=1)
    assert_one_line(error, *expected)
    with pytest.raises(ScenarioError) as again:
        load_scenario(str(path))
    assert str(again.value) == str(error.value)


def test_scenario_error_is_a_value_error():
    assert issubclass(ScenarioError, ValueError)


def test_unknown_scenario_name_is_rejected_listing_the_shipped_ones(nothing_runs):
    with pytest.raises(ScenarioError) as error:
        simulate("no_such_scenario", seed=1)
    assert_one_line(error, "no_such_scenario", "unknown scenario", "baseline", "withdraw_at_24")


def test_missing_scenario_file_is_rejected(tmp_path, nothing_runs):
    with pytest.raises(ScenarioError) as error:
        simulate(tmp_path / "absent.toml", seed=1)
    assert_one_line(error, "absent.toml")


@pytest.mark.parametrize("chain", [["a"], ["a", "b"], ["a", "b", "c"]])
def test_circular_extends_is_rejected(chain, tmp_path, nothing_runs):
    for name, parent in zip(chain, chain[1:] + chain[:1], strict=True):
        (tmp_path / f"{name}.toml").write_text(f'extends = "{parent}.toml"\n')
    with pytest.raises(ScenarioError) as error:
        simulate(tmp_path / "a.toml", seed=1)
    assert_one_line(error, "extends", "circular", "a.toml")


BAD_OVERRIDES = {
    "unknown key": ({"funder.nope": 1}, ["funder.nope", "unknown parameter"]),
    "unknown section": ({"nosuch.key": 1}, ["nosuch.key", "unknown parameter"]),
    "provider index out of range": (
        {"providers.9.count": 1},
        ["providers.9.count", "out of range"],
    ),
    "out of range": (
        {"providers.0.count": -3},
        ["providers.0.count", range_text("providers.0.count")],
    ),
    "NaN": ({"mechanisms.half_saturation": float("nan")}, ["mechanisms.half_saturation", "finite"]),
    "wrong type": ({"system.n_teams": "ten"}, ["system.n_teams"]),
    "shares": ({"system.region_shares.urban": 0.9}, ["system.region_shares", "sum to 1"]),
    "sizes": ({"system.team_size_min": 60}, ["team_size_min", "team_size_max"]),
    "policy": ({"funder.policy": "first_come"}, ["funder.policy", "'first_come'"]),
}


@pytest.mark.parametrize("case", BAD_OVERRIDES)
def test_invalid_overrides_are_rejected_before_the_model_is_built(case, monkeypatch):
    overrides, expected = BAD_OVERRIDES[case]
    with pytest.raises(ScenarioError) as error:
        load_scenario("baseline", overrides)
    assert_one_line(error, *expected)
    monkeypatch.setattr(
        TransformationModel, "_build", lambda self: pytest.fail("the model was built")
    )
    with pytest.raises(ScenarioError) as from_model:
        TransformationModel("baseline", rng=1, **overrides)
    assert str(from_model.value) == str(error.value)


# ----------------------------------------------------- defects found once, kept as regression tests


@pytest.mark.parametrize("weights", [[1.0, -1.0, 1.0], [0.0, 0.0, 0.0]])
def test_readiness_weights_outside_a_meaningful_range_are_rejected(weights, tmp_path):
    path = tmp_path / "weights.toml"
    path.write_text(f"[mechanisms]\nreadiness_weights = {weights}\n")
    with pytest.raises(ScenarioError) as error:
        load_scenario(path)
    assert_one_line(error, "mechanisms.readiness_weights")


@pytest.mark.parametrize("role", ["doer", "facilitator"])
def test_overriding_one_role_parameter_keeps_that_roles_other_defaults(role, tmp_path):
    defaults = getattr(load_scenario("baseline").roles, role)
    from_override = getattr(
        load_scenario("baseline", {f"roles.{role}.substitution": 0.33}).roles, role
    )
    path = tmp_path / "role.toml"
    path.write_text(f'extends = "baseline"\n[roles.{role}]\nsubstitution = 0.33\n')
    from_file = getattr(load_scenario(path).roles, role)
    for loaded in (from_override, from_file):
        assert loaded.substitution == 0.33
        assert (loaded.capacity_transfer, loaded.ownership_gain, loaded.readiness_dependence) == (
            defaults.capacity_transfer,
            defaults.ownership_gain,
            defaults.readiness_dependence,
        )


def test_nan_in_an_event_is_reported_as_not_finite(tmp_path, nothing_runs):
    path = tmp_path / "event.toml"
    path.write_text('[[events]]\nmonth = 5\nset = { "funder.budget_per_month" = nan }\n')
    with pytest.raises(ScenarioError) as error:
        simulate(path, seed=1)
    message = assert_one_line(error, "funder.budget_per_month", "finite")
    assert "boolean" not in message


def test_message_stays_one_line_for_a_key_with_a_newline(tmp_path, nothing_runs):
    path = tmp_path / "key.toml"
    path.write_text('"bad\\nkey" = 1\n')
    with pytest.raises(ScenarioError) as error:
        simulate(path, seed=1)
    assert_one_line(error, "unknown parameter")
