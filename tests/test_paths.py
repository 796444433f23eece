"""Dotted parameter paths (sim/paths.py): one set of rules for every layer naming a parameter."""

import re

import pytest

from sim import ScenarioError, load_scenario, parameter_info, parameter_table, paths
from sim.params import Scenario


def test_split_reads_list_indices_and_rejects_empty_parts():
    assert paths.split("providers.0.count") == ["providers", 0, "count"]
    for bad in ("", "funder.", ".funder", "funder..policy"):
        with pytest.raises(ScenarioError, match="not a dotted parameter path"):
            paths.split(bad)


def test_keyword_spelling_round_trips():
    assert paths.from_keyword("funder__budget_per_month") == "funder.budget_per_month"
    assert paths.to_keyword("providers.0.count") == "providers__0__count"
    assert paths.from_keyword(paths.to_keyword("shocks.pandemic.enabled")) == (
        "shocks.pandemic.enabled"
    )


def test_get_reads_models_lists_and_raw_dictionaries_alike():
    scenario = load_scenario("baseline")
    assert paths.get(scenario, "funder.budget_per_month") == scenario.funder.budget_per_month
    assert paths.get(scenario, "providers.0.count") == scenario.providers[0].count
    raw = scenario.model_dump()
    assert paths.get(raw, "providers.0.count") == scenario.providers[0].count


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("funder.nope", "funder.nope: unknown parameter"),
        ("providers.7.count", "providers.7.count: index 7 out of range (0 to 2)"),
        ("funder.budget_per_month.x", "funder.budget_per_month.x: unknown parameter"),
    ],
)
def test_get_names_the_path_that_names_nothing(path, message):
    with pytest.raises(ScenarioError, match=re.escape(message)):
        paths.get(load_scenario("baseline"), path)


def test_assign_fills_an_omitted_section_from_the_schema_default():
    data: dict = {}
    paths.assign(data, "providers.0.count", 3, Scenario)
    paths.assign(data, "shocks.pandemic.duration", 6, Scenario)
    scenario = Scenario.model_validate(data)
    assert scenario.providers[0].count == 3
    assert scenario.providers[0].role == Scenario().providers[0].role  # the rest stays default
    assert scenario.shocks.pandemic.duration == 6


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("colour", "colour: unknown parameter"),
        ("funder.budgett", "funder.budgett: unknown parameter"),
        ("funder.budget_per_month.x", "funder.budget_per_month is a value, not a section"),
    ],
)
def test_assign_refuses_what_the_schema_does_not_declare(path, message):
    data = load_scenario("baseline").model_dump()
    with pytest.raises(ScenarioError, match=re.escape(message)):
        paths.assign(data, path, 1, Scenario)


def test_field_knows_sections_list_items_and_value_items():
    assert (
        paths.field(Scenario, "providers.3.count")
        is Scenario.model_fields["providers"].annotation.__args__[0].model_fields["count"]
    )
    assert paths.bounds(paths.field(Scenario, "mechanisms.readiness_weights.0")) == (0, 5)
    assert paths.field(Scenario, "funder.nope") is None
    assert paths.field(Scenario, "funder.budget_per_month.x") is None


def test_parameter_info_agrees_with_the_table_and_refuses_sections():
    scenario = load_scenario("adaptive")
    for row in parameter_table(scenario):
        assert parameter_info(scenario, row.path) == row
    with pytest.raises(ScenarioError, match="funder: not a single parameter"):
        parameter_info(scenario, "funder")
