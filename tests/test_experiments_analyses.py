"""The analyses on top of the runner: Sobol indices recovered through the whole pipeline, the
dose-response shapes on the baseline, and every experiment command end to end with its table,
figure and resume."""

import json

import numpy as np
import pandas as pd
import pytest
from SALib.test_functions import Ishigami
from typer.testing import CliRunner

from experiments import runner
from experiments import sensitivity as sa
from experiments.dose_response import (
    dose_response_arms,
    dose_response_runs,
    dose_response_table,
)
from experiments.runner import Store, design, make_executor, run_experiment
from experiments.space import Range
from sim import load_scenario
from tasim.cli import app

ISHIGAMI_S1 = [0.3139, 0.4424, 0.0]
ISHIGAMI_ST = [0.5576, 0.4424, 0.2437]


def noisy_ishigami(spec):
    """Ishigami plus seed noise: a stochastic stand-in for the model with known indices."""
    x = np.array([[spec.overrides[name] for name in ("x1", "x2", "x3")]])
    return pd.DataFrame(
        {
            "month": [0],
            "run_Y": Ishigami.evaluate(x) + np.random.default_rng(spec.seed).normal(0.0, 1.0),
        }
    )


def test_sobol_indices_of_ishigami_come_out_through_the_experiment_pipeline(tmp_path):
    varied = [Range(name, -np.pi, np.pi) for name in ("x1", "x2", "x3")]
    spec = sa.problem(varied)
    rows = sa.sample(spec, "sobol", 512)
    specs = design(sa.arms(varied, rows, "ishigami"), replicates=1, check=None)
    outputs = sa.replicate_means(
        run_experiment("ishigami", specs, Store(tmp_path), run=noisy_ishigami, month=0),
        "Y",
        len(rows),
    )
    indices = sa.analyze(spec, "sobol", rows, outputs).set_index("parameter")
    # common random numbers: the noise of a replicate is the same at every point, so it does not
    # blur the indices
    assert indices["S1"].to_numpy() == pytest.approx(ISHIGAMI_S1, abs=0.06)
    assert indices["ST"].to_numpy() == pytest.approx(ISHIGAMI_ST, abs=0.06)
    assert (
        np.abs(indices["ST"] - ISHIGAMI_ST) <= indices["ST_conf"]
    ).all()  # the 95 % bootstrap CIs cover the truth
    assert sa.convergence(spec, outputs, 512)["stable"].all()
    morris_rows = sa.sample(spec, "morris", 40)
    morris = sa.analyze(spec, "morris", morris_rows, Ishigami.evaluate(morris_rows)).set_index(
        "parameter"
    )
    assert morris["mu_star"]["x1"] > morris["mu_star"]["x3"] > 0


def by_dose(runs, level, column):
    """Replicates x doses at one readiness level (paired by replicate: common random numbers)."""
    return runs[runs["readiness"] == level].pivot(index="replicate", columns="dose", values=column)


