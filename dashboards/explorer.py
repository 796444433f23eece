"""Sensitivity explorer: browse a stored sensitivity analysis (indices) or sweep (surface)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import solara
from matplotlib.figure import Figure

from dashboards.images import figure_png
from experiments.sensitivity import plot_indices

folder = solara.reactive("results/")


def sweep_surface(sweep: pd.DataFrame) -> Figure:
    """Mean final adoption over the first two varied parameters (or against one)."""
    varied = [column for column in sweep.columns if "." in column]
    figure = Figure(figsize=(7, 5), layout="constrained")
    axis = figure.subplots()
    if len(varied) >= 2:
        surface = sweep.pivot_table(index=varied[1], columns=varied[0], values="final_adoption")
        image = axis.imshow(
            surface.to_numpy(),
            origin="lower",
            aspect="auto",
            extent=(
                surface.columns.min(),
                surface.columns.max(),
                surface.index.min(),
                surface.index.max(),
            ),
        )
        figure.colorbar(image, label="final adoption")
        axis.set(xlabel=varied[0], ylabel=varied[1])
    else:
        axis.plot(sweep[varied[0]], sweep["final_adoption"], marker="o")
        axis.set(xlabel=varied[0], ylabel="final adoption")
    return figure


@solara.component
def Explorer():
    solara.Title("Sensitivity explorer")
    with solara.Card("Load a stored experiment folder (from tasim sensitivity or tasim sweep)"):
        solara.InputText("Folder", value=folder)
    path = Path(folder.value)
    if (path / "indices.csv").exists():
        indices = pd.read_csv(path / "indices.csv")
        method = "sobol" if "ST" in indices else "morris"
        solara.Image(figure_png(plot_indices(indices, method, f"{method} indices")))
        solara.DataFrame(indices.round(4))
        if (path / "convergence.csv").exists():
            solara.Text(
                "Convergence: total-order indices from the whole design and its first half."
            )
            solara.DataFrame(pd.read_csv(path / "convergence.csv").round(4))
    elif (path / "sweep.csv").exists():
        sweep = pd.read_csv(path / "sweep.csv")
        solara.Image(figure_png(sweep_surface(sweep)))
        solara.DataFrame(sweep.round(4))
    else:
        solara.Info(
            "No indices.csv or sweep.csv in that folder yet: run `tasim sensitivity --out DIR` "
            "or `tasim sweep ... --out DIR` and enter DIR."
        )
