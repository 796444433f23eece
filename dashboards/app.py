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

routes = [
    solara.Route(path="/", component=LiveModel, label="Live model"),
    solara.Route(path="what-if", component=WhatIf, label="What-if"),
    solara.Route(path="dose-response", component=Teaching, label="Dose-response"),
    solara.Route(path="sensitivity", component=Explorer, label="Sensitivity"),
    solara.Route(path="about", component=About, label="About"),
]