def test_dose_response_on_the_baseline_shows_the_teaching_shapes(tmp_path):
    small = {"system.n_teams": 10}
    with make_executor(workers=2) as pool:
        readiness = run_experiment(
            "readiness",
            design(
                dose_response_arms(
                    "readiness", [1, 4, 8, 12, 30], withdraw=0, months=48, extra=small
                ),
                6,
                months=48,
            ),
            Store(tmp_path / "readiness"),
            pool,
        )
        roles = run_experiment(
            "roles",
            design(
                dose_response_arms("role", [8], withdraw=24, months=36, extra=small), 6, months=36
            ),
            Store(tmp_path / "roles"),
            pool,
        )
    curves = dose_response_table(readiness, "readiness", withdraw=0)
    assert (curves["delivered"] - curves["dose"])[
        curves["dose"] <= 12
    ].abs().max() < 0.5  # the lab delivers what is asked
    curves = curves.set_index(["readiness", "dose"])
    high, low = curves.loc["high"], curves.loc["low"]

    ready_response = high["capacity_gain"][4] - high["capacity_gain"][0]
    assert (
        ready_response > 0.3
        and abs(high["capacity_gain"][30] - high["capacity_gain"][8]) < 0.1 * ready_response
    )  # saturation
    assert (
        low["capacity_gain"][4] - low["capacity_gain"][0] < 0.25 * ready_response
    )  # readiness gating
    assert (
        low["gain_per_hour"][8] > 1.5 * low["gain_per_hour"][1]
    )  # minimum effective dose: small doses barely move the unready
    assert (
        high["gain_per_hour"][1] > high["gain_per_hour"][4]
    )  # while the ready respond from the first hour

    runs = dose_response_runs(readiness, "readiness", withdraw=0)
    net, overloaded = by_dose(runs, "low", "net_benefit"), by_dose(runs, "low", "overloaded_share")
    peak = net[[4, 8, 12]].max(axis=1)
    assert (peak > net[1]).all() and (
        peak > net[30]
    ).all()  # overload: an inverted U for low capacity, in every replicate
    assert (overloaded[30] > overloaded[4]).all()

    drop = dose_response_runs(roles, "role", withdraw=24)
    drop = drop[drop["dose"] == 8].pivot(
        index="replicate", columns="role", values="fidelity_drop_after_withdrawal"
    )
    assert (
        drop["doer"] > drop["facilitator"] + 0.1
    ).all()  # dependence: the doer's fidelity falls when TA ends


@pytest.mark.parametrize("scenario", ["baseline", "hands_on", "northern_boots_on_ground"])
def test_the_dose_response_lab_serves_with_one_group_whatever_the_scenario_has(scenario):
    arms = dose_response_arms("role", [4], withdraw=0, months=36, scenario=scenario)
    assert {name for name, _, _ in arms} == {scenario}
    for name, overrides, labels in arms:
        groups = load_scenario(name, overrides).providers
        assert [group.count for group in groups] == [100] + [0] * (len(groups) - 1)
        assert groups[0].role == labels["role"]


cli = CliRunner()


def tasim(*arguments):
    result = cli.invoke(app, [*map(str, arguments), "--workers", "1"])
    assert result.exit_code == 0, result.output
    return result


def test_sweep_writes_a_table_and_a_figure_and_resumes_without_running_again(tmp_path, monkeypatch):
    arguments = [
        "sweep",
        "baseline",
        "--vary",
        "funder.dosage_hours=0:20",
        "--vary",
        "mechanisms.hill=1:3",
        "--design",
        "lhs",
        "--samples",
        "4",
        "--replicates",
        "2",
        "--months",
        "24",
        "--set",
        "system.n_teams=6",
        "--out",
        tmp_path,
    ]
    tasim(*arguments)
    table = pd.read_csv(tmp_path / "sweep.csv")
    assert (
        len(table) == 4
        and table["funder.dosage_hours"].between(0, 20).all()
        and (tmp_path / "sweep.png").exists()
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert (
        manifest["settings"]["design"] == "lhs"
        and manifest["settings"]["common_random_numbers"]
        and len(manifest["runs"]) == 8
    )
    monkeypatch.setattr(runner, "execute_chunk", lambda *a: pytest.fail("a stored run ran again"))
    tasim(*arguments)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "sweep.csv"), table)


