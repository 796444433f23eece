"""``tasim run``: one simulation, a summary table, and a result folder that reproduces it."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from experiments.output import check_destination, folder_name, manifest, write_run
from experiments.wording import money
from sim import load_scenario
from sim.mechanisms import STAGES
from tasim.console import console
from tasim.errors import user_errors
from tasim.options import Overrides
from tasim.overrides import parse_overrides
from tasim.progress import simulate_with_progress
from tasim.signals import terminate_as_exit


@user_errors
def run(
    scenario: Annotated[
        str, typer.Argument(help="Shipped scenario name or path to a TOML file.")
    ] = "baseline",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    months: Annotated[
        int | None, typer.Option(help="Months to simulate (default: the scenario's horizon).")
    ] = None,
    assignments: Overrides = None,
    out: Annotated[
        str | None,  # a string, so that an empty --out is refused, not the current directory
        typer.Option(
            metavar="DIR", help="Result folder (default results/<scenario>-<timestamp>/)."
        ),
    ] = None,
) -> None:
    """Run one simulation, print a summary and write Parquet series, a manifest and a figure."""
    destination = None if out is None else check_destination(out, new=True)
    resolved = load_scenario(scenario, parse_overrides(assignments))
    horizon = months if months is not None else resolved.months
    started = datetime.now(UTC)
    if destination is None:  # the scenario's name is anyone's text: made a safe folder name
        destination = check_destination(
            Path("results") / f"{folder_name(resolved.name)}-{started:%Y%m%d-%H%M%S}", new=True
        )
    clock = time.perf_counter()
    with terminate_as_exit():
        console.print(
            f"Running {escape(resolved.name)}, seed {seed}, {horizon} months, "
            f"into {escape(str(destination))}"
        )
        result = simulate_with_progress(resolved, seed, horizon)
        wall = time.perf_counter() - clock
        write_run(
            result,
            destination,
            manifest(result, horizon, started.isoformat(), datetime.now(UTC).isoformat(), wall),
        )
    console.print(summary_table(result))
    console.print(f"Results in [bold]{escape(str(destination))}[/bold] ({wall:.2f} s)")


def summary_table(result) -> Table:
    """End-of-run table: stages, fidelity, outcomes, TA hours and cost, equity, time to 50 %."""
    system, summary = result.system, result.summary
    first, last = system.iloc[0], system.iloc[-1]
    rate = result.scenario.outcomes.discount_rate
    table = Table(
        title=f"{escape(result.scenario.name)}: month {int(last['month'])}, "
        f"{int(last['n_orgs'])} organizations"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    for stage in STAGES:
        table.add_row(f"stage: {stage}", f"{int(last[f'stage_{stage}'])}")
    rows = [
        ("adoption (preparing to reduced level)", f"{last['adoption']:.1%}"),
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
            "per-capita cost ($ a year)",
            f"{first['per_capita_cost']:.0f} -> {last['per_capita_cost']:.0f}",
        ),
        ("TA hours received (total)", f"{summary['ta_hours_total']:,.0f}"),
        ("TA cost (total)", money(summary["ta_cost_total"])),
        ("recipient staff time on TA (total)", money(summary["staff_cost_total"])),
        ("set-up costs of adopting organizations (total)", money(summary["setup_cost_total"])),
        ("savings from avoided use, kept (total)", money(summary["savings_total"])),
        (
            f"TA, staff time and set-up less savings, discounted at {100 * rate:g} % a year",
            money(summary["net_cost_discounted"]),
        ),
        ("avoidable admissions avoided (total)", f"{summary['admissions_avoided']:,.0f}"),
        (
            "TA cost per avoided admission",
            money(summary["cost_per_admission_avoided"])
            if math.isfinite(summary["cost_per_admission_avoided"])
            else "n/a (no admission avoided)",
        ),
        ("equity gap: urban - rural/northern adoption", f"{summary['gap_adoption_region']:+.1%}"),
        ("equity gap: top - bottom capacity quintile", f"{summary['gap_adoption_capacity']:+.1%}"),
        (
            "equity gap in admissions avoided: urban - rural/northern (per 1,000/yr)",
            f"{summary['gap_admissions_region']:+.2f}",
        ),
        (
            "equity gap in admissions avoided: top - bottom capacity quintile (per 1,000/yr)",
            f"{summary['gap_admissions_capacity']:+.2f}",
        ),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def register(app: typer.Typer) -> None:
    app.command()(run)
