"""The tasim CLI end to end: results with provenance that reproduce the run, one-line user errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim import Scenario, simulate
from sim.metrics import SYSTEM_COLUMNS, TEAM_COLUMNS

TASIM = [sys.executable, "-m", "experiments.cli"]
REPOSITORY = Path(__file__).resolve().parent.parent


def tasim(*args, cwd=None):
    return subprocess.run([*TASIM, *args], capture_output=True, text=True, cwd=cwd or REPOSITORY, env={**os.environ, "PYTHONPATH": str(REPOSITORY)})


def test_run_writes_parquet_and_a_manifest_that_reproduces_the_run(tmp_path):
    out = tmp_path / "run"
    done = tasim("run", "baseline", "--months", "24", "--seed", "7", "--set", "system.n_teams=12", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "Results in" in done.stdout
    system = pd.read_parquet(out / "system.parquet")
    teams = pd.read_parquet(out / "teams.parquet")
    assert list(system.columns) == list(SYSTEM_COLUMNS) and len(system) == 25
    assert set(TEAM_COLUMNS) <= set(teams.columns) and {"month", "team", "cohort", "region"} <= set(teams.columns)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 7 and manifest["packages"]["mesa"] >= "3.5"
    again = simulate(Scenario.model_validate(manifest["scenario"]), seed=manifest["seed"], months=manifest["months"])
    pd.testing.assert_frame_equal(again.system, system, check_dtype=False)
    assert (out / "trajectories.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "text, expected",
    [
        ("speed = 3\n", "speed: unknown parameter"),
        ("[funder]\ndosage_hours = 'many'\n", "funder.dosage_hours"),
        ("[mechanisms]\nhill = nan\n", "finite number"),
        ("[funder]\nbudget_per_month = -10.0\n", "funder.budget_per_month: must be between 0 and"),
        ("[system.region_shares]\nurban = 0.5\nrural = 0.1\nnorthern = 0.1\n", "shares must sum to 1"),
        ("months = = 3\n", "not valid TOML"),
        ("extends = 'atlantis'\n", "atlantis: unknown scenario"),
    ],
)
def test_validate_rejects_bad_files_with_one_line_and_exit_code_2(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    done = tasim("scenarios", "validate", str(path))
    assert done.returncode == 2
    assert expected in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_validate_accepts_a_good_file_and_list_show_work(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text('extends = "baseline"\n[funder]\nbudget_per_month = 90000.0\n')
    assert tasim("scenarios", "validate", str(path)).returncode == 0
    assert "withdraw_at_24" in tasim("scenarios", "list").stdout
    shown = tasim("scenarios", "show", "baseline")
    assert shown.returncode == 0 and "half_saturation" in shown.stdout


def test_unknown_scenario_and_bad_set_are_user_errors():
    for args in (("run", "atlantis"), ("run", "baseline", "--set", "funder.nope=3"), ("run", "baseline", "--set", "nonsense")):
        done = tasim(*args)
        assert done.returncode == 2 and "Traceback" not in done.stderr, args


def test_interrupted_run_leaves_no_result_folder(tmp_path):
    out = tmp_path / "interrupted"
    process = subprocess.Popen([*TASIM, "run", "baseline", "--set", "system.n_teams=2000", "--out", str(out)], cwd=REPOSITORY, env={**os.environ, "PYTHONPATH": str(REPOSITORY)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(6)
    process.send_signal(signal.SIGINT)
    process.wait(timeout=60)
    assert process.returncode != 0
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
