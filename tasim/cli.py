"""The ``tasim`` Typer app: the ``--debug`` switch and every command group, registered here.

The app's top group does two things for every command at once. It applies the rule of each
shared option (tasim/options.py ``RULES``) to that flag wherever a command takes it, so the
same flag is checked the same way everywhere, before the command runs. And it reports every
user error met while the command line is read as the commands report theirs: one line on
stderr starting ``error:``, exit code 2, no traceback and no box (``--debug`` re-raises):
a rule's refusal, and Typer's own usage errors (``--seed abc``, an unknown option).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from tasim.commands import calibration, dashboard, experiments, run, scenarios
from tasim.errors import USER_ERROR, USER_ERRORS, settings, user_message
from tasim.options import RULES


@contextmanager
def one_line_errors() -> Iterator[None]:
    """User errors while the command line is read become one ``error:`` line and an exit code."""
    try:
        yield
    except typer.TyperException as error:  # Typer's (click's) usage errors, e.g. a bad integer
        if settings["debug"] or type(error).__name__ == "NoArgsIsHelpError":
            raise  # with --debug as raised; a bare command group shows its help, as it should
        typer.echo(f"error: {' '.join(error.format_message().split())}", err=True)
        raise typer.Exit(error.exit_code) from None
    except USER_ERRORS as error:
        if settings["debug"]:
            raise
        typer.echo(f"error: {user_message(error)}", err=True)
        raise typer.Exit(USER_ERROR) from None


def checked(rule: Callable[[Any], Any], callback: Callable | None) -> Callable:
    """A click parameter callback that applies ``rule`` to the value, then ``callback``."""

    def check(ctx: typer.Context, param: Any, value: Any) -> Any:
        value = rule(value)
        return value if callback is None else callback(ctx, param, value)

    return check


def apply_rules(command: Any) -> None:
    """Give every option of a shared name, in ``command`` and its subcommands, its rule."""
    for param in command.params:
        for name in param.opts:
            if name in RULES:
                param.callback = checked(RULES[name], param.callback)
    for subcommand in getattr(command, "commands", {}).values():
        apply_rules(subcommand)


class CheckedGroup(TyperGroup):
    """The top group: shared options' rules on every command, user errors in one line."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        apply_rules(self)

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        with one_line_errors():
            return super().parse_args(ctx, args)

    def invoke(self, ctx: typer.Context) -> Any:
        with one_line_errors():  # a subcommand's options are read (and checked) in here
            return super().invoke(ctx)


app = typer.Typer(
    cls=CheckedGroup,
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
