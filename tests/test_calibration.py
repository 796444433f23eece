"""Calibration: ABC-SMC recovers known parameters from synthetic targets; validate passes on targets
generated from a scenario and fails on wrong ones; posterior draws follow the weights and widen the
intervals; malformed targets files (months outside a protocol included) are rejected with one
line."""

import importlib
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from calibration.fit import calibrate, evaluate, evaluate_draws, write_calibrated_scenario
from calibration.statistics import STATISTICS, full_implementation_within
from calibration.targets import load_targets, parse_targets
from experiments.posterior import posterior_draws, posterior_median
from sim import ScenarioError, load_scenario
from tasim.cli import app

REPOSITORY = Path(__file__).resolve().parent.parent
TINY = {
    "system.n_teams": 5,
    "system.first_cohort_share": 1.0,
    "system.first_cohort_month": 0,
    "shocks.pandemic.enabled": False,
}
TRUTH = {"mechanisms.imitation_q": 0.12, "mechanisms.discontinuation": 0.05}


def synthetic_targets(adoption: float, sustained: float, tolerance: float = 0.02):
    """Two statistics of one small protocol: adoption at month 24 and survival 24 months after
    TA is withdrawn."""
    protocol = {
        "scenario": "withdraw_at_24",
        "months": 48,
        "replicates": 2,
        "arms": {"withdrawn": TINY},
    }
    return parse_targets(
        {
            "targets": [
                {
                    "id": "adoption_24",
                    "description": "synthetic",
                    "source": "tests/test_calibration.py",
                    "statistic": "adoption_at",
                    "protocol": {**protocol, "settings": {"month": 24}},
                    "observed": adoption,
                    "tolerance": tolerance,
                },
                {
                    "id": "sustained_24",
                    "description": "synthetic",
                    "source": "tests/test_calibration.py",
                    "statistic": "sustained_share",
                    "protocol": {**protocol, "settings": {"withdraw_month": 24, "after": 24}},
                    "observed": sustained,
                    "tolerance": tolerance,
                },
            ]
        }
    )


def simulated(extra: dict) -> tuple[float, float]:
    values = evaluate(synthetic_targets(0.0, 0.0), extra)
    return float(np.mean(values["adoption_24"])), float(np.mean(values["sustained_24"]))


def test_abc_smc_recovers_known_parameters(tmp_path):
    targets = synthetic_targets(*simulated(TRUTH))
    posterior = calibrate(
        targets, tmp_path / "abc", parameters=tuple(TRUTH), budget=240, population=40, workers=2
    )
    assert posterior["weight"].sum() == pytest.approx(1.0)
    median = posterior_median(posterior)
    assert median["mechanisms.imitation_q"] == pytest.approx(
        TRUTH["mechanisms.imitation_q"], abs=0.05
    )  # prior range 0-0.3
    assert median["mechanisms.discontinuation"] == pytest.approx(
        TRUTH["mechanisms.discontinuation"], abs=0.025
    )  # prior range 0-0.2
    for name in ("posterior.csv", "posterior_provenance.json", "calibrated.toml", "marginals.png"):
        assert (tmp_path / "abc" / name).exists()
    calibrated = load_scenario(tmp_path / "abc" / "calibrated.toml")
    assert calibrated.mechanisms.discontinuation == pytest.approx(
        median["mechanisms.discontinuation"], rel=1e-4
    )


def test_validate_passes_on_targets_generated_from_a_scenario_and_fails_on_wrong_ones(tmp_path):
    scenario = tmp_path / "calibrated.toml"
    write_calibrated_scenario(
        pd.DataFrame({**{path: [value] for path, value in TRUTH.items()}, "weight": [1.0]}),
        scenario,
    )
    adoption, sustained = simulated(TRUTH)
    runner = CliRunner()
    for name, observed, code, summary in (
        ("right", (adoption, sustained), 0, "2 passed, 0 failed"),
        ("wrong", (adoption + 0.3, sustained - 0.4), 1, "0 passed, 2 failed"),
    ):
        path = tmp_path / f"{name}.toml"
        path.write_text(targets_toml(*observed))
        result = runner.invoke(
            app,
            [
                "validate",
                "--targets",
                str(path),
                "--scenario",
                str(scenario),
                "--out",
                str(tmp_path / name),
            ],
        )
        assert result.exit_code == code, result.output
        assert summary in result.output
        assert (tmp_path / name / "fit.png").exists()


