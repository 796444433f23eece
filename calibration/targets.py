"""The schema of a targets file: each target is a statistic of an in-silico protocol and a finding.

A protocol is an experiment with arms (dotted-path overrides of one scenario), months and
replicates; it runs through the experiments layer, so it parallelises and resumes. The schema is
strict (unknown keys and wrong types are rejected) and every problem becomes one line naming the
field. See docs/calibration.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from calibration import statistics
from sim import ScenarioError, load_scenario
from sim.params import read_toml

HERE = Path(__file__).resolve().parent
CALIBRATION_TARGETS = HERE / "targets.toml"  # the shipped findings the calibration fits
PATTERN_TARGETS = HERE / "patterns.toml"  # DESIGN.md section 8: constraints of the same fit
SHIPPED_TARGETS = (CALIBRATION_TARGETS, PATTERN_TARGETS)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Protocol(Strict):
    scenario: str = Field(
        "baseline",
        min_length=1,
        description="shipped scenario name or TOML path every arm starts from",
    )
    months: int = Field(60, ge=1, le=600, description="months simulated per run")
    replicates: int = Field(
        4, ge=1, le=1000, description="runs per arm; arms share replicate seeds"
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="dotted-path overrides every arm shares, applied before the arm's own",
    )
    arms: dict[str, dict[str, Any]] = Field(
        min_length=1, description="arm name -> dotted-path overrides"
    )
    settings: dict[str, float | int] = Field(
        default_factory=dict, description="numbers the statistic needs, e.g. a month"
    )

    @property
    def key(self) -> str:
        """Identity of the experiment: targets with equal protocols share their runs."""
        return json.dumps(self.model_dump(exclude={"settings"}), sort_keys=True)

    def arm(self, name: str) -> dict[str, Any]:
        """The overrides one arm runs with: the shared ones, then the arm's own."""
        return {**self.overrides, **self.arms[name]}


class Target(Strict):
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str
    source: str = Field(min_length=1)
    statistic: str
    protocol: Protocol
    observed: float | list[float]
    tolerance: float = Field(ge=0)
    kind: Literal["finding", "pattern"] = Field(
        "finding",
        description=(
            "a finding is a value to come close to (its centre); a pattern is a constraint: "
            "anywhere in its interval is as good as anywhere else"
        ),
    )

    @field_validator("statistic")
    @classmethod
    def _known_statistic(cls, name: str) -> str:
        if name not in statistics.STATISTICS:
            raise ValueError(
                f"unknown statistic {name!r} (known: {', '.join(sorted(statistics.STATISTICS))})"
            )
        return name

    @field_validator("observed")
    @classmethod
    def _interval(cls, observed):
        if isinstance(observed, list) and (len(observed) != 2 or observed[0] > observed[1]):
            raise ValueError("an interval must be [low, high] with low <= high")
        return observed

    @model_validator(mode="after")
    def _protocol_fits_statistic(self):
        function = statistics.STATISTICS[self.statistic]
        missing_arms = [arm for arm in function.arms if arm not in self.protocol.arms]
        if missing_arms:
            raise ValueError(
                f"protocol.arms: statistic {self.statistic} needs arms "
                f"{', '.join(function.arms)} (missing {', '.join(missing_arms)})"
            )
        missing = [name for name in function.settings if name not in self.protocol.settings]
        if missing:
            raise ValueError(
                f"protocol.settings: statistic {self.statistic} needs {', '.join(missing)}"
            )
        return self

    @property
    def bounds(self) -> tuple[float, float]:
        return (
            (self.observed, self.observed)
            if isinstance(self.observed, float)
            else tuple(self.observed)
        )

    @property
    def interval(self) -> tuple[float, float]:
        """The observed value or interval widened by the tolerance: simulated means in it pass."""
        low, high = self.bounds
        return low - self.tolerance, high + self.tolerance

    @property
    def centre(self) -> float:
        return sum(self.bounds) / 2


