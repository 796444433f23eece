"""Experiment commands: sweep, compare (what-if), dose-response and sensitivity, each resumable and parallel.

Every command checks its whole specification before the first run, takes ``--out``,
``--replicates``, ``--workers``, ``--scheduler``, ``--seed`` and ``--crn/--no-crn`` the same
way, shows a progress bar, and writes a table (CSV, also printed) and a figure (PNG).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from calibration.fit import read_posterior, under_posterior
from experiments import sensitivity as sa
from experiments.analysis import (
    COMPARE_MEASURES,
    bands,
    paired_differences,
    run_summaries,
    with_cost_per_unit,
)
from experiments.cli_support import parse_overrides, parse_value, terminate_as_exit, user_errors
from experiments.dose_response import dose_response_arms, dose_response_table, plot_dose_response
from experiments.figures import plot_bands, plot_sweep
from experiments.runner import (
    DEFAULT_SEED,
    ExperimentFailed,
    Store,
    design,
    make_executor,
    run_experiment,
)
from experiments.space import factorial, latin_hypercube, parse_range
from sim import ScenarioError, load_scenario

console = Console()
Out = Annotated[
    Path, typer.Option(help="Experiment folder; re-running the same command resumes it.")
]
Replicates = Annotated[int, typer.Option(help="Replicates per design point.")]
Workers = Annotated[
    int | None, typer.Option(help="Local worker processes (default: all cores; 1 runs serially).")
]
Scheduler = Annotated[
    str | None,
    typer.Option(
        help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (instead of local workers)."
    ),
]
Months = Annotated[
    int | None, typer.Option(help="Months per run (default: the scenario's horizon).")
]
Seed = Annotated[
    int,
    typer.Option(
        help="Experiment seed: entropy of the SeedSequence the replicate seeds come from."
    ),
]
CommonRandomNumbers = Annotated[
    bool,
    typer.Option(
        "--crn/--no-crn",
        help="Reuse the same replicate seeds at every design point (common random numbers).",
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Fixed override for every run: dotted.path=value (repeatable)."),
]
SWEEP_MEASURES = ["final_adoption", "final_fidelity", "time_to_50pct_adoption", "ta_cost_total"]


def run_with_progress(
    kind: str,
    specs,
    out: Path,
    workers: int | None,
    scheduler: str | None,
    settings: dict,
    month: int | None = None,
) -> pd.DataFrame:
    """Run (or resume) an experiment with a progress bar, serially, in local processes or on Dask."""
    store = Store(out)
    columns = (
        TextColumn(kind),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(kind, total=len(specs))

        def update(done, total):
            progress.update(task, completed=done, total=total)

        try:
            with terminate_as_exit():  # a SIGTERM still records the finished runs in the manifest
                if workers == 1 and not scheduler:
                    return run_experiment(
                        kind, specs, store, progress=update, settings=settings, month=month
                    )
                with make_executor(workers, scheduler) as executor:
                    return run_experiment(
                        kind,
                        specs,
                        store,
                        executor=executor,
                        progress=update,
                        settings=settings,
                        month=month,
                    )
        except ExperimentFailed as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(1) from None


def common_settings(replicates: int, months: int | None, seed: int, crn: bool, fixed: dict) -> dict:
    """What every manifest records about the design besides the runs themselves."""
    return {
        "replicates": replicates,
        "months": months,
        "seed": seed,
        "common_random_numbers": crn,
        "set": fixed,
    }


def print_frame(frame: pd.DataFrame, title: str) -> None:
    """A data frame as a rich table, numbers to four significant digits."""
    table = Table(*map(str, frame.columns), title=title)
    for row in frame.itertuples(index=False):
        table.add_row(
            *(f"{value:,.4g}" if isinstance(value, float) else str(value) for value in row)
        )
    Console(width=max(console.width, 200)).print(table)  # wide tables stay readable when piped


def finish(out: Path, name: str, frame: pd.DataFrame, title: str, figure) -> None:
    """Write the table and the figure, print the table and where they are."""
    frame.to_csv(out / f"{name}.csv", index=False)
    figure.savefig(out / f"{name}.png", dpi=110)
    plt.close(figure)
    print_frame(frame, title)
    console.print(f"Results in [bold]{out}[/bold]: {name}.csv, {name}.png, runs/, manifest.json")


@user_errors
def sweep(
    scenario: Annotated[str, typer.Argument(help="Scenario name or TOML file.")],
    vary: Annotated[
        list[str],
        typer.Option(
            help="Parameter range key=lo:hi:n (repeatable; n is ignored by --design lhs)."
        ),
    ],
    out: Out,
    replicates: Replicates = 3,
    design_kind: Annotated[
        str, typer.Option("--design", help="factorial or lhs (Latin hypercube).")
    ] = "factorial",
    samples: Annotated[int, typer.Option(help="Latin hypercube points (with --design lhs).")] = 20,
    assignments: SetOption = None,
    months: Months = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    seed: Seed = DEFAULT_SEED,
    crn: CommonRandomNumbers = True,
) -> None:
    """Full factorial or Latin hypercube over named parameters, with replicates."""
    fixed = parse_overrides(assignments)
    resolved = load_scenario(scenario, fixed)
    ranges = [parse_range(text, resolved) for text in vary]
    paths = [r.path for r in ranges]
    if len(set(paths)) < len(paths):
        raise ScenarioError(f"--vary: each parameter once (got {', '.join(paths)})")
    if design_kind == "factorial":
        points = factorial(ranges)
    elif design_kind == "lhs":
        points = latin_hypercube(ranges, samples, seed)
    else:
        raise ScenarioError(f"--design {design_kind}: must be factorial or lhs")
    specs = design(
        [(scenario, {**fixed, **point}, {"point": index}) for index, point in enumerate(points)],
        replicates,
        entropy=seed,
        months=months,
        common_random_numbers=crn,
    )
    settings = {
        "scenario": scenario,
        "vary": vary,
        "design": design_kind,
        "samples": samples,
        **common_settings(replicates, months, seed, crn, fixed),
    }
    summaries = run_summaries(
        run_with_progress("sweep", specs, out, workers, scheduler, settings, month=0),
        ["point", *paths],
    )
    result = summaries.groupby(["point", *paths])[SWEEP_MEASURES].mean().reset_index()
    finish(
        out,
        "sweep",
        result,
        f"sweep of {scenario}: mean over {replicates} replicates per point",
        plot_sweep(summaries, paths, "final_adoption", grid=design_kind == "factorial"),
    )


@user_errors
def compare(
    scenarios: Annotated[
        list[str], typer.Argument(help="Two to six scenarios; the first is the reference.")
    ],
    out: Out,
    replicates: Replicates = 10,
    assignments: SetOption = None,
    months: Months = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    seed: Seed = DEFAULT_SEED,
    crn: CommonRandomNumbers = True,
    posterior: Annotated[
        Path | None,
        typer.Option(
            help="A posterior.csv (tasim calibrate): replicate r runs with posterior draw r, so bands and CIs carry parameter uncertainty too."
        ),
    ] = None,
) -> None:
    """What-if: scenarios side by side over replicates, with 90 % bands, differences with CIs and cost per outcome gained."""
    if not 2 <= len(scenarios) <= 6 or len(set(scenarios)) < len(scenarios):
        raise ScenarioError(
            f"compare: give 2 to 6 different scenarios (got {', '.join(scenarios)})"
        )
    fixed = parse_overrides(assignments)
    specs = design(
        [(name, fixed, {"arm": name}) for name in scenarios],
        replicates,
        entropy=seed,
        months=months,
        common_random_numbers=crn,
    )
    if posterior:
        specs = under_posterior(specs, read_posterior(posterior), seed)
    settings = {
        "scenarios": scenarios,
        "posterior": str(posterior) if posterior else None,
        **common_settings(replicates, months, seed, crn, fixed),
    }
    table = run_with_progress("compare", specs, out, workers, scheduler, settings)
    differences = with_cost_per_unit(
        paired_differences(
            run_summaries(table, ["arm"]), "arm", scenarios[0], COMPARE_MEASURES, paired=crn
        ),
        "arm",
    )
    kind = "paired replicates" if crn else "independent replicates"
    title = f"each scenario minus {scenarios[0]}: mean and 95 % CI over {replicates} {kind}; cost_per_unit = extra TA $ per unit gained"
    finish(
        out,
        "compare",
        differences,
        title,
        plot_bands(bands(table, "arm", ["adoption", "mean_F", "admissions", "per_capita_cost"])),
    )


@user_errors
def dose_response(
    out: Out,
    by: Annotated[
        str, typer.Option(help="Curves per readiness level or per provider role.")
    ] = "readiness",
    doses: Annotated[
        str,
        typer.Option(help="TA hours per organization-month, comma-separated (0 is always added)."),
    ] = "1,2,4,6,8,12,16,20,30",
    withdraw: Annotated[int, typer.Option(help="Month all TA is withdrawn (0 = never).")] = 36,
    replicates: Replicates = 4,
    assignments: SetOption = None,
    months: Annotated[int, typer.Option(help="Months per run.")] = 60,
    workers: Workers = None,
    scheduler: Scheduler = None,
    seed: Seed = DEFAULT_SEED,
    crn: CommonRandomNumbers = True,
) -> None:
    """Teaching experiment: adoption, fidelity and net benefit against TA hours per month."""
    try:
        dose_values = [float(parse_value(text)) for text in doses.split(",")]
    except ValueError:
        raise ScenarioError(
            f"--doses {doses}: expected numbers separated by commas, e.g. 0,2,4,8"
        ) from None
    fixed = parse_overrides(assignments)
    arms = dose_response_arms(by, dose_values, withdraw, months, extra=fixed)
    specs = design(arms, replicates, entropy=seed, months=months, common_random_numbers=crn)
    table = run_with_progress(
        "dose-response",
        specs,
        out,
        workers,
        scheduler,
        {
            "by": by,
            "doses": dose_values,
            "withdraw": withdraw,
            **common_settings(replicates, months, seed, crn, fixed),
        },
    )
    curves = dose_response_table(table, by, withdraw)
    finish(
        out,
        "dose_response",
        curves,
        f"dose-response by {by}: means over {replicates} replicates",
        plot_dose_response(curves, by),
    )


@user_errors
def sensitivity(
    out: Out,
    scenario: Annotated[str, typer.Argument(help="Scenario name or TOML file.")] = "baseline",
    method: Annotated[
        str, typer.Option(help="morris (screening) or sobol (variance-based).")
    ] = "morris",
    parameters: Annotated[
        str | None,
        typer.Option(help="Comma-separated dotted paths (default: a 12-parameter subset)."),
    ] = None,
    samples: Annotated[
        int, typer.Option(help="Sobol base samples N (a power of 2) or Morris trajectories.")
    ] = 16,
    output: Annotated[
        str, typer.Option(help="Per-run summary measure to explain, e.g. final_adoption.")
    ] = "final_adoption",
    second_order: Annotated[
        bool, typer.Option("--second-order", help="Sobol S2 for every pair (about twice the runs).")
    ] = False,
    replicates: Replicates = 3,
    assignments: SetOption = None,
    months: Months = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    seed: Seed = DEFAULT_SEED,
    crn: CommonRandomNumbers = True,
) -> None:
    """Global sensitivity over the parameters' allowed ranges: Morris mu* or Sobol S1/ST (S2) with bootstrap CIs."""
    paths = (
        [path.strip() for path in parameters.split(",")]
        if parameters
        else list(sa.DEFAULT_PARAMETERS)
    )
    fixed = parse_overrides(assignments)
    if overlap := set(paths) & set(fixed):
        raise ScenarioError(
            f"--set {sorted(overlap)[0]}: a parameter cannot be both varied and fixed"
        )
    varied = sa.ranges(paths, scenario)
    spec = sa.problem(varied)
    rows = sa.sample(spec, method, samples, second_order)
    specs = design(
        sa.arms(varied, rows, scenario, fixed),
        replicates,
        entropy=seed,
        months=months,
        common_random_numbers=crn,
    )
    settings = {
        "scenario": scenario,
        "method": method,
        "parameters": paths,
        "samples": samples,
        "second_order": second_order,
        "output": output,
        **common_settings(replicates, months, seed, crn, fixed),
    }
    outputs = sa.replicate_means(
        run_with_progress("sensitivity", specs, out, workers, scheduler, settings, month=0),
        output,
        len(rows),
    )
    second = second_order and method == "sobol"
    if method == "sobol":
        check = sa.convergence(spec, outputs, samples, second)
        check.to_csv(out / "convergence.csv", index=False)
        verdict = (
            "stable"
            if check["stable"].all()
            else f"NOT stable for {', '.join(check.loc[~check['stable'], 'parameter'])}: use a larger --samples"
        )
        console.print(
            f"convergence (ST at N={samples} vs N={samples // 2}, convergence.csv): {verdict}"
        )
    if second:
        sa.second_order_indices(spec, outputs).to_csv(out / "second_order.csv", index=False)
    indices = sa.analyze(spec, method, rows, outputs, second)
    title = f"{method} indices of {output} with 95 % bootstrap half-widths ({len(rows)} points x {replicates} replicates)"
    finish(out, "indices", indices, title, sa.plot_indices(indices, method, f"{method}: {output}"))


def register(app: typer.Typer) -> None:
    app.command()(sweep)
    app.command()(compare)
    app.command("dose-response")(dose_response)
    app.command()(sensitivity)
