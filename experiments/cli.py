"""The ``tasim`` command line: run a scenario, inspect and validate scenario files, run experiments."""

from __future__ import annotations

import math
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from experiments import commands
from experiments.cli_support import parse_overrides, settings, terminate_as_exit, user_errors
from experiments.output import ensure_new, manifest, write_run
from sim import list_scenarios, load_scenario, parameter_table, simulate
from sim.mechanisms import STAGES

app = typer.Typer(
    help="Simulate technical assistance in health-system transformation.",
    no_args_is_help=True,
    add_completion=False,
)
scenarios_app = typer.Typer(help="List, show and validate scenarios.", no_args_is_help=True)
app.add_typer(scenarios_app, name="scenarios")
console = Console()

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a parameter: dotted.path=value (repeatable)."),
]


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for user errors.")
    ] = False,
) -> None:
    settings["debug"] = debug


@app.command()
@user_errors
def run(
    scenario: Annotated[
        str, typer.Argument(help="Shipped scenario name or path to a TOML file.")
    ] = "baseline",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    months: Annotated[
        int | None, typer.Option(help="Months to simulate (default: the scenario's horizon).")
    ] = None,
    assignments: SetOption = None,
    out: Annotated[
        Path | None, typer.Option(help="Result folder (default results/<scenario>-<timestamp>/).")
    ] = None,
) -> None:
    """Run one simulation, print a summary and write Parquet series, a manifest and a figure."""
    resolved = load_scenario(scenario, parse_overrides(assignments))
    horizon = months if months is not None else resolved.months
    if horizon < 1:
        raise typer.BadParameter("--months must be at least 1")
    started = datetime.now(UTC)
    destination = out or Path("results") / f"{resolved.name}-{started:%Y%m%d-%H%M%S}"
    ensure_new(destination)
    clock = time.perf_counter()
    with terminate_as_exit():
        console.print(f"Running {resolved.name}, seed {seed}, {horizon} months, into {destination}")
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task(f"{resolved.name} seed {seed}", total=horizon)
            result = simulate(
                resolved,
                seed=seed,
                months=horizon,
                progress=lambda month, total: progress.update(task, completed=month),
            )
        wall = time.perf_counter() - clock
        write_run(
            result,
            destination,
            manifest(result, horizon, started.isoformat(), datetime.now(UTC).isoformat(), wall),
        )
    console.print(summary_table(result))
    console.print(f"Results in [bold]{destination}[/bold] ({wall:.2f} s)")


def summary_table(result) -> Table:
    """Compact end-of-run table: stages, fidelity, outcomes, TA hours and cost, equity, time to 50 %."""
    system, summary = result.system, result.summary
    first, last = system.iloc[0], system.iloc[-1]
    table = Table(
        title=f"{result.scenario.name}: month {int(last['month'])}, {int(last['n_orgs'])} organizations"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    for stage in STAGES:
        table.add_row(f"stage: {stage}", f"{int(last[f'stage_{stage}'])}")
    rows = [
        ("adoption (preparing..sustaining)", f"{last['adoption']:.1%}"),
        (
            "time to 50 % adoption (months)",
            "not reached"
            if math.isnan(summary["time_to_50pct_adoption"])
            else f"{summary['time_to_50pct_adoption']:.0f}",
        ),
        (
            "mean fidelity (final / peak)",
            f"{summary['final_fidelity']:.2f} / {summary['peak_fidelity']:.2f}",
        ),
        (
            "avoidable admissions per 1,000/yr",
            f"{first['admissions']:.2f} -> {last['admissions']:.2f}",
        ),
        (
            "patient experience",
            f"{first['patient_experience']:.1f} -> {last['patient_experience']:.1f}",
        ),
        (
            "provider experience",
            f"{first['provider_experience']:.1f} -> {last['provider_experience']:.1f}",
        ),
        (
            "per-capita cost ($/yr)",
            f"{first['per_capita_cost']:.0f} -> {last['per_capita_cost']:.0f}",
        ),
        ("TA hours received (total)", f"{summary['ta_hours_total']:,.0f}"),
        ("TA cost (total, $)", f"{summary['ta_cost_total']:,.0f}"),
        ("TA cost per avoided admission ($)", f"{summary['cost_per_admission_avoided']:,.0f}"),
        ("equity gap: urban - rural/northern adoption", f"{summary['gap_adoption_region']:+.1%}"),
        ("equity gap: top - bottom capacity quintile", f"{summary['gap_adoption_capacity']:+.1%}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


@scenarios_app.command("list")
def scenarios_list() -> None:
    """List the shipped scenarios with their descriptions."""
    table = Table("scenario", "description")
    for name in list_scenarios():
        table.add_row(name, load_scenario(name).description)
    console.print(table)


@scenarios_app.command("show")
@user_errors
def scenarios_show(
    name: Annotated[str, typer.Argument(help="Scenario name or TOML path.")],
) -> None:
    """Print every parameter with its value, allowed range, unit, meaning and source."""
    scenario = load_scenario(name)
    table = Table(
        "parameter",
        "value",
        "range",
        "unit",
        "meaning",
        "source",
        title=f"{scenario.name}: {scenario.description}",
    )
    for row in parameter_table(scenario):
        table.add_row(row.path, str(row.value), row.range_text, row.unit, row.meaning, row.source)
    Console(width=max(console.width, 240)).print(table)  # six columns need room, even when piped


@scenarios_app.command("validate")
@user_errors
def scenarios_validate(
    path: Annotated[Path, typer.Argument(help="Scenario TOML file to check.")],
) -> None:
    """Check a scenario file; on error print one line naming the field and what is allowed, exit 2."""
    scenario = load_scenario(path)
    console.print(
        f"{path}: valid scenario '{scenario.name}' ({len(parameter_table(scenario))} parameters)"
    )


@app.command()
def dashboard(
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8765,
) -> None:
    """Serve the Solara dashboard (live model, about) and print its address."""
    from dashboards.browser import REPOSITORY, serve_command, serve_environment

    console.print(f"Dashboard at http://{host}:{port}/ (Ctrl-C to stop)")
    raise typer.Exit(
        subprocess.call(serve_command(host, port), cwd=REPOSITORY, env=serve_environment())
    )


# experiment commands are registered below
commands.register(app)

# calibration commands (calibration/commands.py): tasim calibrate, tasim validate
from calibration import commands as calibration_commands  # noqa: E402

calibration_commands.register(app)


if __name__ == "__main__":
    app()
