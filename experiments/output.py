"""Writing one run's results: Parquet series, manifest with provenance, summary, figure; all or nothing."""

from __future__ import annotations

import json
import shutil
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from experiments.provenance import provenance  # noqa: E402
from sim.mechanisms import STAGES  # noqa: E402
from sim.model import RunResult  # noqa: E402


@contextmanager
def atomic_folder(destination: Path):
    """Yield a temporary sibling folder that becomes ``destination`` only if the block completes.

    An exception or Ctrl-C removes the temporary folder, so no half-written result exists.
    """
    if destination.exists():
        raise FileExistsError(f"{destination}: already exists; choose another --out")
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        staging.rename(destination)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def manifest(result: RunResult, months: int, started: str, finished: str, wall_seconds: float) -> dict:
    """Everything needed to reproduce the run: the resolved scenario, seed, horizon, code and packages."""
    return {
        "scenario": result.scenario.model_dump(mode="json"),
        "seed": result.seed,
        "months": months,
        "started": started,
        "finished": finished,
        "wall_seconds": round(wall_seconds, 4),
        **provenance(),
    }


def write_run(result: RunResult, destination: Path, run_manifest: dict) -> Path:
    """Write system.parquet, teams.parquet, summary.json, manifest.json and trajectories.png atomically."""
    with atomic_folder(destination) as folder:
        result.system.to_parquet(folder / "system.parquet", index=False)
        result.teams.to_parquet(folder / "teams.parquet", index=False)
        (folder / "summary.json").write_text(json.dumps(result.summary, indent=2))
        (folder / "manifest.json").write_text(json.dumps(run_manifest, indent=2))
        plot_trajectories(result.system, f"{result.scenario.name} (seed {result.seed})").savefig(folder / "trajectories.png", dpi=110)
        plt.close("all")
    return destination


def plot_trajectories(system, title: str):
    """Adoption by stage, fidelity, outcomes, TA hours and budget, equity: the main trajectories."""
    month = system["month"]
    figure, axes = plt.subplots(2, 3, figsize=(15, 8), constrained_layout=True)
    stages = axes[0, 0]
    stages.stackplot(month, [system[f"stage_{stage}"] for stage in STAGES], labels=STAGES)
    stages.set(title="Organizations by stage", xlabel="month", ylabel="organizations")
    stages.legend(fontsize=7, loc="upper left")
    process = axes[0, 1]
    for column, label in (("adoption", "adoption"), ("mean_F", "fidelity"), ("mean_P", "penetration"), ("mean_S", "specific capacity")):
        process.plot(month, system[column], label=label)
    process.fill_between(month, system["p10_F"], system["p90_F"], alpha=0.2, label="fidelity p10-p90")
    process.set(title="Process measures", xlabel="month", ylim=(0, 1))
    process.legend(fontsize=7)
    twin_panel(axes[0, 2], system, "TA hours and budget", left=(("ta_hours", "TA hours received"), ("provider_hours", "provider hours used")), right=(("spent", "spent ($)"), ("budget", "budget ($)")))
    health = axes[1, 0]
    health.plot(month, system["admissions"], color="tab:red")
    health.set(title="Avoidable emergency admissions per 1,000/yr", xlabel="month")
    twin_panel(axes[1, 1], system, "Experience and per-capita cost", left=(("patient_experience", "patient experience"), ("provider_experience", "provider experience")), right=(("per_capita_cost", "per-capita cost ($)"),))
    equity = axes[1, 2]
    equity.plot(month, system["gap_adoption_region"], label="adoption: urban - rural/northern")
    equity.plot(month, system["gap_adoption_capacity"], label="adoption: top - bottom capacity quintile")
    equity.axhline(0, color="grey", linewidth=0.5)
    equity.set(title="Equity gaps", xlabel="month")
    equity.legend(fontsize=7)
    figure.suptitle(title)
    return figure


def twin_panel(axis, system, title, left, right):
    """Lines on the left axis and, in black and grey, lines of another unit on a right axis."""
    for column, label in left:
        axis.plot(system["month"], system[column], label=label)
    other = axis.twinx()
    for (column, label), (colour, style) in zip(right, (("black", ":"), ("grey", "--")), strict=False):
        other.plot(system["month"], system[column], color=colour, linestyle=style, label=label)
    axis.set(title=title, xlabel="month")
    axis.legend(fontsize=7, loc="upper left")
    other.legend(fontsize=7, loc="lower right")
