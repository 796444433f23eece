"""``tasim calibrate`` and ``tasim validate``: fit parameters to targets, score targets files."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer

from calibration.fit import (
    CALIBRATED,
    PRIORS,
    calibrate,
    load_priors,
    plan_calibration,
    plot_fit,
    prior_bounds,
    validate,
    validate_posterior,
)
from calibration.targets import SHIPPED_TARGETS, load_targets, parse_targets
from experiments.output import check_destination
from experiments.posterior import posterior_median, read_posterior
from experiments.runner import DEFAULT_SEED, make_executor
from sim import ScenarioError, load_scenario
from tasim.console import console, print_frame
from tasim.errors import user_errors
from tasim.signals import terminate_as_exit

# posterior draws for --posterior: each runs every protocol, so the cost is 20 validations
DEFAULT_DRAWS = 20


@user_errors
def calibrate_command(
    targets: Annotated[
        list[Path] | None,
        typer.Option(
            help="Targets file (schema: docs/calibration.md); repeat to fit several at once. "
            "Default: the findings (calibration/targets.toml) and the twelve patterns as "
            "constraints (calibration/patterns.toml)."
        ),
    ] = None,
    priors: Annotated[
        Path,
        typer.Option(
            help="Priors file: the parameters to fit and their uniform ranges, with sources."
        ),
    ] = PRIORS,
    reproduce: Annotated[
        Path | None,
        typer.Option(
            metavar="PROVENANCE",
            help="A posterior_provenance.json: run the calibration it records (targets, "
            "priors, population, budget, seed, workers) into --out.",
        ),
    ] = None,
    budget: Annotated[
        int,
        typer.Option(
            help="Most parameter sets to simulate (each runs every protocol), a hard cap that "
            "counts the prior sample and a generation the budget cuts off; at least twice "
            "--population. A larger budget continues a folder the budget stopped."
        ),
    ] = 2000,
    population: Annotated[int, typer.Option(help="ABC-SMC population size.")] = 100,
    parameter: Annotated[
        list[str] | None,
        typer.Option(
            help="Dotted parameter to fit (repeat): a real-valued one with a finite range, "
            "with its prior from --priors, or else uniform on its allowed range; default: "
            "every parameter of --priors."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the ABC-SMC draws.")] = 20261125,
    workers: Annotated[
        int,
        typer.Option(
            help="Particles simulated at once, on local processes (or as tasks on "
            "--scheduler). The posterior repeats exactly for the same seed and --workers, "
            "interrupted or not (sampler: seeded per particle, in order); resume a folder "
            "with the value it was started with."
        ),
    ] = 1,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address: run the particles there.")
    ] = None,
    out: Annotated[
        str,
        typer.Option(
            metavar="DIR",
            help="Calibration folder. Re-running the same command resumes it after an "
            "interruption to the same posterior, and does nothing once it has finished; other "
            "settings are refused.",
        ),
    ] = "results/calibration",
) -> None:
    """Fit parameters to the targets with ABC-SMC (pyabc): posterior, calibrated scenario, plots."""
    out = check_destination(out)
    if reproduce:
        parsed, arguments = recorded_calibration(reproduce)
    else:
        parsed = load_targets(*(targets or SHIPPED_TARGETS))
        shipped = load_priors(priors)
        parameters = tuple(parameter) if parameter else tuple(shipped)
        arguments = {
            "parameters": parameters,
            "bounds": {  # the priors file's range where it has one, else the allowed range
                **prior_bounds(parameters),
                **{path: shipped[path] for path in parameters if path in shipped},
            },
            "budget": budget,
            "population": population,
            "workers": workers,
            "seed": seed,
        }
    parameters = arguments["parameters"]
    budget, population, seed, workers = (
        arguments[name] for name in ("budget", "population", "seed", "workers")
    )
    plan = plan_calibration(parsed, out, **arguments)
    if plan.finished:
        console.print(plan.message)
        posterior = calibrate(parsed, out, scheduler=scheduler, **arguments)
        print_frame(pd.DataFrame([posterior_median(posterior)]), f"posterior medians ({out})")
        return
    console.print(
        f"Calibrating {', '.join(parameters)} to {len(parsed.targets)} targets "
        f"(budget {budget} parameter sets, population {population}, seed {seed}, "
        f"workers {workers}): {plan.message}"
    )
    clock = time.perf_counter()
    try:
        with terminate_as_exit(), generations_reported():
            posterior = calibrate(parsed, out, scheduler=scheduler, **arguments)
    except (KeyboardInterrupt, SystemExit):
        typer.echo(
            f"interrupted: {out} keeps every finished simulation; the same command resumes it",
            err=True,
        )
        raise
    record = json.loads((out / "posterior_provenance.json").read_text())
    console.print(
        f"ABC-SMC stopped after {time.perf_counter() - clock:.0f} s: {record['stop_detail']} "
        f"({record['simulations']} of {budget} simulations, {record['generations']} generations)"
    )
    print_frame(
        identifiability_in_words(record["identifiability"]),
        f"posterior (effective sample size {record['effective_sample_size']:.0f} of "
        f"{population}; medians also in calibrated.toml)",
    )
    with _executor(workers, scheduler) as executor:
        results = validate(parsed, posterior_median(posterior), out / "fit", executor)
    _report(results, parsed, out / "fit.png", "fit at the posterior median")
    console.print(
        f"Results in [bold]{out}[/bold]: posterior.csv, posterior_provenance.json, "
        "calibrated.toml, marginals.png, fit.png"
    )


@user_errors
def validate_command(
    targets: Annotated[Path, typer.Option(help="Targets file (same schema as calibration).")],
    scenario: Annotated[
        str | None,
        typer.Option(
            help="Scenario whose fitted parameters to score, e.g. a calibrated.toml "
            "(default: each protocol's own scenario)."
        ),
    ] = None,
    posterior: Annotated[
        Path | None,
        typer.Option(
            help="Posterior-predictive check against a posterior.csv (samples and weights)."
        ),
    ] = None,
    draws: Annotated[
        int | None,
        typer.Option(
            help=f"With --posterior: parameter sets drawn by weight [default: {DEFAULT_DRAWS}]; "
            "0 scores the weighted medians instead."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the posterior draws.")] = DEFAULT_SEED,
    workers: Annotated[int, typer.Option(help="Local processes.")] = 1,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address.")] = None,
    out: Annotated[
        str,
        typer.Option(
            metavar="DIR", help="Folder for the protocol runs (re-running resumes) and fit.png."
        ),
    ] = "results/validation",
) -> None:
    """Score a targets file: per target simulated, interval, observed, pass; exit 1 if any fails."""
    out = check_destination(out)
    if scenario and posterior:
        raise ScenarioError("validate: give --scenario or --posterior, not both")
    if draws is not None and not posterior:
        raise ScenarioError("--draws: only with --posterior")
    if draws is not None and draws < 0:
        raise ScenarioError(f"--draws: must be at least 0 (got {draws})")
    parsed = load_targets(targets)
    title, spread = f"validation of {targets.name}", "replicates"
    with _executor(workers, scheduler) as executor:
        if posterior and draws != 0:
            draws = DEFAULT_DRAWS if draws is None else draws
            title = (
                f"posterior-predictive check of {targets.name}: {draws} draws (seed {seed}); "
                "pass = 5-95 % interval overlaps observed ± tolerance"
            )
            spread = f"{draws} posterior draws x replicates"
            results = validate_posterior(
                parsed, read_posterior(posterior), draws, out, executor, seed
            )
        else:
            results = validate(parsed, _fitted(scenario, posterior), out, executor)
    failed = _report(results, parsed, out / "fit.png", title, spread)
    if failed:
        raise typer.Exit(1)


@contextmanager
def generations_reported() -> Iterator[None]:
    """pyabc's ``ABC`` logger at INFO for the block, so each generation is reported."""
    logger = logging.getLogger("ABC")
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(previous)


