"""Calibration: ABC-SMC recovers known parameters from synthetic targets; validate passes on targets
generated from a scenario and fails on wrong ones; posterior draws follow the weights and widen the
intervals; malformed targets files are rejected with one line; a calibration resumes exactly after
any interruption, stays within its budget and does nothing once finished."""

import functools
import importlib
import itertools
import json
import logging
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from calibration import fit, smc
from calibration.fit import calibrate, evaluate, evaluate_draws, write_calibrated_scenario
from calibration.statistics import STATISTICS, full_implementation_within
from calibration.targets import load_targets, parse_targets
from experiments.posterior import posterior_draws, posterior_median
from sim import ScenarioError, load_scenario, simulate
from tasim.cli import app

REPOSITORY = Path(__file__).resolve().parent.parent
TINY = {
    "system.n_teams": 24,
    "system.first_cohort_share": 1.0,
    "system.first_cohort_month": 0,
    "shocks.pandemic.enabled": False,
}
TRUTH = {"mechanisms.imitation_q": 0.12, "mechanisms.discontinuation": 0.05}
# imitation_q on its whole allowed range, as the Python API's default prior, for the command line
WIDE_PRIORS = (
    '[[priors]]\nparameter = "mechanisms.imitation_q"\nlow = 0.0\nhigh = 0.3\nsource = "test"\n'
)
REPLICATES = 3  # of the synthetic protocol, in both its forms below


