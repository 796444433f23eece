"""Running targets' protocols, validating parameter values against them, and ABC-SMC calibration with pyabc.

Protocols run through the experiments layer: ``validate`` stores every run (Parquet, resumable)
and takes any Executor (process pool or Dask). Inside the calibration each candidate parameter
set runs its protocols in one process, and pyabc spreads candidates over processes or a Dask
cluster; pyabc keeps its history in SQLite, so an interrupted calibration continues where it stopped.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import Executor
from functools import partial
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from calibration import statistics  # noqa: E402
from calibration.targets import Protocol, Target, TargetsFile  # noqa: E402
from experiments.provenance import provenance  # noqa: E402
from experiments.runner import RunSpec, Store, design, run_experiment  # noqa: E402
from sim import load_scenario, parameter_info, simulate  # noqa: E402

# The documented subset fitted by default: the adoption and sustainment constants the targets speak to.
CALIBRATED = ("mechanisms.imitation_q", "mechanisms.absorption_adoption", "mechanisms.discontinuation", "mechanisms.learning_rate")
INTERVAL = (0.05, 0.95)  # simulated interval reported per target: 5-95 % over replicates


def _specs(protocol: Protocol, extra: dict) -> list[RunSpec]:
    arms = [(protocol.scenario, {**overrides, **extra}, {"arm": arm}) for arm, overrides in protocol.arms.items()]
    return design(arms, protocol.replicates, months=protocol.months)


def _run(spec: RunSpec) -> pd.DataFrame:
    result = simulate(load_scenario(spec.scenario, spec.overrides), seed=spec.seed, months=spec.months)
    return result.system.assign(**spec.labels)


def run_protocol(protocol: Protocol, extra: dict, store: Store | None = None, executor: Executor | None = None) -> dict[str, pd.DataFrame]:
    """The protocol's runs as arm -> table, with ``extra`` overrides (e.g. fitted parameters) applied in every arm.

    With a store, runs go through the experiments layer (stored, resumable, on ``executor``);
    without one they run here, in memory.
    """
    specs = _specs(protocol, extra)
    table = pd.concat([_run(spec) for spec in specs], ignore_index=True) if store is None else run_experiment("calibration protocol", specs, store, executor)
    return {arm: group for arm, group in table.groupby("arm")}


def statistic_values(target: Target, arms: dict[str, pd.DataFrame]) -> np.ndarray:
    return np.asarray(statistics.STATISTICS[target.statistic](arms, target.protocol.settings), float)


def run_target(target: Target, extra: dict, store: Store | None = None, executor: Executor | None = None) -> np.ndarray:
    """The target's statistic, one value per replicate."""
    return statistic_values(target, run_protocol(target.protocol, extra, store, executor))


def evaluate(targets: TargetsFile, extra: dict, folder: Path | None = None, executor: Executor | None = None) -> dict[str, np.ndarray]:
    """Every target's per-replicate values; targets with the same protocol share its runs."""
    runs: dict[str, dict] = {}
    values = {}
    for target in targets.targets:
        key = target.protocol.key
        if key not in runs:
            store = None if folder is None else Store(Path(folder) / f"protocol-{len(runs)}-{target.id}")
            runs[key] = run_protocol(target.protocol, extra, store, executor)
        values[target.id] = statistic_values(target, runs[key])
    return values


