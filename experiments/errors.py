"""User errors in the arguments of library calls: each names the argument and the value given.

A message reads as the function is called from Python, ``replicates: must be at least 1 (got
0)`` or ``by='colour': must be readiness or role``. A front end that spells arguments its own
way (the command line's ``--by colour``) words the message itself with ``describe``, from the
parts the error keeps: ``argument``, ``value`` and ``problem``. The library never speaks in flags.
"""

from __future__ import annotations

from collections.abc import Callable

from sim import ScenarioError

NOT_SHOWN = ...  # the ``value`` of an error whose message shows no value before the problem


def python_subject(argument: str, value: object) -> str:
    """``by='colour'``, ``withdraw=70``, ``destination=results/x``: as Python passes it."""
    return f"{argument}={value!r}" if isinstance(value, str) else f"{argument}={value}"


class ArgumentProblem:
    """What is wrong with one argument: its name, the value given (or NOT_SHOWN), the problem."""

    def __init__(self, argument: str, problem: str, value: object = NOT_SHOWN):
        self.argument, self.problem, self.value = argument, problem, value
        super().__init__(self.describe(argument))

    def describe(
        self, argument: str, subject: Callable[[str, object], str] = python_subject
    ) -> str:
        """The message with the argument spelled ``argument``, a shown value by ``subject``."""
        head = argument if self.value is NOT_SHOWN else subject(argument, self.value)
        return f"{head}: {self.problem}"

    def __reduce__(self):  # rebuilt from its parts, so it survives a trip to a worker and back
        return type(self), (self.argument, self.problem, self.value)


class ArgumentError(ArgumentProblem, ScenarioError):
    """A bad argument value; a ScenarioError, so every front end reports it as a user error."""


class FolderExists(ArgumentProblem, FileExistsError):
    """A result folder argument naming a folder that exists already."""
