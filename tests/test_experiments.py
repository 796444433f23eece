"""Experiments: resume after interruption, identical results serially, in a process pool and on Dask,
bad specifications rejected before any run, and the dose-response curve shapes."""

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import runner
from experiments.dose_response import dose_response_arms, dose_response_table
from experiments.runner import Store, design, make_executor, run_experiment
from sim import ScenarioError

SMALL = {"system.n_teams": 8}
KEY = ["run_id", "month"]


def small_design(replicates=3):
    return design([("baseline", SMALL, {"arm": "baseline"}), ("hands_on", SMALL, {"arm": "hands_on"})], replicates, months=36)


def same(first, second):
    pd.testing.assert_frame_equal(first.sort_values(KEY).reset_index(drop=True), second.sort_values(KEY).reset_index(drop=True))


def test_common_random_numbers_reuse_seeds_across_arms_unless_turned_off():
    specs = small_design()
    assert [s.seed for s in specs[:3]] == [s.seed for s in specs[3:]]
    independent = design([("baseline", SMALL, {}), ("hands_on", SMALL, {})], 3, common_random_numbers=False)
    assert not {s.seed for s in independent[:3]} & {s.seed for s in independent[3:]}


def test_resume_after_an_interruption_gives_exactly_the_full_result(tmp_path, monkeypatch):
    specs = small_design()
    full = run_experiment("test", specs, Store(tmp_path / "full"))
    real, calls = runner.execute_chunk, []

    def dies_on_third_chunk(chunk):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(chunk)

    monkeypatch.setattr(runner, "execute_chunk", dies_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_experiment("test", specs, Store(tmp_path / "resumed"), chunk_size=1)
    assert len(Store(tmp_path / "resumed").completed()) == 2  # only the runs in flight were lost
    monkeypatch.setattr(runner, "execute_chunk", real)
    resumed = run_experiment("test", specs, Store(tmp_path / "resumed"), chunk_size=1)
    same(full, resumed)
    assert len(Store(tmp_path / "resumed").completed()) == len(specs)  # nothing duplicated


def test_process_pool_and_a_real_dask_cluster_give_serial_results(tmp_path):
    specs = small_design(replicates=2)
    serial = run_experiment("test", specs, Store(tmp_path / "serial"))
    with make_executor(workers=2) as pool:
        same(serial, run_experiment("test", specs, Store(tmp_path / "pool"), executor=pool))
    port = 18786 + int(time.time()) % 1000
    scheduler = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", f"tcp://127.0.0.1:{port}", "--nworkers", "2", "--nthreads", "1", "--no-dashboard"], cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(6)
        with make_executor(scheduler=f"tcp://127.0.0.1:{port}") as dask:
            same(serial, run_experiment("test", specs, Store(tmp_path / "dask"), executor=dask))
    finally:
        worker.terminate()
        scheduler.terminate()
        worker.wait(timeout=30)
        scheduler.wait(timeout=30)


@pytest.mark.parametrize(
    "arms, replicates, expected",
    [
        ([("baseline", {"funder.nope": 1}, {})], 2, "funder.nope: unknown parameter"),
        ([("baseline", {"funder.dosage_hours": 500.0}, {})], 2, "funder.dosage_hours: must be between 0 and 60"),
        ([("baseline", {}, {})], 0, "--replicates: must be at least 1"),
    ],
)
def test_bad_specifications_fail_before_any_run(arms, replicates, expected, monkeypatch):
    monkeypatch.setattr(runner, "simulate", lambda *a, **k: pytest.fail("a run started"))
    with pytest.raises((ScenarioError, ValueError), match=expected):
        design(arms, replicates)


def test_sweep_rejects_a_range_outside_the_allowed_range(tmp_path):
    done = subprocess.run([sys.executable, "-m", "experiments.cli", "sweep", "baseline", "--vary", "mechanisms.hill=0.5:3:4", "--out", str(tmp_path / "s")], capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 2 and "allowed range [1, 4]" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "s" / "runs").exists() or not any((tmp_path / "s" / "runs").iterdir())


def test_dose_response_shows_saturation_gating_overload_and_dependence(tmp_path):
    doses = [0.0, 1.0, 2.0, 4.0, 8.0, 16.0]
    table = run_experiment("dose", design(dose_response_arms("readiness", doses, withdraw=36, months=48), 3, months=48), Store(tmp_path / "r"))
    curves = dose_response_table(table, "readiness", withdraw=36).set_index(["readiness", "dose"])
    high, low = curves.loc["high"], curves.loc["low"]
    assert high["capacity_gain"][4.0] - high["capacity_gain"][0.0] > 0.3  # ready organizations respond
    assert abs(high["capacity_gain"][16.0] - high["capacity_gain"][8.0]) < 0.05  # and saturate
    assert low["capacity_gain"][16.0] - low["capacity_gain"][0.0] < 0.5 * (high["capacity_gain"][16.0] - high["capacity_gain"][0.0])  # gating
    assert high["overloaded_share"][16.0] > high["overloaded_share"][1.0]  # more hours, more overload
    roles = run_experiment("roles", design(dose_response_arms("role", [8.0], withdraw=24, months=36), 4, months=36), Store(tmp_path / "roles"))
    by_role = dose_response_table(roles, "role", withdraw=24).set_index("role")
    assert by_role["fidelity_drop_after_withdrawal"]["doer"] > by_role["fidelity_drop_after_withdrawal"]["facilitator"]  # dependence
    assert np.isfinite(by_role["net_benefit"]).all()


def test_sobol_pipeline_recovers_the_analytic_ishigami_indices():
    from SALib import ProblemSpec
    from SALib.test_functions import Ishigami

    from experiments.sensitivity import analyze, convergence, sample

    spec = ProblemSpec({"names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3, "outputs": ["Y"]})
    rows = sample(spec, "sobol", 1024)
    outputs = Ishigami.evaluate(rows)
    indices = analyze(spec, "sobol", rows, outputs).set_index("parameter")
    assert indices["S1"].to_numpy() == pytest.approx([0.3139, 0.4424, 0.0], abs=0.06)
    assert indices["ST"].to_numpy() == pytest.approx([0.5576, 0.4424, 0.2437], abs=0.06)
    assert convergence(spec, rows, outputs, 1024)["difference"].abs().max() < 0.1
    morris = analyze(spec, "morris", sample(spec, "morris", 40), Ishigami.evaluate(sample(spec, "morris", 40))).set_index("parameter")
    assert morris["mu_star"]["x1"] > morris["mu_star"]["x3"]


def test_sensitivity_rejects_bad_parameters_and_sample_sizes():
    from experiments.sensitivity import problem, sample

    with pytest.raises(ScenarioError, match="mechanisms.nope: unknown parameter"):
        problem(["mechanisms.nope"])
    with pytest.raises(ScenarioError, match="power of 2"):
        sample(problem(["mechanisms.hill", "funder.dosage_hours"]), "sobol", 12)
    with pytest.raises(ScenarioError, match="not a numeric parameter"):
        problem(["funder.coordinated"])


def test_sensitivity_command_end_to_end(tmp_path):
    done = subprocess.run([sys.executable, "-m", "experiments.cli", "sensitivity", "--method", "morris", "--samples", "4", "--replicates", "2", "--months", "24", "--parameters", "funder.dosage_hours,mechanisms.imitation_q", "--workers", "1", "--out", str(tmp_path / "m")], capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    indices = pd.read_csv(tmp_path / "m" / "indices.csv")
    assert list(indices["parameter"]) == ["funder.dosage_hours", "mechanisms.imitation_q"] and np.isfinite(indices["mu_star"]).all()
    assert (tmp_path / "m" / "indices.png").exists()
