"""Results you can trust after any interruption, edit or hostile input (issue 19).

A run is its content (the resolved scenario and the model's code), a folder holds one
experiment, every stored run is checked before it is reused, outputs go only where asked, and
nothing is left behind by a killed, crashed or concurrent process.
"""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from experiments import provenance, runner
from experiments.output import check_destination, folder_name, write_run
from experiments.runner import (
    ExperimentFailed,
    Store,
    design,
    partial_name,
    process_alive,
    run_experiment,
)
from sim import ScenarioError, simulate
from tasim.cli import app

REPOSITORY = Path(__file__).resolve().parent.parent
SMALL = {"system.n_teams": 4}
MONTHS = 12  # the first TA arrives within a year: a budget of 0 changes the results
KEY = ["run_id", "month"]
cli = CliRunner()


def identical(first, second):
    pd.testing.assert_frame_equal(
        first.sort_values(KEY).reset_index(drop=True),
        second.sort_values(KEY).reset_index(drop=True),
        check_exact=True,
    )


def scenario_file(folder: Path, budget: float | None = None) -> Path:
    path = folder / "mine.toml"
    funder = "" if budget is None else f"\n[funder]\nbudget_per_month = {budget}\n"
    path.write_text(f'extends = "baseline"\nname = "mine"\n[system]\nn_teams = 4\n{funder}')
    return path


def model_design(scenario="baseline", replicates=2):
    return design(
        [
            (str(scenario), {"funder.dosage_hours": dose}, {"point": i})
            for i, dose in enumerate((2, 8))
        ],
        replicates,
        months=MONTHS,
    )


def echo(spec):
    """A stand-in model: two months, the parameter as a per-run summary."""
    return pd.DataFrame({"month": [0, 1], "run_y": [float(spec.overrides["x"])] * 2})


def echo_design(n=6, replicates=1):
    return design([("stand-in", {"x": x}, {"point": x}) for x in range(n)], replicates, check=None)


def no_leftovers(folder: Path) -> bool:
    return not [path for path in folder.rglob("*") if path.name.endswith(".partial")]


def dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


# 1. A run is its content: the resolved scenario and the model's code


def test_an_edited_scenario_is_another_run_and_its_old_folder_refuses_to_mix_them(tmp_path):
    path = scenario_file(tmp_path)
    before = model_design(path)
    table = run_experiment("sweep", before, Store(tmp_path / "sweep"), settings={"s": str(path)})
    stored = sorted((tmp_path / "sweep" / "runs").iterdir())
    scenario_file(tmp_path, budget=0.0)  # same name, same path, other content
    after = model_design(path)
    assert not {s.run_id for s in before} & {s.run_id for s in after}
    with pytest.raises(ScenarioError, match=r"sweep: its runs of .*mine.toml were made before"):
        run_experiment("sweep", after, Store(tmp_path / "sweep"), settings={"s": str(path)})
    assert sorted((tmp_path / "sweep" / "runs").iterdir()) == stored  # nothing ran, nothing mixed
    edited = run_experiment("sweep", after, Store(tmp_path / "edited"), settings={"s": str(path)})
    assert table["run_ta_hours_total"].gt(0).all() and edited["run_ta_hours_total"].eq(0).all()


def test_the_model_version_is_a_content_hash_of_the_model_package(tmp_path):
    ignore = shutil.ignore_patterns("__pycache__")
    for name in ("a", "b"):
        shutil.copytree(provenance.MODEL, tmp_path / name, ignore=ignore)
    version = provenance.package_hash
    assert version(tmp_path / "a") == version(tmp_path / "b")  # content, not place or git
    with (tmp_path / "b" / "scenarios" / "baseline.toml").open("a") as file:
        file.write("\n# a comment is a change too\n")
    assert version(tmp_path / "b") != version(tmp_path / "a")
    shutil.copytree(provenance.MODEL, tmp_path / "c", ignore=ignore)
    (tmp_path / "c" / "mechanisms.py").write_text("HILL = 2\n", "utf-8")
    assert version(tmp_path / "c") not in (version(tmp_path / "a"), version(tmp_path / "b"))


def test_changed_model_code_is_another_run_and_refused_in_the_old_folder(tmp_path, monkeypatch):
    specs = echo_design()
    run_experiment("echo", specs, Store(tmp_path), run=echo)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["model_version"] == provenance.model_version()
    monkeypatch.setattr(runner, "model_version", lambda: "0123456789abcdef")  # the code changed
    changed = echo_design()
    assert not {s.run_id for s in specs} & {s.run_id for s in changed}
    with pytest.raises(
        ScenarioError,
        match=r"made by model code \w+, this is model code 0123456789abcdef; runs of different "
        r"code are not mixed: choose another folder",
    ):
        run_experiment("echo", changed, Store(tmp_path), run=echo)