POSTERIOR = pd.DataFrame(
    {
        "mechanisms.imitation_q": [0.02, 0.12, 0.3],
        "mechanisms.discontinuation": [0.05, 0.05, 0.15],
        "weight": [0.3, 0.4, 0.3],
    }
)


@pytest.mark.parametrize(
    "draws", ["0", "6"]
)  # the weighted medians, then a posterior-predictive check
def test_validate_scores_a_posterior_file(draws, tmp_path):
    posterior = tmp_path / "posterior.csv"
    POSTERIOR.to_csv(posterior, index=False)
    adoption, sustained = simulated(TRUTH)
    for name, observed, code, summary in (
        ("right", (adoption, sustained), 0, "2 passed, 0 failed"),
        ("wrong", (adoption + 0.3, sustained - 0.4), 1, "0 passed, 2 failed"),
    ):
        path = tmp_path / f"{name}.toml"
        path.write_text(targets_toml(*observed))
        result = CliRunner().invoke(
            app,
            [
                "validate",
                "--targets",
                str(path),
                "--posterior",
                str(posterior),
                "--draws",
                draws,
                "--out",
                str(tmp_path / "v"),
            ],
        )
        assert result.exit_code == code and summary in result.output, result.output
        assert ("posterior-predictive" in result.output) == (draws != "0")


def test_a_calibration_repeats_for_its_seed_and_leaves_global_state_alone(tmp_path):
    importlib.import_module("pyabc")  # pyabc's import configures the ABC logger; calibrate must not
    targets, fitted = synthetic_targets(0.1, 0.9), ("mechanisms.imitation_q",)
    np.random.seed(123)
    state, logger = np.random.get_state(), logging.getLogger("ABC")
    level, handlers = logger.level, list(logger.handlers)
    runs = [
        calibrate(targets, tmp_path / name, parameters=fitted, budget=12, population=6)
        for name in ("first", "second")
    ]
    pd.testing.assert_frame_equal(*runs)  # the same seed, the same posterior
    assert np.array_equal(np.random.get_state()[1], state[1])  # the caller's numpy state is kept
    assert logger.level == level and logger.handlers == handlers


def test_posterior_draws_follow_the_weights_and_repeat_for_a_seed():
    posterior = pd.DataFrame(
        {"mechanisms.imitation_q": [0.1, 0.2, 0.3, 0.4], "weight": [0.6, 0.3, 0.1, 0.0]}
    )
    draws = posterior_draws(posterior, 4000, seed=5)
    shares = pd.Series([draw["mechanisms.imitation_q"] for draw in draws]).value_counts(
        normalize=True
    )
    assert shares.get(0.1) == pytest.approx(0.6, abs=0.03) and shares.get(0.2) == pytest.approx(
        0.3, abs=0.03
    )
    assert 0.4 not in shares  # zero weight is never drawn
    assert posterior_draws(posterior, 50, seed=5) == draws[:50]
    assert posterior_draws(posterior, 50, seed=6) != draws[:50]


