"""Hostile input on the command line: every bad argument or file is one line, exit code 2.

One table of cases, each a command line (and the files it names) with a fragment of the
message expected. Each runs through the real app (Typer's CliRunner) in an empty folder, and
must end with exit code 2, a single line on stderr starting ``error:``, no traceback, no
simulation started and nothing written: every check happens before any run.
"""

import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sim import model
from sim.params import EXTENDS_LIMIT, FILE_LIMIT
from tasim.cli import app
from tasim.options import RULES, check_workers

FIFO = object()  # a file content meaning: make a named pipe here
FOLDER = object()  # ... a directory
SWEEP = ["sweep", "baseline", "--vary", "funder.dosage_hours=0:10:3", "--out", "out"]
SENSITIVITY = ["sensitivity", "--out", "out"]
COMPARE = ["compare", "baseline", "hands_on", "--out", "out"]
DOSE = ["dose-response", "--out", "out"]
RUN = ["run", "baseline", "--out", "out"]
VALIDATE = ["validate", "--targets", "targets.toml", "--out", "out"]
CALIBRATE = ["calibrate", "--targets", "targets.toml", "--out", "out"]
BIG = b"# padding\n" * (FILE_LIMIT // 10 + 1)  # just over the limit, and valid TOML
BINARY = b"\x00\xff\xfe\x89PNG\r\n\x1a\n"
DEEP = "a = " + "[" * 5000 + "]" * 5000 + "\n"  # deeper than Python's recursion limit
NESTED = "a." * 40 + "b = 1\n"  # deeper than the nesting limit
POSTERIOR = "mechanisms.imitation_q,weight\n"
TARGET = """[[targets]]
id = "t"
description = "d"
source = "s"
statistic = "adoption_at"
observed = 0.5
tolerance = 0.1
[targets.protocol]
months = 24
settings = { month = 12 }
[targets.protocol.arms]
baseline = {}
"""


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def chain(length: int) -> dict:
    """Scenario files c0.toml -> c1.toml -> ... each extending the next."""
    files = {f"c{index}.toml": f'extends = "c{index + 1}.toml"\n' for index in range(length)}
    return files | {f"c{length}.toml": ""}


def case(name, args, expected, files=None):
    return pytest.param(args, files or {}, expected, id=name)


CASES = [
    # 8. no size limits
    case(
        "extends /dev/zero",
        ["scenarios", "validate", "s.toml"],
        "/dev/zero: a character device",
        {"s.toml": 'extends = "/dev/zero"\n'},
    ),
    case("scenario /dev/zero", ["run", "/dev/zero", "--out", "out"], "a character device"),
    case(
        "scenario over 1 MiB",
        ["scenarios", "validate", "big.toml"],
        "file is larger than the 1 MiB limit for scenario files",
        {"big.toml": BIG},
    ),
    case(
        "extends over 1 MiB",
        ["run", "s.toml", "--out", "out"],
        "big.toml: file is larger",
        {"s.toml": 'extends = "big.toml"\n', "big.toml": BIG},
    ),
    case(
        "scenario is a FIFO",
        ["scenarios", "validate", "pipe.toml"],
        "pipe.toml: a FIFO; a scenario file must be a regular file",
        {"pipe.toml": FIFO},
    ),
    case(
        "scenario is a folder",
        ["scenarios", "validate", "folder.toml"],
        "a directory",
        {"folder.toml": FOLDER},
    ),
    case(
        "extends a folder",
        ["scenarios", "validate", "s.toml"],
        "a directory",
        {"s.toml": 'extends = "folder.toml"\n', "folder.toml": FOLDER},
    ),
    case(
        "extends chain too long",
        ["scenarios", "validate", "c0.toml"],
        f"a chain of more than the limit of {EXTENDS_LIMIT}",
        chain(EXTENDS_LIMIT + 2),
    ),
    case(
        "extends cycle through ./",
        ["scenarios", "validate", "a.toml"],
        "extends: circular",
        {"a.toml": 'extends = "./b.toml"\n', "b.toml": 'extends = "./a.toml"\n'},
    ),
    case(
        "scenario nested too deeply",
        ["scenarios", "validate", "deep.toml"],
        "not valid TOML (nested too deeply)",
        {"deep.toml": DEEP},
    ),
    case(
        "scenario dotted keys 40 deep",
        ["scenarios", "validate", "n.toml"],
        "nested deeper than the limit of 32",
        {"n.toml": NESTED},
    ),
    case(
        "--set nested too deeply",
        [*RUN, "--set", "funder.policy=" + "[" * 3000 + "]" * 3000],
        "--set funder.policy: tables and arrays nested too deeply",
    ),
    case(
        "targets /dev/zero",
        ["validate", "--targets", "/dev/zero", "--out", "out"],
        "a character device; a targets file must be a regular file",
    ),
    case(
        "targets over 1 MiB", VALIDATE, "the 1 MiB limit for targets files", {"targets.toml": BIG}
    ),
    case(
        "calibrate targets over 1 MiB",
        CALIBRATE,
        "the 1 MiB limit for targets files",
        {"targets.toml": BIG},
    ),
    case("targets FIFO", VALIDATE, "a FIFO; a targets file", {"targets.toml": FIFO}),
    case(
        "factorial of 10^12 points",
        [
            *SWEEP,
            "--vary",
            "funder.budget_per_month=0:1e6:1000000",
            "--vary",
            "mechanisms.hill=1:4:1000000",
        ],
        "a factorial of 3 x 1000000 x 1000000 has 3,000,000,000,000 points",
    ),
    case(
        "factorial over the runs limit with replicates",
        [*SWEEP[:3], "funder.dosage_hours=0:10:1000", "--out", "out", "--replicates", "1001"],
        "--replicates: 1,000 points x 1,001 replicates = 1,001,000 runs, more than the limit",
    ),
    case(
        "factorial count 10^15 in one range",
        [*SWEEP[:3], "funder.dosage_hours=0:10:1000000000000000", "--out", "out"],
        "has 1,000,000,000,000,000 points",
    ),
    case(
        "LHS samples over the limit",
        [*SWEEP, "--design", "lhs", "--samples", "1000001"],
        "--samples: must be at most 1,000,000 (got 1000001)",
    ),
    case(
        "LHS samples x replicates",
        [*SWEEP, "--design", "lhs", "--samples", "1000", "--replicates", "1001"],
        "= 1,001,000 runs",
    ),
    case(
        "Sobol rows over the limit",
        [*SENSITIVITY, "--method", "sobol", "--samples", "131072"],
        "a Sobol design of N=131072 has 1,835,008 points",
    ),
    case(
        "Sobol rows x replicates",
        [*SENSITIVITY, "--method", "sobol", "--samples", "8192", "--replicates", "9"],
        "runs, more than the limit",
    ),
    case(
        "Morris trajectories",
        [*SENSITIVITY, "--samples", "100000"],
        "100000 Morris trajectories has 1,300,000 points",
    ),
    case(
        "compare replicates",
        [*COMPARE, "--replicates", "600000"],
        "2 points x 600,000 replicates = 1,200,000 runs",
    ),
    case("dose-response replicates", [*DOSE, "--replicates", "100000"], "3,000,000 runs"),
    case(
        "replicates over the limit",
        [*COMPARE, "--replicates", "10000000000"],
        "--replicates: must be at most 1,000,000",
    ),
    # 9. tracebacks on bad input
    case(
        "binary scenario",
        ["scenarios", "validate", "bin.toml"],
        "bin.toml: not UTF-8 text (byte 0xff at offset 1)",
        {"bin.toml": BINARY},
    ),
    case(
        "binary scenario to run",
        ["run", "bin.toml", "--out", "out"],
        "not UTF-8 text",
        {"bin.toml": BINARY},
    ),
    case(
        "extends a binary file",
        ["scenarios", "validate", "s.toml"],
        "b.toml: not UTF-8",
        {"s.toml": 'extends = "b.toml"\n', "b.toml": BINARY},
    ),
    case("binary targets", VALIDATE, "not UTF-8 text", {"targets.toml": BINARY}),
    case("binary targets to calibrate", CALIBRATE, "not UTF-8 text", {"targets.toml": BINARY}),
    case(
        "dotted path through a leaf",
        [*RUN, "--set", "funder.budget_per_month.x=1"],
        "funder.budget_per_month is a value, not a section",
    ),
    case(
        "dotted path through a leaf in a sweep",
        [*SWEEP, "--set", "mechanisms.hill.x=1"],
        "mechanisms.hill is a value, not a section",
    ),
    case("run --seed -1", [*RUN, "--seed", "-1"], "--seed: must be at least 0 (got -1)"),
    case("sweep --seed -1", [*SWEEP, "--seed", "-1"], "--seed: must be at least 0 (got -1)"),
    case(
        "validate --seed -1",
        [*VALIDATE, "--seed", "-1"],
        "--seed: must be at least 0",
        {"targets.toml": TARGET},
    ),
    case("--seed 2^64", [*COMPARE, "--seed", str(2**64)], "--seed: must be at most"),
    case(
        "--scheduler garbage",
        [*SWEEP, "--scheduler", "garbage"],
        "--scheduler garbage: must be a Dask scheduler address",
    ),
    case(
        "--scheduler without a port",
        [*COMPARE, "--scheduler", "tcp://10.0.0.5"],
        "must be a Dask scheduler address",
    ),
    case(
        "--scheduler port out of range",
        [*DOSE, "--scheduler", "tcp://localhost:99999"],
        "port 1 to 65535",
    ),
    case(
        "--scheduler unknown protocol",
        [*SENSITIVITY, "--scheduler", "http://localhost:8786"],
        "must be a Dask scheduler address",
    ),
    case("--scheduler empty", [*SWEEP, "--scheduler", ""], "must be a Dask scheduler address"),
    case(
        "--scheduler nobody listens",
        [*SWEEP, "--scheduler", f"tcp://127.0.0.1:{closed_port()}"],
        "cannot reach the Dask scheduler (Connection refused)",
    ),
    case(
        "validate --scheduler garbage",
        [*VALIDATE, "--scheduler", "garbage"],
        "--scheduler garbage: must be",
        {"targets.toml": TARGET},
    ),
    case(
        "calibrate --scheduler garbage",
        [*CALIBRATE, "--scheduler", "garbage"],
        "--scheduler garbage: must be",
        {"targets.toml": TARGET},
    ),
    case(
        "posterior with an inf weight",
        [*COMPARE, "--posterior", "p.csv"],
        "weight: must be numbers >= 0 with a positive sum",
        {"p.csv": POSTERIOR + "0.1,inf\n"},
    ),
    case(
        "posterior with a text weight",
        [*COMPARE, "--posterior", "p.csv"],
        "weight: must be numbers",
        {"p.csv": POSTERIOR + "0.1,lots\n"},
    ),
    case(
        "posterior with a text column",
        [*COMPARE, "--posterior", "p.csv"],
        "mechanisms.imitation_q: a parameter column must hold finite numbers",
        {"p.csv": POSTERIOR + "0.1,1\nfast,1\n"},
    ),
    case(
        "posterior with a NaN parameter",
        [*COMPARE, "--posterior", "p.csv"],
        "a parameter column must hold finite numbers",
        {"p.csv": POSTERIOR + "nan,1\n"},
    ),
    case(
        "posterior with boolean weights",
        [*COMPARE, "--posterior", "p.csv"],
        "weight: must be numbers",
        {"p.csv": POSTERIOR + "0.1,true\n"},
    ),
    case(
        "posterior /dev/zero",
        [*COMPARE, "--posterior", "/dev/zero"],
        "a posterior file must be a regular file",
    ),
    case(
        "binary posterior", [*COMPARE, "--posterior", "p.csv"], "not UTF-8 text", {"p.csv": BINARY}
    ),
    case(
        "validate binary posterior",
        [*VALIDATE, "--posterior", "p.csv"],
        "not UTF-8 text",
        {"p.csv": BINARY, "targets.toml": TARGET},
    ),
    case(
        "posterior with an unknown parameter",
        [*COMPARE, "--posterior", "p.csv"],
        "funder.nope: unknown parameter",
        {"p.csv": "funder.nope,weight\n1,1\n"},
    ),
    case(
        "posterior naming a section",
        [*COMPARE, "--posterior", "p.csv"],
        "funder: a section, not a single parameter",
        {"p.csv": "funder,weight\n1,1\n"},
    ),
    # 11. inconsistent checks
    case("run --months 0", [*RUN, "--months", "0"], "--months: must be at least 1 (got 0)"),
    case("run --months 601", [*RUN, "--months", "601"], "--months: must be at most 600 (got 601)"),
    case("sweep --months 601", [*SWEEP, "--months", "601"], "--months: must be at most 600"),
    case("compare --months 0", [*COMPARE, "--months", "0"], "--months: must be at least 1"),
    case("sensitivity --months 601", [*SENSITIVITY, "--months", "601"], "must be at most 600"),
    case("dose-response --months 601", [*DOSE, "--months", "601"], "must be at most 600"),
    case("dose-response --months 0", [*DOSE, "--months", "0"], "--months: must be at least 1"),
    case("--months -5", [*RUN, "--months", "-5"], "--months: must be at least 1 (got -5)"),
    case("--months 1.5", [*RUN, "--months", "1.5"], "Invalid value for '--months'"),
    case("--months nan", [*SWEEP, "--months", "nan"], "Invalid value for '--months'"),
    case("--months empty", [*RUN, "--months", ""], "Invalid value for '--months'"),
    case(
        "validate --workers 0",
        [*VALIDATE, "--workers", "0"],
        "--workers: must be at least 1",
        {"targets.toml": TARGET},
    ),
    case(
        "calibrate --workers 0",
        [*CALIBRATE, "--workers", "0"],
        "--workers: must be at least 1",
        {"targets.toml": TARGET},
    ),
    case("sweep --workers 0", [*SWEEP, "--workers", "0"], "--workers: must be at least 1 (got 0)"),
    case("compare --workers -2", [*COMPARE, "--workers", "-2"], "--workers: must be at least 1"),
    case("--workers huge", [*DOSE, "--workers", "100000"], "--workers: must be at most 1,024"),
    case("--replicates 0", [*SENSITIVITY, "--replicates", "0"], "--replicates: must be at least 1"),
    case("--replicates -1", [*DOSE, "--replicates", "-1"], "--replicates: must be at least 1"),
    case("--replicates 2.5", [*COMPARE, "--replicates", "2.5"], "Invalid value for '--replicates'"),
    case("--samples 0 in a factorial", [*SWEEP, "--samples", "0"], "--samples: must be at least 1"),
    case("--samples -4", [*SENSITIVITY, "--samples", "-4"], "--samples: must be at least 1"),
    case(
        "--set funder={}",
        [*RUN, "--set", "funder={}"],
        "funder: a table for a section must give all of its parameters",
    ),
    case(
        "--set a section to a number",
        [*RUN, "--set", "funder=3"],
        "funder: a section, not a single parameter",
    ),
    case(
        "--set a provider group",
        [*COMPARE, "--set", "providers.0={count = 3}"],
        "providers.0: a table for a section must give all",
    ),
    case(
        "--set a nested section",
        [*RUN, "--set", "shocks.pandemic={ enabled = false }"],
        "shocks.pandemic: a table for a section",
    ),
    case(
        "sweep --set and --vary one parameter",
        [*SWEEP, "--set", "funder.dosage_hours=4"],
        "--set funder.dosage_hours: a parameter cannot be both varied and fixed",
    ),
    case(
        "sensitivity --set and a varied parameter",
        [*SENSITIVITY, "--parameters", "mechanisms.hill", "--set", "mechanisms.hill=2"],
        "cannot be both varied and fixed",
    ),
    case(
        "dose-response --set its dose",
        [*DOSE, "--set", "funder.dosage_hours=4"],
        "--set funder.dosage_hours: a parameter the dose-response sets",
    ),
    case(
        "dose-response --set its curve",
        [*DOSE, "--set", "initial.motivation_mean=0.5"],
        "--set initial.motivation_mean: a parameter the dose-response sets",
    ),
    case("dose-response --set months", [*DOSE, "--set", "months=30"], "--set months"),
    case(
        "--parameters ''",
        [*SENSITIVITY, "--parameters", ""],
        "--parameters: name at least one dotted path",
    ),
    case("--parameters ' '", [*SENSITIVITY, "--parameters", " "], "--parameters: name at least"),
    case(
        "--parameters with an empty name",
        [*SENSITIVITY, "--parameters", "mechanisms.hill,"],
        "not a dotted parameter path",
    ),
    case(
        "--second-order with Morris",
        [*SENSITIVITY, "--second-order"],
        "--second-order: only with Sobol",
    ),
    case(
        "--output nope",
        [*SENSITIVITY, "--output", "nope"],
        "--output nope: must be one of time_to_50pct_adoption, final_adoption",
    ),
    case(
        "--output a system column",
        [*SENSITIVITY, "--output", "adoption"],
        "--output adoption: must be one of",
    ),
    case(
        "event sets system.n_teams",
        ["scenarios", "validate", "e.toml"],
        "events.0.set has system.n_teams: only read when the model is built, so an event at "
        "month 12 cannot change it",
        {"e.toml": '[[events]]\nmonth = 12\nset = { "system.n_teams" = 10 }\n'},
    ),
    case(
        "event sets an initial state",
        ["run", "e.toml", "--out", "out"],
        "events.0.set has initial.trust_mean: only read when the model is built",
        {"e.toml": '[[events]]\nmonth = 3\nset = { "initial.trust_mean" = 0.9 }\n'},
    ),
    case(
        "event sets the horizon",
        ["scenarios", "validate", "e.toml"],
        "events.0.set has months: only read",
        {"e.toml": '[[events]]\nmonth = 3\nset = { "months" = 200 }\n'},
    ),
    case(
        "event sets a nested system parameter",
        ["scenarios", "validate", "e.toml"],
        "events.1.set has system.region_shares.urban",
        {
            "e.toml": '[[events]]\nmonth = 3\nset = { "funder.dosage_hours" = 4.0 }\n'
            '[[events]]\nmonth = 5\nset = { "system.region_shares.urban" = 0.5, '
            '"system.region_shares.rural" = 0.35 }\n'
        },
    ),
    case(
        "event in an extended scenario",
        [*COMPARE[:2], "e.toml", "--out", "out"],
        "events.0.set has system.cohort_interval",
        {
            "e.toml": 'extends = "baseline"\n[[events]]\nmonth = 3\n'
            'set = { "system.cohort_interval" = 6 }\n'
        },
    ),
    case(
        "--set an event on a structural parameter",
        [*RUN, "--set", "events=[{month = 2, set = {'initial.ownership_mean' = 0.9}}]"],
        "events.0.set has initial.ownership_mean",
    ),
    # neighbours: wrong types, unknown keys, empty strings, NaN, huge numbers
    case(
        "scenario with an unknown key",
        ["scenarios", "validate", "u.toml"],
        "colour: unknown parameter",
        {"u.toml": "colour = 'red'\n"},
    ),
    case(
        "scenario with NaN",
        ["scenarios", "validate", "n.toml"],
        "must be a finite number",
        {"n.toml": "[funder]\ndosage_hours = nan\n"},
    ),
    case(
        "scenario with inf",
        ["scenarios", "validate", "n.toml"],
        "must be a finite number",
        {"n.toml": "[funder]\nbudget_per_month = inf\n"},
    ),
    case(
        "scenario with a huge integer",
        ["scenarios", "validate", "n.toml"],
        "system.n_teams: must be between 1 and 5000",
        {"n.toml": "[system]\nn_teams = 10000000\n"},
    ),
    case(
        "scenario with a string number",
        ["scenarios", "validate", "n.toml"],
        "funder.dosage_hours",
        {"n.toml": "[funder]\ndosage_hours = '3'\n"},
    ),
    case(
        "scenario extends a number",
        ["scenarios", "validate", "n.toml"],
        "extends: must be a scenario name",
        {"n.toml": "extends = 3\n"},
    ),
    case(
        "scenario extends nothing",
        ["scenarios", "validate", "n.toml"],
        "a directory",
        {"n.toml": "extends = ''\n"},
    ),
    case("empty scenario name", ["run", "", "--out", "out"], "a directory"),
    case("--set without a value", [*RUN, "--set", "funder.dosage_hours"], "expected key=value"),
    case("--set empty", [*RUN, "--set", ""], "expected key=value"),
    case("--set NaN", [*RUN, "--set", "funder.dosage_hours=nan"], "must be a finite number"),
    case("--set 1e400", [*RUN, "--set", "funder.budget_per_month=1e400"], "finite number"),
    case(
        "--set a negative count",
        [*RUN, "--set", "providers.0.count=-3"],
        "providers.0.count: must be between 0 and 2000",
    ),
    case(
        "--set an index past the list",
        [*RUN, "--set", "providers.99999999999999.count=1"],
        "out of range",
    ),
    case(
        "--set an empty path part",
        [*RUN, "--set", "funder..policy=need"],
        "not a dotted parameter path",
    ),
    case(
        "--vary NaN count",
        [*SWEEP[:3], "funder.dosage_hours=0:10:nan", "--out", "out"],
        "expected key=lo:hi:n",
    ),
    case(
        "--vary NaN bound",
        [*SWEEP[:3], "funder.dosage_hours=nan:10:3", "--out", "out"],
        "must lie in the allowed range",
    ),
    case(
        "--vary inf bound",
        [*SWEEP[:3], "funder.dosage_hours=0:inf:3", "--out", "out"],
        "must lie in the allowed range",
    ),
    case(
        "--vary zero points",
        [*SWEEP[:3], "funder.dosage_hours=0:10:0", "--out", "out"],
        "at least 1",
    ),
    case(
        "--vary a section",
        [*SWEEP[:3], "funder=0:1:2", "--out", "out"],
        "funder: not a single parameter",
    ),
    case("--doses NaN", [*DOSE, "--doses", "nan"], "must be a finite number"),
    case("--doses text", [*DOSE, "--doses", "1,lots"], "--doses 1,lots: expected numbers"),
    case("--doses negative", [*DOSE, "--doses", "-1"], "must be at least 0"),
    case("unknown option", [*RUN, "--colour", "red"], "No such option: --colour"),
    case("--seed text", [*RUN, "--seed", "abc"], "Invalid value for '--seed'"),
    case(
        "targets with an unknown key",
        VALIDATE,
        "unknown key",
        {"targets.toml": TARGET.replace("tolerance = 0.1", "tolerance = 0.1\ncolour = 1")},
    ),
    case(
        "targets with NaN tolerance",
        VALIDATE,
        "targets.0.tolerance",
        {"targets.toml": TARGET.replace("tolerance = 0.1", "tolerance = nan")},
    ),
    case(
        "targets arm sets a section",
        VALIDATE,
        "funder: a table for a section",
        {"targets.toml": TARGET.replace("baseline = {}", "baseline = { funder = {} }")},
    ),
    case("targets file is a folder", VALIDATE, "a directory", {"targets.toml": FOLDER}),
]


def make(folder: Path, files: dict) -> None:
    for name, content in files.items():
        path = folder / name
        if content is FIFO:
            os.mkfifo(path)
        elif content is FOLDER:
            path.mkdir()
        else:
            path.write_bytes(content if isinstance(content, bytes) else content.encode())


def listing(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*")}


@pytest.mark.parametrize("args, files, expected", CASES)
def test_hostile_input_is_one_line_with_exit_code_2_and_nothing_run_or_written(
    args, files, expected, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    make(tmp_path, files)
    before = listing(tmp_path)

    def no_simulation(*args, **kwargs):
        raise AssertionError("a simulation started")

    monkeypatch.setattr(model.TransformationModel, "__init__", no_simulation)
    result = CliRunner().invoke(app, args)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    assert expected in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert listing(tmp_path) == before


def test_every_command_gives_each_shared_option_its_rule():
    """A command added later with --months or --workers is checked like the others."""
    import typer

    checked = 0

    def walk(command):
        nonlocal checked
        for param in command.params:
            for flag in set(param.opts) & set(RULES):
                assert param.callback is not None, (command.name, flag)
                assert param.callback.__qualname__.startswith("checked."), (command.name, flag)
                checked += 1
        for subcommand in getattr(command, "commands", {}).values():
            walk(subcommand)

    walk(typer.main.get_command(app))
    assert checked >= 20  # run, sweep, compare, dose-response, sensitivity, validate, calibrate


def test_the_rules_are_plain_functions_too():
    assert check_workers(None) is None and check_workers(4) == 4
    with pytest.raises(ValueError, match="workers: must be at least 1 .got 0."):
        check_workers(0)
