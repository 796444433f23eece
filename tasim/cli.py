"""The ``tasim`` Typer app: the ``--debug`` switch and every command group, registered here."""

from __future__ import annotations

from typing import Annotated

import typer

from tasim.commands import calibration, dashboard, experiments, run, scenarios
from tasim.errors import settings

app = typer.Typer(
    help="Simulate technical assistance in health-system transformation.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks for user errors.")
    ] = False,
) -> None:
    settings["debug"] = debug


for group in (scenarios, run, dashboard, experiments, calibration):
    group.register(app)
