"""Running targets' protocols, validating parameter values against them, ABC-SMC with pyabc.

Protocols run through the experiments layer: ``validate`` stores every run (Parquet, resumable)
and takes any Executor (process pool or Dask). Inside the calibration each candidate parameter
set runs its protocols in one process, and candidates are spread over processes or a Dask
cluster in seeded, ordered batches (``calibration.smc``), so a calibration repeats and resumes
to the same posterior. Reading and drawing from a posterior sample is ``experiments.posterior``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager, nullcontext
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from calibration import statistics
from calibration.targets import Protocol, Target, TargetsFile, load_priors_file
from experiments.errors import ArgumentError
from experiments.posterior import posterior_draws, posterior_median, weighted_quantile
from experiments.provenance import provenance
from experiments.runner import DEFAULT_SEED, RunSpec, Store, design, make_executor, run_experiment
from sim import ScenarioError, TransformationModel, load_scenario, parameter_info, paths
from sim import mechanisms as mech

PRIORS = Path(__file__).resolve().parent / "priors.toml"  # the shipped fit's parameters and priors
# A parameter whose 5-95 % posterior interval still spans over half its prior range: the targets
# cannot identify it (a working threshold, an assumption; anchor-sa-calibration.md 3 on ridges).
UNIDENTIFIED_SHARE = 0.5
# A pattern that does not hold adds this to the distance, more than any epsilon an accepted
# generation ends with, so the last generations keep only parameter sets where every pattern holds.
PATTERN_PENALTY = 1.0
# simulated interval reported per target: 5-95 % over replicates (and posterior draws)
INTERVAL = (0.05, 0.95)


def _specs(protocol: Protocol, draws: list[dict]) -> list[RunSpec]:
    """Every arm at every parameter draw.

    Draws share the replicate seeds, so they differ only by their parameters.
    """
    arms = [
        (protocol.scenario, {**protocol.arm(arm), **draw}, {"arm": arm, "draw": index})
        for index, draw in enumerate(draws)
        for arm in protocol.arms
    ]
    return design(arms, protocol.replicates, months=protocol.months)


def protocol_run(spec: RunSpec) -> pd.DataFrame:
    """The model's monthly system series plus what the statistics need per organization or team.

    Stage counts are stocks: they cannot tell how long each adopter took, which adopters stayed,
    or which teams moved, so this follows every organization. Added columns, per month:

    - ``full_events``, ``full_at_risk``: on the row of month d, the adopters that first reached
      full implementation (sustaining) d months after first adopting, and the adopters followed
      at least d months without reaching it before (``statistics.full_implementation_within``);
    - ``withdrawal_cohort``: of the organizations adopting when TA was withdrawn
      (``funder.withdraw_month``), those that have not discontinued since (NaN before it, or
      without a withdrawal): the funded cohort the sustainment studies followed;
    - ``withdrawal_fidelity``: mean fidelity of the organizations operating in the month before
      TA was withdrawn, followed whatever becomes of them (NaN before that month): what the
      fidelity is of those the provider leaves behind (``statistics.pattern_roles``);
    - ``adoption_low_capacity``, ``adoption_high_capacity``: mean adoption of the teams in the
      lowest and highest third of baseline capacity (measured before the first month);
    - ``sd_R``: the spread (standard deviation) of readiness across organizations;
    - ``fell_back``: organizations that moved to an earlier stage or to a reduced level.

    Module-level: it runs on workers.
    """
    scenario = load_scenario(spec.scenario, spec.overrides)
    model = TransformationModel(scenario, rng=spec.seed)
    months = scenario.months if spec.months is None else spec.months
    withdraw = scenario.funder.withdraw_month or 0
    capacity = model.team_average(model.capacity())
    low, high = capacity <= np.quantile(capacity, 1 / 3), capacity >= np.quantile(capacity, 2 / 3)
    adopted, full = np.full(model.n_orgs, -1), np.full(model.n_orgs, -1)
    cohort = np.zeros(model.n_orgs, dtype=bool)
    left = np.zeros(model.n_orgs, dtype=bool)
    teams = {"adoption_low_capacity": low, "adoption_high_capacity": high}
    columns = {
        name: np.full(months + 1, np.nan)
        for name in ("withdrawal_cohort", "withdrawal_fidelity", "fell_back", "sd_R", *teams)
    }

    def record(month: int) -> None:
        adoption = model.team_average(model.adopting)
        for name, members in teams.items():
            columns[name][month] = adoption[members].mean()
        columns["sd_R"][month] = model.R.std()
        if withdraw and month >= withdraw:
            columns["withdrawal_cohort"][month] = cohort.sum()
        if left.any():  # set from the month before withdrawal on
            columns["withdrawal_fidelity"][month] = model.F[left].mean()

    record(0)
    for month in range(1, months + 1):
        stage = model.stage.copy()
        model.step()
        columns["fell_back"][month] = np.sum(
            (model.stage < stage) | ((model.stage == mech.REDUCED) & (stage != mech.REDUCED))
        )
        adopted[(adopted < 0) & model.adopting] = month
        full[(full < 0) & (model.stage == mech.SUSTAINING)] = month
        if month == withdraw - 1:
            left = mech.is_operating(model.stage)
        if month == withdraw:
            cohort = model.adopting.copy()
        cohort &= model.stage != mech.DISCONTINUED
        record(month)
    reached = full[adopted > 0] > 0
    followed = np.where(reached, full[adopted > 0], months) - adopted[adopted > 0]
    delays = np.arange(months + 1)
    return model.system_frame().assign(
        full_events=np.bincount(followed[reached], minlength=months + 1)[: months + 1],
        full_at_risk=(followed[None, :] >= delays[:, None]).sum(axis=1),
        **columns,
    )


def run_protocol(
    protocol: Protocol,
    draws: list[dict],
    store: Store | None = None,
    executor: Executor | None = None,
) -> list[dict[str, pd.DataFrame]]:
    """Per parameter draw, the protocol's runs as arm -> table.

    A draw's overrides (e.g. fitted parameters) apply in every arm.

    With a store, runs go through the experiments layer (stored, resumable, on ``executor``);
    without one they run here, in memory.
    """
    specs = _specs(protocol, draws)
    if store is None:
        table = pd.concat(
            [protocol_run(spec).assign(**spec.labels) for spec in specs], ignore_index=True
        )
    else:
        table = run_experiment("calibration protocol", specs, store, executor, run=protocol_run)
    return [{arm: group for arm, group in runs.groupby("arm")} for _, runs in table.groupby("draw")]


def statistic_values(target: Target, arms: dict[str, pd.DataFrame]) -> np.ndarray:
    return np.asarray(
        statistics.STATISTICS[target.statistic](arms, target.protocol.settings), float
    )


def evaluate(
    targets: TargetsFile, extra: dict, folder: Path | None = None, executor: Executor | None = None
) -> dict[str, np.ndarray]:
    """Every target's per-replicate values at one parameter set."""
    return evaluate_draws(targets, [extra], folder, executor)


