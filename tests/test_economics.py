"""Economics against hand computations: paired increments, ICER, CEAC, costs of a run.

Discounting, a rule, is tested with the other mechanisms in ``test_mechanisms.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.economics import (
    acceptability,
    cost_effect,
    cost_effectiveness,
    increment,
    money,
)
from sim import TransformationModel, load_scenario, simulate


def test_a_paired_increment_has_the_t_interval_of_its_differences():
    differences = np.array([1.0, 2.0, 3.0, 4.0])
    result = increment(differences)
    half = 3.182446305284263 * np.std(differences, ddof=1) / 2  # t(0.975, 3) * s / sqrt(4)
    assert (result.mean, result.low, result.high) == pytest.approx((2.5, 2.5 - half, 2.5 + half))
    same = increment([5.0, 5.0])
    assert same.low == same.high == 5.0


def test_the_icer_is_reported_only_where_it_means_something():
    costly = cost_effect([100.0, 110.0, 90.0], [2.0, 2.2, 1.8])
    assert costly.verdict == "ratio" and costly.icer == pytest.approx(50.0)
    assert cost_effect([-5.0, -4.0, -6.0], [1.0, 1.1, 0.9]).verdict == "dominant"
    assert cost_effect([5.0, 4.0, 6.0], [-1.0, -1.1, -0.9]).verdict == "dominated"
    unclear = cost_effect([100.0, 120.0, 80.0], [1.0, -1.0, 0.2])
    assert unclear.verdict == "no difference in effect" and unclear.icer is None


def test_acceptability_is_the_share_with_positive_net_benefit():
    cost, effect = np.array([100.0, 200.0, 300.0, 400.0]), np.array([1.0, 1.0, 1.0, 1.0])
    curve = acceptability(cost, effect, [0.0, 150.0, 250.0, 1000.0])
    assert curve == pytest.approx([0.0, 0.25, 0.5, 1.0])  # by hand: wtp * 1 - cost > 0
    assert np.all(np.diff(acceptability(cost, effect, np.linspace(0, 500, 11))) >= 0)


def test_staff_time_is_costed_at_the_wage_and_the_full_cost_discounted():
    scenario = load_scenario("baseline", {"months": 36})
    result = simulate(scenario, seed=3)
    system, summary = result.system, result.summary
    wage, ratio = scenario.outcomes.staff_wage, scenario.mechanisms.recipient_hours
    assert system["staff_cost"].to_numpy() == pytest.approx(
        wage * ratio * system["ta_hours"].to_numpy()
    )
    undiscounted = float((system["spent"] + system["staff_cost"]).sum())
    assert 0 < summary["full_cost_discounted"] < undiscounted
    flat = simulate(load_scenario("baseline", {"months": 36, "outcomes.discount_rate": 0.0}), 3)
    assert flat.summary["full_cost_discounted"] == pytest.approx(undiscounted)


def test_cost_effectiveness_pairs_each_arm_with_the_reference_by_replicate():
    runs = []
    for replicate in range(4):
        for arm, cost, effect in (("ref", 1000.0, 10.0), ("more", 1500.0 + replicate, 12.0)):
            runs.append(
                {
                    "run_id": f"{arm}-{replicate}",
                    "replicate": replicate,
                    "arm": arm,
                    "run_full_cost_discounted": cost,
                    "run_admissions_avoided_discounted": effect + 0.1 * replicate,
                }
            )
    economics, curves = cost_effectiveness(pd.DataFrame(runs), "ref")
    row = economics.set_index("arm").loc["more"]
    assert row["extra_cost"] == pytest.approx(501.5) and row["verdict"] == "ratio"
    assert row["cost_per_admission_avoided"] == pytest.approx(501.5 / 2.0)
    assert "about $251 per avoided admission" in row["summary"]
    assert set(curves["arm"]) == {"more"} and curves["probability_cost_effective"].iloc[-1] == 1


def test_money_is_rounded_to_what_it_can_carry():
    assert money(12_251_380.0) == "$12.3 M"
    assert money(29_990.31) == "$30,000"
    assert money(-1234.5) == "-$1,230"


def test_equity_on_outcomes_contrasts_the_admissions_of_each_ones_team():
    model = TransformationModel(load_scenario("baseline", {"months": 48}), rng=4)
    for _ in range(48):
        model.step()
    row = model.system_frame().iloc[-1]
    admissions = model.outcomes["admissions"][model.org_team]
    urban = model.org_region == 0
    by_hand = admissions[urban].mean() - admissions[~urban].mean()
    assert row["gap_admissions_region"] == pytest.approx(by_hand)
    top, bottom = model.capacity_quintile == 4, model.capacity_quintile == 0
    assert row["gap_admissions_capacity"] == pytest.approx(
        admissions[top].mean() - admissions[bottom].mean()
    )
    assert model.system_frame()["gap_admissions_region"].iloc[0] == pytest.approx(0.0)
