"""Experiment commands: sweep, compare (what-if), dose-response and sensitivity.

Every command checks its whole specification before the first run, takes ``--out``,
``--replicates``, ``--workers``, ``--scheduler``, ``--seed`` and ``--crn/--no-crn`` the same
way, resumes an interrupted run, shows a progress bar, and writes a table (CSV, also printed)
and a figure (PNG). The designs and analyses are the experiments layer's; this is their
command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.markup import escape

from experiments import sensitivity as sa
from experiments.analysis import (
    BAND_MEASURES,
    bands,
    compare_arms,
    plain_comparison,
    run_summaries,
    sweep_means,
)
from experiments.dose_response import dose_response_arms, dose_response_table, plot_dose_response
from experiments.economics import cost_effectiveness
from experiments.figures import plot_bands, plot_ceac, plot_sweep
from experiments.output import check_destination
from experiments.posterior import read_posterior, under_posterior
from experiments.runner import DEFAULT_SEED, design
from experiments.space import check_runs, factorial, latin_hypercube, parse_range
from sim import ScenarioError, load_scenario
from tasim.console import console, print_frame
from tasim.errors import user_errors
from tasim.options import (
    CommonRandomNumbers,
    FixedOverrides,
    Months,
    Replicates,
    Scheduler,
    Seed,
    Workers,
)
from tasim.overrides import parse_overrides, parse_value
from tasim.progress import run_with_progress

# A string, not a Path, so that an empty --out is seen (Path("") is the current directory);
# check_destination, the rule every command's --out follows, makes it a Path before any work.
ExperimentFolder = Annotated[
    str,
    typer.Option(metavar="DIR", help="Experiment folder; re-running the same command resumes it."),
]


def common_settings(replicates: int, months: int | None, seed: int, crn: bool, fixed: dict) -> dict:
    """What every manifest records about the design besides the runs themselves."""
    return {
        "replicates": replicates,
        "months": months,
        "seed": seed,
        "common_random_numbers": crn,
        "set": fixed,
    }


def finish(
    out: Path, name: str, frame: pd.DataFrame, title: str, figure, shown: pd.DataFrame | None = None
) -> None:
    """Write the table and the figure, print the table (or ``shown``, its form for people) and
    where they are."""
    frame.to_csv(out / f"{name}.csv", index=False)
    figure.savefig(out / f"{name}.png", dpi=110)
    print_frame(frame if shown is None else shown, title)
    console.print(f"Results in [bold]{out}[/bold]: {name}.csv, {name}.png, runs/, manifest.json")


def refuse_fixed(fixed: dict, varied, problem: str = "cannot be both varied and fixed") -> None:
    """A parameter the design sets cannot also be fixed with ``--set`` (one would be lost)."""
    if overlap := set(fixed) & set(varied):
        raise ScenarioError(f"--set {sorted(overlap)[0]}: a parameter {problem}")


def varied_by(arms: list[tuple[str, dict, dict]]) -> set[str]:
    """The parameters whose value differs between the arms of a design."""
    first = arms[0][1]
    return {
        key for key in first if any(overrides.get(key) != first[key] for _, overrides, _ in arms)
    }


@user_errors
def sweep(
    scenario: Annotated[str, typer.Argument(help="Scenario name or TOML file.")],
    vary: Annotated[
        list[str],
        typer.Option(
            help="Parameter range key=lo:hi:n (repeatable; n is ignored by --design lhs)."
        ),
    ],
    out: ExperimentFolder,
    replicates: Replicates = 3,
    design_kind: Annotated[
        str, typer.Option("--design", help="factorial or lhs (Latin hypercube).")
    ] = "factorial",
    samples: Annotated[int, typer.Option(help="Latin hypercube points (with --design lhs).")] = 20,
    assignments: FixedOverrides = None,
    months: Months = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    seed: Seed = DEFAULT_SEED,
    crn: CommonRandomNumbers = True,
) -> None:
    """Full factorial or Latin hypercube over named parameters, with replicates."""
    out = check_destination(out)
    fixed = parse_overrides(assignments)
    resolved = load_scenario(scenario, fixed)
    ranges = [parse_range(text, resolved) for text in vary]
    paths = [r.path for r in ranges]
    if len(set(paths)) < len(paths):
        raise ScenarioError(f"--vary: each parameter once (got {', '.join(paths)})")
    refuse_fixed(fixed, paths)
    if design_kind == "factorial":
        points = factorial(ranges, replicates)
    elif design_kind == "lhs":
        points = latin_hypercube(ranges, samples, seed, replicates)
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
    finish(
        out,
        "sweep",
        sweep_means(summaries, paths),
        f"sweep of {scenario}: mean over {replicates} replicates per point",
        plot_sweep(summaries, paths, "final_adoption", grid=design_kind == "factorial"),
    )


@user_errors
def compare(
    scenarios: Annotated[
        list[str], typer.Argument(help="Two to six scenarios; the first is the reference.")
    ],
    out: ExperimentFolder,
    replicates: Replicates = 10,
    assignments: FixedOverrides = None,
    months: Months = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    seed: Seed = DEFAULT_SEED,
    crn: CommonRandomNumbers = True,
    posterior: Annotated[
        Path | None,
        typer.Option(
            help="A posterior.csv (tasim calibrate): replicate r runs with posterior draw r, "
            "so bands and CIs carry parameter uncertainty too."
        ),
    ] = None,
) -> None:
    """What-if: scenarios over replicates, 90 % bands, differences with CIs, cost per unit gain."""
    out = check_destination(out)
    if not 2 <= len(scenarios) <= 6 or len(set(scenarios)) < len(scenarios):
        raise ScenarioError(
            f"compare: give 2 to 6 different scenarios (got {', '.join(scenarios)})"
        )
    fixed = parse_overrides(assignments)
    check_runs(len(scenarios), replicates, "scenarios")
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
    kind = "paired replicates" if crn else "independent replicates"
    if posterior:
        kind += ", each at its own posterior draw"
    differences = compare_arms(table, scenarios[0], paired=crn)
    finish(
        out,
        "compare",
        differences,
        f"Each scenario minus {scenarios[0]}: mean change and 95 % interval over {replicates} "
        f"{kind}",
        plot_bands(bands(table, "arm", BAND_MEASURES), reference=scenarios[0], arms=scenarios),
        shown=plain_comparison(differences),
    )
    economics, curves = cost_effectiveness(table, scenarios[0])
    economics.to_csv(out / "cost_effectiveness.csv", index=False)
    curves.to_csv(out / "ceac.csv", index=False)
    plot_ceac(curves).savefig(out / "ceac.png", dpi=110)
    rate = load_scenario(scenarios[0], fixed).outcomes.discount_rate
    console.print(
        f"Cost-effectiveness (TA, recipient staff time and set-up less savings; costs and "
        f"admissions discounted at {rate:.0%} a year; {replicates} {kind}):"
    )
    for sentence in economics["summary"]:
        console.print(f"- {escape(sentence)}")
    console.print(f"Also in [bold]{out}[/bold]: cost_effectiveness.csv, ceac.csv, ceac.png")


@user_errors
def dose_response(
    out: ExperimentFolder,
    by: Annotated[
        str, typer.Option(help="Curves per readiness level or per provider role.")
    ] = "readiness",
    doses: Annotated[
        str,
        typer.Option(help="TA hours per organization-month, comma-separated (0 is always added)."),
    ] = "1,2,4,6,8,12,16,20,30",
    withdraw: Annotated[int, typer.Option(help="Month all TA is withdrawn (0 = never).")] = 36,
    replicates: Replicates = 4,
    assignments: FixedOverrides = None,
    months: Annotated[int, typer.Option(help="Months per run.")] = 60,
    workers: Workers = None,
    scheduler: Scheduler = None,
    seed: Seed = DEFAULT_SEED,
    crn: CommonRandomNumbers = True,
) -> None:
    """Teaching experiment: adoption, fidelity and net benefit against TA hours per month."""
    out = check_destination(out)
    try:
        dose_values = [float(parse_value(text)) for text in doses.split(",")]
    except ValueError:
        raise ScenarioError(
            f"--doses {doses}: expected numbers separated by commas, e.g. 0,2,4,8"
        ) from None
    fixed = parse_overrides(assignments)
    design_only = dose_response_arms(by, dose_values, withdraw, months)
    refuse_fixed(
        fixed,
        varied_by(design_only) | {"months", "funder.withdraw_month"},
        "the dose-response sets (by --doses, --by, --withdraw or --months) cannot also be fixed",
    )
    arms = dose_response_arms(by, dose_values, withdraw, months, extra=fixed)
    check_runs(len(arms), replicates, "doses")
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
    out: ExperimentFolder,
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
    assignments: FixedOverrides = None,
    months: Months = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    seed: Seed = DEFAULT_SEED,
    crn: CommonRandomNumbers = True,
) -> None:
    """Global sensitivity over allowed ranges: Morris mu* or Sobol S1/ST (S2), bootstrap CIs."""
    out = check_destination(out)
    if parameters is not None and not parameters.strip():
        raise ScenarioError(
            "--parameters: name at least one dotted path (leave the option out for the default "
            "subset)"
        )
    paths = (
        [path.strip() for path in parameters.split(",")]
        if parameters
        else list(sa.DEFAULT_PARAMETERS)
    )
    fixed = parse_overrides(assignments)
    refuse_fixed(fixed, paths)
    sa.check_output(output)
    varied = sa.ranges(paths, scenario)
    spec = sa.problem(varied)
    rows = sa.sample(spec, method, samples, second_order, replicates)
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
        unstable = ", ".join(check.loc[~check["stable"], "parameter"])
        verdict = (
            "stable"
            if check["stable"].all()
            else f"NOT stable for {unstable}: use a larger --samples"
        )
        console.print(
            f"convergence (ST at N={samples} vs N={samples // 2}, convergence.csv): {verdict}"
        )
    if second:
        sa.second_order_indices(spec, outputs).to_csv(out / "second_order.csv", index=False)
    indices = sa.analyze(spec, method, rows, outputs, second)
    title = (
        f"{method} indices of {output} with 95 % bootstrap half-widths "
        f"({len(rows)} points x {replicates} replicates)"
    )
    finish(out, "indices", indices, title, sa.plot_indices(indices, method, f"{method}: {output}"))


def register(app: typer.Typer) -> None:
    app.command()(sweep)
    app.command()(compare)
    app.command("dose-response")(dose_response)
    app.command()(sensitivity)
