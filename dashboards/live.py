"""Live model page: Mesa's SolaraViz over the model, with the policymaker's levers.

Every step re-renders the page, so the figures are cheap to redraw: each is drawn once per model
and month (re-renders that are no step reuse the image), with fixed margins instead of a layout
engine, and the stage view is built once per model and only has its colours or bar lengths moved.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import solara
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from mesa.visualization import SolaraViz
from mesa.visualization.utils import update_counter

from dashboards.levers import LEVERS, DashboardModel
from experiments.figures import PANELS, STAGE_COLOURS
from sim.mechanisms import STAGES

NETWORK_VIEW_LIMIT = 300  # above this many organizations the network is shown per team
STAGE_RGBA = to_rgba_array(STAGE_COLOURS)
FAST_PNG = {"compress_level": 1}  # a tenth more bytes, a seventh less time per figure
PANEL_MARGINS = {
    "left": 0.11,
    "right": 0.87,
    "bottom": 0.12,
    "top": 0.87,
}  # room for a right-hand axis and an offset above


@solara.component
def Status(model):
    """Month, the numbers the levers move first, any message about the levers (no traceback)."""
    update_counter.get()
    if model.input_error:
        solara.Warning(
            f"These settings are not allowed: {model.input_error}. Showing the scenario as shipped."
        )
    solara.HTML(
        tag="div",
        unsafe_innerHTML=(
            f"<b>{model.scenario_name}</b> · month <b>{model.steps}</b> of "
            f"{model.scenario.months} · {model.n_orgs} organizations<br>"
            f"adoption <b id='adoption'>{model.adopting.mean():.1%}</b> · "
            f"TA hours this month <b id='ta-hours'>{model.H.sum():,.0f}</b> · "
            f"spent <b id='spent'>${model.month_flows['spent']:,.0f}</b> of a "
            f"<b id='budget'>${model.funder.budget:,.0f}</b> monthly budget<br>"
            "<small>Moved levers apply when you press Reset.</small>"
        ),
    )


def show_monthly(model, draw) -> None:
    """Show the figure ``draw()`` returns, drawn and encoded once per model and month."""
    month = [model, model.steps]
    solara.FigureMatplotlib(
        solara.use_memo(draw, month), dependencies=month, format="png", pil_kwargs=FAST_PNG
    )


class NetworkStages:
    """Organizations as network nodes coloured by stage; a month only changes the colours."""

    def __init__(self, model, axis):
        self.model = model
        layout = nx.spring_layout(model.grid.G, seed=0)
        nx.draw_networkx_edges(model.grid.G, layout, ax=axis, alpha=0.15)
        self.nodes = nx.draw_networkx_nodes(
            model.grid.G, layout, ax=axis, node_size=25, node_color=STAGE_RGBA[model.stage]
        )
        axis.set_title("Organizations by stage (network)")
        axis.axis("off")

    def update(self) -> None:
        self.nodes.set_facecolor(STAGE_RGBA[self.model.stage])


class TeamStages:
    """Stage shares per team as stacked bars, by cohort then progress; a month only moves the bars.

    Each stage's bars are one polygon collection: half the drawing time of a bar per team and stage.
    """

    def __init__(self, model, axis):
        self.model = model
        self.rows = np.arange(len(model.teams.size))
        self.stacks = [
            axis.add_collection(PolyCollection([], facecolors=colour, label=stage))
            for colour, stage in zip(STAGE_COLOURS, STAGES, strict=True)
        ]
        axis.set(
            title="Stage shares per team (by cohort)",
            xlabel="share of members",
            ylabel="team",
            xlim=(0, 1),
            ylim=(-0.5, len(self.rows) - 0.5),
        )
        axis.legend(fontsize=7, loc="lower right")

    def update(self) -> None:
        model = self.model
        shares = np.stack(
            [model.team_average(model.stage == code) for code in range(len(STAGES))], axis=1
        )
        order = np.lexsort((-shares[:, 2:5].sum(axis=1), model.teams.cohort))
        rights = np.cumsum(shares[order], axis=1)
        lefts = rights - shares[order]
        bottom, top = self.rows - 0.5, self.rows + 0.5
        for code, stack in enumerate(self.stacks):
            left, right = lefts[:, code], rights[:, code]
            stack.set_verts(
                np.stack(
                    [
                        np.column_stack(corner)
                        for corner in ((left, bottom), (right, bottom), (right, top), (left, top))
                    ],
                    axis=1,
                )
            )


def stage_view(model) -> tuple[Figure, NetworkStages | TeamStages]:
    """The stage view's figure, laid out once: its labels never change while the model runs."""
    figure = Figure(figsize=(7, 5))
    view = (NetworkStages if model.n_orgs <= NETWORK_VIEW_LIMIT else TeamStages)(
        model, figure.subplots()
    )
    figure.tight_layout()
    return figure, view


@solara.component
def SystemView(model):
    """Organizations coloured by stage: the network when small, else stage shares per team."""
    update_counter.get()
    figure, view = solara.use_memo(lambda: stage_view(model), [model])

    def draw():
        view.update()
        return figure

    show_monthly(model, draw)


def panel_figure(panel, system) -> Figure:
    """One trajectory panel with fixed margins (a layout engine adds half to the drawing time)."""
    figure = Figure(figsize=(6.5, 4))
    panel(figure.subplots(gridspec_kw=PANEL_MARGINS), system)
    return figure


def panel_component(panel):
    """A dashboard component drawing one trajectory panel of the run so far."""

    @solara.component
    def Panel(model):
        update_counter.get()
        show_monthly(model, lambda: panel_figure(panel, model.system_frame()))

    Panel.__name__ = panel.__name__
    return Panel


COMPONENTS = [Status, SystemView, *(panel_component(panel) for panel in PANELS)]


@solara.component
def LiveModel():
    model = solara.use_memo(DashboardModel, [])
    SolaraViz(
        model,
        components=[(component, 0) for component in COMPONENTS],
        model_params=LEVERS,
        name="Live model",
        play_interval=200,
    )
