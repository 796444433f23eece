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
    """Share of the organizations adopting at ``withdraw_month`` that have not discontinued
    ``after`` months later, per replicate.

    Followed organization by organization (the ``withdrawal_cohort`` column of
    ``calibration.fit.protocol_run``), so later adopters' discontinuations are not charged to
    the cohort. Operating at a reduced level counts as still operating, as in the studies
    (Tibbits 2010 and Johnson 2017 count programs still active, whatever their level).
    """
    withdraw, after = int(settings["withdraw_month"]), int(settings["after"])
    cohort = _at(table, "withdrawal_cohort", withdraw)
    return _at(table, "withdrawal_cohort", withdraw + after) / cohort.where(cohort > 0)


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


# ----------------------------------------------------------------- patterns (DESIGN.md section 8)
#
# Each pattern statistic is a *margin*: per replicate, the smallest of the pattern's conditions,
# each written as a relative difference (a - b) / (|a| + |b|) between what should be larger and
# what should be smaller. It lies in [-1, 1] and is positive exactly when every condition holds,
# so a patterns file asks for it to lie in [0, 1]. The conditions mirror tests/test_patterns.py
# on small protocols (patterns.toml) that a calibration can afford for every parameter set.


def margin(larger: pd.Series | float, smaller: pd.Series | float) -> pd.Series:
    """(larger - smaller) / (|larger| + |smaller|): positive when larger > smaller, in [-1, 1].

    Per replicate; either side may be a number (a threshold). Undefined (both 0, or missing)
    counts as -1: a pattern that cannot be shown does not hold.
    """
    scale = np.abs(larger) + np.abs(smaller)
    return ((larger - smaller) / scale.where(scale > 0)).astype(float).fillna(-1.0)


def _weakest(*conditions: pd.Series) -> np.ndarray:
    """The smallest margin per replicate: the pattern holds where it is positive."""
    return pd.concat(conditions, axis=1).min(axis=1).sort_index().to_numpy()


def _capacity_gain(table: pd.DataFrame, month: int) -> pd.Series:
    """Change of mean specific capacity from month 0 to ``month``, per replicate."""
    return _at(table, "mean_S", month) - _at(table, "mean_S", 0)


def _mean(table: pd.DataFrame, column: str) -> pd.Series:
    """A column's mean over months 1 to the end, per replicate."""
    return table[table["month"] >= 1].groupby("replicate")[column].mean().sort_index()


