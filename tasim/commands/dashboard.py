"""``tasim dashboard``: serve the Solara dashboard."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Annotated

import typer

from experiments.errors import ArgumentError
from tasim.console import console
from tasim.errors import user_errors


@user_errors
def dashboard(
    host: Annotated[str, typer.Option(help="Interface to serve on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8765,
    results_root: Annotated[
        str | None,
        typer.Option(
            metavar="DIR",
            help="The folder the Sensitivity page may read experiments from, and nothing "
            "outside it (default: $TASIM_RESULTS_ROOT, else results/ here).",
        ),
    ] = None,
) -> None:
    """Serve the Solara dashboard (live model, what-if, dose-response, sensitivity, about)."""
    from dashboards.browser import REPOSITORY, serve_command, serve_environment
    from dashboards.explorer import DEFAULT_ROOT, RESULTS_ROOT

    chosen = results_root if results_root is not None else os.environ.get(RESULTS_ROOT)
    if chosen is not None and not chosen.strip():
        raise ArgumentError("results_root", "must name a folder (got an empty path)")
    root = Path(chosen or DEFAULT_ROOT).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise ArgumentError("results_root", "is a file, not a folder", chosen)
    console.print(f"Dashboard at http://{host}:{port}/ (Ctrl-C to stop); results from {root}")
    raise typer.Exit(
        subprocess.call(
            serve_command(host, port),
            cwd=REPOSITORY,
            env={**serve_environment(), RESULTS_ROOT: str(root)},
        )
    )


def register(app: typer.Typer) -> None:
    app.command()(dashboard)