class TargetsFile(Strict):
    targets: list[Target] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_and_runnable(self):
        ids = [target.id for target in self.targets]
        duplicates = sorted({name for name in ids if ids.count(name) > 1})
        if duplicates:
            raise ValueError(f"target ids must be unique (repeated: {', '.join(duplicates)})")
        for index, target in enumerate(self.targets):
            problem = settings_problem(target)
            if problem:
                raise ValueError(
                    f"targets.{index}.protocol.settings.{problem[0]} ({target.id}): {problem[1]}"
                )
            for arm in target.protocol.arms:
                try:
                    load_scenario(target.protocol.scenario, target.protocol.arm(arm))
                except ScenarioError as error:
                    raise ValueError(
                        f"targets.{index}.protocol.arms.{arm} ({target.id}): {error}"
                    ) from None
        return self


class Prior(Strict):
    parameter: str = Field(min_length=1, description="dotted path of a real-valued parameter")
    low: float
    high: float
    source: str = Field(
        min_length=1, description="where the range comes from (the evidence, or the allowed range)"
    )


class PriorsFile(Strict):
    priors: list[Prior] = Field(min_length=1)


def load_priors_file(path: str | Path) -> PriorsFile:
    """Read a priors file: ``[[priors]]`` entries of parameter, low, high and source."""
    try:
        return PriorsFile.model_validate(read_toml(path, "priors"))
    except ValidationError as error:
        raise ScenarioError(f"{path}: {describe(error)}".replace("\n", " ")) from None


def month_ranges(settings: dict, months: int) -> dict[str, tuple[int, int, str]]:
    """The settings that count months: allowed whole numbers (low, high) and why, for a protocol
    of ``months`` months.

    ``month`` is a month of the run (month 0 is the initial state, which no statistic is
    about); ``withdraw_month`` needs a month after it; ``after`` counts months after the
    withdrawal, within the run; ``months`` is a follow-up after adopting, and adopting starts
    at month 1 at the earliest.
    """
    withdraw = settings.get("withdraw_month", 0)
    return {
        "month": (1, months, f"the protocol runs {months} months"),
        "withdraw_month": (1, months - 1, f"a month before the protocol's last, {months}"),
        "after": (
            1,
            months - int(withdraw),
            f"from withdraw_month {withdraw:g} to the protocol's last month, {months}",
        ),
        "months": (
            1,
            months - 1,
            f"a follow-up after adopting, at month 1 of {months} at the earliest",
        ),
    }


def settings_problem(target: Target) -> tuple[str, str] | None:
    """(setting, problem) for the first setting the statistic does not use or whose month is
    not one the protocol has; None if they are all fine."""
    used = statistics.STATISTICS[target.statistic].settings
    for name in target.protocol.settings:
        if name not in used:
            return name, (
                f"statistic {target.statistic} does not use it "
                f"(it uses {', '.join(used) or 'no settings'})"
            )
    for name, (low, high, why) in month_ranges(
        target.protocol.settings, target.protocol.months
    ).items():
        value = target.protocol.settings.get(name)
        if value is None:
            continue
        if high < low:
            return name, f"no month fits ({why}); raise protocol.months"
        if value != int(value) or not low <= value <= high:
            return name, f"must be a whole number from {low} to {high} ({why}), got {value!r}"
    return None


def describe(error: ValidationError) -> str:
    """One line: the first problem, with the field's dotted path."""
    problem = error.errors()[0]
    path = ".".join(str(part) for part in problem["loc"])
    kind, given = problem["type"], problem.get("input")
    if kind == "extra_forbidden":
        return f"{path}: unknown key (allowed keys are in docs/calibration.md)"
    if kind == "missing":
        return f"{path}: required but missing"
    if kind == "value_error":
        return f"{path or 'targets'}: {(problem.get('ctx') or {}).get('error', problem['msg'])}"
    shown = repr(given)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{path or 'targets'}: {problem['msg'][0].lower()}{problem['msg'][1:]} (got {shown})"


def parse_targets(data: dict, name: str = "targets") -> TargetsFile:
    try:
        return TargetsFile.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(f"{name}: {describe(error)}".replace("\n", " ")) from None


def load_targets(*paths: str | Path) -> TargetsFile:
    """Read and validate targets files as one; every problem becomes a one-line ScenarioError.

    Several files (e.g. the findings and the patterns) are checked one by one, then together,
    so an id repeated across them is refused too.
    """
    files = [parse_targets(read_toml(path, "targets"), str(path)) for path in paths]
    joined = [target.model_dump() for file in files for target in file.targets]
    return parse_targets({"targets": joined}, " + ".join(str(path) for path in paths))
