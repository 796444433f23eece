"""The joint calibration's pieces: the twelve patterns as constraints (statistics that hold at the
shipped default and fail when their contrast is reversed), the distance that treats them as
constraints, the funded cohort P13 follows, priors files, joined targets files, shared protocol
overrides, re-running a calibration from its provenance, and (slow) the patterns under the
shipped posterior."""

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from calibration import fit
from calibration.statistics import margin, sustained_share
from calibration.targets import (
    CALIBRATION_TARGETS,
    PATTERN_TARGETS,
    SHIPPED_TARGETS,
    load_targets,
    parse_targets,
)
from experiments.posterior import SHIPPED_POSTERIOR, posterior_draws, read_posterior
from experiments.runner import RunSpec
from sim import ScenarioError, TransformationModel, load_scenario
from sim import mechanisms as mech
from tasim.cli import app

PATTERNS = load_targets(PATTERN_TARGETS)
SHARE_OF_DRAWS = 0.8  # each pattern must hold in at least this share of posterior draws


def pattern(target_id: str):
    return next(target for target in PATTERNS.targets if target.id == target_id)


@functools.cache
def protocol_runs(key: str) -> dict[str, pd.DataFrame]:
    """A protocol at the shipped default (patterns sharing a protocol share its runs)."""
    protocol = next(target.protocol for target in PATTERNS.targets if target.protocol.key == key)
    return fit.run_protocol(protocol, [{}])[0]


def pattern_values(target_id: str, arms: dict[str, pd.DataFrame]) -> np.ndarray:
    return fit.statistic_values(pattern(target_id), arms)


def swapped(first: str, second: str):
    """Give each of two arms the other's runs: the pattern's contrast reversed."""
    return lambda arms: {**arms, first: arms[second], second: arms[first]}


# How to reverse each pattern's contrast on the same runs: then its statistic must be negative.
REVERSED = {
    "pattern_1_saturation_and_readiness_gating": swapped("ready_0", "ready_5"),
    "pattern_2_minimum_effective_dose": swapped("ready_1", "ready_2"),
    "pattern_3_overload_inverted_u": swapped("low_4", "low_20"),
    "pattern_4_roles_and_dependence": swapped("doer", "facilitator"),
    "pattern_5_caseload_dilution": swapped("many", "few"),
    # outcomes that move as fast as adoption: no lag
    "pattern_6_lags_and_cost_j_curve": lambda arms: {
        "lab": arms["lab"].assign(admissions=-arms["lab"]["adoption"])
    },
    "pattern_7_light_touch_insufficient_for_low_capacity": swapped("ready_light", "low_light"),
    "pattern_8_coordination": swapped("apart", "together"),
    "pattern_9_targeting_and_equity": swapped("readiness", "need"),
    "pattern_10_pandemic_divergence": swapped("pandemic", "calm"),
    "pattern_11_team_maturity": swapped("young", "mature"),
    "pattern_12_adaptive_funder": swapped("light", "adaptive"),
}


def test_the_patterns_file_has_one_constraint_per_pattern_of_the_design():
    assert [target.id.split("_")[1] for target in PATTERNS.targets] == [
        str(number) for number in range(1, 13)
    ]
    assert all(target.kind == "pattern" for target in PATTERNS.targets)
    assert all(target.interval == (0.0, 1.0) for target in PATTERNS.targets)
    assert set(REVERSED) == {target.id for target in PATTERNS.targets}


@pytest.mark.parametrize("target_id", sorted(REVERSED))
def test_each_pattern_holds_at_the_shipped_default_and_fails_when_reversed(target_id):
    """Held on every replicate, as the calibration asks; reversed, broken on every one."""
    arms = protocol_runs(pattern(target_id).protocol.key)
    held = pattern_values(target_id, arms)
    broken = pattern_values(target_id, REVERSED[target_id](arms))
    assert np.all((held > 0) & (held <= 1)), f"{target_id} at the shipped default: {held}"
    assert np.all((broken >= -1) & (broken < 0)), f"{target_id} reversed: {broken}"


