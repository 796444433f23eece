"""The tasim dashboard: ``solara run dashboards/app.py`` or ``tasim dashboard``."""

from __future__ import annotations

import solara

from dashboards.about import About
from dashboards.live import LiveModel

routes = [
    solara.Route(path="/", component=LiveModel, label="Live model"),
    solara.Route(path="about", component=About, label="About"),
]
