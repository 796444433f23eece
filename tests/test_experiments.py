"""The experiment machinery: seeds, resume after an interruption or a kill, identical results
serially, in a process pool and on a real Dask cluster, failed runs recorded, bad specifications
refused before any run."""

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments import runner
from experiments import sensitivity as sa
from experiments.dose_response import dose_response_arms
from experiments.output import ensure_new
from experiments.runner import ExperimentFailed, Store, design, make_executor, run_experiment
from experiments.space import Range, factorial, latin_hypercube, parse_range
from sim import ScenarioError, load_scenario, simulate
from tasim.cli import app

REPOSITORY = Path(__file__).resolve().parent.parent
SMALL = {"system.n_teams": 8}
KEY = ["run_id", "month"]


def small_design(replicates=3, **options):
    return design(
        [("baseline", SMALL, {"arm": "baseline"}), ("hands_on", SMALL, {"arm": "hands_on"})],
        replicates,
        months=36,
        **options,
    )


def identical(first, second):
    """Bit for bit: same rows, same columns, same values."""
    pd.testing.assert_frame_equal(
        first.sort_values(KEY).reset_index(drop=True),
        second.sort_values(KEY).reset_index(drop=True),
        check_exact=True,
    )


def test_replicate_seeds_are_shared_across_points_unless_common_random_numbers_are_off():
    specs = small_design()
    assert [s.seed for s in specs[:3]] == [s.seed for s in specs[3:]]
    assert len({s.seed for s in specs[:3]}) == 3
    independent = small_design(common_random_numbers=False)
    assert not {s.seed for s in independent[:3]} & {s.seed for s in independent[3:]}
    assert [s.seed for s in small_design(entropy=7)] != [
        s.seed for s in specs
    ]  # the experiment seed matters


def test_resume_after_an_interruption_gives_exactly_the_full_result(tmp_path, monkeypatch):
    specs = small_design()
    full = run_experiment("test", specs, Store(tmp_path / "full"))
    real, calls = runner.execute_chunk, []

    def dies_on_third_chunk(run, chunk):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(run, chunk)

    monkeypatch.setattr(runner, "execute_chunk", dies_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_experiment("test", specs, Store(tmp_path / "resumed"), chunk_size=1)
    assert len(Store(tmp_path / "resumed").completed()) == 2  # only the run in flight was lost
    statuses = [
        run["status"]
        for run in json.loads((tmp_path / "resumed" / "manifest.json").read_text())["runs"]
    ]
    assert statuses.count("completed") == 2 and statuses.count("pending") == len(specs) - 2
    monkeypatch.setattr(runner, "execute_chunk", real)
    identical(full, run_experiment("test", specs, Store(tmp_path / "resumed"), chunk_size=1))
    assert len(Store(tmp_path / "resumed").completed()) == len(specs)  # nothing duplicated


def test_a_killed_command_resumes_to_exactly_the_full_result(tmp_path):
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "tasim",
        "compare",
        "baseline",
        "hands_on",
        "--replicates",
        "12",
        "--months",
        "36",
        "--set",
        "system.n_teams=8",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    process = subprocess.Popen(
        command, cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while (
        len(list((out / "runs").glob("*.parquet"))) < 3
        and time.monotonic() < deadline
        and process.poll() is None
    ):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    specs = design(
        [(name, SMALL, {"arm": name}) for name in ("baseline", "hands_on")], 12, months=36
    )
    assert 3 <= len(Store(out).completed()) < len(specs)  # killed part-way
    resumed = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert Store(out).completed() == {spec.run_id for spec in specs} and not list(
        (out / "runs").glob(".*")
    )
    assert {run["status"] for run in json.loads((out / "manifest.json").read_text())["runs"]} == {
        "completed"
    }
    identical(run_experiment("test", specs, Store(tmp_path / "uninterrupted")), Store(out).load())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def dask_cluster():
    """A scheduler and two single-threaded workers started as users start them, on loopback."""
    from distributed import Client

    address = f"tcp://127.0.0.1:{free_port()}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": REPOSITORY}
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dask",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            address.rsplit(":", 1)[1],
            "--no-dashboard",
        ],
        **quiet,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dask",
            "worker",
            address,
            "--host",
            "127.0.0.1",
            "--nworkers",
            "2",
            "--nthreads",
            "1",
            "--no-dashboard",
        ],
        **quiet,
    )
    try:
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in (worker, scheduler):
            process.terminate()
            process.wait(timeout=30)


