"""Shared pieces of the CLI: parsing ``--set`` overrides, user errors as one line, clean termination."""

from __future__ import annotations

import signal
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps

import typer

from sim.params import ScenarioError

USER_ERROR = 2
USER_ERRORS = (ScenarioError, FileExistsError)
settings = {"debug": False}  # set by the app callback from --debug


def parse_value(text: str):
    """A ``--set`` value as TOML reads it (numbers, booleans, quoted strings), else the raw string."""
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def parse_overrides(assignments: list[str] | None) -> dict:
    """``["funder.budget_per_month=1e5", ...]`` -> ``{"funder.budget_per_month": 100000.0}``."""
    overrides = {}
    for assignment in assignments or []:
        key, separator, value = assignment.partition("=")
        if not separator or not key.strip():
            raise ScenarioError(
                f"--set {assignment}: expected key=value, e.g. funder.budget_per_month=120000"
            )
        overrides[key.strip()] = parse_value(value.strip())
    return overrides


def user_errors(command: Callable) -> Callable:
    """Report user errors as one line on stderr with exit code 2; ``--debug`` shows the traceback."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except USER_ERRORS as error:
            if settings["debug"]:
                raise
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(USER_ERROR) from None

    return wrapper


@contextmanager
def terminate_as_exit() -> Iterator[None]:
    """Turn SIGTERM (a scheduler's time limit, ``timeout``, a cancelled CI job) into SystemExit.

    Python dies on SIGTERM without unwinding, which would strand a half-written result folder;
    as SystemExit, cleanup handlers run as they do for Ctrl-C. Scoped to the block so worker
    processes forked elsewhere keep the default behaviour.
    """
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