def identifiability_in_words(rows: list[dict]) -> pd.DataFrame:
    """The identifiability table (``calibration.fit.identifiability``) with plain headings and
    numbers to 3 significant figures."""

    def number(value: float) -> str:
        return f"{value:.3g}"

    return pd.DataFrame(
        {
            "parameter": row["parameter"],
            "prior": f"{number(row['prior_low'])} to {number(row['prior_high'])}",
            "median": number(row["median"]),
            "5-95 %": f"{number(row['low_5'])} to {number(row['high_95'])}",
            "share of the prior range": f"{row['share_of_prior']:.0%}",
            "identified": "yes" if row["identified"] else "no: use the posterior sample",
        }
        for row in rows
    )


def recorded_calibration(provenance: Path) -> tuple:
    """The targets and arguments a calibration's provenance file records, to run it again."""
    try:
        record = json.loads(Path(provenance).read_text())
        definitions, prior = record["target_definitions"], record["settings"]["prior"]
        arguments = {
            "parameters": tuple(path for path, _, _ in prior),
            "bounds": {path: (low, high) for path, low, high in prior},
            **{name: record[name] for name in ("budget", "population", "workers", "seed")},
        }
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ScenarioError(
            f"--reproduce {provenance}: not a calibration's provenance file "
            f"(posterior_provenance.json from tasim calibrate): {error}"
        ) from None
    return parse_targets({"targets": definitions}, str(provenance)), arguments


def _fitted(scenario: str | None, posterior: Path | None) -> dict:
    """The fitted parameters carried into every arm.

    The posterior's weighted medians, a scenario's values of the calibrated parameters, or none.
    """
    if posterior:
        return posterior_median(read_posterior(posterior))
    if scenario:
        resolved = load_scenario(scenario)
        return {path: resolved.get(path) for path in CALIBRATED}
    return {}


def _executor(workers: int, scheduler: str | None):
    """In this process (no executor) for one worker, else a process pool or the Dask cluster."""
    return make_executor(workers, scheduler) if workers > 1 or scheduler else nullcontext()


# The score table's columns in words (calibration.fit.score names them for code).
SCORE_COLUMNS = {
    "id": "target",
    "simulated": "simulated (mean)",
    "sim_low": "5 %",
    "sim_high": "95 %",
    "share_inside": "runs inside observed ± tolerance",
}


def _report(
    results: pd.DataFrame, targets, figure_path: Path, title: str, spread: str = "replicates"
) -> int:
    """Print the scores and where they are, draw fit.png; the number of failed targets."""
    shown = results.assign(
        share_inside=results["share_inside"].map(
            lambda share: "n/a" if pd.isna(share) else f"{share:.0%}"
        ),
        result=results["passed"].map({True: "pass", False: "FAIL"}),
    ).drop(columns="passed")
    print_frame(shown.rename(columns=SCORE_COLUMNS), title)
    figure_path.parent.mkdir(parents=True, exist_ok=True)
    plot_fit(results, targets, spread).savefig(figure_path, dpi=110)
    passed = int(results["passed"].sum())
    console.print(f"{passed} passed, {len(results) - passed} failed")
    return len(results) - passed


def register(app: typer.Typer) -> None:
    app.command("calibrate")(calibrate_command)
    app.command("validate")(validate_command)