def _series(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """A column as replicates x months."""
    return table.pivot(index="replicate", columns="month", values=column).sort_index()


def _change_of_largest(series: pd.DataFrame) -> pd.DataFrame:
    """Each row's change from its start as a share of its largest change (NaN if it never moves)."""
    change = series.sub(series[0], axis=0).to_numpy()
    largest = change[np.arange(len(change)), np.abs(change).argmax(axis=1)]
    return pd.DataFrame(
        change / np.where(largest != 0, largest, np.nan)[:, None],
        index=series.index,
        columns=series.columns,
    )


def _share_of_change(series: pd.DataFrame, month: int) -> pd.Series:
    """Share of each row's largest change from its start that has happened by ``month``."""
    return _change_of_largest(series)[month]


def _half_time(series: pd.DataFrame) -> pd.Series:
    """First month each row has made half its largest change from its start (else the end)."""
    reached = _change_of_largest(series) >= 0.5
    first = reached.to_numpy().argmax(axis=1)
    months = reached.columns.to_numpy(dtype=float)
    return pd.Series(np.where(reached.any(axis=1), months[first], months[-1]), index=reached.index)


@statistic(
    arms=("ready_0", "ready_5", "ready_8", "ready_12", "unready_0", "unready_5"),
    settings=("month",),
)
def pattern_saturation_and_gating(arms, settings) -> np.ndarray:
    """Pattern 1: capacity gain saturates with dose for ready organizations, flat for unready.

    Each of the first 5 hours is worth more than 10 times each hour from 8 to 12; at 5 hours the
    ready gain is more than 10 times the unready gain (R = MC^2 gating).
    """
    month = int(settings["month"])
    gain = {name: _capacity_gain(table, month) for name, table in arms.items()}
    first = (gain["ready_5"] - gain["ready_0"]) / 5
    last = (gain["ready_12"] - gain["ready_8"]) / 4
    return _weakest(
        margin(first, 10 * last.abs()),
        margin(gain["ready_5"] - gain["ready_0"], 10 * (gain["unready_5"] - gain["unready_0"])),
    )


@statistic(
    arms=("ready_0", "ready_0_25", "ready_1", "ready_2", "ready_8", "ready_12"),
    settings=("month",),
)
def pattern_minimum_effective_dose(arms, settings) -> np.ndarray:
    """Pattern 2: nothing, then a tip, then saturation (capacity gain per extra hour).

    Hours 1-2 are worth more than twice the first quarter hour and more than five times each
    hour from 8 to 12.
    """
    month = int(settings["month"])
    gain = {name: _capacity_gain(table, month) for name, table in arms.items()}
    first = (gain["ready_0_25"] - gain["ready_0"]) / 0.25
    tip = gain["ready_2"] - gain["ready_1"]
    last = (gain["ready_12"] - gain["ready_8"]) / 4
    return _weakest(margin(tip, 2 * first), margin(tip, 5 * last))


@statistic(arms=("low_0", "low_4", "low_20", "high_4", "high_20"))
def pattern_overload(arms, settings) -> np.ndarray:
    """Pattern 3: an inverted U in adoption against dose for low-capacity organizations.

    A moderate dose beats none and beats a heavy one, which overloads more of them; the same
    heavy dose still helps higher-capacity organizations.
    """
    adoption = {name: _final(table, "adoption") for name, table in arms.items()}
    return _weakest(
        margin(adoption["low_4"], adoption["low_0"]),
        margin(adoption["low_4"], adoption["low_20"]),
        margin(_mean(arms["low_20"], "overloaded_share"), _mean(arms["low_4"], "overloaded_share")),
        margin(adoption["high_20"], adoption["high_4"]),
    )


@statistic(arms=("doer", "partner", "facilitator"), settings=("withdraw_month",))
def pattern_roles(arms, settings) -> np.ndarray:
    """Pattern 4: the doer gives the fastest early fidelity and the largest drop after
    withdrawal; the facilitator is slow and durable.

    Over all organizations (``mean_F``) and over those operating when the provider left
    (``withdrawal_fidelity``, so later adopters do not mask the loss): a doer's leave over a
    fifth of their fidelity within a year, a facilitator's keep at least 85 % of it, and
    without support a doer's and a partner's erode by the end (no rise).
    """
    withdraw = int(settings["withdraw_month"])
    roles = ("doer", "partner", "facilitator")
    fidelity = {role: _series(arms[role], "mean_F") for role in roles}
    left = {role: _series(arms[role], "withdrawal_fidelity") for role in roles}
    doer, partner, facilitator = fidelity["doer"], fidelity["partner"], fidelity["facilitator"]
    last = int(doer.columns.max())
    half_year_on, year_on = min(withdraw + 6, last), min(withdraw + 12, last)

    def drop(series, month=half_year_on):
        return series[withdraw - 1] - series[month]

    def kept(series, month=last):
        return series[month] / series[withdraw - 1].where(series[withdraw - 1] > 0)

    return _weakest(
        *(margin(doer[month], partner[month]) for month in (6, 12)),
        *(margin(partner[month], facilitator[month]) for month in (6, 12)),
        margin(drop(doer), drop(partner)),
        margin(drop(partner), drop(facilitator)),
        margin(facilitator[min(withdraw + 24, last)], doer[min(withdraw + 24, last)]),
        margin(kept(facilitator), kept(doer)),
        margin(drop(left["doer"], year_on), 0.2),
        margin(kept(left["facilitator"], year_on), 0.85),
        *(margin(left[role][withdraw - 1], left[role][last]) for role in ("doer", "partner")),
    )


@statistic(arms=("many", "some", "few"))
def pattern_caseload_dilution(arms, settings) -> np.ndarray:
    """Pattern 5: at equal hours, the capacity gain per organization falls as organizations per
    provider rise (arms with many, some and few providers)."""
    gain = {name: _capacity_gain(table, int(table["month"].max())) for name, table in arms.items()}
    return _weakest(margin(gain["many"], gain["some"]), margin(gain["some"], gain["few"]))


@statistic(settings=("month",))
def pattern_lags(arms, settings) -> np.ndarray:
    """Pattern 6: process measures move within two years, outcomes take years, cost is a J.

    By ``month`` adoption has made over half its change and fidelity over a quarter, avoidable
    admissions under a tenth; admissions reach half their change over 2 years after fidelity;
    per-capita cost rises first and ends below where it started.
    """
    table, month = _only(arms), int(settings["month"])
    adoption, fidelity, admissions, cost = (
        _series(table, column) for column in ("adoption", "mean_F", "admissions", "per_capita_cost")
    )
    return _weakest(
        margin(_share_of_change(adoption, month), 0.5),
        margin(_share_of_change(fidelity, month), 0.25),
        margin(0.1, _share_of_change(admissions, month)),
        margin(_half_time(admissions) - _half_time(fidelity), 24.0),
        margin(cost.max(axis=1), cost[0]),
        margin(cost[0], cost[int(cost.columns.max())]),
    )


@statistic(arms=("ready_light", "low_light", "low_coached"))
def pattern_light_touch(arms, settings) -> np.ndarray:
    """Pattern 7: light-touch TA brings over 70 % of ready organizations to adopt but under 30 %
    of low-capacity ones, which coaching at equal hours serves better."""
    adoption = {name: _final(table, "adoption") for name, table in arms.items()}
    return _weakest(
        margin(adoption["ready_light"], 0.7),
        margin(0.3, adoption["low_light"]),
        margin(adoption["low_coached"], adoption["low_light"]),
    )


@statistic(arms=("apart", "together"))
def pattern_coordination(arms, settings) -> np.ndarray:
    """Pattern 8: uncoordinated providers burden recipients; coordination helps at equal hours.

    Apart: more navigation hours and overload; together: higher final motivation and adoption.
    """
    apart, together = arms["apart"], arms["together"]
    return _weakest(
        margin(_mean(apart, "navigation_hours"), _mean(together, "navigation_hours")),
        margin(_mean(apart, "overloaded_share"), _mean(together, "overloaded_share")),
        margin(_final(together, "mean_M"), _final(apart, "mean_M")),
        margin(_final(together, "adoption"), _final(apart, "adoption")),
    )


@statistic(arms=("lottery", "readiness", "need"))
def pattern_targeting(arms, settings) -> np.ndarray:
    """Pattern 9: readiness targeting raises mean adoption over a lottery but widens the
    capacity gap in adoption; need targeting narrows it."""
    adoption = {name: _final(table, "adoption") for name, table in arms.items()}
    gap = {name: _final(table, "gap_adoption_capacity") for name, table in arms.items()}
    return _weakest(
        margin(adoption["readiness"], adoption["lottery"]),
        margin(gap["readiness"], gap["lottery"]),
        margin(gap["lottery"], gap["need"]),
    )


@statistic(arms=("pandemic", "calm"), settings=("month",))
def pattern_pandemic_divergence(arms, settings) -> np.ndarray:
    """Pattern 10: a pandemic spreads readiness apart (some accelerate, many fall back) and more
    organizations fall back a stage than without it, up to ``month`` (the end of the shock)."""
    month = int(settings["month"])

    def fell_back(table):
        window = table[(table["month"] >= 1) & (table["month"] <= month)]
        return window.groupby("replicate")["fell_back"].sum().sort_index()

    return _weakest(
        margin(_at(arms["pandemic"], "sd_R", month), _at(arms["calm"], "sd_R", month)),
        margin(fell_back(arms["pandemic"]), fell_back(arms["calm"])),
    )


@statistic(arms=("young", "mature"))
def pattern_maturity(arms, settings) -> np.ndarray:
    """Pattern 11: teams with more prior collaboration progress further (final adoption)."""
    return _weakest(margin(_final(arms["mature"], "adoption"), _final(arms["young"], "adoption")))


@statistic(arms=("light", "adaptive"))
def pattern_adaptive_funder(arms, settings) -> np.ndarray:
    """Pattern 12: an adaptive funder lifts low-capacity teams and mean adoption at a higher
    cost, and narrows the high-minus-low capacity gap without opening one the other way."""
    light, adaptive = arms["light"], arms["adaptive"]

    def gap(table):
        return _final(table, "adoption_high_capacity") - _final(table, "adoption_low_capacity")

    spent = {name: table.groupby("replicate")["spent"].sum() for name, table in arms.items()}
    return _weakest(
        margin(_final(adaptive, "adoption_low_capacity"), _final(light, "adoption_low_capacity")),
        margin(_final(adaptive, "adoption"), _final(light, "adoption")),
        margin(spent["adaptive"], spent["light"]),
        margin(gap(light), gap(adaptive).abs()),
    )