def score(targets: TargetsFile, values: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per target: simulated mean with its 5-95 % interval over replicates, observed, tolerance, pass or fail."""
    rows = []
    for target in targets.targets:
        finite = values[target.id][np.isfinite(values[target.id])]
        mean = float(np.mean(finite)) if finite.size else float("nan")
        low, high = (float(np.quantile(finite, q)) for q in INTERVAL) if finite.size else (float("nan"),) * 2
        accept_low, accept_high = target.interval
        rows.append({"id": target.id, "statistic": target.statistic, "simulated": mean, "sim_low": low, "sim_high": high, "observed": target.bounds[0] if target.bounds[0] == target.bounds[1] else f"[{target.bounds[0]:g}, {target.bounds[1]:g}]", "tolerance": target.tolerance, "passed": bool(accept_low <= mean <= accept_high)})
    return pd.DataFrame(rows)


def validate(targets: TargetsFile, extra: dict, folder: Path, executor: Executor | None = None) -> pd.DataFrame:
    """Score the targets at the given parameter overrides, storing the protocol runs under ``folder``."""
    return score(targets, evaluate(targets, extra, folder, executor))


def _encode(path: str) -> str:
    return path.replace(".", "__")  # pyabc parameter names cannot hold dots


def _decode(name: str) -> str:
    return name.replace("__", ".")


def simulate_statistics(parameters, targets: TargetsFile) -> dict:
    """pyabc's model: the replicate-mean statistic of every target at these parameter values."""
    extra = {_decode(name): float(value) for name, value in dict(parameters).items()}
    return {name: float(np.nanmean(values)) if np.isfinite(values).any() else 1e9 for name, values in evaluate(targets, extra).items()}


def distance(targets: TargetsFile, simulated: dict, observed: dict) -> float:
    """Root of the mean squared miss from each target's centre, scaled by its half-interval (at least its tolerance)."""
    total = 0.0
    for target in targets.targets:
        low, high = target.interval
        scale = max((high - low) / 2, 1e-9)
        total += ((simulated[target.id] - observed[target.id]) / scale) ** 2
    return float(np.sqrt(total / len(targets.targets)))


def prior_bounds(parameters: tuple[str, ...], scenario: str = "baseline") -> dict[str, tuple[float, float]]:
    """Uniform prior on each parameter's allowed range (the range shown by ``tasim scenarios show``)."""
    resolved = load_scenario(scenario)
    return {path: (info.low, info.high) for path in parameters for info in [parameter_info(resolved, path)]}


def calibrate(
    targets: TargetsFile,
    folder: Path,
    parameters: tuple[str, ...] = CALIBRATED,
    budget: int = 2000,
    population: int = 100,
    workers: int = 1,
    scheduler: str | None = None,
    bounds: dict[str, tuple[float, float]] | None = None,
    seed: int = 20261125,
) -> pd.DataFrame:
    """ABC-SMC (pyabc) over uniform priors on the parameters' ranges; returns the weighted posterior sample.

    Writes ``abc.db`` (pyabc history; re-running resumes it), ``posterior.csv`` (samples and
    weights), ``posterior_provenance.json``, ``calibrated.toml`` (posterior medians) and
    ``marginals.png`` into ``folder``. ``budget`` caps the simulated parameter sets (each runs
    all protocols); pyabc reports generations through logging.
    """
    import pyabc

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    np.random.seed(seed)  # pyabc draws from numpy's global generator
    bounds = bounds or prior_bounds(parameters)
    prior = pyabc.Distribution(**{_encode(path): pyabc.RV("uniform", low, high - low) for path, (low, high) in bounds.items()})
    observed = {target.id: target.centre for target in targets.targets}
    if scheduler:
        from distributed import Client

        sampler = pyabc.sampler.DaskDistributedSampler(dask_client=Client(scheduler))
    elif workers > 1:
        sampler = pyabc.sampler.MulticoreEvalParallelSampler(n_procs=workers)
    else:
        sampler = pyabc.sampler.SingleCoreSampler()
    logging.getLogger("ABC").setLevel(logging.INFO)
    abc = pyabc.ABCSMC(partial(simulate_statistics, targets=targets), prior, partial(distance, targets), population_size=population, sampler=sampler)
    database = folder / "abc.db"
    if database.exists():
        abc.load(f"sqlite:///{database}", 1)  # resume the stored calibration
    else:
        abc.new(f"sqlite:///{database}", observed)
    history = abc.run(max_total_nr_simulations=budget, max_nr_populations=30, min_acceptance_rate=0.01)
    samples, weights = history.get_distribution()
    posterior = samples.rename(columns=_decode).reset_index(drop=True).assign(weight=np.asarray(weights) / np.sum(weights))
    posterior.to_csv(folder / "posterior.csv", index=False)
    populations = history.get_all_populations()
    record = {
        "method": f"ABC-SMC (pyabc {pyabc.__version__})",
        "targets": [target.id for target in targets.targets],
        "observed": observed,
        "prior": {path: {"uniform": list(bound)} for path, bound in bounds.items()},
        "budget": budget,
        "population": population,
        "simulations": int(history.total_nr_simulations),
        "generations": int(history.max_t) + 1,
        "epsilons": [float(value) for value in populations["epsilon"] if np.isfinite(value)],
        "effective_sample_size": float(1 / np.sum(posterior["weight"] ** 2)),
        "posterior_median": posterior_median(posterior),
        **provenance(),
    }
    (folder / "posterior_provenance.json").write_text(json.dumps(record, indent=2, default=str))
    write_calibrated_scenario(posterior, folder / "calibrated.toml")
    figure = plot_marginals(posterior, bounds)
    figure.savefig(folder / "marginals.png", dpi=110)
    plt.close(figure)
    return posterior


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][min(np.searchsorted(cumulative, q * cumulative[-1]), len(values) - 1)])


