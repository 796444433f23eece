"""Live model page: Mesa's SolaraViz over the model, with the policymaker's levers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
import solara  # noqa: E402
from mesa.visualization import SolaraViz  # noqa: E402
from mesa.visualization.utils import update_counter  # noqa: E402

from dashboards.levers import LEVERS, DashboardModel  # noqa: E402
from experiments.figures import PANELS, STAGE_COLOURS  # noqa: E402
from sim.mechanisms import STAGES  # noqa: E402

NETWORK_VIEW_LIMIT = 300  # above this many organizations the network is shown per team


@solara.component
def Status(model):
    """Month, adoption and any message about the levers (never a traceback)."""
    update_counter.get()
    if model.input_error:
        solara.Warning(f"These settings are not allowed: {model.input_error}. Showing the scenario as shipped.")
    adoption = model.adopting.mean()
    solara.HTML(tag="div", unsafe_innerHTML=f"<b>{model.scenario_name}</b> · month <b>{model.steps}</b> of {model.params.months} · {model.n_orgs} organizations · adoption <b id='adoption'>{adoption:.1%}</b> · TA hours this month <b>{model.H.sum():,.0f}</b>")


@solara.component
def SystemView(model):
    """Organizations coloured by stage: the network when small, else stage shares per team."""
    update_counter.get()
    small = model.n_orgs <= NETWORK_VIEW_LIMIT
    layout = solara.use_memo(lambda: nx.spring_layout(model.grid.G, seed=0) if small else None, [model])
    figure, axis = plt.subplots(figsize=(7, 5))
    colours = np.array(STAGE_COLOURS)
    if small:
        nx.draw_networkx_edges(model.grid.G, layout, ax=axis, alpha=0.15)
        nx.draw_networkx_nodes(model.grid.G, layout, ax=axis, node_size=25, node_color=colours[model.stage].tolist())
        axis.set_title("Organizations by stage (network)")
        axis.axis("off")
    else:
        shares = np.stack([np.bincount(model.org_team, weights=(model.stage == code), minlength=len(model.teams.size)) / model.teams.size for code in range(len(STAGES))], axis=1)
        order = np.lexsort((-shares[:, 2:5].sum(axis=1), model.teams.cohort))
        left = np.zeros(len(order))
        for code, stage in enumerate(STAGES):
            axis.barh(np.arange(len(order)), shares[order, code], left=left, color=STAGE_COLOURS[code], label=stage, height=1.0)
            left += shares[order, code]
        axis.set(title="Stage shares per team (by cohort)", xlabel="share of members", ylabel="team", xlim=(0, 1))
        axis.legend(fontsize=7, loc="lower right")
    solara.FigureMatplotlib(figure, format="png", bbox_inches="tight")
    plt.close(figure)


def panel_component(panel):
    """A dashboard component drawing one trajectory panel of the run so far."""

    @solara.component
    def Panel(model):
        update_counter.get()
        figure, axis = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
        panel(axis, model.system_frame())
        solara.FigureMatplotlib(figure, format="png")
        plt.close(figure)

    Panel.__name__ = panel.__name__
    return Panel


COMPONENTS = [Status, SystemView, *(panel_component(panel) for panel in PANELS)]


@solara.component
def LiveModel():
    model = solara.use_memo(DashboardModel, [])
    SolaraViz(model, components=[(component, 0) for component in COMPONENTS], model_params=LEVERS, name="Live model", play_interval=200)
