"""Summary statistics of protocol output: pure functions of per-arm run tables and settings.

Every function takes ``arms`` (arm name -> table of that arm's runs: the model's monthly
system series with ``replicate`` and ``month`` columns, as the experiments layer stores them)
and ``settings`` (the protocol's numbers, e.g. a month), and returns one value per replicate,
so a target gets a mean and an interval over replicates. Arms of one protocol share replicate
seeds (common random numbers), so contrasts between arms are paired by replicate.

Each function declares the arm names and settings it needs with ``@statistic``; the targets
schema checks them when a targets file is read. To add a statistic, write a function here and
decorate it: its name is then usable in any targets file.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

STATISTICS: dict[str, Callable] = {}


def statistic(arms: tuple[str, ...] = (), settings: tuple[str, ...] = ()):
    """Register a statistic with the arm names and settings a protocol must provide for it.

    No arm names: the statistic reads any one arm.
    """

    def register(function: Callable) -> Callable:
        function.arms, function.settings = arms, settings
        STATISTICS[function.__name__] = function
        return function

    return register


def _at(table: pd.DataFrame, column: str, month: int) -> pd.Series:
    """A column at a month, one value per replicate (the last month if the run is shorter)."""
    month = min(month, int(table["month"].max()))
    return table[table["month"] == month].set_index("replicate")[column].sort_index().astype(float)


def _final(table: pd.DataFrame, column: str) -> pd.Series:
    return _at(table, column, int(table["month"].max()))


def _only(arms: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return next(iter(arms.values()))


def _odds(share: pd.Series) -> pd.Series:
    share = share.clip(0.005, 0.995)  # an arm at 0 or 100 % would give an infinite ratio
    return share / (1 - share)


@statistic(arms=("with_ta", "without_ta"))
def adoption_odds_ratio(arms, settings) -> np.ndarray:
    """Odds of having adopted with TA over the odds without, at the end of the run.

    Baskerville 2012: OR 2.76.
    """
    return (
        _odds(_final(arms["with_ta"], "adoption")) / _odds(_final(arms["without_ta"], "adoption"))
    ).to_numpy()


def _sustained(table: pd.DataFrame, settings) -> pd.Series:
    """Share of adopters at ``withdraw_month`` still on ``after`` months later, per replicate."""
    withdraw, after = int(settings["withdraw_month"]), int(settings["after"])
    adopters = (_at(table, "adoption", withdraw) * _at(table, "n_orgs", withdraw)).clip(lower=1)
    stopped = _at(table, "stage_discontinued", withdraw + after) - _at(
        table, "stage_discontinued", withdraw
    )
    return (1 - stopped / adopters).clip(0, 1)


def _operating_fidelity(table: pd.DataFrame, month: int) -> pd.Series:
    """Mean fidelity of the organizations operating: implementing, sustaining or at a reduced
    level (F is 0 in other stages)."""
    implementing = (
        _at(table, "stage_implementing", month)
        + _at(table, "stage_sustaining", month)
        + _at(table, "stage_reduced", month)
    )
    return _at(table, "mean_F", month) * _at(table, "n_orgs", month) / implementing.clip(lower=1)


@statistic(arms=("withdrawn",), settings=("withdraw_month", "after"))
def sustained_share(arms, settings) -> np.ndarray:
    """Share of the adopters at withdrawal that have not discontinued ``after`` months later.

    Johnson 2017: 70-92 %.
    """
    return _sustained(arms["withdrawn"], settings).to_numpy()


@statistic(arms=("enabling", "comparison"), settings=("withdraw_month", "after"))
def continuation_gain(arms, settings) -> np.ndarray:
    """Sustained share (as ``sustained_share``) after enabling TA minus after the comparison's.

    Acosta 2020: higher 2 years on.
    """
    return (
        _sustained(arms["enabling"], settings) - _sustained(arms["comparison"], settings)
    ).to_numpy()


@statistic(arms=("enabling", "comparison"), settings=("month",))
def fidelity_gain(arms, settings) -> np.ndarray:
    """Mean fidelity of implementing organizations, enabling minus comparison arm, at a month.

    Acosta 2020: no difference 1 year after support.
    """
    month = int(settings["month"])
    return (
        _operating_fidelity(arms["enabling"], month)
        - _operating_fidelity(arms["comparison"], month)
    ).to_numpy()


@statistic(settings=("month",))
def adoption_at(arms, settings) -> np.ndarray:
    """Adoption share at a month (Dunn 2012, Mennemeyer 2016: about half adopted by year 8)."""
    return _at(_only(arms), "adoption", int(settings["month"])).to_numpy()


@statistic(settings=("month",))
def discontinued_share_of_adopters(arms, settings) -> np.ndarray:
    """Share of the organizations that ever adopted which have discontinued by a month."""
    table = _only(arms)
    month = int(settings["month"])
    stopped = _at(table, "stage_discontinued", month)
    ever = _at(table, "adoption", month) * _at(table, "n_orgs", month) + stopped
    return (stopped / ever.clip(lower=1)).to_numpy()


@statistic(settings=("month",))
def implementing_share_of_adopters(arms, settings) -> np.ndarray:
    """Share of adopters implementing or sustaining at a month (adopters include those at a
    reduced level).

    Fixsen 2005: full implementation in 2-4 years.
    """
    table = _only(arms)
    month = int(settings["month"])
    implementing = _at(table, "stage_implementing", month) + _at(table, "stage_sustaining", month)
    adopters = (
        implementing + _at(table, "stage_preparing", month) + _at(table, "stage_reduced", month)
    )
    return (implementing / adopters.clip(lower=1)).to_numpy()


@statistic(settings=("months",))
def full_implementation_within(arms, settings) -> np.ndarray:
    """Share of adopters reaching full implementation (sustaining) within ``months`` of adopting.

    Fixsen 2005: 2-4 years.

    Kaplan-Meier over all adopters, censored at the end of the run, from the ``full_events``
    and ``full_at_risk`` counts ``calibration.fit.protocol_run`` records; adopters that
    discontinue stay at risk (they never reached it). NaN where no adopter was followed that long.
    """
    table, months = _only(arms), int(settings["months"])
    delays = table[(table["month"] >= 1) & (table["month"] <= months)]
    events, at_risk = (
        delays.pivot(index="month", columns="replicate", values=column)
        for column in ("full_events", "full_at_risk")
    )
    survival = (1 - events / at_risk.where(at_risk > 0)).fillna(1.0).prod()
    identified = (len(delays["month"].unique()) == months) & ((at_risk > 0).all() | (survival == 0))
    return (1 - survival).where(identified).sort_index().to_numpy()


@statistic(arms=("low", "medium", "high"))
def top_dose_gain_share(arms, settings) -> np.ndarray:
    """Gain in final adoption from the medium to the high arm, as a share of low to high.

    Gold 2019: not additive.

    1 means all the gain comes from the last step; 0 means none (saturation); values near 0.5
    mean a straight line. A value is NaN where high does not beat low.
    """
    low, medium, high = (_final(arms[name], "adoption") for name in ("low", "medium", "high"))
    total = high - low
    return ((high - medium) / total.where(total > 1e-9)).to_numpy()


@statistic(arms=("small_with_ta", "small_without_ta", "large_with_ta", "large_without_ta"))
def scale_effect_ratio(arms, settings) -> np.ndarray:
    """TA effect on final adoption (with minus without) in the large program over the small one.

    Kraft: about half.
    """

    def effect(size: str) -> pd.Series:
        return _final(arms[f"{size}_with_ta"], "adoption") - _final(
            arms[f"{size}_without_ta"], "adoption"
        )

    small = effect("small")
    return (effect("large") / small.where(small > 1e-9)).to_numpy()
