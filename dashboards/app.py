"""The tasim dashboard: ``solara run dashboards/app.py`` or ``tasim dashboard``."""

from __future__ import annotations

import os

import solara
import solara.server.settings

from dashboards.about import About
from dashboards.explorer import Explorer
from dashboards.live import LiveModel
from dashboards.teaching import Teaching
from dashboards.whatif import WhatIf

# A page whose tab closed without the server hearing of it (a crash, a lost network, a tab that
# sent no close beacon) keeps its session, so that the page can reconnect, until Solara culls it:
# after 24 h by default, each holding its models and figures. Five minutes covers a reconnect;
# SOLARA_KERNEL_CULL_TIMEOUT still sets another.
RECONNECT_WINDOW = "5m"
if not any(name.upper() == "SOLARA_KERNEL_CULL_TIMEOUT" for name in os.environ):
    solara.server.settings.kernel.cull_timeout = RECONNECT_WINDOW
# the browser tab's title, and no "This website runs on Solara" badge over the charts
solara.server.settings.theme.title = "tasim"
solara.server.settings.theme.show_banner = False

PAGES = (  # path, page, tab label
    ("/", LiveModel, "Live model"),
    ("what-if", WhatIf, "What-if"),
    ("dose-response", Teaching, "Dose-response"),
    ("sensitivity", Explorer, "Sensitivity"),
    ("about", About, "About"),
)


# Solara's sidebar is at least 400 px wide: on a phone it covered the whole page, tabs and all.
# At most 85 % of the width, the page stays in sight beside it, and a tap there closes it.
NARROW_SIDEBAR = """
.v-navigation-drawer.solara-content-main {
    min-width: min(400px, 85vw) !important;
    max-width: min(600px, 85vw) !important;
}
"""


@solara.component
def Navigation():
    """Tabs named in words in the app bar: Solara's own name each page by its path, and the
    first "Home"; and a sidebar that leaves a phone's page in sight."""
    solara.Style(NARROW_SIDEBAR)
    router = solara.use_router()
    paths = [f"/{path.strip('/')}" for path, _, _ in PAGES]
    here = f"/{router.path.strip('/')}"
    with (
        solara.AppBar(),
        solara.lab.Tabs(
            value=paths.index(here) if here in paths else None,
            on_value=lambda index: router.push(paths[index]),
            align="center",
        ),
    ):
        for _, _, label in PAGES:
            solara.lab.Tab(label)


def with_navigation(page):
    """``page`` with the navigation tabs in its app bar."""

    @solara.component
    def Page():
        Navigation()
        page()

    Page.__name__ = page.__name__
    return Page


routes = [
    solara.Route(path=path, component=with_navigation(page), label=label)
    for path, page, label in PAGES
]
