"""Live model page: the picked scenario run month by month, with the policymaker's levers.

Picking a scenario builds it and sets every lever to its values; only the levers moved from there
apply as overrides (``dashboards.levers``). The run plays on a thread of the page's own, which
stops at the scenario's last month, on pause, Reset, another pick, leaving the page, and when the
browser tab closes or loses its connection (``play``).

Every step re-renders the page, so the figures are cheap to redraw: each is drawn once per model
and month (re-renders that are no step reuse the image), with fixed margins instead of a layout
engine, and the stage view is built once per model and only has its colours or bar lengths moved.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from html import escape

import networkx as nx
import numpy as np
import solara
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from mesa.visualization import Slider
from mesa.visualization.solara_viz import UserInputs
from mesa.visualization.utils import force_update, update_counter

from dashboards.levers import (
    SCENARIOS,
    DashboardModel,
    is_slider,
    lever_notes,
    lever_values,
    number,
    run_settings,
    scenario_levers,
    schedule_notes,
    shipped,
    shown_value,
)
from experiments.figures import LEGEND_SIZE, PANELS, STAGE_COLOURS, STAGE_NAMES
from sim import ScenarioError
from sim.mechanisms import STAGES

PLAY_INTERVAL = 50  # ms between redraws while playing
LEVER_VALUE_STYLE = {"display": "block", "text-align": "right", "margin-top": "-14px"}
CHOICE_NOTE_STYLE = {"display": "block", "font-size": "0.85em", "margin": "-18px 0 12px 0"}
RENDER_MONTHS = 6  # months between redraws while playing: ten years play in about 13 s
DISCONNECT_GRACE = 2.0  # seconds a page may be without its connection before its run pauses
NETWORK_VIEW_LIMIT = 300  # above this many organizations the network is shown per team
logger = logging.getLogger(__name__)
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
    """Month, the numbers the levers move first, what differs from the scenario and what the
    scenario will change when; any message about the levers (no traceback)."""
    update_counter.get()
    if model.input_error:
        solara.Warning(
            f"These settings are not allowed: {model.input_error}. Showing the scenario as shipped."
        )
    solara.HTML(tag="div", unsafe_innerHTML=status_html(model))


def status_html(model) -> str:
    months = model.scenario.months
    ended = (
        f"<br><b id='finished'>The run is complete: all {months} months.</b> "
        "Press Reset to run it again."
        if model.steps >= months
        else ""
    )
    return (
        f"<b id='scenario' data-run='{id(model):x}'>{escape(model.scenario_name)}</b> · month "
        f"<b>{model.steps}</b> of "
        f"{months} · {model.n_orgs} organizations<br>"
        f"adoption <b id='adoption'>{model.adopting.mean():.1%}</b> · "
        f"TA hours this month <b id='ta-hours'>{model.H.sum():,.0f}</b> · "
        f"spent <b id='spent'>${model.month_flows['spent']:,.0f}</b> of a "
        f"<b id='budget'>${model.funder.budget:,.0f}</b> monthly budget{ended}<br>"
        f"<small>This run: <span id='settings'>{escape(run_settings(model))}</span></small>"
        f"{notes_html(model)}"
        "<small>Moved levers apply when you press Reset.</small>"
    )


def notes_html(model) -> str:
    """What this run changes from the scenario, and the scenario's schedule, as short lists."""
    changed = lever_notes(model)
    lines = "".join(f"<li>{escape(note)}</li>" for note in changed)
    differ = (
        f"<div id='lever-notes'>Levers that differ from the scenario:<ul>{lines}</ul></div>"
        if changed
        else "<div id='lever-notes'>Every lever is at the scenario's value.</div>"
    )
    scheduled = ""
    if notes := schedule_notes(model):
        items = "".join(
            f"<li>{escape(note.text)}"
            + (" <i>(applied)</i>" if note.month <= model.steps else "")
            + (f" <b class='replaces'>{escape(note.replaces)}</b>" if note.replaces else "")
            + "</li>"
            for note in notes
        )
        scheduled = f"<div id='schedule'>Scheduled by the scenario:<ul>{items}</ul></div>"
    return f"<div style='margin-top: 0.5em'>{differ}{scheduled}</div>"


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
        axis.legend(
            handles=[
                Patch(color=colour, label=name)
                for colour, name in zip(STAGE_COLOURS, STAGE_NAMES, strict=True)
            ],
            fontsize=LEGEND_SIZE,
            loc="lower right",
        )

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
            axis.add_collection(PolyCollection([], facecolors=colour, label=name))
            for colour, name in zip(STAGE_COLOURS, STAGE_NAMES, strict=True)
        ]
        axis.set(
            title="Stage shares per team (by cohort)",
            xlabel="share of members",
            ylabel="team",
            xlim=(0, 1),
            ylim=(-0.5, len(self.rows) - 0.5),
        )
        axis.legend(fontsize=LEGEND_SIZE, loc="lower right")

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
def Views(model):
    """The components two to a row on a wide screen (1264 px and up) and one to a row below,
    so a chart is never squeezed beside the sidebar; in place of Mesa's ComponentsView, which
    always draws two columns of a fixed grid and a tab bar even for one page (a stray "Page
    0" tab)."""
    with solara.ColumnsResponsive(12, large=6):
        for component in COMPONENTS:
            component(model)


