"""``tasim dashboard``: serve the Solara dashboard."""

from __future__ import annotations

import subprocess
from typing import Annotated

import typer

from tasim.console import console


def dashboard(
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8765,
) -> None:
    """Serve the Solara dashboard (live model, about) and print its address."""
    from dashboards.browser import REPOSITORY, serve_command, serve_environment

    console.print(f"Dashboard at http://{host}:{port}/ (Ctrl-C to stop)")
    raise typer.Exit(
        subprocess.call(serve_command(host, port), cwd=REPOSITORY, env=serve_environment())
    )


def register(app: typer.Typer) -> None:
    app.command()(dashboard)
