"""The main trajectories of a run as panels: together for result folders, singly in the dashboard.

Figures are ``matplotlib.figure.Figure`` objects, not pyplot's: nothing here chooses a backend
or keeps figures alive in a global registry; ``figure.savefig`` writes them directly.
"""

from __future__ import annotations

import hashlib
from functools import cache

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure

from experiments.analysis import BAND_MEASURES, undefined_as
from sim import list_scenarios
from sim.mechanisms import STAGES

# one colour per stage, everywhere, and each stage's name in words (sim.mechanisms.STAGES order)
STAGE_COLOURS = ("#c7c7c7", "#9ecae1", "#fdae6b", "#e6550d", "#31a354", "#bcbddc", "#756bb1")
STAGE_NAMES = (
    "not engaged",
    "exploring",
    "preparing",
    "implementing",
    "sustaining",
    "at a reduced level",
    "discontinued",
)
LEAST_MONTHS = 12  # a trajectory's time axis spans at least a year, so month 0 is not a dot
LEGEND_SIZE = 9  # points: legends stay readable on a projector
# One colour per scenario, everywhere: a shipped scenario takes the colour at its place in the
# shipped list (so baseline is blue and hands_on orange in every figure, whatever is compared
# with them); another scenario (a file) the colour its name hashes to among the last six.
SCENARIO_COLOURS = (  # the shipped scenarios in alphabetical order, then the others
    "#9467bd",  # adaptive
    "#1f77b4",  # baseline
    "#d62728",  # budget_cut
    "#17becf",  # calibrated
    "#2ca02c",  # coordinated
    "#8c564b",  # doer_heavy
    "#e377c2",  # facilitator_heavy
    "#6b6ecf",  # graduate_and_taper
    "#ff7f0e",  # hands_on
    "#b5cf6b",  # home_care_into_teams
    "#bcbd22",  # mandate_year3
    "#393b79",  # need_targeted
    "#637939",  # no_pandemic
    "#8c6d31",  # northern_boots_on_ground
    "#e7ba52",  # ontario_partners
    "#d6616b",  # phased_team_coaching
    "#843c39",  # readiness_targeted
    "#7b4173",  # withdraw_at_24
    "#3182bd",
    "#e6550d",
    "#31a354",
    "#756bb1",
    "#636363",
    "#a55194",
)
OTHER_COLOURS = 6  # the palette's last colours, for scenarios that are not shipped


def stages_panel(axis, system):
    axis.stackplot(
        system["month"],
        [system[f"stage_{stage}"] for stage in STAGES],
        labels=STAGE_NAMES,
        colors=STAGE_COLOURS,
    )
    axis.set(title="Organizations by stage", xlabel="month", ylabel="organizations")
    axis.legend(fontsize=LEGEND_SIZE, loc="upper left")
    months_axis(axis, system)


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
    axis.set(title="Process measures", xlabel="month", ylabel="share or index (0-1)", ylim=(0, 1))
    axis.legend(fontsize=LEGEND_SIZE)
    months_axis(axis, system)


def hours_panel(axis, system):
    twin_panel(
        axis,
        system,
        "TA hours and budget",
        left=(("ta_hours", "TA hours received"), ("provider_hours", "provider hours used")),
        right=(("spent", "spent ($)"), ("budget", "budget ($)")),
        units=("hours a month", "$ a month"),
        from_zero=True,
    )


def health_panel(axis, system):
    axis.plot(system["month"], system["admissions"], color="tab:red")
    axis.set(
        title="Avoidable emergency admissions", xlabel="month", ylabel="per 1,000 people a year"
    )
    readable_range(axis)
    months_axis(axis, system)


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
        units=("score (0-100)", "$ a person a year"),
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
    axis.set(title="Equity gaps", xlabel="month", ylabel="difference in adopting share")
    axis.legend(fontsize=LEGEND_SIZE)
    months_axis(axis, system)


PANELS = (stages_panel, process_panel, hours_panel, health_panel, experience_panel, equity_panel)


def months_axis(axis, system) -> None:
    """The time axis from month 0 to the last month drawn, at least ``LEAST_MONTHS`` long (one
    point at month 0 would otherwise span -0.04 to 0.04)."""
    axis.set_xlim(0, max(float(system["month"].max()), LEAST_MONTHS))


