"""``tasim scenarios list | show | validate``: the shipped scenarios and checking scenario files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sim import list_scenarios, load_scenario, parameter_table
from tasim.console import console
from tasim.errors import user_errors

scenarios_app = typer.Typer(help="List, show and validate scenarios.", no_args_is_help=True)


@scenarios_app.command("list")
def scenarios_list() -> None:
    """List the shipped scenarios with their descriptions."""
    table = Table("scenario", "description")
    for name in list_scenarios():
        table.add_row(name, load_scenario(name).description)
    console.print(table)


@scenarios_app.command("show")
@user_errors
def scenarios_show(
    name: Annotated[str, typer.Argument(help="Scenario name or TOML path.")],
) -> None:
    """Print every parameter with its value, allowed range, unit, meaning and source."""
    scenario = load_scenario(name)
    table = Table(
        "parameter",
        "value",
        "range",
        "unit",
        "meaning",
        "source",
        title=f"{scenario.name}: {scenario.description}",
    )
    for row in parameter_table(scenario):
        table.add_row(row.path, str(row.value), row.range_text, row.unit, row.meaning, row.source)
    Console(width=max(console.width, 240)).print(table)  # six columns need room, even when piped


@scenarios_app.command("validate")
@user_errors
def scenarios_validate(
    path: Annotated[Path, typer.Argument(help="Scenario TOML file to check.")],
) -> None:
    """Check a scenario file; a problem is one line naming the field and what is allowed, exit 2."""
    scenario = load_scenario(path)
    console.print(
        f"{path}: valid scenario '{scenario.name}' ({len(parameter_table(scenario))} parameters)"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(scenarios_app, name="scenarios")