@solara.component
def ScenarioPicker(name: str, on_pick):
    """The scenario, picked first: picking one builds it and sets every lever to its values."""
    with solara.Card("Scenario"):
        solara.Select("Scenario", values=SCENARIOS, value=name, on_value=on_pick)
        solara.HTML(
            tag="div",
            unsafe_innerHTML=(
                f"<p id='description'><i>{escape(shipped(name).description)}</i></p>"
                "<small>Picking a scenario starts it at month 0 and sets every lever below to "
                "its values.</small>"
            ),
        )


# ------------------------------------------------------------------ playing, and stopping


def current_session():
    """The Solara session (virtual kernel) of the page being rendered; None outside a server.

    It counts only once a browser page has connected to it, so a test's ``solara.render`` or a
    notebook never looks like a page that has gone.
    """
    from solara.server import kernel_context

    if not kernel_context.has_current_context():
        return None
    session = kernel_context.get_current_context()
    return session if session.page_status else None


def page_connected(session) -> bool:
    """Whether a browser page of the session is connected (always, outside a server)."""
    if session is None:
        return True
    if session.closed_event.is_set():
        return False
    try:
        return any(status.value == "connected" for status in list(session.page_status.values()))
    except RuntimeError:  # the table changed as it was read (a page connecting): ask again
        return True


@dataclass
class Playback:
    """What the controls and the play loop share: whether it plays, at what pace, and why it
    stopped by itself, if it did."""

    playing: solara.Reactive[bool]
    note: solara.Reactive[str]
    interval: solara.Reactive[int]  # ms between renders
    months: solara.Reactive[int]  # months per render


def play(model, playback: Playback, stop: threading.Event, session) -> None:
    """Step ``model`` until it finishes, the page goes or ``stop`` is set (page left, Reset,
    pause, another scenario: the controls' effect clean-up sets it).

    A page without its connection for ``DISCONNECT_GRACE`` seconds pauses the run: a closed tab
    whose close the server never heard of stops costing a core within seconds, and a page that
    comes back finds its run paused where it was.
    """
    unseen_since = None
    try:
        while not stop.wait(playback.interval.value / 1000):
            if page_connected(session):
                unseen_since = None
            else:
                unseen_since = unseen_since or time.monotonic()
                if time.monotonic() - unseen_since >= DISCONNECT_GRACE:
                    playback.note.set(
                        f"Paused at month {model.steps}: this page lost its connection to the "
                        "server. Press ▶ to go on."
                    )
                    playback.playing.set(False)
                    return
                continue
            for _ in range(playback.months.value):
                model.step()
                if not model.running or stop.is_set():
                    break
            force_update()
            if not model.running:
                playback.playing.set(False)
                return
    except Exception as error:  # a month the schema refuses (say, a budget raised past its range)
        if not stop.is_set() and session_open(session):
            playback.note.set(f"The run stopped at month {model.steps}: {error}")
            playback.playing.set(False)
        logger.debug("live play loop ended", exc_info=True)


def session_open(session) -> bool:
    return session is None or not session.closed_event.is_set()


