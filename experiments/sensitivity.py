"""Global sensitivity analysis with SALib: Morris screening and Sobol indices over parameter ranges.

The ranges are the allowed ranges of ``sim/params.py``. The stochastic model enters as the
mean over replicates with common random numbers (anchor-sa-calibration.md 1.3); the
convergence check compares indices from the first half of the Sobol design with the whole
(power-of-2 prefixes of a Sobol design are designs themselves, anchor-sa-calibration.md 1.6).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from SALib import ProblemSpec  # noqa: E402
from SALib.analyze import morris as morris_analysis  # noqa: E402
from SALib.analyze import sobol as sobol_analysis  # noqa: E402

from sim import ScenarioError, load_scenario, parameter_info  # noqa: E402

# A documented default subset: the levers and rule constants the dose-response hinges on.
DEFAULT_PARAMETERS = (
    "funder.dosage_hours",
    "funder.budget_per_month",
    "mechanisms.half_saturation",
    "mechanisms.hill",
    "mechanisms.capacity_rate",
    "mechanisms.caseload_penalty",
    "mechanisms.trust_build",
    "mechanisms.imitation_q",
    "mechanisms.absorption_adoption",
    "mechanisms.learning_rate",
    "mechanisms.overload_threshold",
    "mechanisms.specific_decay",
)
SAMPLE_SEED = 1
ANALYSIS_SEED = 2


def problem(paths: list[str], scenario: str = "baseline") -> ProblemSpec:
    """A SALib problem over the parameters' allowed ranges (unknown or non-numeric paths are refused)."""
    resolved = load_scenario(scenario)
    bounds = []
    for path in paths:
        info = parameter_info(resolved, path)
        if info.low is None or isinstance(info.value, bool):
            raise ScenarioError(f"{path}: not a numeric parameter with a range")
        bounds.append([info.low, info.high])
    return ProblemSpec({"names": list(paths), "bounds": bounds, "outputs": ["Y"]})


def sample(spec: ProblemSpec, method: str, base_samples: int, second_order: bool = False) -> np.ndarray:
    if method == "sobol":
        if base_samples < 2 or base_samples & (base_samples - 1):
            raise ScenarioError(f"--samples: must be a power of 2 for Sobol (got {base_samples})")
        spec.sample_sobol(base_samples, calc_second_order=second_order, seed=SAMPLE_SEED)
    elif method == "morris":
        spec.sample_morris(base_samples, num_levels=4, seed=SAMPLE_SEED)
    else:
        raise ScenarioError(f"--method {method}: must be morris or sobol")
    return spec.samples


def overrides(spec: ProblemSpec, row: np.ndarray, scenario: str = "baseline") -> dict:
    """A sample row as scenario overrides (integer parameters rounded)."""
    resolved = load_scenario(scenario)
    values = {}
    for path, value in zip(spec["names"], row, strict=True):
        values[path] = int(round(value)) if isinstance(parameter_info(resolved, path).value, int) else float(value)
    return values


def analyze(spec: ProblemSpec, method: str, samples: np.ndarray, outputs: np.ndarray, second_order: bool = False) -> pd.DataFrame:
    """Indices with bootstrap confidence half-widths, one row per parameter; outputs in design order."""
    names = list(spec["names"])
    definition = {"names": names, "bounds": spec["bounds"], "num_vars": len(names)}
    outputs = np.asarray(outputs, float)
    if method == "sobol":
        result = sobol_analysis.analyze(definition, outputs, calc_second_order=second_order, num_resamples=200, conf_level=0.95, seed=ANALYSIS_SEED)
        return pd.DataFrame({"parameter": names, "S1": result["S1"], "S1_conf": result["S1_conf"], "ST": result["ST"], "ST_conf": result["ST_conf"]})
    result = morris_analysis.analyze(definition, samples, outputs, num_resamples=200, conf_level=0.95, num_levels=4, seed=ANALYSIS_SEED)
    return pd.DataFrame({"parameter": names, "mu_star": result["mu_star"], "mu_star_conf": result["mu_star_conf"], "sigma": result["sigma"]})


def convergence(spec: ProblemSpec, samples: np.ndarray, outputs: np.ndarray, base_samples: int, second_order: bool = False) -> pd.DataFrame:
    """Sobol ST from the first half of the design next to ST from the whole design."""
    half = len(outputs) // 2  # the first N/2 base points' blocks form an N/2 design
    whole = analyze(spec, "sobol", samples, outputs, second_order)
    part = analyze(spec, "sobol", samples[:half], outputs[:half], second_order)
    return pd.DataFrame({"parameter": whole["parameter"], f"ST_N{base_samples}": whole["ST"], f"ST_N{base_samples // 2}": part["ST"], "difference": whole["ST"] - part["ST"]})


def second_order_indices(spec: ProblemSpec, outputs: np.ndarray) -> pd.DataFrame:
    """S2 for every pair of parameters (a design sampled with second order)."""
    names = list(spec["names"])
    result = sobol_analysis.analyze({"names": names, "bounds": spec["bounds"], "num_vars": len(names)}, np.asarray(outputs, float), calc_second_order=True, num_resamples=200, conf_level=0.95, seed=ANALYSIS_SEED)
    rows = [{"first": names[i], "second": names[j], "S2": result["S2"][i, j], "S2_conf": result["S2_conf"][i, j]} for i in range(len(names)) for j in range(i + 1, len(names))]
    return pd.DataFrame(rows)


def plot_indices(indices: pd.DataFrame, method: str, title: str):
    """Bar chart of the indices with their confidence whiskers."""
    figure, axis = plt.subplots(figsize=(9, 0.45 * len(indices) + 1.5), constrained_layout=True)
    positions = np.arange(len(indices))
    if method == "sobol":
        axis.barh(positions - 0.2, indices["S1"], 0.4, xerr=indices["S1_conf"], label="S1", capsize=3)
        axis.barh(positions + 0.2, indices["ST"], 0.4, xerr=indices["ST_conf"], label="ST", capsize=3)
    else:
        axis.barh(positions, indices["mu_star"], 0.6, xerr=indices["mu_star_conf"], label="mu*", capsize=3)
    axis.set_yticks(positions, indices["parameter"])
    axis.invert_yaxis()
    axis.set(title=title)
    axis.legend()
    return figure