def twin_panel(axis, system, title, left, right, units, from_zero=False):
    """Lines on the left axis and, in black and grey, lines of another unit on a right axis,
    each axis labelled with its unit; both from 0 for amounts (``from_zero``), which cannot be
    negative (hours and dollars at 0 would otherwise sit mid-axis, between -0.04 and 0.04)."""
    for column, label in left:
        axis.plot(system["month"], system[column], label=label)
    other = axis.twinx()
    for (column, label), (colour, style) in zip(
        right, (("black", ":"), ("grey", "--")), strict=False
    ):
        other.plot(system["month"], system[column], color=colour, linestyle=style, label=label)
    axis.set(title=title, xlabel="month", ylabel=units[0])
    other.set_ylabel(units[1])
    axis.legend(fontsize=LEGEND_SIZE, loc="upper left")
    other.legend(fontsize=LEGEND_SIZE, loc="lower right")
    readable_range(axis)
    readable_range(other)
    if from_zero:
        for each in (axis, other):
            each.set_ylim(0, max(each.get_ylim()[1], 1.0))
    months_axis(axis, system)


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


@cache
def shipped_scenarios() -> tuple[str, ...]:
    """The shipped scenarios as this process first listed them: colours stay put for its life."""
    return tuple(list_scenarios())


def scenario_colour(name: str) -> str:
    """The colour of scenario ``name`` in every figure (SCENARIO_COLOURS)."""
    shipped = shipped_scenarios()
    if name in shipped and shipped.index(name) < len(SCENARIO_COLOURS) - OTHER_COLOURS:
        return SCENARIO_COLOURS[shipped.index(name)]
    place = int(hashlib.sha256(name.encode()).hexdigest(), 16) % OTHER_COLOURS
    return SCENARIO_COLOURS[len(SCENARIO_COLOURS) - OTHER_COLOURS + place]


# each what-if trajectory's title in words, with its unit (analysis.BAND_MEASURES)
BAND_TITLES = {
    "adoption": "Adoption (share of organizations)",
    "mean_F": "Mean fidelity (0-1)",
    "admissions": "Avoidable admissions (per 1,000 a year)",
    "per_capita_cost": "Per-capita cost ($ a year)",
}


def plot_bands(banded, reference: str | None = None, arms: list[str] | None = None):
    """Trajectories per arm with their 90 % bands over replicates (``analysis.bands``).

    Each arm in its scenario's colour (``scenario_colour``), legend in the order of ``arms``
    (default: alphabetical); the ``reference`` arm dashed, thicker and drawn last, on top, so
    an arm that overlaps it never hides it.
    """
    present = list(dict.fromkeys(banded["arm"]))
    arms = [arm for arm in (arms or sorted(present)) if arm in present]
    drawn = [arm for arm in arms if arm != reference] + [arm for arm in arms if arm == reference]
    groups = dict(tuple(banded.groupby("arm", sort=False)))
    figure = Figure(figsize=(12, 7), layout="constrained")
    axes = figure.subplots(2, 2)
    legend = {}
    for axis, column in zip(axes.ravel(), BAND_MEASURES, strict=True):
        lines = {}
        for arm in drawn:
            group, colour, on_top = groups[arm], scenario_colour(arm), arm == reference
            (lines[arm],) = axis.plot(
                group["month"],
                group[("mean", column)],
                color=colour,
                linestyle="--" if on_top else "-",
                linewidth=2.4 if on_top else 1.6,
                zorder=4 if on_top else 2,
                label=f"{arm} (reference)" if on_top else arm,
            )
            axis.fill_between(
                group["month"],
                group[("low", column)],
                group[("high", column)],
                color=colour,
                alpha=0.12 if on_top else 0.2,
                linewidth=0,
                zorder=3 if on_top else 1,
            )
        axis.set(title=BAND_TITLES[column], xlabel="month")
        legend = legend or lines
    axes[0, 0].legend(handles=[legend[arm] for arm in arms], fontsize=8)
    figure.suptitle("Mean over replicates; shaded: 90 % of simulated runs", fontsize=10)
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


