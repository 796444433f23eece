"""Experiment commands: sweep, compare (what-if), dose-response and sensitivity, each resumable and parallel."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn  # noqa: E402
from rich.table import Table  # noqa: E402
from scipy.stats import qmc  # noqa: E402

from experiments.analysis import COMPARE_MEASURES, bands, paired_differences, run_summaries  # noqa: E402
from experiments.figures import plot_bands  # noqa: E402
from experiments.cli_support import parse_value, user_errors  # noqa: E402
from experiments.dose_response import dose_response_arms, dose_response_table, plot_dose_response  # noqa: E402
from experiments.runner import Store, design, make_executor, run_experiment  # noqa: E402
from experiments.sensitivity import DEFAULT_PARAMETERS, analyze, convergence, overrides, plot_indices, problem, sample, second_order_indices  # noqa: E402
from sim import ScenarioError, load_scenario, parameter_info  # noqa: E402

console = Console()
Out = Annotated[Path, typer.Option(help="Experiment folder; re-running the same command resumes it.")]
Replicates = Annotated[int, typer.Option(help="Replicates per design point (common random numbers).")]
Workers = Annotated[int | None, typer.Option(help="Local worker processes (default: all cores; 1 runs serially).")]
Scheduler = Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.")]
Months = Annotated[int | None, typer.Option(help="Months per run (default: the scenario's horizon).")]


def execute(kind: str, specs, out: Path, workers: int | None, scheduler: str | None, settings: dict):
    """Run (or resume) an experiment with a progress bar, locally or on Dask."""
    store = Store(out)
    with Progress(TextColumn(kind), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task(kind, total=len(specs))

        def update(done, total):
            progress.update(task, completed=done, total=total)

        if workers == 1 and not scheduler:
            return run_experiment(kind, specs, store, progress=update, settings=settings)
        with make_executor(workers, scheduler) as executor:
            return run_experiment(kind, specs, store, executor=executor, progress=update, settings=settings)


def print_frame(frame, title: str) -> None:
    table = Table(*map(str, frame.columns), title=title)
    for row in frame.itertuples(index=False):
        table.add_row(*(f"{value:,.4g}" if isinstance(value, float) else str(value) for value in row))
    Console(width=max(console.width, 200)).print(table)  # wide tables stay readable when piped


def parse_vary(text: str) -> tuple[str, np.ndarray]:
    """``key=lo:hi:n`` -> (key, n values), checked against the parameter's allowed range."""
    key, _, spec = text.partition("=")
    parts = spec.split(":")
    if len(parts) != 3:
        raise ScenarioError(f"--vary {text}: expected key=lo:hi:n, e.g. funder.dosage_hours=0:20:5")
    low, high, count = float(parts[0]), float(parts[1]), int(parts[2])
    info = parameter_info(load_scenario("baseline"), key)
    if info.low is None or low < info.low or high > info.high or low > high or count < 1:
        raise ScenarioError(f"--vary {key}: {low:g}:{high:g} must lie in the allowed range {info.range_text} with lo <= hi and n >= 1")
    values = np.linspace(low, high, count)
    return key, np.rint(values).astype(int) if isinstance(info.value, int) else values


@user_errors
def sweep(
    scenario: Annotated[str, typer.Argument(help="Scenario name or TOML file.")],
    vary: Annotated[list[str], typer.Option(help="Parameter range key=lo:hi:n (repeatable).")],
    out: Out,
    replicates: Replicates = 3,
    design_kind: Annotated[str, typer.Option("--design", help="factorial or lhs.")] = "factorial",
    samples: Annotated[int, typer.Option(help="Latin hypercube samples (with --design lhs).")] = 20,
    months: Months = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    seed: Annotated[int, typer.Option(help="Experiment seed (entropy of the SeedSequence).")] = 20261125,
) -> None:
    """Full factorial or Latin hypercube over named parameters, with replicates."""
    ranges = dict(parse_vary(text) for text in vary)
    if design_kind == "factorial":
        points = [dict(zip(ranges, (value.item() for value in combination), strict=True)) for combination in itertools.product(*ranges.values())]
    elif design_kind == "lhs":
        unit = qmc.LatinHypercube(d=len(ranges), seed=seed).random(samples)
        points = [{key: float(values.min() + u * (values.max() - values.min())) for key, values, u in zip(ranges, ranges.values(), row, strict=True)} for row in unit]
    else:
        raise ScenarioError(f"--design {design_kind}: must be factorial or lhs")
    specs = design([(scenario, point, {"point": index}) for index, point in enumerate(points)], replicates, entropy=seed, months=months)
    table = execute("sweep", specs, out, workers, scheduler, {"scenario": scenario, "vary": vary, "design": design_kind})
    summaries = run_summaries(table, ["point", *ranges])
    result = summaries.groupby(["point", *ranges])[["final_adoption", "final_fidelity", "ta_cost_total"]].mean().reset_index()
    result.to_csv(out / "sweep.csv", index=False)
    print_frame(result, f"sweep of {scenario}: mean over {replicates} replicates")
    first = next(iter(ranges))
    figure, axis = plt.subplots(figsize=(7, 4.5), constrained_layout=True)
    axis.scatter(summaries[first], summaries["final_adoption"], alpha=0.5)
    axis.set(xlabel=first, ylabel="final adoption", title=f"sweep of {scenario}")
    figure.savefig(out / "sweep.png", dpi=110)
    console.print(f"Results in [bold]{out}[/bold]")


