"""``--set dotted.path=value``: parameter overrides typed on the command line."""

from __future__ import annotations

import tomllib

from sim import ScenarioError


def parse_value(text: str):
    """A ``--set`` value as TOML reads it (numbers, booleans, quoted strings), else the string."""
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