def test_a_pattern_counts_as_held_only_on_every_replicate(monkeypatch):
    """The calibration's statistic of a pattern is its replicate minimum (a finding's is the
    mean), and scoring at one parameter set passes a pattern only if every replicate holds."""
    both = load_targets(*SHIPPED_TARGETS)
    values = {
        target.id: np.array([0.3, -0.1]) if target.kind == "pattern" else np.array([2.0, 4.0])
        for target in both.targets
    }
    monkeypatch.setattr(fit, "evaluate", lambda targets, extra: values)
    simulated = fit.simulate_statistics({}, both)
    assert simulated["pattern_4_roles_and_dependence"] == pytest.approx(-0.1)
    assert simulated["P1_facilitation_odds_ratio"] == pytest.approx(3.0)
    table = fit.score(both, values).set_index("id")
    assert not table.loc["pattern_4_roles_and_dependence", "passed"]  # the mean, 0.1, is inside
    values["pattern_4_roles_and_dependence"] = np.array([0.3, 0.1])
    assert fit.score(both, values).set_index("id").loc["pattern_4_roles_and_dependence", "passed"]


def test_margin_is_a_signed_relative_difference_and_numbers_broadcast():
    larger = pd.Series([2.0, 1.0, 0.0, np.nan])
    assert margin(larger, 1.0).tolist() == [pytest.approx(1 / 3), 0.0, -1.0, -1.0]
    assert margin(pd.Series([0.0]), pd.Series([0.0])).tolist() == [-1.0]  # undefined: not shown
    assert margin(0.3, pd.Series([0.1, 0.5])).tolist() == [pytest.approx(0.5), pytest.approx(-0.25)]


def test_the_distance_treats_patterns_as_constraints():
    findings_only = load_targets(CALIBRATION_TARGETS)
    both = load_targets(*SHIPPED_TARGETS)
    observed = {target.id: target.centre for target in both.targets}
    simulated = {**observed, "P1_facilitation_odds_ratio": 3.0}
    held = {target.id: 0.2 for target in both.targets if target.kind == "pattern"}
    base = fit.distance(findings_only, simulated, observed)
    assert base > 0
    # patterns anywhere inside their interval add nothing, wherever their centre is
    assert fit.distance(both, simulated | held, observed) == pytest.approx(base)
    near_the_edge = simulated | held | {"pattern_4_roles_and_dependence": 0.9}
    assert fit.distance(both, near_the_edge, observed) == pytest.approx(base)
    # one broken pattern adds the penalty and its miss in half-intervals (0.5 for [0, 1])
    broken = simulated | held | {"pattern_4_roles_and_dependence": -0.1}
    assert fit.distance(both, broken, observed) == pytest.approx(
        base + fit.PATTERN_PENALTY + 0.1 / 0.5
    )


def test_the_withdrawal_columns_follow_the_organizations_the_provider_left():
    """P13's cohort (adopting when support ended) and pattern 4's (operating the month before):
    later adopters are not charged to either, compared with following every organization of
    the same run by hand."""
    overrides = {
        "system.n_teams": 6,
        "system.first_cohort_share": 1.0,
        "system.first_cohort_month": 0,
        "funder.policy": "universal",
        "funder.budget_per_month": 1e7,
        "funder.withdraw_month": 12,
        "mechanisms.discontinuation": 0.1,
        "months": 40,
    }
    table = fit.protocol_run(RunSpec("baseline", overrides, seed=3, labels={}))
    model = TransformationModel(load_scenario("baseline", overrides), rng=3)
    for _ in range(11):
        model.step()
    operating = mech.is_operating(model.stage)
    model.step()
    cohort = model.adopting.copy()
    stopped = np.zeros(model.n_orgs, dtype=bool)
    for _ in range(28):
        model.step()
        stopped |= model.stage == mech.DISCONTINUED
    assert table["withdrawal_fidelity"].iloc[:11].isna().all()
    assert table["withdrawal_fidelity"].iloc[40] == pytest.approx(model.F[operating].mean())
    assert table["withdrawal_cohort"].iloc[:12].isna().all()
    assert table["withdrawal_cohort"].iloc[12] == cohort.sum() > 0
    assert table["withdrawal_cohort"].iloc[40] == (cohort & ~stopped).sum()
    assert np.all(np.diff(table["withdrawal_cohort"].iloc[12:]) <= 0)
    share = sustained_share(
        {"withdrawn": table.assign(replicate=0)}, {"withdraw_month": 12, "after": 28}
    )
    assert share[0] == pytest.approx((cohort & ~stopped).sum() / cohort.sum())
    assert 0 < share[0] < 1  # the high hazard stops some of them


