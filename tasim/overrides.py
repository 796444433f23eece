"""``--set dotted.path=value``: parameter overrides typed on the command line."""

from __future__ import annotations

import tomllib

from sim import ScenarioError
from sim.params import check_nesting


def parse_value(text: str, name: str = "value"):
    """A ``--set`` value as TOML reads it (numbers, booleans, quoted strings), else the string.

    A value nested deeper than a scenario file may be is refused as in a file, ``name``
    saying where it was typed.
    """
    try:
        value = tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:
        raise ScenarioError(f"{name}: tables and arrays nested too deeply") from None
    check_nesting(value, name)
    return value


def parse_overrides(assignments: list[str] | None) -> dict:
    """``["funder.budget_per_month=1e5", ...]`` -> ``{"funder.budget_per_month": 100000.0}``."""
    overrides = {}
    for assignment in assignments or []:
        key, separator, value = assignment.partition("=")
        if not separator or not key.strip():
            raise ScenarioError(
                f"--set {assignment}: expected key=value, e.g. funder.budget_per_month=120000"
            )
        overrides[key.strip()] = parse_value(value.strip(), f"--set {key.strip()}")
    return overrides