def posterior_median(posterior: pd.DataFrame) -> dict[str, float]:
    """Weighted median of every parameter column."""
    weights = posterior["weight"].to_numpy(float)
    return {column: weighted_quantile(posterior[column].to_numpy(float), weights, 0.5) for column in posterior.columns.drop("weight")}


def read_posterior(path: str | Path) -> pd.DataFrame:
    from sim import ScenarioError

    try:
        posterior = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise ScenarioError(f"{path}: cannot be read as a posterior ({error})".replace("\n", " ")) from None
    if "weight" not in posterior or len(posterior.columns) < 2:
        raise ScenarioError(f"{path}: a posterior needs a weight column and at least one parameter column")
    return posterior


def write_calibrated_scenario(posterior: pd.DataFrame, path: Path, extends: str = "baseline") -> None:
    """A scenario extending the baseline with the posterior medians."""
    lines = [f'extends = "{extends}"', 'description = "Baseline with calibrated parameters (ABC-SMC posterior medians)"', ""]
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
    figure, axes = plt.subplots(1, len(columns), figsize=(3.6 * len(columns), 3.0), constrained_layout=True, squeeze=False)
    medians = posterior_median(posterior)
    for axis, column in zip(axes[0], columns, strict=True):
        axis.hist(posterior[column], weights=posterior["weight"], bins=20, range=(bounds or {}).get(column), color="tab:blue", alpha=0.7)
        axis.axvline(medians[column], color="black", linestyle="--", label="median")
        axis.set(title=column.rpartition(".")[2], xlabel=column, yticks=[])
    axes[0][0].legend()
    figure.suptitle("ABC-SMC posterior marginals (uniform priors over the plotted range)")
    return figure


def plot_fit(results: pd.DataFrame, targets: TargetsFile):
    """Per target: observed interval with tolerance (grey) and simulated mean with its 5-95 % replicate interval."""
    figure, axes = plt.subplots(len(results), 1, figsize=(7, 1.1 * len(results) + 0.8), constrained_layout=True, squeeze=False)
    for axis, row, target in zip(axes[:, 0], results.itertuples(), targets.targets, strict=True):
        low, high = target.interval
        axis.axvspan(low, high, color="grey", alpha=0.3)
        axis.axvspan(*target.bounds, color="grey", alpha=0.5) if target.bounds[0] < target.bounds[1] else axis.axvline(target.bounds[0], color="grey")
        if np.isfinite(row.simulated):
            axis.errorbar(row.simulated, 0, xerr=[[row.simulated - row.sim_low], [row.sim_high - row.simulated]], fmt="o", color="tab:green" if row.passed else "tab:red", capsize=4)
        axis.set(yticks=[], ylabel=row.id, ylim=(-1, 1))
        axis.yaxis.label.set(rotation=0, ha="right", va="center")
    figure.suptitle("observed (grey; light: tolerance) vs simulated mean, 5-95 % over replicates", fontsize=10)
    return figure