def test_process_pool_and_a_real_dask_cluster_give_bit_identical_results(tmp_path, dask_cluster):
    specs = small_design(replicates=2)
    serial = run_experiment("test", specs, Store(tmp_path / "serial"))
    with make_executor(workers=2) as pool:
        identical(
            serial,
            run_experiment("test", specs, Store(tmp_path / "pool"), executor=pool, chunk_size=2),
        )
    with make_executor(scheduler=dask_cluster) as dask:
        identical(
            serial,
            run_experiment("test", specs, Store(tmp_path / "dask"), executor=dask, chunk_size=3),
        )


def flaky(spec):
    """A stand-in model: one row with the parameter as a per-run summary; x = 2 fails."""
    if spec.overrides["x"] == 2:
        raise ValueError("x = 2 is not allowed")
    return pd.DataFrame({"month": [0], "run_y": [float(spec.overrides["x"])]})


def mended(spec):
    return pd.DataFrame({"month": [0], "run_y": [100.0 + spec.overrides["x"]]})


def test_failed_runs_are_recorded_and_retried_without_losing_the_others(tmp_path):
    specs = design([("stand-in", {"x": x}, {"point": x}) for x in (1, 2, 3)], 1, check=None)
    with pytest.raises(
        ExperimentFailed, match=r"1 of 3 runs failed \(first: ValueError: x = 2 is not allowed\)"
    ):
        run_experiment("flaky", specs, Store(tmp_path), run=flaky)
    runs = {
        run["overrides"]["x"]: run
        for run in json.loads((tmp_path / "manifest.json").read_text())["runs"]
    }
    assert (
        runs[2]["status"] == "failed"
        and "not allowed" in runs[2]["error"]
        and runs[1]["status"] == runs[3]["status"] == "completed"
    )
    table = run_experiment("flaky", specs, Store(tmp_path), run=mended)
    assert dict(zip(table["x"], table["run_y"], strict=True)) == {
        1: 1.0,
        2: 102.0,
        3: 3.0,
    }  # only the failed run ran again
    assert {
        run["status"] for run in json.loads((tmp_path / "manifest.json").read_text())["runs"]
    } == {"completed"}


def test_the_manifest_records_design_seeds_provenance_and_timings(tmp_path):
    specs = small_design(replicates=1)
    table = run_experiment("test", specs, Store(tmp_path), settings={"seed": 1})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert (
        manifest["kind"] == "test"
        and manifest["settings"] == {"seed": 1}
        and manifest["code_version"]
        and manifest["packages"]["SALib"]
    )
    assert [(run["seed"], run["overrides"], run["status"]) for run in manifest["runs"]] == [
        (s.seed, s.overrides, "completed") for s in specs
    ]
    assert all(run["seconds"] > 0 for run in manifest["runs"])
    assert set(table.groupby("run_id").size()) == {37}  # months 0..36, once each
    summaries = Store(tmp_path).load(month=0)
    assert len(summaries) == len(specs) and {
        "arm",
        "replicate",
        "seed",
        "run_final_adoption",
    } <= set(summaries.columns)


def test_factorial_and_latin_hypercube_points_stay_in_their_ranges():
    baseline = load_scenario("baseline")
    dose, teams = (
        parse_range("funder.dosage_hours=0:20:3", baseline),
        parse_range("system.n_teams=2:3:4", baseline),
    )
    assert factorial([dose, teams]) == [
        {"funder.dosage_hours": d, "system.n_teams": n} for d in (0.0, 10.0, 20.0) for n in (2, 3)
    ]
    points = latin_hypercube([parse_range("funder.dosage_hours=2:4", baseline), teams], 50, seed=1)
    assert len(points) == 50 and all(
        2 <= p["funder.dosage_hours"] <= 4 and p["system.n_teams"] in (2, 3) for p in points
    )
    with pytest.raises(ScenarioError, match="needs the number of points"):
        factorial([parse_range("funder.dosage_hours=2:4", baseline)])