def test_posterior_predictive_intervals_are_wider_than_at_the_median():
    targets = synthetic_targets(0.0, 0.0)
    at_median = evaluate(targets, posterior_median(POSTERIOR))["adoption_24"]
    predictive = evaluate_draws(targets, posterior_draws(POSTERIOR, 8, seed=1))["adoption_24"]
    assert len(predictive) == 8 * len(at_median)  # draws x replicates
    assert (
        np.ptp(predictive) > np.ptp(at_median) + 0.05
    )  # imitation_q from 0.02 to 0.3 moves adoption far more than seeds do
    assert np.array_equal(
        predictive, evaluate_draws(targets, posterior_draws(POSTERIOR, 8, seed=1))["adoption_24"]
    )


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["--draws", "3"], "--draws: only with --posterior"),
        (["--posterior", "posterior.csv", "--draws", "-1"], "--draws: must be at least 0 (got -1)"),
        (["--posterior", "negative.csv"], "weight: must be numbers >= 0 with a positive sum"),
    ],
)
def test_validate_rejects_bad_draw_options_in_one_line(arguments, expected, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    POSTERIOR.to_csv("posterior.csv", index=False)
    POSTERIOR.assign(weight=[0.5, 0.7, -0.2]).to_csv("negative.csv", index=False)
    Path("targets.toml").write_text(GOOD)
    result = CliRunner().invoke(app, ["validate", "--targets", "targets.toml", *arguments])
    assert (
        result.exit_code == 2 and expected in result.output and "Traceback" not in result.output
    ), result.output


def test_full_implementation_share_is_kaplan_meier_over_adopters():
    # 10 adopters: 2 reach full implementation 1 month after adopting, 3 are followed for only 1
    # month, 1 reaches it at month 2 of the 5 still followed; the others are followed beyond
    # month 3.
    table = pd.DataFrame(
        {
            "replicate": 0,
            "month": [0, 1, 2, 3],
            "full_events": [0, 2, 1, 0],
            "full_at_risk": [10, 10, 5, 4],
        }
    )
    assert full_implementation_within({"system": table}, {"months": 2})[0] == pytest.approx(
        1 - (8 / 10) * (4 / 5)
    )
    assert np.isnan(
        full_implementation_within({"system": table}, {"months": 5})[0]
    )  # nobody followed 5 months


def targets_toml(adoption: float, sustained: float) -> str:
    arms = ", ".join(f'"{key}" = {str(value).lower()}' for key, value in TINY.items())
    block = """
[[targets]]
id = "{id}"
description = "synthetic"
source = "tests/test_calibration.py"
statistic = "{statistic}"
observed = {observed!r}
tolerance = 0.02
[targets.protocol]
scenario = "withdraw_at_24"
months = 48
replicates = 2
settings = {settings}
[targets.protocol.arms]
withdrawn = {{ {arms} }}
"""
    return block.format(
        id="adoption_24",
        statistic="adoption_at",
        observed=adoption,
        settings="{ month = 24 }",
        arms=arms,
    ) + block.format(
        id="sustained_24",
        statistic="sustained_share",
        observed=sustained,
        settings="{ withdraw_month = 24, after = 24 }",
        arms=arms,
    )


GOOD = (
    '[[targets]]\nid = "x"\ndescription = ""\nsource = "s"\nstatistic = "adoption_at"\n'
    "observed = 0.5\ntolerance = 0.1\n[targets.protocol]\nsettings = { month = 12 }\n"
    "arms = { a = {} }\n"
)
MALFORMED = {
    "unknown key": (
        GOOD.replace('id = "x"', 'id = "x"\nsurprise = 1'),
        "targets.0.surprise: unknown key",
    ),
    "unknown protocol key": (
        GOOD.replace("[targets.protocol]", "[targets.protocol]\nmonth = 3"),
        "targets.0.protocol.month: unknown key",
    ),
    "missing field": (GOOD.replace('source = "s"\n', ""), "targets.0.source: required but missing"),
    "wrong type": (GOOD.replace("tolerance = 0.1", 'tolerance = "small"'), "targets.0.tolerance"),
    "negative tolerance": (
        GOOD.replace("tolerance = 0.1", "tolerance = -1.0"),
        "targets.0.tolerance: input should be greater than or equal to 0",
    ),
    "unknown statistic": (GOOD.replace('"adoption_at"', '"magic"'), "unknown statistic 'magic'"),
    "bad interval": (GOOD.replace("observed = 0.5", "observed = [0.9, 0.1]"), "low <= high"),
    "missing setting": (
        GOOD.replace("settings = { month = 12 }\n", ""),
        "statistic adoption_at needs month",
    ),
    "missing arm": (
        GOOD.replace('"adoption_at"', '"adoption_odds_ratio"'),
        "needs arms with_ta, without_ta",
    ),
    "bad override": (
        GOOD.replace("a = {}", 'a = { "funder.nope" = 1 }'),
        "funder.nope: unknown parameter",
    ),
    "override out of range": (
        GOOD.replace("a = {}", 'a = { "mechanisms.hill" = 9 }'),
        "mechanisms.hill: must be between 1 and 4",
    ),
    "duplicate id": (GOOD + GOOD, "target ids must be unique (repeated: x)"),
    # months a target names must be months of its protocol (60 months by default)
    "month beyond the horizon": (
        GOOD.replace("month = 12", "month = 61"),
        "targets.0.protocol.settings.month (x): must be a whole number from 1 to 60",
    ),
    "negative month": (
        GOOD.replace("month = 12", "month = -3"),
        "settings.month (x): must be a whole number from 1 to 60 (the protocol runs 60 months), "
        "got -3",
    ),
    "month zero": (GOOD.replace("month = 12", "month = 0"), "from 1 to 60"),
    "fractional month": (GOOD.replace("month = 12", "month = 12.5"), "got 12.5"),
    "month beyond a short horizon": (
        GOOD.replace("[targets.protocol]", "[targets.protocol]\nmonths = 6"),
        "settings.month (x): must be a whole number from 1 to 6",
    ),
    "after beyond the horizon": (
        GOOD.replace('"adoption_at"', '"sustained_share"')
        .replace("month = 12", "withdraw_month = 24, after = 37")
        .replace("a = {}", "withdrawn = {}"),
        "settings.after (x): must be a whole number from 1 to 36",
    ),
    "follow-up as long as the run": (
        GOOD.replace('"adoption_at"', '"full_implementation_within"').replace(
            "month = 12", "months = 60"
        ),
        "settings.months (x): must be a whole number from 1 to 59",
    ),
    "setting the statistic does not use": (
        GOOD.replace("month = 12", "month = 12, months = 48"),
        "settings.months (x): statistic adoption_at does not use it (it uses month)",
    ),
    "no targets": ("", "targets: required but missing"),
    "not TOML": ("[[targets]\n", "not valid TOML"),
}


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_targets_files_are_rejected_with_one_line(case, tmp_path):
    text, expected = MALFORMED[case]
    path = tmp_path / "targets.toml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as error:
        load_targets(path)
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_cli_reports_a_malformed_targets_file_in_one_line_with_exit_code_2(tmp_path):
    path = tmp_path / "targets.toml"
    path.write_text(MALFORMED["unknown key"][0])
    result = CliRunner().invoke(
        app, ["validate", "--targets", str(path), "--out", str(tmp_path / "v")]
    )
    assert result.exit_code == 2
    assert "targets.0.surprise: unknown key" in result.output and "Traceback" not in result.output


def test_shipped_targets_files_are_valid_and_disjoint():
    calibration = load_targets(REPOSITORY / "calibration" / "targets.toml")
    validation = load_targets(REPOSITORY / "calibration" / "validation_targets.toml")
    assert {target.id for target in calibration.targets}.isdisjoint(
        target.id for target in validation.targets
    )
    assert {target.statistic for target in calibration.targets + validation.targets} <= set(
        STATISTICS
    )


def test_calibrate_command_writes_its_outputs_and_resumes(tmp_path):
    arms = ", ".join(
        f'"{key}" = {str(value).lower()}' for key, value in {**TINY, "system.n_teams": 2}.items()
    )
    targets = tmp_path / "targets.toml"
    targets.write_text(
        '[[targets]]\nid = "adoption_12"\ndescription = "synthetic"\nsource = "test"\n'
        'statistic = "adoption_at"\nobserved = 0.08\ntolerance = 0.05\n'
        "[targets.protocol]\nmonths = 12\nreplicates = 1\nsettings = { month = 12 }\n"
        f"[targets.protocol.arms]\nsystem = {{ {arms} }}\n"
    )
    out = tmp_path / "calibration"
    simulations = []
    for budget in (20, 40):  # the second call continues the stored history
        result = CliRunner().invoke(
            app,
            [
                "calibrate",
                "--targets",
                str(targets),
                "--budget",
                str(budget),
                "--population",
                "10",
                "--parameter",
                "mechanisms.imitation_q",
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        assert "1 passed, 0 failed" in result.output
        simulations.append(
            json.loads((out / "posterior_provenance.json").read_text())["simulations"]
        )
    assert simulations[0] >= 20 and simulations[1] > simulations[0]
    for name in ("abc.db", "posterior.csv", "calibrated.toml", "marginals.png", "fit.png"):
        assert (out / name).exists()


def test_shipped_posterior_and_calibrated_scenario_agree():
    folder = REPOSITORY / "calibration" / "posterior"
    posterior = pd.read_csv(folder / "posterior.csv")
    assert posterior["weight"].sum() == pytest.approx(1.0) and (posterior["weight"] >= 0).all()
    calibrated = load_scenario(folder / "calibrated.toml")
    for path, value in posterior_median(posterior).items():
        assert getattr(calibrated.mechanisms, path.rpartition(".")[2]) == pytest.approx(
            value, rel=1e-5
        )
    assert json.loads((folder / "posterior_provenance.json").read_text())["code_version"]