def test_protocol_overrides_apply_to_every_arm_before_its_own():
    targets = parse_targets(
        {
            "targets": [
                {
                    "id": "shared",
                    "description": "synthetic",
                    "source": "test",
                    "statistic": "adoption_at",
                    "observed": 0.5,
                    "tolerance": 0.1,
                    "protocol": {
                        "months": 12,
                        "overrides": {"system.n_teams": 3, "funder.dosage_hours": 2.0},
                        "arms": {"a": {}, "b": {"funder.dosage_hours": 5.0}},
                        "settings": {"month": 12},
                    },
                }
            ]
        }
    )
    protocol = targets.targets[0].protocol
    assert protocol.arm("a") == {"system.n_teams": 3, "funder.dosage_hours": 2.0}
    assert protocol.arm("b") == {"system.n_teams": 3, "funder.dosage_hours": 5.0}
    specs = fit._specs(protocol, [{"mechanisms.imitation_q": 0.02}])
    assert {spec.overrides["funder.dosage_hours"] for spec in specs} == {2.0, 5.0}
    assert all(spec.overrides["mechanisms.imitation_q"] == 0.02 for spec in specs)


def test_targets_files_join_and_an_id_repeated_across_them_is_refused(tmp_path):
    joined = load_targets(*SHIPPED_TARGETS)
    assert len(joined.targets) == len(load_targets(CALIBRATION_TARGETS).targets) + 12
    with pytest.raises(ScenarioError, match=r"target ids must be unique \(repeated: P13_"):
        load_targets(CALIBRATION_TARGETS, CALIBRATION_TARGETS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[[priors]]\nparameter = "mechanisms.imitation_q"\nlow = 0.0\nhigh = 0.5\n'
            'source = "x"\n',
            "priors.0 (mechanisms.imitation_q): needs 0 <= low < high <= 0.3",
        ),
        (
            '[[priors]]\nparameter = "mechanisms.imitation_q"\nlow = 0.02\nhigh = 0.01\n'
            'source = "x"\n',
            "needs 0 <= low < high <= 0.3 (the allowed range), got 0.02 to 0.01",
        ),
        (
            '[[priors]]\nparameter = "mechanisms.imitation_q"\nlow = 0.0\nhigh = 0.1\n',
            "priors.0.source: required but missing",
        ),
        (
            '[[priors]]\nparameter = "funder.policy"\nlow = 0.0\nhigh = 0.1\nsource = "x"\n',
            "funder.policy: a choice",
        ),
        (
            '[[priors]]\nparameter = "mechanisms.imitation_q"\nlow = 0.0\nhigh = 0.1\n'
            'source = "x"\nshape = "beta"\n',
            "priors.0.shape: unknown key",
        ),
    ],
)
def test_a_bad_priors_file_is_refused_in_one_line(text, expected, tmp_path):
    path = tmp_path / "priors.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        fit.load_priors(path)
    result = CliRunner().invoke(
        app, ["calibrate", "--priors", str(path), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and expected in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_the_shipped_priors_lie_in_the_allowed_ranges_and_say_where_they_come_from():
    priors = fit.load_priors()
    allowed = fit.prior_bounds(tuple(priors))
    assert 8 <= len(priors) <= 12 and tuple(priors) == fit.CALIBRATED
    assert priors["mechanisms.imitation_q"] == (0.015, 0.05)  # anchor-ta-evidence.md L418
    for path, (low, high) in priors.items():
        assert allowed[path][0] <= low < high <= allowed[path][1]


def test_a_calibration_runs_again_from_its_provenance_file(tmp_path):
    targets = tmp_path / "targets.toml"
    targets.write_text(
        '[[targets]]\nid = "adoption_12"\ndescription = "synthetic"\nsource = "test"\n'
        'statistic = "adoption_at"\nobserved = 0.3\ntolerance = 0.3\n'
        "[targets.protocol]\nmonths = 12\nreplicates = 1\nsettings = { month = 12 }\n"
        '[targets.protocol.arms]\nsystem = { "system.n_teams" = 3, '
        '"system.first_cohort_month" = 0, "system.first_cohort_share" = 1.0 }\n'
    )
    first, again = tmp_path / "first", tmp_path / "again"
    arguments = ["--budget", "24", "--population", "6", "--seed", "5"]
    result = CliRunner().invoke(
        app,
        ["calibrate", "--targets", str(targets), "--parameter", "mechanisms.imitation_q"]
        + arguments
        + ["--out", str(first)],
    )
    assert result.exit_code == 0, result.output
    provenance = json.loads((first / "posterior_provenance.json").read_text())
    assert provenance["settings"]["prior"] == [["mechanisms.imitation_q", 0.015, 0.05]]
    result = CliRunner().invoke(
        app,
        ["calibrate", "--reproduce", str(first / "posterior_provenance.json"), "--out", str(again)],
    )
    assert result.exit_code == 0, result.output
    assert (again / "posterior.csv").read_bytes() == (first / "posterior.csv").read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = CliRunner().invoke(
        app, ["calibrate", "--reproduce", str(bad), "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2 and "not a calibration's provenance file" in result.output


def test_the_shipped_posterior_reproduces_from_its_provenance_settings():
    """What `tasim calibrate --reproduce` would run is what the shipped posterior records."""
    record = json.loads((Path(SHIPPED_POSTERIOR).parent / "posterior_provenance.json").read_text())
    targets = load_targets(*SHIPPED_TARGETS)
    settings = fit.calibration_settings(
        targets,
        tuple(fit.load_priors()),
        record["population"],
        record["workers"],
        record["seed"],
        fit.load_priors(),
    )
    assert json.loads(json.dumps(settings)) == record["settings"]
    assert record["simulations"] <= record["budget"]


@pytest.mark.slow
def test_each_pattern_holds_in_most_posterior_draws(tmp_path):
    """Every pattern holds (on every replicate, as the calibration asks) in at least 80 % of 10
    parameter sets drawn from the shipped posterior."""
    draws = posterior_draws(read_posterior(SHIPPED_POSTERIOR), 10, seed=11)
    values = fit.evaluate_draws(PATTERNS, draws)
    for target in PATTERNS.targets:
        per_draw = values[target.id].reshape(len(draws), target.protocol.replicates).min(axis=1)
        held = np.mean(per_draw > 0)
        assert held >= SHARE_OF_DRAWS, (
            f"{target.id}: holds in {held:.0%} of {len(draws)} posterior draws "
            f"(margins {np.round(per_draw, 3).tolist()})"
        )


def test_identifiability_flags_a_posterior_as_wide_as_its_prior():
    rng = np.random.default_rng(0)
    posterior = pd.DataFrame(
        {
            "mechanisms.imitation_q": rng.normal(0.03, 0.001, 400),  # pinned down
            "mechanisms.learning_rate": rng.uniform(0.0, 0.2, 400),  # still its prior
            "weight": np.full(400, 1 / 400),
        }
    )
    table = fit.identifiability(
        posterior,
        {"mechanisms.imitation_q": (0.015, 0.05), "mechanisms.learning_rate": (0.0, 0.2)},
    ).set_index("parameter")
    assert table.loc["mechanisms.imitation_q", "identified"]
    assert table.loc["mechanisms.imitation_q", "share_of_prior"] < 0.2
    assert table.loc["mechanisms.imitation_q", "median"] == pytest.approx(0.03, abs=5e-4)
    assert not table.loc["mechanisms.learning_rate", "identified"]
    assert table.loc["mechanisms.learning_rate", "share_of_prior"] > 0.8