def test_compare_gives_differences_with_intervals_and_cost_per_unit_gained(tmp_path):
    tasim(
        "compare",
        "baseline",
        "hands_on",
        "--replicates",
        "4",
        "--months",
        "36",
        "--set",
        "system.n_teams=6",
        "--no-crn",
        "--out",
        tmp_path,
    )
    differences = pd.read_csv(tmp_path / "compare.csv").set_index("measure")
    assert (
        set(differences["arm"]) == {"hands_on"}
        and (differences["low"] <= differences["difference"]).all()
        and (differences["difference"] <= differences["high"]).all()
    )
    assert np.isnan(differences["cost_per_unit"]["ta_cost_total"]) and np.isfinite(
        differences["cost_per_unit"]["final_adoption"]
    )
    seeds = {run["seed"] for run in json.loads((tmp_path / "manifest.json").read_text())["runs"]}
    assert (
        len(seeds) == 8 and (tmp_path / "compare.png").exists()
    )  # --no-crn: independent seeds per scenario
    economics = pd.read_csv(tmp_path / "cost_effectiveness.csv")
    assert list(economics["arm"]) == ["hands_on"] and (tmp_path / "ceac.png").exists()
    sentence = economics["summary"].iloc[0]
    assert (
        sentence.startswith("hands_on against baseline: adoption") and "nan" not in sentence.lower()
    )
    curve = pd.read_csv(tmp_path / "ceac.csv")
    assert curve["probability_cost_effective"].between(0, 1).all()


def test_compare_under_the_posterior_pairs_arms_on_the_same_draw(tmp_path):
    posterior = pd.DataFrame(
        {
            "mechanisms.imitation_q": [0.05, 0.25],
            "mechanisms.discontinuation": [0.01, 0.1],
            "weight": [0.5, 0.5],
        }
    )
    posterior.to_csv(tmp_path / "posterior.csv", index=False)
    arguments = (
        "--replicates",
        "6",
        "--months",
        "12",
        "--set",
        "system.n_teams=4",
        "--set",
        "mechanisms.discontinuation=0.05",
    )
    tasim(
        "compare",
        "baseline",
        "hands_on",
        *arguments,
        "--posterior",
        tmp_path / "posterior.csv",
        "--out",
        tmp_path / "out",
    )
    runs = Store(tmp_path / "out").load(month=0)
    draws = runs.pivot(index="replicate", columns="arm", values="mechanisms.imitation_q")
    assert (draws["baseline"] == draws["hands_on"]).all() and set(draws["baseline"]) == {
        0.05,
        0.25,
    }  # both draws occur, paired
    assert (
        runs["mechanisms.discontinuation"] == 0.05
    ).all()  # an explicit --set wins over the draw
    (tmp_path / "bad.csv").write_text("mechanisms.nonsense,weight\n0.1,1\n")
    result = cli.invoke(
        app,
        [
            "compare",
            "baseline",
            "hands_on",
            *arguments,
            "--posterior",
            str(tmp_path / "bad.csv"),
            "--out",
            str(tmp_path / "bad"),
        ],
    )
    assert (
        result.exit_code == 2
        and "mechanisms.nonsense" in result.output
        and "Traceback" not in result.output
    )


def test_sensitivity_and_dose_response_commands_end_to_end(tmp_path):
    tasim(
        "sensitivity",
        "--method",
        "morris",
        "--samples",
        "4",
        "--replicates",
        "2",
        "--months",
        "24",
        "--set",
        "system.n_teams=6",
        "--parameters",
        "funder.dosage_hours,mechanisms.imitation_q",
        "--out",
        tmp_path / "morris",
    )
    indices = pd.read_csv(tmp_path / "morris" / "indices.csv")
    assert (
        list(indices["parameter"]) == ["funder.dosage_hours", "mechanisms.imitation_q"]
        and np.isfinite(indices["mu_star"]).all()
    )
    assert (tmp_path / "morris" / "indices.png").exists()
    tasim(
        "dose-response",
        "--by",
        "role",
        "--doses",
        "4",
        "--replicates",
        "1",
        "--months",
        "12",
        "--withdraw",
        "6",
        "--set",
        "system.n_teams=4",
        "--out",
        tmp_path / "dose",
    )
    curves = pd.read_csv(tmp_path / "dose" / "dose_response.csv")
    assert sorted(zip(curves["role"], curves["dose"], strict=True)) == sorted(
        (role, dose) for role in ("doer", "partner", "facilitator") for dose in (0.0, 4.0)
    )
    assert (tmp_path / "dose" / "dose_response.png").exists()
