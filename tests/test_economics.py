"""Outcomes and economics: the quadruple aim in model runs (a strong program against a weak
one, lags, the J-curve of cost), and the economics against hand computations (paired
increments, ICER, CEAC, the costs of a run).

The outcome rules and discounting are tested as pure functions with the other mechanisms in
``test_mechanisms.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from experiments.economics import (
    WILLINGNESS,
    acceptability,
    confident_range,
    cost_effect,
    cost_effectiveness,
    describe,
    increment,
)
from experiments.wording import money, significant
from sim import TransformationModel, load_scenario, metrics, simulate


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
    undiscounted = float((system["spent"] + system["staff_cost"] + system["setup_cost"]).sum())
    assert 0 < summary["full_cost_discounted"] < undiscounted
    assert summary["net_cost_discounted"] == pytest.approx(
        summary["full_cost_discounted"] - summary["savings_discounted"]
    )
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
                    "run_net_cost_discounted": cost,
                    "run_final_adoption": 0.1 * (arm == "more"),
                    "run_admissions_avoided_discounted": effect + 0.1 * replicate,
                }
            )
    economics, curves = cost_effectiveness(pd.DataFrame(runs), "ref")
    row = economics.set_index("arm").loc["more"]
    assert row["extra_cost"] == pytest.approx(501.5) and row["verdict"] == "ratio"
    assert row["cost_per_admission_avoided"] == pytest.approx(501.5 / 2.0)
    # by hand: 2 more avoided for $500-503, so cost-effective from $252 per avoided admission,
    # the first point of the willingness grid above it being $5,000
    assert (
        "About $251 per avoided admission; cost-effective with 95 % probability from $5,000 per "
        "avoided admission." in row["summary"]
    )
    assert "adoption +10 points" in row["summary"]
    assert set(curves["arm"]) == {"more"} and curves["probability_cost_effective"].iloc[-1] == 1


def test_a_cheaper_less_effective_arm_is_described_by_what_it_saves_and_up_to_what_value():
    """Withdrawing TA saves money and avoids fewer admissions: its ratio is savings per
    admission given up, and its acceptability curve falls, so it is worth it only up to a
    willingness to pay (by hand: it saves $1,000 per admission given up)."""
    delta_cost = np.array([-10_100.0, -9_900.0, -10_000.0, -10_050.0])
    delta_effect = np.array([-10.0, -10.0, -10.0, -10.0])
    result = cost_effect(delta_cost, delta_effect)
    curve = acceptability(delta_cost, delta_effect, WILLINGNESS)
    assert result.verdict == "ratio" and result.icer == pytest.approx(1_001.25)
    assert curve[0] == 1.0 and curve[-1] == 0.0 and np.all(np.diff(curve) <= 0)
    text = describe(
        "withdraw",
        "ref",
        result,
        adoption=increment([-0.1, -0.1]),
        confident=confident_range(curve),
    )
    assert "It saves about $1,000 per avoided admission given up" in text
    assert "only at a willingness to pay up to $0 per avoided admission" in text
    assert "cost (TA, staff time and set-up less savings) -$10,000 (" in text
    assert confident_range(np.zeros(len(WILLINGNESS))) is None


def test_money_is_rounded_to_what_it_can_carry():
    assert money(12_251_380.0) == "$12.3 M" and money(137_312_000.0) == "$137 M"
    assert money(29_990.31) == "$30,000"
    assert money(-1234.5) == "-$1,230"
    assert money(-0.2) == "$0" and money(0.3, sign=True) == "$0"  # never "-$0" or "+$0"
    assert money(1.2e6, sign=True) == "+$1.2 M" and money(-300, sign=True) == "-$300"
    assert significant(0.012345) == "+0.0123" and significant(-1234.5) == "-1,230"
    assert significant(-0.0001, 1) == "-0.0001" and significant(float("nan")) == "n/a"


def test_equity_on_outcomes_contrasts_the_admissions_of_each_ones_team():
    model = TransformationModel(load_scenario("baseline", {"months": 48}), rng=4)
    for _ in range(48):
        model.step()
    row = model.system_frame().iloc[-1]
    admissions = metrics.admissions_fall(model)[model.org_team]
    urban = model.org_region == 0
    by_hand = admissions[urban].mean() - admissions[~urban].mean()
    assert row["gap_admissions_region"] == pytest.approx(by_hand)
    top, bottom = model.capacity_quintile == 4, model.capacity_quintile == 0
    assert row["gap_admissions_capacity"] == pytest.approx(
        admissions[top].mean() - admissions[bottom].mean()
    )
    # gaps in admissions avoided: none before any change, whatever the teams' case mix
    assert model.system_frame()["gap_admissions_region"].iloc[0] == 0.0
    assert np.ptp(model.base_team_admissions) > 0


def final_fall(name: str, seeds) -> np.ndarray:
    """Each seed's fall in avoidable admissions over the run, as a share of the starting rate."""
    falls = []
    for seed in seeds:
        admissions = simulate(load_scenario(name), seed=seed).system["admissions"]
        falls.append(1.0 - admissions.iloc[-1] / admissions.iloc[0])
    return np.array(falls)


def test_a_strong_program_moves_admissions_within_the_horizon_and_a_weak_one_barely():
    """Hands-on coaching from year 2 against TA withdrawn at month 24, over paired seeds."""
    seeds = range(10)
    strong, weak = final_fall("hands_on", seeds), final_fall("withdraw_at_24", seeds)
    assert stats.ttest_rel(strong, weak, alternative="greater").pvalue < 0.01
    assert strong.mean() > 5 * weak.mean()


def test_outcomes_wait_for_the_change_and_cost_follows_a_j_curve():
    """Calibrated, where programs reach sustained fidelity within ten years: nothing moves
    before organizations operate; per-capita cost first rises above its start (set-up, TA,
    staff time) and ends below it (savings after sustained change); savings start only once
    an organization has sustained the change ``savings_after`` months."""
    scenario = load_scenario("calibrated")
    system = simulate(scenario, seed=2).system
    base = scenario.outcomes.cost_base
    cost = system["per_capita_cost"]
    assert system["admissions"].iloc[12] == pytest.approx(system["admissions"].iloc[0], rel=1e-3)
    peak = int(cost.idxmax())
    assert cost.iloc[peak] > base > cost.iloc[-1] and peak < len(cost) - 1
    first_saving = int(np.flatnonzero(system["savings"] > 0)[0])
    assert first_saving > scenario.outcomes.savings_after
    assert system["setup_cost"].iloc[: first_saving + 1].sum() > 0
    assert system["patient_experience"].iloc[-1] > scenario.outcomes.experience_base