@solara.component
def Controller(model: solara.Reactive, parameters: solara.Reactive[dict], playback: Playback):
    """Reset, play/pause and step, like Mesa's ModelController, over a play loop of the page's own.

    Mesa's controller plays in a ``solara.lab.use_task`` that nothing stops when the page goes
    (it keeps stepping a closed tab's model) and that registers a kernel-start callback on every
    mount, holding the model for the server's lifetime. Here the loop is a thread started by an
    effect whose clean-up stops it: on pause, Reset, another scenario, leaving the page, and
    when the session closes (Solara unmounts the page then).
    """
    update_counter.get()  # a month passed: the run may have finished
    session = solara.use_memo(current_session, [])
    current = model.value
    playing = playback.playing.value and current.running

    def start():
        if not playing:
            return None
        stop = threading.Event()
        threading.Thread(
            target=play, args=(current, playback, stop, session), name="tasim-live", daemon=True
        ).start()
        return stop.set

    solara.use_effect(start, [playing, current])

    def reset():
        playback.playing.set(False)
        playback.note.set("")
        model.set(DashboardModel(**parameters.value))

    def toggle():
        playback.note.set("")
        playback.playing.set(not playback.playing.value)

    def step():
        try:
            current.step()
        except ScenarioError as error:  # a month the schema refuses, as in ``play``
            playback.note.set(f"The run stopped at month {current.steps}: {error}")
        force_update()

    with solara.Row(justify="space-between"):
        solara.Button("Reset", color="primary", on_click=reset)
        solara.Button(
            "❚❚" if playing else "▶", color="primary", on_click=toggle, disabled=not current.running
        )
        solara.Button(
            "Step", color="primary", on_click=step, disabled=playing or not current.running
        )
    if playback.note.value:
        solara.Warning(playback.note.value)


@solara.component
def Levers(levers: dict, parameters: solara.Reactive[dict]):
    """The levers as Mesa's ModelCreator draws them (its ``UserInputs``), each slider with its
    value written under it (``shown_value``). ``parameters`` holds what Reset builds the model
    from.

    The widgets themselves never change after they are drawn: a slider sent a new label or
    value while keys are pressed on it loses some of them.
    """
    solara.use_effect(lambda: parameters.set(lever_values(levers)), [])
    current = lever_values(levers) | parameters.value

    def change(key, value):
        parameters.set(parameters.value | {key: value})

    for key, widget in levers.items():
        if isinstance(widget, Slider) or (isinstance(widget, dict) and "type" in widget):
            UserInputs({key: widget}, on_change=change)
            shown = shown_value(key, widget, current[key])
            if shown is not None:
                slider = is_slider(widget)
                solara.Text(
                    shown,
                    classes=["lever-value" if slider else "lever-meaning"],
                    style=LEVER_VALUE_STYLE if slider else CHOICE_NOTE_STYLE,
                )


@solara.component
def LiveModel():
    """The live page: the picked scenario's run, rebuilt, levers and all, when another is picked."""
    picked = solara.use_reactive(("baseline", 1))  # scenario name and seed
    with solara.AppBar():
        solara.AppBarTitle("Live model")
        solara.lab.ThemeToggle()
    name, seed = picked.value
    LiveRun(name, seed, picked.set).key(f"{name} {seed}")


@solara.component
def LiveRun(name: str, seed: int, on_pick):
    """One picked scenario: the controls, the levers (at its values) and the views.

    SolaraViz's layout (Mesa 3.5) with its own controller (``Controller``) and the sidebar under
    a key: SolaraViz's sidebar goes through a portal, where a remounted SolaraViz would inherit
    the old controls' state, its record of the levers (set only when it mounts) among it. Each
    pick mounts this anew, with its own model, lever record and play loop, and the seed of the
    run before.
    """
    initial = solara.use_memo(lambda: DashboardModel(scenario_name=name, rng=seed), [])
    model = solara.use_reactive(initial)  # Reset puts the model it builds here
    parameters = solara.use_reactive({})  # the levers' values, as Reset passes them
    playback = Playback(
        playing=solara.use_reactive(False),
        note=solara.use_reactive(""),
        interval=solara.use_reactive(PLAY_INTERVAL),
        months=solara.use_reactive(RENDER_MONTHS),
    )
    with solara.Sidebar(), solara.Column().key(f"sidebar {name} {seed}"):
        ScenarioPicker(name, lambda new: on_pick((new, model.value.seed)))
        with solara.Card("Run"):
            Controller(model, parameters, playback)
            with solara.Details("Advanced playback"):
                solara.SliderInt(
                    "Pause between redraws (ms)", value=playback.interval, min=1, max=500, step=10
                )
                solara.Text(number(playback.interval.value), style=LEVER_VALUE_STYLE)
                solara.SliderInt(
                    "Redraw every (months)", value=playback.months, min=1, max=100, step=1
                )
                solara.Text(number(playback.months.value), style=LEVER_VALUE_STYLE)
        with solara.Card("Levers"):
            Levers(scenario_levers(name, seed), parameters)
    Views(model.value)
