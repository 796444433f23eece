"""User errors on the command line: one line on stderr with exit code 2, in the command's words.

Library code raises ScenarioError (FileExistsError for result folders) naming the Python
argument: ``replicates: must be at least 1 (got 0)``. Here that argument becomes the flag that
sets it, ``--replicates: must be at least 1 (got 0)``, so users read what they typed.
``tasim --debug`` shows the traceback instead.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

import typer

from experiments.errors import ArgumentProblem
from sim import ScenarioError

USER_ERROR = 2
USER_ERRORS = (ScenarioError, FileExistsError)
# library arguments the command line spells differently; any other argument `name` is `--name`
FLAGS = {
    "base_samples": "--samples",
    "destination": "--out",
    "k": "--draws",
    "paths": "--parameters",
    "range": "--vary",
    "ranges": "--vary",
}
settings = {"debug": False}  # set by the app callback from --debug


def flag(argument: str) -> str:
    """The flag that sets a library argument: ``base_samples`` -> ``--samples``."""
    return FLAGS.get(argument, "--" + argument.replace("_", "-"))


def flag_subject(option: str, value: object) -> str:
    """``--by colour``, ``--parameters a,b``: a flag with its value as it was typed."""
    shown = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return f"{option} {shown}"


def user_message(error: Exception) -> str:
    """The error's one line, with library arguments spelled as this command line's flags."""
    if isinstance(error, ArgumentProblem):
        return error.describe(flag(error.argument), flag_subject)
    return str(error)


def user_errors(command: Callable) -> Callable:
    """Report user errors in one line on stderr, exit code 2; ``--debug`` shows the traceback."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as error:
            if settings["debug"]:
                raise
            typer.echo(f"error: {user_message(error)}", err=True)
            raise typer.Exit(USER_ERROR) from None

    return wrapper
