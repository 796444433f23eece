"""The tasim dashboard: ``solara run dashboards/app.py`` or ``tasim dashboard``."""

from __future__ import annotations

import solara

from dashboards.about import About
from dashboards.explorer import Explorer
from dashboards.live import LiveModel
from dashboards.teaching import Teaching
from dashboards.whatif import WhatIf

routes = [
    solara.Route(path="/", component=LiveModel, label="Live model"),
    solara.Route(path="what-if", component=WhatIf, label="What-if"),
    solara.Route(path="dose-response", component=Teaching, label="Dose-response"),
    solara.Route(path="sensitivity", component=Explorer, label="Sensitivity"),
    solara.Route(path="about", component=About, label="About"),
]