cli = CliRunner()


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["sweep", "baseline", "--vary", "funder.nope=0:1:2"], "funder.nope: unknown parameter"),
        (
            ["sweep", "baseline", "--vary", "mechanisms.hill=0.5:3:4"],
            "mechanisms.hill: 0.5:3 must lie in the allowed range [1, 4]",
        ),
        (
            ["sweep", "baseline", "--vary", "mechanisms.hill=1:3:4", "--replicates", "0"],
            "--replicates: must be at least 1 (got 0)",
        ),
        (["sweep", "baseline", "--vary", "mechanisms.hill=1:three:4"], "expected key=lo:hi:n"),
        (
            [
                "sweep",
                "baseline",
                "--vary",
                "mechanisms.hill=1:3",
                "--design",
                "lhs",
                "--samples",
                "0",
            ],
            "--samples: must be at least 1",
        ),
        (["compare", "baseline", "nope"], "nope: unknown scenario"),
        (
            ["compare", "baseline", "hands_on", "--set", "funder.dosage_hours=500"],
            "funder.dosage_hours: must be between 0 and 60",
        ),
        (["compare", "baseline", "hands_on", "--workers", "0"], "--workers: must be at least 1"),
        (
            ["sensitivity", "--parameters", "mechanisms.hill,mechanisms.nope"],
            "mechanisms.nope: unknown parameter",
        ),
        (["sensitivity", "--method", "sobol", "--samples", "12"], "must be a power of 2"),
        (["sensitivity", "--parameters", "funder.coordinated"], "not a numeric parameter"),
        (
            ["dose-response", "--withdraw", "70"],
            "--withdraw 70: must be 0 (never) or a month before the last",
        ),
        (["dose-response", "--by", "colour"], "--by colour: must be readiness or role"),
    ],
)
def test_bad_specifications_fail_with_one_line_before_any_run(
    arguments, message, tmp_path, monkeypatch
):
    monkeypatch.setattr(runner, "execute_chunk", lambda *a: pytest.fail("a run started"))
    result = cli.invoke(app, [*arguments, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("x/runs/*"))


def entered(context):
    with context:
        pass


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: design([("baseline", {}, {})], 0), "replicates: must be at least 1 (got 0)"),
        (lambda: design([("baseline", {}, {})], 1, months=0), "months: must be at least 1"),
        (lambda: entered(make_executor(workers=0)), "workers: must be at least 1 (got 0)"),
        (
            lambda: dose_response_arms("colour", [1], 0, 12),
            "by='colour': must be readiness or role",
        ),
        (
            lambda: dose_response_arms("role", [1], 70, 60),
            "withdraw=70: must be 0 (never) or a month before the last of 60 months",
        ),
        (
            lambda: sa.sample(sa.problem([Range("x", 0, 1)]), "sobol", 12),
            "base_samples: must be a power of 2 for Sobol (got 12)",
        ),
        (lambda: parse_range("x=1:three", None), "range='x=1:three': expected key=lo:hi:n"),
        (
            lambda: factorial([Range("x", 0, 1, 10**6), Range("y", 0, 1, 10**6)]),
            "ranges: a factorial of 1000000 x 1000000 has 1,000,000,000,000 points",
        ),
        (
            lambda: factorial([Range("x", 0, 1, 1000)], replicates=1001),
            "replicates: 1,000 points x 1,001 replicates = 1,001,000 runs",
        ),
        (
            lambda: latin_hypercube([Range("x", 0, 1)], 10**9, seed=1),
            "samples: a Latin hypercube has 1,000,000,000 points",
        ),
        (
            lambda: sa.sample(sa.problem([Range("x", 0, 1)]), "morris", 4, second_order=True),
            "second_order: only with Sobol",
        ),
        (
            lambda: sa.sample(sa.problem([Range("x", 0, 1)]), "sobol", 2**20, replicates=1),
            "base_samples: a Sobol design of N=1048576 has 3,145,728 points",
        ),
        (lambda: sa.check_output("nope"), "output='nope': must be one of time_to_50pct"),
    ],
)
def test_library_errors_name_the_argument_and_value_not_a_flag(call, message):
    with pytest.raises(ScenarioError) as error:
        call()
    assert str(error.value).startswith(message) and "--" not in str(error.value)


def test_an_existing_result_folder_is_named_as_the_argument(tmp_path):
    with pytest.raises(FileExistsError, match=f"^destination={tmp_path}: already exists"):
        ensure_new(tmp_path)


def test_the_measures_sensitivity_knows_are_those_of_a_run():
    """sensitivity checks --output against these before any run: they must be what runs give."""
    run = simulate(load_scenario("baseline", SMALL), seed=1, months=3)
    assert sa.summary_measures() == tuple(run.summary)
