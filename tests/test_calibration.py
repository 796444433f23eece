"""Calibration: ABC-SMC recovers known parameters from synthetic targets; validate passes on targets
generated from a scenario and fails on wrong ones; malformed targets files are rejected with one line."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from calibration.fit import calibrate, evaluate, posterior_median, write_calibrated_scenario
from calibration.statistics import STATISTICS
from calibration.targets import load_targets, parse_targets
from experiments.cli import app
from sim import ScenarioError, load_scenario

REPOSITORY = Path(__file__).resolve().parent.parent
TINY = {"system.n_teams": 5, "system.first_cohort_share": 1.0, "system.first_cohort_month": 0, "shocks.pandemic.enabled": False}
TRUTH = {"mechanisms.imitation_q": 0.12, "mechanisms.discontinuation": 0.05}


def synthetic_targets(adoption: float, sustained: float, tolerance: float = 0.02):
    """Two statistics of one small protocol: adoption at month 24 and survival 24 months after TA is withdrawn."""
    protocol = {"scenario": "withdraw_at_24", "months": 48, "replicates": 2, "arms": {"withdrawn": TINY}}
    return parse_targets({"targets": [
        {"id": "adoption_24", "description": "synthetic", "source": "tests/test_calibration.py", "statistic": "adoption_at",
         "protocol": {**protocol, "settings": {"month": 24}}, "observed": adoption, "tolerance": tolerance},
        {"id": "sustained_24", "description": "synthetic", "source": "tests/test_calibration.py", "statistic": "sustained_share",
         "protocol": {**protocol, "settings": {"withdraw_month": 24, "after": 24}}, "observed": sustained, "tolerance": tolerance},
    ]})


def simulated(extra: dict) -> tuple[float, float]:
    values = evaluate(synthetic_targets(0.0, 0.0), extra)
    return float(np.mean(values["adoption_24"])), float(np.mean(values["sustained_24"]))


def test_abc_smc_recovers_known_parameters(tmp_path):
    targets = synthetic_targets(*simulated(TRUTH))
    posterior = calibrate(targets, tmp_path / "abc", parameters=tuple(TRUTH), budget=240, population=40, workers=2)
    assert posterior["weight"].sum() == pytest.approx(1.0)
    median = posterior_median(posterior)
    assert median["mechanisms.imitation_q"] == pytest.approx(TRUTH["mechanisms.imitation_q"], abs=0.05)  # prior range 0-0.3
    assert median["mechanisms.discontinuation"] == pytest.approx(TRUTH["mechanisms.discontinuation"], abs=0.025)  # prior range 0-0.2
    for name in ("posterior.csv", "posterior_provenance.json", "calibrated.toml", "marginals.png"):
        assert (tmp_path / "abc" / name).exists()
    calibrated = load_scenario(tmp_path / "abc" / "calibrated.toml")
    assert calibrated.mechanisms.discontinuation == pytest.approx(median["mechanisms.discontinuation"], rel=1e-4)


def test_validate_passes_on_targets_generated_from_a_scenario_and_fails_on_wrong_ones(tmp_path):
    scenario = tmp_path / "calibrated.toml"
    write_calibrated_scenario(pd.DataFrame({**{path: [value] for path, value in TRUTH.items()}, "weight": [1.0]}), scenario)
    adoption, sustained = simulated(TRUTH)
    runner = CliRunner()
    for name, observed, code, summary in (("right", (adoption, sustained), 0, "2 passed, 0 failed"), ("wrong", (adoption + 0.3, sustained - 0.4), 1, "0 passed, 2 failed")):
        path = tmp_path / f"{name}.toml"
        path.write_text(targets_toml(*observed))
        result = runner.invoke(app, ["validate", "--targets", str(path), "--scenario", str(scenario), "--out", str(tmp_path / name)])
        assert result.exit_code == code, result.output
        assert summary in result.output
        assert (tmp_path / name / "fit.png").exists()


def test_validate_scores_a_posterior_file(tmp_path):
    posterior = tmp_path / "posterior.csv"
    pd.DataFrame({"mechanisms.imitation_q": [0.1, 0.12, 0.3], "mechanisms.discontinuation": [0.05, 0.05, 0.2], "weight": [0.4, 0.4, 0.2]}).to_csv(posterior, index=False)
    path = tmp_path / "right.toml"
    path.write_text(targets_toml(*simulated(TRUTH)))
    result = CliRunner().invoke(app, ["validate", "--targets", str(path), "--posterior", str(posterior), "--out", str(tmp_path / "v")])
    assert result.exit_code == 0 and "2 passed, 0 failed" in result.output, result.output


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
    return block.format(id="adoption_24", statistic="adoption_at", observed=adoption, settings="{ month = 24 }", arms=arms) + block.format(
        id="sustained_24", statistic="sustained_share", observed=sustained, settings="{ withdraw_month = 24, after = 24 }", arms=arms)


GOOD = '[[targets]]\nid = "x"\ndescription = ""\nsource = "s"\nstatistic = "adoption_at"\nobserved = 0.5\ntolerance = 0.1\n[targets.protocol]\nsettings = { month = 12 }\narms = { a = {} }\n'
MALFORMED = {
    "unknown key": (GOOD.replace('id = "x"', 'id = "x"\nsurprise = 1'), "targets.0.surprise: unknown key"),
    "unknown protocol key": (GOOD.replace("[targets.protocol]", "[targets.protocol]\nmonth = 3"), "targets.0.protocol.month: unknown key"),
    "missing field": (GOOD.replace('source = "s"\n', ""), "targets.0.source: required but missing"),
    "wrong type": (GOOD.replace("tolerance = 0.1", 'tolerance = "small"'), "targets.0.tolerance"),
    "negative tolerance": (GOOD.replace("tolerance = 0.1", "tolerance = -1.0"), "targets.0.tolerance: input should be greater than or equal to 0"),
    "unknown statistic": (GOOD.replace('"adoption_at"', '"magic"'), "unknown statistic 'magic'"),
    "bad interval": (GOOD.replace("observed = 0.5", "observed = [0.9, 0.1]"), "low <= high"),
    "missing setting": (GOOD.replace("settings = { month = 12 }\n", ""), "statistic adoption_at needs month"),
    "missing arm": (GOOD.replace('"adoption_at"', '"adoption_odds_ratio"'), "needs arms with_ta, without_ta"),
    "bad override": (GOOD.replace("a = {}", 'a = { "funder.nope" = 1 }'), "funder.nope: unknown parameter"),
    "override out of range": (GOOD.replace("a = {}", 'a = { "mechanisms.hill" = 9 }'), "mechanisms.hill: must be between 1 and 4"),
    "duplicate id": (GOOD + GOOD, "target ids must be unique (repeated: x)"),
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
    result = CliRunner().invoke(app, ["validate", "--targets", str(path), "--out", str(tmp_path / "v")])
    assert result.exit_code == 2
    assert "targets.0.surprise: unknown key" in result.output and "Traceback" not in result.output


def test_shipped_targets_files_are_valid_and_disjoint():
    calibration = load_targets(REPOSITORY / "calibration" / "targets.toml")
    validation = load_targets(REPOSITORY / "calibration" / "validation_targets.toml")
    assert {target.id for target in calibration.targets}.isdisjoint(target.id for target in validation.targets)
    assert {target.statistic for target in calibration.targets + validation.targets} <= set(STATISTICS)


def test_calibrate_command_writes_its_outputs_and_resumes(tmp_path):
    arms = ", ".join(f'"{key}" = {str(value).lower()}' for key, value in {**TINY, "system.n_teams": 2}.items())
    targets = tmp_path / "targets.toml"
    targets.write_text(f'[[targets]]\nid = "adoption_12"\ndescription = "synthetic"\nsource = "test"\nstatistic = "adoption_at"\nobserved = 0.08\ntolerance = 0.05\n'
                       f"[targets.protocol]\nmonths = 12\nreplicates = 1\nsettings = {{ month = 12 }}\n[targets.protocol.arms]\nsystem = {{ {arms} }}\n")
    out = tmp_path / "calibration"
    simulations = []
    for budget in (20, 40):  # the second call continues the stored history
        result = CliRunner().invoke(app, ["calibrate", "--targets", str(targets), "--budget", str(budget), "--population", "10", "--parameter", "mechanisms.imitation_q", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "1 passed, 0 failed" in result.output
        simulations.append(json.loads((out / "posterior_provenance.json").read_text())["simulations"])
    assert simulations[0] >= 20 and simulations[1] > simulations[0]
    for name in ("abc.db", "posterior.csv", "calibrated.toml", "marginals.png", "fit.png"):
        assert (out / name).exists()


def test_shipped_posterior_and_calibrated_scenario_agree():
    folder = REPOSITORY / "calibration" / "posterior"
    posterior = pd.read_csv(folder / "posterior.csv")
    assert posterior["weight"].sum() == pytest.approx(1.0) and (posterior["weight"] >= 0).all()
    calibrated = load_scenario(folder / "calibrated.toml")
    for path, value in posterior_median(posterior).items():
        assert getattr(calibrated.mechanisms, path.rpartition(".")[2]) == pytest.approx(value, rel=1e-5)
    assert json.loads((folder / "posterior_provenance.json").read_text())["code_version"]