def evaluate_draws(
    targets: TargetsFile,
    draws: list[dict],
    folder: Path | None = None,
    executor: Executor | None = None,
) -> dict[str, np.ndarray]:
    """Every target's values over parameter draws x replicates (draw by draw).

    Targets with the same protocol share its runs.
    """
    runs: dict[str, list] = {}
    values = {}
    for target in targets.targets:
        key = target.protocol.key
        if key not in runs:
            store = (
                None
                if folder is None
                else Store(Path(folder) / f"protocol-{len(runs)}-{target.id}")
            )
            runs[key] = run_protocol(target.protocol, draws, store, executor)
        values[target.id] = np.concatenate([statistic_values(target, arms) for arms in runs[key]])
    return values


def score(
    targets: TargetsFile, values: dict[str, np.ndarray], predictive: bool = False
) -> pd.DataFrame:
    """Per target: simulated mean and 5-95 % interval, observed, tolerance, share inside, pass.

    At one parameter set a finding passes when the mean lies in the observed interval widened by
    the tolerance, and a pattern when it holds on every replicate (as the calibration asks). As
    a posterior-predictive check (``predictive``: values over posterior draws x replicates) it
    passes when the 5-95 % predictive interval overlaps that interval, i.e. when
    the observation is plausible under the posterior.
    """
    rows = []
    for target in targets.targets:
        finite = values[target.id][np.isfinite(values[target.id])]
        mean = float(np.mean(finite)) if finite.size else float("nan")
        low, high = (
            (float(np.quantile(finite, q)) for q in INTERVAL)
            if finite.size
            else (float("nan"),) * 2
        )
        accept_low, accept_high = target.interval
        inside = (
            float(np.mean((finite >= accept_low) & (finite <= accept_high)))
            if finite.size
            else float("nan")
        )
        passed = (
            low <= accept_high and high >= accept_low
            if predictive
            else inside == 1.0
            if target.kind == "pattern"
            else accept_low <= mean <= accept_high
        )
        rows.append(
            {
                "id": target.id,
                "statistic": target.statistic,
                "simulated": mean,
                "sim_low": low,
                "sim_high": high,
                "observed": target.bounds[0]
                if target.bounds[0] == target.bounds[1]
                else f"[{target.bounds[0]:g}, {target.bounds[1]:g}]",
                "tolerance": target.tolerance,
                "share_inside": inside,
                "passed": bool(passed),
            }
        )
    return pd.DataFrame(rows)