def synthetic_targets(adoption: float, sustained: float, tolerance: float = 0.02):
    """Two statistics of one small protocol: adoption at month 24 and survival 24 months after
    TA is withdrawn."""
    protocol = {
        "scenario": "withdraw_at_24",
        "months": 48,
        "replicates": REPLICATES,
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
        # the table speaks in words: no column names from the code, shares as percentages
        assert "runs inside observed" in result.output and "share_inside" not in result.output
        assert re.search(r"│ \d{1,3}% +│", result.output), result.output


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
        calibrate(targets, tmp_path / name, parameters=fitted, budget=30, population=6)
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
replicates = {replicates}
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
        replicates=REPLICATES,
    ) + block.format(
        id="sustained_24",
        statistic="sustained_share",
        observed=sustained,
        settings="{ withdraw_month = 24, after = 24 }",
        arms=arms,
        replicates=REPLICATES,
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
    # a wide band: two teams adopt in jumps, and this test is about the files and the resume
    targets.write_text(
        '[[targets]]\nid = "adoption_12"\ndescription = "synthetic"\nsource = "test"\n'
        'statistic = "adoption_at"\nobserved = 0.25\ntolerance = 0.25\n'
        "[targets.protocol]\nmonths = 12\nreplicates = 1\nsettings = { month = 12 }\n"
        f"[targets.protocol.arms]\nsystem = {{ {arms} }}\n"
    )
    out = tmp_path / "calibration"
    priors = tmp_path / "priors.toml"
    priors.write_text(WIDE_PRIORS)
    simulations = []
    # the first budget completes a generation (about 4 x population); the second call continues
    # the stored history
    for budget in (25, 60):
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
                "--priors",
                str(priors),
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
        assert "1 passed, 0 failed" in result.output
        simulations.append(
            json.loads((out / "posterior_provenance.json").read_text())["simulations"]
        )
    assert 0 < simulations[0] <= 25 < simulations[1] <= 60  # a hard cap, then continued
    for name in ("abc.db", "posterior.csv", "calibrated.toml", "marginals.png", "fit.png"):
        assert (out / name).exists()


def test_the_calibrated_scenario_carries_the_shipped_posterior_medians():
    """The shipped `calibrated` scenario and the folder's calibrated.toml run at the posterior
    medians of calibration/posterior/ (not yet the default: docs/calibration.md)."""
    folder = REPOSITORY / "calibration" / "posterior"
    posterior = pd.read_csv(folder / "posterior.csv")
    assert posterior["weight"].sum() == pytest.approx(1.0) and (posterior["weight"] >= 0).all()
    medians = posterior_median(posterior)
    assert set(medians) == set(fit.CALIBRATED)
    for scenario in (load_scenario("calibrated"), load_scenario(folder / "calibrated.toml")):
        for path, value in medians.items():
            assert scenario.get(path) == pytest.approx(value, rel=1e-5), path
    assert json.loads((folder / "posterior_provenance.json").read_text())["code_version"]


def test_every_shipped_scenario_extends_the_baseline_and_leaves_fitted_values_alone():
    """So the fit, once it is the baseline's, reaches every shipped scenario."""
    from sim.params import read_toml, scenario_dir

    for path in sorted(scenario_dir().glob("*.toml")):
        if path.stem in ("baseline", "calibrated"):
            continue
        data, chain = read_toml(path, "scenario"), path.stem
        fitted = {name.rpartition(".")[2] for name in fit.CALIBRATED}
        while chain != "baseline":
            assert not set(data.get("mechanisms", {})) & fitted, f"{chain} sets a fitted value"
            chain = data.get("extends")
            assert chain, f"{path.name} does not extend the baseline"
            data = read_toml(scenario_dir() / f"{chain}.toml", "scenario")


# Resumable, repeatable calibration. One cheap target that imitation_q moves (4 teams, 24 months,
# 1 replicate: about 20 ms a simulation), so each calibration below takes a second or two.
FAST_ARMS = {**TINY, "system.n_teams": 4}
FAST = {"parameters": ("mechanisms.imitation_q",), "budget": 48, "population": 6}


@functools.cache
def typical_fast_adoption() -> float:
    """Adoption at month 24 of the fast protocol at the middle of imitation_q's prior, so the
    fast calibrations below accept enough of the prior whatever the model's defaults."""
    scenario = load_scenario("baseline", FAST_ARMS | {"months": 24, "mechanisms.imitation_q": 0.15})
    return round(
        float(
            np.mean(
                [simulate(scenario, seed=seed).system["adoption"].iloc[-1] for seed in range(4)]
            )
        ),
        3,
    )


def fast_targets(observed: float | None = None):
    observed = typical_fast_adoption() if observed is None else observed
    return parse_targets(
        {
            "targets": [
                {
                    "id": "adoption_24",
                    "description": "synthetic",
                    "source": "tests/test_calibration.py",
                    "statistic": "adoption_at",
                    "protocol": {
                        "months": 24,
                        "replicates": 1,
                        "arms": {"system": FAST_ARMS},
                        "settings": {"month": 24},
                    },
                    "observed": observed,
                    "tolerance": 0.05,
                }
            ]
        }
    )


class Simulations:
    """The calibration's model function, counting its calls; at call number ``stop`` (if set) it
    raises KeyboardInterrupt, as a Ctrl-C in the middle of a simulation would."""

    def __init__(self, monkeypatch):
        self.calls, self.stop, self.model = 0, None, fit.simulate_statistics
        monkeypatch.setattr(fit, "simulate_statistics", self)

    def __call__(self, parameters, targets):
        if self.stop is not None and self.calls >= self.stop:
            raise KeyboardInterrupt
        self.calls += 1
        return self.model(parameters, targets)


def generation_ends(folder: Path) -> list[int]:
    """Simulations done when the prior sample, generation 0, 1, ... were complete."""
    with sqlite3.connect(folder / "simulations.db") as database:
        counts = dict(database.execute("SELECT t, COUNT(*) FROM particles GROUP BY t"))
    return list(itertools.accumulate(counts[t] for t in sorted(counts)))


def outputs(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Content and modification time of what a calibration writes for its users."""
    return {
        name: ((folder / name).read_bytes(), (folder / name).stat().st_mtime_ns)
        for name in ("posterior.csv", "calibrated.toml", "posterior_provenance.json")
    }


def test_an_interrupted_calibration_resumes_to_the_same_posterior(tmp_path, monkeypatch):
    simulations = Simulations(monkeypatch)
    reference = tmp_path / "reference"
    calibrate(fast_targets(), reference, **FAST)
    total, ends = simulations.calls, generation_ends(reference)
    assert len(ends) >= 3  # the prior sample and at least two generations
    # in the prior sample, inside generation 0, between generations 0 and 1 (the history has
    # generation 0, nothing of 1 is simulated), at the last simulation
    for stop in sorted({3, ends[0] + 2, ends[1], total - 1}):
        folder = tmp_path / f"stopped-at-{stop}"
        simulations.calls, simulations.stop = 0, stop
        with pytest.raises(KeyboardInterrupt):
            calibrate(fast_targets(), folder, **FAST)
        simulations.stop = None
        calibrate(fast_targets(), folder, **FAST)
        assert simulations.calls == total, stop  # nothing simulated twice, nothing more
        assert (folder / "posterior.csv").read_bytes() == (
            reference / "posterior.csv"
        ).read_bytes(), stop
        assert generation_ends(folder) == ends


def test_the_budget_is_a_hard_cap_on_simulations(tmp_path, monkeypatch):
    import pyabc

    simulations = Simulations(monkeypatch)
    folder = tmp_path / "capped"  # generation 1 is cut off at the budget
    calibrate(
        synthetic_targets(0.1, 0.9), folder, parameters=FAST["parameters"], budget=30, population=8
    )
    record = json.loads((folder / "posterior_provenance.json").read_text())
    history = pyabc.History(f"sqlite:///{folder / 'abc.db'}")
    assert simulations.calls <= 30 and record["simulations"] == simulations.calls
    assert history.total_nr_simulations <= simulations.calls  # a cut-off generation is not in it
    assert record["stop"] == "budget" and record["budget"] == 30


def test_a_finished_calibration_run_again_does_nothing_and_a_larger_budget_continues_it(
    tmp_path, monkeypatch
):
    simulations = Simulations(monkeypatch)
    folder = tmp_path / "finished"
    first = calibrate(fast_targets(), folder, **{**FAST, "budget": 30})
    done, before, said = simulations.calls, outputs(folder), []
    again = calibrate(fast_targets(), folder, **{**FAST, "budget": 30}, report=said.append)
    assert simulations.calls == done and outputs(folder) == before  # untouched, to the byte
    pd.testing.assert_frame_equal(again, first)
    assert "nothing to do" in said[0] and str(folder) in said[0]
    with pytest.raises(ScenarioError, match="more than budget 20"):  # cannot be taken back
        calibrate(fast_targets(), folder, **{**FAST, "budget": 20})
    calibrate(fast_targets(), folder, **FAST, report=said.append)  # budget 48
    assert said[-1].startswith(f"continuing {folder}: budget raised from 30 to 48")
    fresh = tmp_path / "fresh"
    calibrate(fast_targets(), fresh, **FAST)
    assert (folder / "posterior.csv").read_bytes() == (fresh / "posterior.csv").read_bytes()
    assert generation_ends(folder) == generation_ends(fresh)


def test_a_calibration_folder_refuses_other_settings_in_one_line(tmp_path, monkeypatch):
    simulations = Simulations(monkeypatch)
    folder = tmp_path / "calibration"
    calibrate(fast_targets(), folder, **{**FAST, "budget": 36})  # less than FAST's: unfinished
    done = simulations.calls
    for change, expected in (
        ({"population": 8}, "population 6, not 8"),
        ({"seed": 7}, "seed 20261125, not 7"),
        ({"workers": 2}, "workers 1, not 2"),
        ({"parameters": ("mechanisms.discontinuation",)}, "prior"),
        (
            {"targets": fast_targets(typical_fast_adoption() + 0.1)},
            "another version of target adoption_24",
        ),
    ):
        arguments = {"targets": fast_targets(), **FAST, "budget": 36, **change}
        with pytest.raises(ScenarioError) as error:
            calibrate(destination=folder, **arguments)
        message = str(error.value)
        assert str(folder) in message and expected in message and "\n" not in message, message
    assert simulations.calls == done
    older = tmp_path / "older"  # a pyabc history without calibration.json: not resumable exactly
    older.mkdir()
    (older / "abc.db").write_bytes(b"")
    with pytest.raises(ScenarioError, match="older tasim"):
        calibrate(fast_targets(), older, **FAST)
    with smc._locked(folder), pytest.raises(ScenarioError, match="another process"):
        calibrate(fast_targets(), folder, **FAST)  # while another calibration writes into it
    assert simulations.calls == done


@pytest.mark.parametrize(
    "parameter, expected",
    [
        ("funder.policy", "funder.policy: a choice, and calibrate fits real-valued parameters"),
        ("system.n_teams", "system.n_teams: an integer, and calibrate fits real-valued"),
        ("shocks.pandemic.enabled", "shocks.pandemic.enabled: on/off"),
        ("funder.nope", "funder.nope: unknown parameter"),
    ],
)
def test_calibrate_refuses_a_parameter_it_cannot_fit_in_one_line(parameter, expected, tmp_path):
    path = tmp_path / "targets.toml"
    path.write_text(GOOD)
    result = CliRunner().invoke(
        app,
        ["calibrate", "--targets", str(path), "--parameter", parameter, "--out", str(tmp_path)],
    )
    assert result.exit_code == 2 and expected in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "abc.db").exists()


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["calibrate", "--workers", "0"], "--workers: must be"),
        (["validate", "--workers", "0"], "--workers: must be"),
        (["calibrate", "--budget", "10", "--population", "8"], "--budget 10: must be at least"),
        (["calibrate", "--population", "1"], "--population 1: must be a whole number of at least"),
    ],
)
def test_calibration_commands_refuse_bad_numbers_in_one_line(arguments, expected, tmp_path):
    path = tmp_path / "targets.toml"
    path.write_text(GOOD)
    result = CliRunner().invoke(
        app, [*arguments, "--targets", str(path), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and expected in result.output, result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_two_workers_repeat_resume_exactly_and_the_provenance_says_how(tmp_path, monkeypatch):
    reference = tmp_path / "reference"
    calibrate(fast_targets(), reference, **FAST, workers=2)
    record = json.loads((reference / "posterior_provenance.json").read_text())
    assert record["workers"] == 2 and "batches of 2" in record["sampler"]
    assert "seeded by (seed, t, i)" in record["sampler"]
    assert {"seed", "budget", "stop", "stop_detail", "simulations"} <= set(record)
    assert record["seed"] == 20261125 and record["simulations"] <= FAST["budget"]
    stored, put = [], smc.ParticleStore.put

    def stopped_after_ten(store, t, index, particle):  # Ctrl-C in the parent mid-generation
        if len(stored) == 10:
            raise KeyboardInterrupt
        stored.append(index)
        put(store, t, index, particle)

    monkeypatch.setattr(smc.ParticleStore, "put", stopped_after_ten)
    folder = tmp_path / "stopped"
    with pytest.raises(KeyboardInterrupt):
        calibrate(fast_targets(), folder, **FAST, workers=2)
    monkeypatch.setattr(smc.ParticleStore, "put", put)
    calibrate(fast_targets(), folder, **FAST, workers=2)
    assert (folder / "posterior.csv").read_bytes() == (reference / "posterior.csv").read_bytes()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=lambda stop: stop.name)
def test_a_calibration_killed_by_a_signal_resumes_to_the_same_posterior(stop, tmp_path):
    targets = tmp_path / "targets.toml"
    targets.write_text(
        '[[targets]]\nid = "adoption_24"\ndescription = "synthetic"\nsource = "test"\n'
        'statistic = "adoption_at"\nobserved = 0.25\ntolerance = 0.05\n'
        "[targets.protocol]\nmonths = 24\nreplicates = 1\nsettings = { month = 24 }\n"
        "[targets.protocol.arms]\nsystem = { "
        + ", ".join(f'"{key}" = {str(value).lower()}' for key, value in FAST_ARMS.items())
        + " }\n"
    )
    arguments = {**FAST, "budget": 80}
    reference = tmp_path / "reference"
    calibrate(load_targets(targets), reference, **arguments)
    folder = tmp_path / "stopped"
    priors = tmp_path / "priors.toml"
    priors.write_text(WIDE_PRIORS)
    process = subprocess.Popen(
        [sys.executable, "-m", "tasim", "calibrate", "--targets", str(targets)]
        + ["--priors", str(priors)]
        + ["--parameter", "mechanisms.imitation_q", "--budget", "80", "--population", "6"]
        + ["--out", str(folder)],
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with sqlite3.connect(folder / "simulations.db") as database:
                if database.execute("SELECT COUNT(*) FROM particles").fetchone()[0] >= 20:
                    break
        except sqlite3.OperationalError:  # not there yet
            pass
        time.sleep(0.02)
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode in (128 + stop, -stop), stderr  # stopped, not finished
    assert not (folder / "posterior.csv").exists()
    if stop == signal.SIGTERM:
        assert b"the same command resumes it" in stderr
    calibrate(load_targets(targets), folder, **arguments)
    assert (folder / "posterior.csv").read_bytes() == (reference / "posterior.csv").read_bytes()
