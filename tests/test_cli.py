"""The tasim CLI end to end: results with provenance that reproduce the run, one-line errors."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from matplotlib.figure import Figure

from experiments import output
from experiments.errors import ArgumentError, FolderExists
from sim import Scenario, ScenarioError, simulate
from sim.metrics import SYSTEM_COLUMNS, TEAM_COLUMNS
from tasim.console import print_frame
from tasim.errors import user_message
from tasim.overrides import parse_overrides
from tasim.signals import terminate_as_exit

TASIM = [sys.executable, "-m", "tasim"]
REPOSITORY = Path(__file__).resolve().parent.parent


def tasim(*args, cwd=None):
    return subprocess.run(
        [*TASIM, *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPOSITORY,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
    )


def test_run_writes_parquet_and_a_manifest_that_reproduces_the_run(tmp_path):
    out = tmp_path / "run"
    done = tasim(
        "run",
        "baseline",
        "--months",
        "24",
        "--seed",
        "7",
        "--set",
        "system.n_teams=12",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    assert "Results in" in done.stdout
    system = pd.read_parquet(out / "system.parquet")
    teams = pd.read_parquet(out / "teams.parquet")
    assert list(system.columns) == list(SYSTEM_COLUMNS) and len(system) == 25
    assert (
        list(teams.columns) == ["month", "team", "cohort", "region", "members", *TEAM_COLUMNS]
        and teams["month"].max() == 24
    )
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["seed"] == 7 and manifest["months"] == 24 and manifest["packages"]["mesa"] >= "3.5"
    )
    assert (
        manifest["scenario"]["system"]["n_teams"] == 12
        and manifest["code_version"]
        and manifest["wall_seconds"] > 0
    )
    again = simulate(
        Scenario.model_validate(manifest["scenario"]),
        seed=manifest["seed"],
        months=manifest["months"],
    )
    pd.testing.assert_frame_equal(again.system, system, check_dtype=False)
    pd.testing.assert_frame_equal(again.teams, teams, check_dtype=False)
    assert json.loads((out / "summary.json").read_text()).keys() == again.summary.keys()
    assert (out / "trajectories.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "text, expected",
    [
        ("speed = 3\n", "speed: unknown parameter"),
        ("[funder]\ndosage_hours = 'many'\n", "funder.dosage_hours"),
        ("[mechanisms]\nhill = nan\n", "finite number"),
        ("[funder]\nbudget_per_month = -10.0\n", "funder.budget_per_month: must be between 0 and"),
        (
            "[system.region_shares]\nurban = 0.5\nrural = 0.1\nnorthern = 0.1\n",
            "shares must sum to 1",
        ),
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


def test_set_values_are_read_as_toml_and_fall_back_to_strings():
    parsed = parse_overrides(
        [
            "funder.budget_per_month=1e5",
            "funder.coordinated=true",
            "funder.policy=need",
            "a.b='x y'",
            " c = [1, 2] ",
        ]
    )
    assert parsed == {
        "funder.budget_per_month": 100000.0,
        "funder.coordinated": True,
        "funder.policy": "need",
        "a.b": "x y",
        "c": [1, 2],
    }
    with pytest.raises(ScenarioError, match="expected key=value"):
        parse_overrides(["=3"])


@pytest.mark.parametrize(
    "error, message",
    [
        (ArgumentError("replicates", "must be at least 1 (got 0)"), "--replicates: must be"),
        (ArgumentError("base_samples", "must be a power of 2"), "--samples: must be a power"),
        (ArgumentError("by", "must be readiness or role", "colour"), "--by colour: must be"),
        (ArgumentError("paths", "name each once", ["a.b", "a.b"]), "--parameters a.b,a.b: name"),
        (FolderExists("destination", "already exists", Path("r")), "--out r: already exists"),
        (ScenarioError("funder.nope: unknown parameter"), "funder.nope: unknown parameter"),
    ],
)
def test_the_command_line_words_library_arguments_as_its_flags(error, message):
    assert user_message(error).startswith(message)


def test_user_errors_are_one_line_with_exit_code_2_and_debug_shows_the_traceback(tmp_path):
    (tmp_path / "taken").mkdir()
    cases = (
        ("run", "atlantis"),
        ("run", "baseline", "--set", "funder.nope=3"),
        ("run", "baseline", "--set", "nonsense"),
        ("run", "baseline", "--out", str(tmp_path / "taken")),
    )
    for args in cases:
        done = tasim(*args)
        assert (
            done.returncode == 2
            and "Traceback" not in done.stderr
            and len(done.stderr.strip().splitlines()) == 1
        ), (args, done.stderr)
    assert "Traceback" in tasim("--debug", "run", "atlantis").stderr


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, OSError])
def test_a_failure_while_writing_leaves_no_folder(tmp_path, monkeypatch, interruption):
    destination = tmp_path / "run"

    def fail_after_the_parquet_files(system, title):
        assert {path.name for path in tmp_path.glob(".run.*.partial/*.parquet")} == {
            "system.parquet",
            "teams.parquet",
        }
        raise interruption()

    monkeypatch.setattr(output, "plot_trajectories", fail_after_the_parquet_files)
    result = simulate("baseline", seed=1, months=3)
    with pytest.raises(interruption):
        output.write_run(result, destination, {})
    assert list(tmp_path.iterdir()) == []


def test_a_folder_appearing_during_the_write_is_kept_and_reported(tmp_path, monkeypatch):
    destination = tmp_path / "run"

    def another_run_finishes_first(system, title):
        destination.mkdir()
        (destination / "theirs.txt").write_text("kept")
        return Figure()

    monkeypatch.setattr(output, "plot_trajectories", another_run_finishes_first)
    with pytest.raises(FileExistsError, match="appeared while this run was writing"):
        output.write_run(simulate("baseline", seed=1, months=3), destination, {})
    assert [path.name for path in tmp_path.iterdir()] == ["run"] and (
        destination / "theirs.txt"
    ).read_text() == "kept"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=lambda stop: stop.name)
def test_a_stopped_run_leaves_no_result_folder(tmp_path, stop):
    out = tmp_path / "stopped"
    process = subprocess.Popen(
        [
            *TASIM,
            "run",
            "baseline",
            "--set",
            "system.n_teams=4000",
            "--months",
            "240",
            "--out",
            str(out),
        ],  # about a minute
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(
            signal.SIGINT, signal.SIG_DFL
        ),  # a background CI shell may ignore SIGINT
    )
    assert process.stdout.readline().startswith(
        b"Running baseline"
    )  # started, however slow the imports were
    time.sleep(1)
    process.send_signal(stop)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + stop, stderr
    assert list(tmp_path.iterdir()) == []


def test_tables_say_not_reached_or_n_a_instead_of_nan(capsys):
    frame = pd.DataFrame(
        {"time_to_50pct_adoption": [float("nan"), 14.0], "cost_per_unit": [float("nan"), 2.5]}
    )
    print_frame(frame, "t")
    printed = capsys.readouterr().out
    assert "not reached" in printed and "n/a" in printed and "14" in printed
    assert "nan" not in printed.lower()


def test_a_refused_experiment_prints_its_one_line_and_no_progress_bar(tmp_path):
    scenario = tmp_path / "mine.toml"
    scenario.write_text('extends = "baseline"\nmonths = 3\n[system]\nn_teams = 3\n')
    sweep = ["sweep", str(scenario), "--vary", "funder.dosage_hours=1:2:2", "--replicates", "1"]
    sweep += ["--workers", "1", "--out", str(tmp_path / "sweep")]
    assert tasim(*sweep).returncode == 0
    scenario.write_text(scenario.read_text() + "[funder]\nbudget_per_month = 0\n")
    refused = tasim(*sweep)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.startswith("error: ") and "choose another folder" in refused.stderr


def test_a_sigterm_a_library_turns_into_its_own_error_still_ends_the_command_as_an_exit():
    with pytest.raises(SystemExit) as stopped, terminate_as_exit():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs here
        except SystemExit:
            # what a database layer raises when the exit interrupts a commit
            raise RuntimeError("this session is in 'prepared' state") from None
    assert stopped.value.code == 128 + signal.SIGTERM
    with pytest.raises(RuntimeError), terminate_as_exit():  # without a signal errors pass
        raise RuntimeError("not a stop")