def test_design_resolves_each_arm_once_and_its_replicates_share_the_content(monkeypatch):
    calls = []

    def counting(scenario, overrides):
        calls.append(scenario)
        return runner.check_scenario(scenario, overrides)

    specs = design(
        [("baseline", {**SMALL, "funder.dosage_hours": d}, {"point": d}) for d in (2, 4, 6)],
        5,
        check=counting,
    )
    assert len(calls) == 3 and len(specs) == 15
    assert len({spec.content for spec in specs}) == 3 and len({s.run_id for s in specs}) == 15
    stand_in = echo_design(n=2, replicates=2)  # run functions that are not the model
    assert len({spec.content for spec in stand_in}) == 1 and len(stand_in) == 4


# 3. One folder, one experiment


def cli_sweep(scenario, out, vary="funder.dosage_hours=2:8:2"):
    return cli.invoke(
        app,
        [
            "sweep",
            str(scenario),
            "--vary",
            vary,
            "--replicates",
            "1",
            "--months",
            str(MONTHS),
            "--workers",
            "1",
            "--out",
            str(out),
        ],
    )


def test_another_experiment_is_refused_in_one_line_and_the_first_still_resumes(tmp_path):
    out = tmp_path / "sweep"
    path = scenario_file(tmp_path)
    assert cli_sweep(path, out).exit_code == 0
    manifest = (out / "manifest.json").read_bytes()
    runs = {p: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    asked = [
        (
            ["compare", "baseline", "hands_on", "--replicates", "1", "--months", "3"],
            "holds a sweep experiment, not this compare; choose another folder",
        ),
        (
            ["sweep", str(path), "--vary", "mechanisms.hill=1:3:2", "--months", str(MONTHS)],
            'vary ["funder.dosage_hours=2:8:2"] there, ["mechanisms.hill=1:3:2"] here',
        ),
    ]
    for arguments, message in asked:
        refused = cli.invoke(app, [*arguments, "--workers", "1", "--out", str(out)])
        assert refused.exit_code == 2, refused.output
        assert message in refused.stderr and str(out) in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert (out / "manifest.json").read_bytes() == manifest  # the sweep's record is intact
    resumed = cli_sweep(path, out)
    assert resumed.exit_code == 0, resumed.output
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == runs  # nothing redone
    scenario_file(tmp_path, budget=0.0)
    edited = cli_sweep(path, out)
    assert edited.exit_code == 2 and "were made before that scenario" in edited.stderr


def test_a_larger_design_of_the_same_experiment_reuses_the_stored_runs(tmp_path):
    def compare(*scenarios):
        return cli.invoke(
            app,
            [
                "compare",
                *scenarios,
                "--replicates",
                "2",
                "--months",
                "6",
                "--set",
                "system.n_teams=4",
                "--workers",
                "1",
                "--out",
                str(tmp_path),
            ],
        )

    assert compare("baseline", "hands_on").exit_code == 0
    runs = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").iterdir()}
    grown = compare("baseline", "hands_on", "coordinated")
    assert grown.exit_code == 0, grown.output
    after = {p: p.stat().st_mtime_ns for p in (tmp_path / "runs").iterdir()}
    assert len(after) == 6 and {p: after[p] for p in runs} == runs


def test_a_run_file_under_another_runs_name_is_set_aside_and_redone(tmp_path):
    specs = echo_design()
    full = run_experiment("echo", specs, Store(tmp_path), run=echo)
    first, second = (tmp_path / "runs" / f"{spec.run_id}.parquet" for spec in specs[:2])
    shutil.copyfile(first, second)  # valid Parquet, a real run file, the wrong run
    identical(full, run_experiment("echo", specs, Store(tmp_path), run=echo))
    assert [p.name.split(".")[0] for p in (tmp_path / "runs" / "rejected").iterdir()] == [
        specs[1].run_id
    ]


# 4. Outputs only where asked


def test_a_hostile_scenario_name_stays_inside_results(tmp_path, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for name in ("../../escaped", "x" * 5000, " .. / "):
        scenario = work / "hostile.toml"
        scenario.write_text(f'extends = "baseline"\nname = "{name}"\n[system]\nn_teams = 4\n')
        done = cli.invoke(app, ["run", str(scenario), "--months", "2"])
        assert done.exit_code == 0, (name[:20], done.output)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["work"]
    made = sorted(path.name for path in (work / "results").iterdir())
    assert len(made) == 3 and made[0].startswith("escaped-") and made[1].startswith("run-")
    assert all(len(name) <= 80 + len("-20261125-120000") for name in made)


def test_folder_names_from_scenario_names_are_single_safe_names():
    assert folder_name("../../etc/evil") == "etc_evil"
    assert folder_name("a/b\\c d") == "a_b_c_d"
    assert folder_name("...") == folder_name("") == "run"
    assert len(folder_name("x" * 5000)) == 80


@pytest.fixture
def places(tmp_path):
    (tmp_path / "a-file").write_text("mine")
    return {
        "empty": ("", "--out: must name a folder (got an empty path)"),
        "a file": (str(tmp_path / "a-file"), "is a file, not a folder"),
        "under a file": (str(tmp_path / "a-file" / "x"), "has a file in the way"),
        "/proc": ("/proc/tasim-results", "cannot be written"),
        "a long name": (str(tmp_path / ("x" * 300)), "has a name longer than 255 bytes"),
    }


COMMANDS = {
    "run": ["run", "baseline"],
    "sweep": ["sweep", "baseline", "--vary", "funder.dosage_hours=2:8:2"],
    "compare": ["compare", "baseline", "hands_on"],
    "dose-response": ["dose-response"],
    "sensitivity": ["sensitivity"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("place", ["empty", "a file", "under a file", "/proc", "a long name"])
def test_a_bad_out_is_refused_in_one_line_before_any_work(
    command, place, places, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runner, "execute_chunk", lambda *a: pytest.fail("a run started"))
    monkeypatch.setattr(
        "tasim.commands.run.simulate_with_progress", lambda *a: pytest.fail("a run started")
    )
    before = sorted(tmp_path.rglob("*"))
    out, message = places[place]
    done = cli.invoke(app, [*COMMANDS[command], "--out", out])
    assert done.exit_code == 2, done.output
    assert message in done.stderr and done.stderr.startswith("error: --out")
    assert len(done.stderr.strip().splitlines()) == 1 and done.exception.__class__ is SystemExit
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    with pytest.raises(ScenarioError, match="cannot be written"):
        check_destination(locked / "x")


def test_check_destination_names_the_argument_and_keeps_long_values_short(tmp_path):
    assert check_destination(str(tmp_path / "new" / "deeper")) == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking created nothing
    assert check_destination(tmp_path) == tmp_path  # an experiment folder resumes
    with pytest.raises(FileExistsError, match="already exists"):
        check_destination(tmp_path, new=True)
    with pytest.raises(ScenarioError) as error:
        check_destination(tmp_path / ("y" * 5000))
    assert str(error.value).startswith("destination='") and len(str(error.value)) < 200
    with pytest.raises(ScenarioError, match="is a file, not a folder"):
        Store(Path(__file__))


# 6. A store that recovers


@pytest.mark.parametrize("damage", ["truncated", "missing", "not a manifest"])
def test_a_damaged_manifest_is_rebuilt_from_the_run_files(tmp_path, damage):
    specs = model_design(replicates=1)
    full = run_experiment("sweep", specs, Store(tmp_path))
    manifest = tmp_path / "manifest.json"
    if damage == "truncated":
        manifest.write_bytes(manifest.read_bytes()[: manifest.stat().st_size // 2])
    elif damage == "missing":
        manifest.unlink()
    else:
        manifest.write_text('{"runs": 3}')
    identical(full, run_experiment("sweep", specs, Store(tmp_path)))
    runs = json.loads(manifest.read_text())["runs"]
    assert [run["status"] for run in runs] == ["completed"] * len(specs)


def test_without_a_manifest_runs_of_another_experiment_are_still_refused(tmp_path):
    run_experiment("echo", echo_design(), Store(tmp_path), run=echo)
    (tmp_path / "manifest.json").unlink()
    other = design([("stand-in", {"x": 9}, {"point": 9})], 2, check=None)
    with pytest.raises(ScenarioError, match="holds 6 runs of another experiment"):
        run_experiment("echo", other, Store(tmp_path), run=echo)


@pytest.mark.parametrize("damage", ["truncated", "empty", "not parquet"])
def test_a_damaged_run_file_is_set_aside_and_redone(tmp_path, damage):
    specs = model_design(replicates=1)
    full = run_experiment("sweep", specs, Store(tmp_path))
    path = tmp_path / "runs" / f"{specs[1].run_id}.parquet"
    content = {
        "truncated": path.read_bytes()[: path.stat().st_size // 2],
        "empty": b"",
        "not parquet": b"PAR1 but nothing else",
    }[damage]
    path.write_bytes(content)
    identical(full, run_experiment("sweep", specs, Store(tmp_path)))
    (rejected,) = (tmp_path / "runs" / "rejected").iterdir()
    assert rejected.read_bytes() == content
    identical(full, run_experiment("sweep", specs, Store(tmp_path)))  # and stays mended


def test_a_run_without_rows_fails_instead_of_being_stored(tmp_path):
    specs = echo_design(n=1)
    with pytest.raises(ExperimentFailed, match="the run returned no rows"):
        run_experiment("echo", specs, Store(tmp_path), run=nothing)
    assert not list((tmp_path / "runs").glob("*.parquet"))


def nothing(spec):
    return pd.DataFrame({"month": [], "run_y": []})


# 7. Concurrent identical experiments


def slow_echo(spec):
    time.sleep(0.002)
    return echo(spec)


def test_four_concurrent_identical_experiments_into_one_folder_all_succeed(tmp_path):
    specs = echo_design(n=40)
    start, results, errors = threading.Barrier(4), [], []

    def one():
        start.wait()
        try:
            results.append(
                run_experiment("echo", specs, Store(tmp_path), run=slow_echo, chunk_size=1)
            )
        except Exception as error:  # reported below, with the others' results
            errors.append(error)

    threads = [threading.Thread(target=one) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 4
    for table in results[1:]:
        identical(results[0], table)
    assert no_leftovers(tmp_path) and len(list((tmp_path / "runs").glob("*.parquet"))) == 40
    assert len({partial_name("x") for _ in range(100)}) == 100


# 10. Nothing left behind


def test_a_full_disk_leaves_no_partial_files(tmp_path, monkeypatch):
    def disk_full(self, path, **options):
        Path(path).write_bytes(b"PAR1 half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    with pytest.raises(OSError, match="No space left"):
        run_experiment("echo", echo_design(), Store(tmp_path), run=echo)
    assert no_leftovers(tmp_path) and json.loads((tmp_path / "manifest.json").read_text())

    real = Path.write_text

    def manifest_disk_full(self, text, *args, **kwargs):
        real(self, text[:10])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.undo()
    monkeypatch.setattr(Path, "write_text", manifest_disk_full)
    with pytest.raises(OSError, match="No space left"):
        run_experiment("echo", echo_design(), Store(tmp_path / "again"), run=echo)
    assert no_leftovers(tmp_path)


def test_leftovers_of_dead_processes_are_swept_and_others_kept(tmp_path):
    host = runner._host()
    dead = dead_pid()
    runs = tmp_path / "experiment" / "runs"
    runs.mkdir(parents=True)
    stale = runs / f".0123456789abcdef.tasim-{host}-{dead}-0badf00d.partial"
    mine = runs / partial_name("0123456789abcdef")
    elsewhere = runs / f".0123456789abcdef.tasim-otherhost-{dead}-0badf00d.partial"
    unknown = runs / ".someone-elses.partial"
    for path in (stale, mine, elsewhere, unknown):
        path.write_bytes(b"half")
    Store(tmp_path / "experiment")
    assert not stale.exists() and mine.exists() and elsewhere.exists() and unknown.exists()

    results = tmp_path / "results"
    killed_run = results / f".baseline-20261125-120000.tasim-{host}-{dead}-0badf00d.partial"
    killed_run.mkdir(parents=True)
    (killed_run / "system.parquet").write_bytes(b"half")
    write_run(simulate("baseline", seed=1, months=2), results / "next", {})
    assert sorted(path.name for path in results.iterdir()) == ["next"]


def test_process_alive_tells_the_living_from_the_dead():
    assert process_alive(os.getpid()) and not process_alive(dead_pid()) and not process_alive(0)
    started = runner.process_status(os.getpid())
    if started:  # a reused pid is another process: its start time differs
        assert process_alive(os.getpid(), started[1])
        assert not process_alive(os.getpid(), str(int(started[1]) + 1))


def descendants(pid: int) -> set[int]:
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found.update(children)
        todo += children
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_a_killed_pool_sweep_leaves_no_worker_or_forkserver_running(tmp_path):
    out = tmp_path / "killed"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tasim",
            "compare",
            "baseline",
            "hands_on",
            "--replicates",
            "100",
            "--months",
            "60",
            "--set",
            "system.n_teams=8",
            "--workers",
            "2",
            "--out",
            str(out),
        ],
        cwd=REPOSITORY,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and parent.poll() is None:
            children |= descendants(parent.pid)
            if list(out.glob("runs/*.parquet")):
                break
            time.sleep(0.05)
        children |= descendants(parent.pid)
        assert parent.poll() is None and len(children) >= 3  # forkserver and two workers
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(map(process_alive, children)):
            time.sleep(0.2)
        assert not [pid for pid in children if process_alive(pid)]
    finally:
        for pid in children:  # only if the test failed: the processes this test started
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert (out / "manifest.json").exists()
