"""`tasim calibrate` and `tasim validate` (registered by experiments/cli.py)."""

from __future__ import annotations

from contextlib import nullcontext
import time
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console

from calibration.fit import CALIBRATED, calibrate, plot_fit, posterior_median, read_posterior, validate
from calibration.targets import load_targets
from experiments.cli_support import user_errors
from experiments.commands import print_frame
from experiments.runner import make_executor
from sim import ScenarioError, load_scenario

console = Console()
HERE = Path(__file__).resolve().parent
DEFAULT_TARGETS = HERE / "targets.toml"


def _parameters(names: list[str] | None) -> tuple[str, ...]:
    return tuple(names) if names else CALIBRATED


@user_errors
def calibrate_command(
    targets: Annotated[Path, typer.Option(help="Targets file (schema: docs/calibration.md).")] = DEFAULT_TARGETS,
    budget: Annotated[int, typer.Option(help="Most parameter sets to simulate (each runs every protocol).")] = 2000,
    population: Annotated[int, typer.Option(help="ABC-SMC population size.")] = 100,
    parameter: Annotated[list[str] | None, typer.Option(help="Dotted parameter to fit (repeat); default: the documented four.")] = None,
    workers: Annotated[int, typer.Option(help="Local processes.")] = 1,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address (pyabc's Dask sampler).")] = None,
    out: Annotated[Path, typer.Option(help="Calibration folder; re-running with the same folder resumes.")] = Path("results/calibration"),
) -> None:
    """Fit parameters to the targets with ABC-SMC (pyabc); saves the posterior, a calibrated scenario and plots."""
    if budget < 1 or population < 2:
        raise ScenarioError("--budget must be at least 1 and --population at least 2")
    parsed = load_targets(targets)
    parameters = _parameters(parameter)
    console.print(f"Calibrating {', '.join(parameters)} to {len(parsed.targets)} targets (budget {budget} parameter sets){' - resuming' if (out / 'abc.db').exists() else ''}")
    clock = time.perf_counter()
    posterior = calibrate(parsed, out, parameters=parameters, budget=budget, population=population, workers=workers, scheduler=scheduler)
    console.print(f"ABC-SMC finished in {time.perf_counter() - clock:.0f} s")
    print_frame(pd.DataFrame([posterior_median(posterior)]), "posterior medians (also in calibrated.toml)")
    with _executor(workers, scheduler) as executor:
        results = validate(parsed, posterior_median(posterior), out / "fit", executor)
    _report(results, parsed, out / "fit.png", "fit at the posterior median")
    console.print(f"Results in [bold]{out}[/bold]: posterior.csv, posterior_provenance.json, calibrated.toml, marginals.png, fit.png")


@user_errors
def validate_command(
    targets: Annotated[Path, typer.Option(help="Targets file (same schema as calibration).")],
    scenario: Annotated[str | None, typer.Option(help="Scenario whose fitted parameters to score, e.g. a calibrated.toml (default: each protocol's own scenario).")] = None,
    posterior: Annotated[Path | None, typer.Option(help="Score the posterior medians of a posterior.csv.")] = None,
    workers: Annotated[int, typer.Option(help="Local processes.")] = 1,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for the protocol runs (re-running resumes) and fit.png.")] = Path("results/validation"),
) -> None:
    """Score a targets file: per target the simulated statistic and interval, observed, pass or fail; exit 1 if any fails."""
    if scenario and posterior:
        raise ScenarioError("validate: give --scenario or --posterior, not both")
    parsed = load_targets(targets)
    extra: dict = {}
    if posterior:
        extra = posterior_median(read_posterior(posterior))
    elif scenario:
        resolved = load_scenario(scenario)  # its calibrated parameters are carried into every protocol's arms
        extra = {path: _get(resolved, path) for path in CALIBRATED}
    with _executor(workers, scheduler) as executor:
        results = validate(parsed, extra, out, executor)
    failed = _report(results, parsed, out / "fit.png", f"validation of {targets.name}")
    if failed:
        raise typer.Exit(1)


def _executor(workers: int, scheduler: str | None):
    """No executor (runs in this process) for one worker, else a process pool or the Dask cluster."""
    return make_executor(workers, scheduler) if workers > 1 or scheduler else nullcontext()


def _get(scenario, path: str):
    node = scenario
    for part in path.split("."):
        node = node[int(part)] if part.isdigit() else getattr(node, part)
    return node


def _report(results: pd.DataFrame, targets, figure_path: Path, title: str) -> int:
    shown = results.assign(result=results["passed"].map({True: "pass", False: "FAIL"})).drop(columns="passed")
    print_frame(shown, title)
    figure_path.parent.mkdir(parents=True, exist_ok=True)
    plot_fit(results, targets).savefig(figure_path, dpi=110)
    passed = int(results["passed"].sum())
    console.print(f"{passed} passed, {len(results) - passed} failed")
    return len(results) - passed


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_command)
    app.command("validate")(validate_command)