def value_text(value: float) -> str:
    """A cell's value in few characters: 0.0146, 31.5, 12,400."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def sweep_cells(sweep: pd.DataFrame, x: str, y: str, measure: str) -> pd.DataFrame | None:
    """A sweep's ``measure`` at its (``x``, ``y``) grid points: one cell per pair of values run.

    Rows are the ``y`` values, columns the ``x`` values, both as run (no values between them);
    a cell is the mean over the sweep's rows at that point (over any other varied parameter),
    NaN where the measure is undefined there (a level never reached). None when the points are
    no grid (a Latin hypercube, a sweep cut short): some pair of values was never run together.
    """
    runs = sweep.groupby([y, x]).size()
    xs, ys = sorted(sweep[x].unique()), sorted(sweep[y].unique())
    if len(runs) < len(xs) * len(ys):
        return None
    means = sweep.groupby([y, x])[measure].mean().unstack(x)
    return means.reindex(index=ys, columns=xs)


def plot_sweep_cells(sweep: pd.DataFrame, paths: list[str], measure: str) -> Figure:
    """``measure`` over a sweep's first two varied parameters, or against its one.

    A grid (``sweep_cells``) is drawn as cells, one per point that was run, each labelled with
    its value, its axes with the values run; other points as dots coloured by the value; a
    point where the measure is undefined says so in words (``undefined_as``), never NaN.
    """
    figure = Figure(figsize=(7.5, 5.5), layout="constrained")
    axis = figure.subplots()
    label, undefined = measure.replace("_", " "), undefined_as(measure)
    if len(paths) == 1:
        means = sweep.groupby(paths[0])[measure].mean()
        axis.plot(means.index, means.to_numpy(), marker="o")
        for value in means.index[means.isna()]:
            axis.annotate(
                undefined,
                (value, 0),
                xycoords=("data", "axes fraction"),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                fontsize=8,
            )
        axis.set(xlabel=paths[0], ylabel=label)
        return figure
    x, y = paths[0], paths[1]
    others = f" (mean over {', '.join(paths[2:])})" if len(paths) > 2 else ""
    cells = sweep_cells(sweep, x, y, measure)
    if cells is None:
        known, unknown = sweep[sweep[measure].notna()], sweep[sweep[measure].isna()]
        if len(known):
            image = axis.scatter(known[x], known[y], c=known[measure], s=60)
            figure.colorbar(image, label=label)
        if len(unknown):
            axis.scatter(unknown[x], unknown[y], marker="x", color="grey", label=undefined)
            axis.legend(fontsize=8)
        axis.set(xlabel=x, ylabel=y, title=f"{label} at each point run{others}")
        return figure
    values = cells.to_numpy(dtype=float)
    image = axis.imshow(
        np.ma.masked_invalid(values),
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        cmap=colormaps["viridis"].with_extremes(bad="#e0e0e0"),
    )
    figure.colorbar(image, label=label)
    for (row, column), value in np.ndenumerate(values):
        shade = image.norm(value) if np.isfinite(value) else 1.0
        axis.text(
            column,
            row,
            value_text(value) if np.isfinite(value) else undefined,
            ha="center",
            va="center",
            fontsize=8,
            color="white" if shade < 0.5 else "black",
        )
    axis.set(
        xticks=range(len(cells.columns)),
        xticklabels=[f"{value:g}" for value in cells.columns],
        yticks=range(len(cells.index)),
        yticklabels=[f"{value:g}" for value in cells.index],
        xlabel=x,
        ylabel=y,
        title=f"{label} at each grid point run{others}",
    )
    return figure


def plot_ceac(curves: pd.DataFrame) -> Figure:
    """Cost-effectiveness acceptability curves: per arm, the probability its extra cost per
    avoided admission is worth paying, against what one is willing to pay for one."""
    figure = Figure(figsize=(7, 4.2))
    axis = figure.subplots()
    for arm, curve in curves.groupby("arm", sort=False):
        axis.plot(
            curve["willingness_to_pay"] / 1000,
            curve["probability_cost_effective"],
            color=scenario_colour(arm),
            label=arm,
        )
    axis.set_xlabel("willingness to pay per avoided admission ($ thousand)")
    axis.set_ylabel("probability cost-effective")
    axis.set_ylim(-0.02, 1.02)
    axis.legend(frameon=False)
    axis.set_title("Cost-effectiveness acceptability against the reference", loc="left")
    figure.tight_layout()
    return figure
