"""The main trajectories of a run as panels: together for result folders, singly in the dashboard.

Figures are ``matplotlib.figure.Figure`` objects, not pyplot's: nothing here chooses a backend
or keeps figures alive in a global registry; ``figure.savefig`` writes them directly.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from experiments.analysis import BAND_MEASURES
from sim.mechanisms import STAGES

# one colour per stage, everywhere
STAGE_COLOURS = ("#c7c7c7", "#9ecae1", "#fdae6b", "#e6550d", "#31a354", "#756bb1")


def stages_panel(axis, system):
    axis.stackplot(
        system["month"],
        [system[f"stage_{stage}"] for stage in STAGES],
        labels=STAGES,
        colors=STAGE_COLOURS,
    )
    axis.set(title="Organizations by stage", xlabel="month", ylabel="organizations")
    axis.legend(fontsize=7, loc="upper left")


def process_panel(axis, system):
    for column, label in (
        ("adoption", "adoption"),
        ("mean_F", "fidelity"),
        ("mean_P", "penetration"),
        ("mean_S", "specific capacity"),
    ):
        axis.plot(system["month"], system[column], label=label)
    axis.fill_between(
        system["month"], system["p10_F"], system["p90_F"], alpha=0.2, label="fidelity p10-p90"
    )
    axis.set(title="Process measures", xlabel="month", ylim=(0, 1))
    axis.legend(fontsize=7)


def hours_panel(axis, system):
    twin_panel(
        axis,
        system,
        "TA hours and budget",
        left=(("ta_hours", "TA hours received"), ("provider_hours", "provider hours used")),
        right=(("spent", "spent ($)"), ("budget", "budget ($)")),
    )


def health_panel(axis, system):
    axis.plot(system["month"], system["admissions"], color="tab:red")
    axis.set(title="Avoidable emergency admissions per 1,000/yr", xlabel="month")
    readable_range(axis)


def experience_panel(axis, system):
    twin_panel(
        axis,
        system,
        "Experience and per-capita cost",
        left=(
            ("patient_experience", "patient experience"),
            ("provider_experience", "provider experience"),
        ),
        right=(("per_capita_cost", "per-capita cost ($)"),),
    )


def equity_panel(axis, system):
    axis.plot(
        system["month"], system["gap_adoption_region"], label="adoption: urban - rural/northern"
    )
    axis.plot(
        system["month"],
        system["gap_adoption_capacity"],
        label="adoption: top - bottom capacity quintile",
    )
    axis.axhline(0, color="grey", linewidth=0.5)
    axis.set(title="Equity gaps", xlabel="month")
    axis.legend(fontsize=7)


PANELS = (stages_panel, process_panel, hours_panel, health_panel, experience_panel, equity_panel)


def twin_panel(axis, system, title, left, right):
    """Lines on the left axis and, in black and grey, lines of another unit on a right axis."""
    for column, label in left:
        axis.plot(system["month"], system[column], label=label)
    other = axis.twinx()
    for (column, label), (colour, style) in zip(
        right, (("black", ":"), ("grey", "--")), strict=False
    ):
        other.plot(system["month"], system[column], color=colour, linestyle=style, label=label)
    axis.set(title=title, xlabel="month")
    axis.legend(fontsize=7, loc="upper left")
    other.legend(fontsize=7, loc="lower right")
    readable_range(axis)
    readable_range(other)


def readable_range(axis, least_share: float = 0.01) -> None:
    """Widen a nearly flat y-axis to at least ``least_share`` of its level.

    Outcomes move little in the first years; without this, matplotlib zooms into a drift of
    1e-5 and labels it with an offset and six decimals, which reads as a collapse.
    """
    low, high = axis.get_ylim()
    least = least_share * max(abs(low), abs(high))
    if high - low < least:
        centre = (low + high) / 2
        axis.set_ylim(centre - least / 2, centre + least / 2)


def plot_trajectories(system, title: str):
    """Adoption by stage, fidelity, outcomes, TA hours and budget, equity: the main trajectories."""
    figure = Figure(figsize=(15, 8), layout="constrained")
    axes = figure.subplots(2, 3)
    for panel, axis in zip(PANELS, axes.ravel(), strict=True):
        panel(axis, system)
    figure.suptitle(title)
    return figure


def plot_bands(banded):
    """Trajectories per arm with their 90 % bands over replicates (``analysis.bands``)."""
    figure = Figure(figsize=(12, 7), layout="constrained")
    axes = figure.subplots(2, 2)
    for axis, column in zip(axes.ravel(), BAND_MEASURES, strict=True):
        for arm, group in banded.groupby("arm", sort=False):
            axis.plot(group["month"], group[("mean", column)], label=arm)
            axis.fill_between(
                group["month"], group[("low", column)], group[("high", column)], alpha=0.2
            )
        axis.set(title=column, xlabel="month")
    axes[0, 0].legend(fontsize=8)
    return figure


def plot_sweep(summaries, paths: list[str], measure: str, grid: bool):
    """A measure against each varied parameter: a dot per run, with a factorial ``grid`` the
    mean per value as a line (a Latin hypercube has one value per point)."""
    figure = Figure(figsize=(5 * len(paths), 4), layout="constrained")
    axes = figure.subplots(1, len(paths), squeeze=False)
    for axis, path in zip(axes[0], paths, strict=True):
        axis.scatter(summaries[path], summaries[measure], alpha=0.35, s=12)
        means = summaries.groupby(path)[measure].mean()
        if grid:
            axis.plot(means.index, means.to_numpy(), color="black", marker="o")
        axis.set(xlabel=path, ylabel=measure.replace("_", " "))
    return figure