def validate(
    targets: TargetsFile, extra: dict, folder: Path, executor: Executor | None = None
) -> pd.DataFrame:
    """Score the targets at the given parameter overrides, storing protocol runs in ``folder``."""
    return score(targets, evaluate(targets, extra, folder, executor))


def validate_posterior(
    targets: TargetsFile,
    posterior: pd.DataFrame,
    draws: int,
    folder: Path,
    executor: Executor | None = None,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Posterior-predictive check: every protocol at ``draws`` parameter sets from the posterior.

    Scored on the spread over draws x replicates.
    """
    return score(
        targets,
        evaluate_draws(targets, posterior_draws(posterior, draws, seed), folder, executor),
        predictive=True,
    )


def simulate_statistics(parameters, targets: TargetsFile) -> dict:
    """pyabc's model: every target's statistic at these parameter values, over replicates.

    A finding is the replicate mean; a pattern is the replicate minimum, so an accepted
    parameter set shows the pattern on every seed, not on average.
    """
    extra = {paths.from_keyword(name): float(value) for name, value in dict(parameters).items()}
    kinds = {target.id: target.kind for target in targets.targets}
    return {
        name: float((np.nanmin if kinds[name] == "pattern" else np.nanmean)(values))
        if np.isfinite(values).any()
        else 1e9
        for name, values in evaluate(targets, extra).items()
    }


def distance(targets: TargetsFile, simulated: dict, observed: dict) -> float:
    """How far a parameter set is from the findings, plus a penalty for every broken pattern.

    Findings: the root mean squared miss from each one's centre, in units of its half-interval
    (which includes the tolerance, so it is never zero). Patterns are constraints, not values
    to aim at: one inside its interval adds nothing; one outside adds ``PATTERN_PENALTY`` plus
    its miss from the interval in half-intervals, so a search is led back towards it and
    accepted sets at an epsilon below the penalty satisfy every pattern.
    """
    misses, broken = [], 0.0
    for target in targets.targets:
        low, high = target.interval
        scale = max((high - low) / 2, 1e-9)
        value = simulated[target.id]
        if target.kind == "finding":
            misses.append((value - observed[target.id]) / scale)
        elif not low <= value <= high:
            broken += PATTERN_PENALTY + max(low - value, value - high, 0.0) / scale
    fit = float(np.sqrt(np.mean(np.square(misses)))) if misses else 0.0
    return fit + broken


def prior_bounds(
    parameters: tuple[str, ...], scenario: str = "baseline"
) -> dict[str, tuple[float, float]]:
    """Uniform prior on each parameter's allowed range (as ``parameter_info`` gives it).

    Only real-valued parameters with a finite range can be fitted; any other path (unknown, a
    choice, on/off, an integer, a list) raises a one-line ScenarioError naming it.
    """
    resolved = load_scenario(scenario)
    bounds = {}
    for path in parameters:
        info = parameter_info(resolved, path)  # an unknown path raises, naming it
        kind = (
            "on/off"
            if isinstance(info.value, bool)
            else "an integer"
            if isinstance(info.value, int)
            else None
            if isinstance(info.value, float)
            else "a choice"
            if isinstance(info.value, str)
            else "a list"
        )
        finite = info.low is not None and info.high is not None
        if kind or not finite or not np.isfinite([info.low, info.high]).all():
            raise ScenarioError(
                f"{path}: {kind or 'has no finite range'}, and calibrate fits real-valued "
                "parameters with a finite range, e.g. mechanisms.imitation_q "
                "(`tasim scenarios show baseline` lists them with their ranges)"
            )
        if path in bounds:
            raise ScenarioError(f"{path}: given twice; name each fitted parameter once")
        bounds[path] = (info.low, info.high)
    return bounds


def load_priors(path: str | Path = PRIORS) -> dict[str, tuple[float, float]]:
    """The fitted parameters and their uniform priors, from a priors file (``load_priors_file``).

    A prior must lie inside the parameter's allowed range; any problem is one line naming the
    entry.
    """
    entries = load_priors_file(path).priors
    allowed = prior_bounds(tuple(entry.parameter for entry in entries))
    priors = {}
    for index, entry in enumerate(entries):
        low, high = allowed[entry.parameter]
        if not low <= entry.low < entry.high <= high:
            raise ScenarioError(
                f"{path}: priors.{index} ({entry.parameter}): needs {low:g} <= low < high <= "
                f"{high:g} (the allowed range), got {entry.low:g} to {entry.high:g}"
            )
        priors[entry.parameter] = (entry.low, entry.high)
    return priors


CALIBRATED = tuple(load_priors())  # the parameters the shipped fit estimates


def calibration_settings(
    targets: TargetsFile,
    parameters: tuple[str, ...] = CALIBRATED,
    population: int = 100,
    workers: int = 1,
    seed: int = 20261125,
    bounds: dict[str, tuple[float, float]] | None = None,
) -> dict:
    """Everything a calibration's result depends on besides its budget, checked.

    A folder is resumed only with equal settings. ``workers`` is the batch of particles
    evaluated together (see ``calibration.smc``), so it is one of them.
    """
    from calibration import smc

    if isinstance(population, bool) or not isinstance(population, int) or population < 2:
        raise ArgumentError("population", "must be a whole number of at least 2", population)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ArgumentError("workers", f"must be at least 1 (got {workers})")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ArgumentError("seed", "must be a whole number >= 0", seed)
    if not parameters:
        raise ArgumentError("parameters", "name at least one parameter to fit")
    if bounds is None:
        bounds = prior_bounds(tuple(parameters))
    for path, bound in bounds.items():
        low, high = (float(value) for value in bound)
        if not (np.isfinite([low, high]).all() and low < high):
            raise ArgumentError("bounds", f"{path}: needs finite low < high", bound)
    return {
        "targets": [
            target.model_dump(mode="json", exclude={"description", "source"})
            for target in targets.targets
        ],
        "prior": [[path, float(low), float(high)] for path, (low, high) in bounds.items()],
        "population": population,
        "seed": seed,
        "workers": workers,
        "max_generations": smc.MAX_GENERATIONS,
        "evaluations_per_accepted": smc.EVALUATIONS_PER_ACCEPTED,
    }


def plan_calibration(
    targets: TargetsFile,
    destination: Path,
    parameters: tuple[str, ...] = CALIBRATED,
    budget: int = 2000,
    population: int = 100,
    workers: int = 1,
    seed: int = 20261125,
    bounds: dict[str, tuple[float, float]] | None = None,
):
    """What ``calibrate`` with these arguments would do with ``destination``, checked.

    A ``calibration.smc.Plan``: start, resume, continue (a larger budget) or finished (nothing
    to do), with a one-line message. Bad arguments and folders that cannot be resumed with
    them raise, in one line.
    """
    from calibration import smc

    settings = calibration_settings(targets, parameters, population, workers, seed, bounds)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 2 * population:
        raise ArgumentError(
            "budget",
            f"must be at least twice the population, {2 * population}: the prior sample and "
            "the first generation simulate a population each",
            budget,
        )
    return smc.plan(Path(destination), settings, budget)


SAMPLER = (
    "ordered (calibration.smc.OrderedSampler): particle i of generation t draws from numpy "
    "seeded by (seed, t, i); batches of {batch} evaluated together {where}; the first "
    "population accepted in index order are kept. Repeats exactly for the same settings, "
    "seed and workers, interrupted or not."
)


def calibrate(
    targets: TargetsFile,
    destination: Path,
    parameters: tuple[str, ...] = CALIBRATED,
    budget: int = 2000,
    population: int = 100,
    workers: int = 1,
    scheduler: str | None = None,
    bounds: dict[str, tuple[float, float]] | None = None,
    seed: int = 20261125,
    report: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """ABC-SMC (pyabc) over uniform priors on the parameters' ranges: the weighted posterior.

    Writes into the folder ``destination``: ``abc.db`` (pyabc history), ``simulations.db``
    (every simulated particle), ``calibration.json`` (settings and why it stopped),
    ``posterior.csv`` (samples and weights), ``posterior_provenance.json``, ``calibrated.toml``
    (posterior medians) and ``marginals.png``.

    The result depends on the targets, parameters (and ``bounds``), ``population``, ``seed``,
    ``workers`` (particles evaluated together, on local processes or on the Dask cluster at
    ``scheduler``) and ``budget`` only: an interrupted calibration re-run with the same
    arguments resumes to the same posterior, and a finished one does nothing (a larger budget
    continues one the budget stopped). Other settings into the same folder are refused.
    ``budget`` is a hard cap on simulated parameter sets (each runs all protocols), the prior
    sample and cut-off generations included. See ``calibration.smc`` for how.

    ``report`` gets one line saying what the call does (start, resume, continue, nothing).
    The caller's numpy state is left as it was. pyabc reports generations through its ``ABC``
    logger, which the caller configures.
    """
    import pyabc

    from calibration import smc

    destination = Path(destination)
    settings = calibration_settings(targets, parameters, population, workers, seed, bounds)
    plan = plan_calibration(
        targets, destination, parameters, budget, population, workers, seed, bounds
    )
    if report:
        report(plan.message)
    if plan.finished:
        if plan.generations == 0:
            raise smc.no_generation(destination, budget, plan.simulations)
        return _posterior(destination)
    bounds = {path: (low, high) for path, low, high in settings["prior"]}
    prior = pyabc.Distribution(
        **{  # pyabc's parameter names cannot hold dots
            paths.to_keyword(path): pyabc.RV("uniform", low, high - low)
            for path, (low, high) in bounds.items()
        }
    )
    observed = {target.id: target.centre for target in targets.targets}

    def new_abc(sampler) -> pyabc.ABCSMC:
        return pyabc.ABCSMC(
            partial(simulate_statistics, targets=targets),
            prior,
            partial(distance, targets),
            population_size=population,
            sampler=sampler,
        )

    parallel = make_executor(workers, scheduler) if workers > 1 or scheduler else nullcontext()
    with numpy_global_seed(seed), parallel as executor:
        stop = smc.run(destination, settings, budget, new_abc, observed, executor)
    simulations = smc.stored_simulations(destination)
    if smc.generations(destination) == 0:
        smc.finish(destination, stop, budget)
        raise smc.no_generation(destination, budget, simulations)
    posterior = _posterior(destination)
    posterior.to_csv(destination / "posterior.csv", index=False)
    history = pyabc.History(smc.history_url(destination))
    populations = history.get_all_populations()
    where = (
        f"on the Dask cluster at {scheduler}"
        if scheduler
        else f"on {workers} local processes"
        if workers > 1
        else "in one process"
    )
    record = {
        "method": f"ABC-SMC (pyabc {pyabc.__version__}), one generation per run (calibration.smc)",
        "sampler": SAMPLER.format(batch=workers, where=where),
        "workers": workers,
        "scheduler": scheduler,
        "seed": seed,
        "targets": [target.id for target in targets.targets],
        "target_definitions": [target.model_dump(mode="json") for target in targets.targets],
        "settings": settings,
        "observed": observed,
        "prior": {path: {"uniform": list(bound)} for path, bound in bounds.items()},
        "budget": budget,
        "population": population,
        "simulations": simulations,
        "stop": stop.reason,
        "stop_detail": stop.detail,
        "generations": int(history.max_t) + 1,
        "epsilons": [float(value) for value in populations["epsilon"] if np.isfinite(value)],
        "effective_sample_size": float(1 / np.sum(posterior["weight"] ** 2)),
        "posterior_median": posterior_median(posterior),
        "identifiability": identifiability(posterior, bounds).to_dict("records"),
        **provenance(),
    }
    (destination / "posterior_provenance.json").write_text(
        json.dumps(record, indent=2, default=str)
    )
    write_calibrated_scenario(posterior, destination / "calibrated.toml")
    plot_marginals(posterior, bounds).savefig(destination / "marginals.png", dpi=110)
    smc.finish(destination, stop, budget)  # last: a kill before it rewrites the outputs next time
    return posterior


def identifiability(
    posterior: pd.DataFrame, bounds: dict[str, tuple[float, float]]
) -> pd.DataFrame:
    """Per fitted parameter: prior, weighted median, 5-95 % interval, the share of the prior
    range that interval still spans, and whether the targets identify it.

    A parameter the targets cannot pin down keeps a posterior about as wide as its prior
    (``UNIDENTIFIED_SHARE``): use the posterior sample rather than its median when a result
    depends on it.
    """
    weights = posterior["weight"].to_numpy(float)
    rows = []
    for path, (low, high) in bounds.items():
        values = posterior[path].to_numpy(float)
        q5, median, q95 = (weighted_quantile(values, weights, q) for q in (0.05, 0.5, 0.95))
        share = (q95 - q5) / (high - low)
        rows.append(
            {
                "parameter": path,
                "prior_low": low,
                "prior_high": high,
                "median": median,
                "low_5": q5,
                "high_95": q95,
                "share_of_prior": share,
                "identified": bool(share <= UNIDENTIFIED_SHARE),
            }
        )
    return pd.DataFrame(rows)


def _posterior(folder: Path) -> pd.DataFrame:
    """The last generation of the folder's pyabc history: parameters and normalised weights."""
    import pyabc

    from calibration import smc

    samples, weights = pyabc.History(smc.history_url(folder)).get_distribution()
    return (
        samples.rename(columns=paths.from_keyword)
        .reset_index(drop=True)
        .assign(weight=np.asarray(weights) / np.sum(weights))
    )


@contextmanager
def numpy_global_seed(seed: int) -> Iterator[None]:
    """Seed numpy's legacy global generator for the block, then put the caller's state back.

    pyabc draws its priors and perturbations from that generator and takes none of its own;
    ``calibration.smc`` reseeds it for every particle and generation, and restoring the state
    afterwards keeps all of that inside the call.
    """
    state = np.random.get_state()
    np.random.seed(np.random.SeedSequence(seed).generate_state(8))
    try:
        yield
    finally:
        np.random.set_state(state)


def write_calibrated_scenario(
    posterior: pd.DataFrame, path: Path, extends: str = "baseline"
) -> None:
    """A scenario extending the baseline with the posterior medians."""
    lines = [
        f'extends = "{extends}"',
        'description = "Baseline with calibrated parameters (ABC-SMC posterior medians)"',
        "",
    ]
    sections: dict[str, list[str]] = {}
    for dotted, value in posterior_median(posterior).items():
        section, _, key = dotted.rpartition(".")
        sections.setdefault(section, []).append(f"{key} = {value:.6g}")
    for section, entries in sections.items():
        lines += [f"[{section}]", *entries, ""]
    Path(path).write_text("\n".join(lines))


def plot_marginals(posterior: pd.DataFrame, bounds: dict[str, tuple[float, float]] | None = None):
    """Weighted histogram of every parameter over its prior range, with the median marked."""
    columns = list(posterior.columns.drop("weight"))
    figure = Figure(figsize=(3.6 * len(columns), 3.0), layout="constrained")
    axes = figure.subplots(1, len(columns), squeeze=False)
    medians = posterior_median(posterior)
    for axis, column in zip(axes[0], columns, strict=True):
        axis.hist(
            posterior[column],
            weights=posterior["weight"],
            bins=20,
            range=(bounds or {}).get(column),
            color="tab:blue",
            alpha=0.7,
        )
        axis.axvline(medians[column], color="black", linestyle="--", label="median")
        axis.set(title=column.rpartition(".")[2], xlabel=column, yticks=[])
    axes[0][0].legend()
    figure.suptitle("ABC-SMC posterior marginals (uniform priors over the plotted range)")
    return figure


def plot_fit(results: pd.DataFrame, targets: TargetsFile, spread: str = "replicates"):
    """Per target: observed interval with tolerance (grey), simulated mean and 5-95 % interval.

    ``spread`` says what the interval is over (replicates, posterior draws).
    """
    figure = Figure(figsize=(7, 1.1 * len(results) + 0.8), layout="constrained")
    axes = figure.subplots(len(results), 1, squeeze=False)
    for axis, row, target in zip(axes[:, 0], results.itertuples(), targets.targets, strict=True):
        low, high = target.interval
        axis.axvspan(low, high, color="grey", alpha=0.3)
        axis.axvspan(*target.bounds, color="grey", alpha=0.5) if target.bounds[0] < target.bounds[
            1
        ] else axis.axvline(target.bounds[0], color="grey")
        if np.isfinite(row.simulated):
            axis.errorbar(
                row.simulated,
                0,
                xerr=[[row.simulated - row.sim_low], [row.sim_high - row.simulated]],
                fmt="o",
                color="tab:green" if row.passed else "tab:red",
                capsize=4,
            )
        axis.set(yticks=[], ylabel=row.id, ylim=(-1, 1))
        axis.yaxis.label.set(rotation=0, ha="right", va="center")
    figure.suptitle(
        f"observed (grey; light: tolerance) vs simulated mean, 5-95 % over {spread}", fontsize=10
    )
    return figure