@user_errors
def compare(
    scenarios: Annotated[list[str], typer.Argument(help="Two to six scenarios; the first is the reference.")],
    out: Out,
    replicates: Replicates = 10,
    months: Months = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    seed: Annotated[int, typer.Option(help="Experiment seed (entropy of the SeedSequence).")] = 20261125,
) -> None:
    """What-if: scenarios side by side over replicates, with 90 % bands, paired differences and cost per outcome."""
    if not 2 <= len(scenarios) <= 6:
        raise ScenarioError(f"compare: give 2 to 6 scenarios (got {len(scenarios)})")
    specs = design([(name, {}, {"arm": name}) for name in scenarios], replicates, entropy=seed, months=months)
    table = execute("compare", specs, out, workers, scheduler, {"scenarios": scenarios})
    summaries = run_summaries(table, ["arm"])
    differences = paired_differences(summaries, "arm", scenarios[0], COMPARE_MEASURES)
    costs = differences.pivot(index="arm", columns="measure", values="difference")
    differences["cost_per_unit"] = differences["arm"].map(costs["ta_cost_total"]) / differences["difference"]
    differences.loc[differences["measure"] == "ta_cost_total", "cost_per_unit"] = np.nan
    differences.to_csv(out / "differences.csv", index=False)
    print_frame(differences, f"each scenario minus {scenarios[0]} (95 % CI over {replicates} paired replicates; cost per unit = extra TA $ per unit gained)")
    plot_bands(bands(table, "arm", ["adoption", "mean_F", "admissions", "per_capita_cost"])).savefig(out / "compare.png", dpi=110)
    console.print(f"Results in [bold]{out}[/bold]")


@user_errors
def dose_response(
    out: Out,
    by: Annotated[str, typer.Option(help="Curves per readiness level or per provider role.")] = "readiness",
    doses: Annotated[str, typer.Option(help="TA hours per organization-month, comma-separated.")] = "0,1,2,4,6,8,12,16,20,30",
    withdraw: Annotated[int, typer.Option(help="Month TA is withdrawn (0 = never).")] = 36,
    replicates: Replicates = 3,
    months: Annotated[int, typer.Option(help="Months per run.")] = 60,
    workers: Workers = None,
    scheduler: Scheduler = None,
    seed: Annotated[int, typer.Option(help="Experiment seed (entropy of the SeedSequence).")] = 20261125,
) -> None:
    """Teaching experiment: adoption, fidelity and net benefit against TA hours per month."""
    dose_values = [float(parse_value(text)) for text in doses.split(",")]
    arms = dose_response_arms(by, dose_values, withdraw, months)
    specs = design(arms, replicates, entropy=seed, months=months)
    table = execute("dose-response", specs, out, workers, scheduler, {"by": by, "doses": dose_values, "withdraw": withdraw})
    curves = dose_response_table(table, by, withdraw)
    curves.to_csv(out / "dose_response.csv", index=False)
    print_frame(curves, f"dose-response by {by} (mean over {replicates} replicates)")
    plot_dose_response(curves, by).savefig(out / "dose_response.png", dpi=110)
    console.print(f"Results in [bold]{out}[/bold]")


@user_errors
def sensitivity(
    out: Out,
    scenario: Annotated[str, typer.Argument(help="Scenario name or TOML file.")] = "baseline",
    method: Annotated[str, typer.Option(help="morris (screening) or sobol (variance-based).")] = "morris",
    parameters: Annotated[str | None, typer.Option(help="Comma-separated dotted paths (default: a 12-parameter subset).")] = None,
    samples: Annotated[int, typer.Option(help="Sobol base samples N (power of 2) or Morris trajectories.")] = 16,
    output: Annotated[str, typer.Option(help="Per-run summary measure to explain, e.g. final_adoption.")] = "final_adoption",
    second_order: Annotated[bool, typer.Option("--second-order", help="Sobol S2 for every pair.")] = False,
    replicates: Replicates = 3,
    months: Months = None,
    workers: Workers = None,
    scheduler: Scheduler = None,
    seed: Annotated[int, typer.Option(help="Experiment seed (entropy of the SeedSequence).")] = 20261125,
) -> None:
    """Global sensitivity over the parameters' allowed ranges: Morris mu* or Sobol S1/ST with bootstrap CIs."""
    paths = [path.strip() for path in parameters.split(",")] if parameters else list(DEFAULT_PARAMETERS)
    spec = problem(paths, scenario)
    design_rows = sample(spec, method, samples, second_order)
    arms = [(scenario, overrides(spec, row, scenario), {"sample": index}) for index, row in enumerate(design_rows)]
    specs = design(arms, replicates, entropy=seed, months=months)
    table = execute("sensitivity", specs, out, workers, scheduler, {"method": method, "parameters": paths, "samples": samples, "output": output})
    summaries = run_summaries(table, ["sample"])
    if output not in summaries:
        raise ScenarioError(f"--output {output}: must be one of {', '.join(c for c in summaries.columns if c not in ('run_id', 'replicate', 'sample'))}")
    outputs = summaries.groupby("sample")[output].mean().sort_index().to_numpy()  # replicate means, in design order
    indices = analyze(spec, method, design_rows, outputs)
    indices.to_csv(out / "indices.csv", index=False)
    print_frame(indices, f"{method} indices of {output} ({len(design_rows)} points x {replicates} replicates)")
    if method == "sobol":
        check = convergence(spec, design_rows, outputs, samples, second_order)
        check.to_csv(out / "convergence.csv", index=False)
        print_frame(check, "convergence: total-order indices at N and N/2")
        if second_order:
            second_order_indices(spec, outputs).to_csv(out / "second_order.csv", index=False)
    plot_indices(indices, method, f"{method}: {output}").savefig(out / "indices.png", dpi=110)
    console.print(f"Results in [bold]{out}[/bold]")


def register(app: typer.Typer) -> None:
    app.command()(sweep)
    app.command()(compare)
    app.command("dose-response")(dose_response)
    app.command()(sensitivity)
