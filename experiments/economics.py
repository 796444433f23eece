"""Cost-effectiveness of one arm against a reference over paired replicates.

Replicates share their seed across arms (common random numbers), so each replicate gives one
paired difference in cost and in effect. From those: the incremental cost and effect with 95 %
t-intervals, the incremental cost-effectiveness ratio (ICER) where it means something, and the
cost-effectiveness acceptability curve (CEAC): the share of paired replicates (or posterior
draws) whose net monetary benefit ``wtp * effect - cost`` is positive at each willingness to pay
(as dampack's and BCEA's CEACs, from the joint distribution of the differences).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.analysis import difference_interval, run_summaries
from experiments.wording import money, points, signed

# willingness to pay per avoided admission for the CEAC ($): the sources give no threshold
WILLINGNESS = np.linspace(0, 200_000, 41)
CONFIDENT = 0.95  # the summary names the least willingness to pay cost-effective this often


@dataclass(frozen=True)
class Increment:
    """A mean paired difference with its 95 % interval."""

    mean: float
    low: float
    high: float


@dataclass(frozen=True)
class CostEffect:
    """One arm against the reference: incremental cost and effect, and what they make."""

    cost: Increment
    effect: Increment
    icer: float | None  # cost per unit of effect; None where no ratio means anything
    verdict: str  # in words: "dominant", "dominated", "ratio", "no difference in effect"


def increment(differences) -> Increment:
    """Mean of paired differences with a 95 % t-interval (``analysis.difference_interval``); with
    a single replicate the interval is the mean itself."""
    values = pd.Series(np.asarray(differences, float))
    interval = difference_interval(values, 0.0 * values, 0.95, paired=True)
    mean = float(interval["difference"])
    if len(values) < 2:
        return Increment(mean, mean, mean)
    return Increment(mean, float(interval["low"]), float(interval["high"]))


def cost_effect(delta_cost, delta_effect) -> CostEffect:
    """Incremental cost and effect, and the ICER when the effect interval excludes 0.

    More effect at no more cost is dominant and less at no less cost dominated (no ratio is
    reported for either: a negative ICER misleads); an effect whose interval includes 0 gives
    no ratio ("no difference in effect"), where a raw division would be a huge or undefined
    number.
    """
    cost, effect = increment(delta_cost), increment(delta_effect)
    if effect.low <= 0 <= effect.high:
        return CostEffect(cost, effect, None, "no difference in effect")
    if effect.mean > 0 and cost.mean <= 0:
        return CostEffect(cost, effect, None, "dominant")
    if effect.mean < 0 and cost.mean >= 0:
        return CostEffect(cost, effect, None, "dominated")
    return CostEffect(cost, effect, cost.mean / effect.mean, "ratio")


def acceptability(delta_cost, delta_effect, willingness) -> np.ndarray:
    """CEAC: at each willingness to pay per unit of effect, the share of paired replicates (or
    draws) whose net monetary benefit ``wtp * delta_effect - delta_cost`` is positive."""
    cost = np.asarray(delta_cost, float)[None, :]
    effect = np.asarray(delta_effect, float)[None, :]
    wtp = np.asarray(willingness, float)[:, None]
    return (wtp * effect - cost > 0).mean(axis=1)


def cost_effectiveness(table: pd.DataFrame, reference: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each arm of a ``tasim compare`` table against ``reference`` over paired replicates (each
    at its own posterior draw under ``--posterior``): the incremental discounted cost net of
    savings (TA, recipient staff time and set-up, less savings from avoided use), the
    incremental discounted admissions avoided, the ICER or the verdict in words, the CEAC over
    ``WILLINGNESS`` and a summary in words."""
    summaries = run_summaries(table, ["arm"])
    base = summaries[summaries["arm"] == reference].set_index("replicate")
    rows, curves = [], []
    for arm, group in summaries.groupby("arm", sort=False):
        if arm == reference:
            continue
        other = group.set_index("replicate").reindex(base.index)
        delta_cost = other["net_cost_discounted"] - base["net_cost_discounted"]
        delta_effect = (
            other["admissions_avoided_discounted"] - base["admissions_avoided_discounted"]
        )
        result = cost_effect(delta_cost, delta_effect)
        curve = acceptability(delta_cost, delta_effect, WILLINGNESS)
        adoption = increment(other["final_adoption"] - base["final_adoption"])
        rows.append(
            {
                "arm": arm,
                "extra_cost": result.cost.mean,
                "extra_cost_low": result.cost.low,
                "extra_cost_high": result.cost.high,
                "extra_admissions_avoided": result.effect.mean,
                "extra_admissions_avoided_low": result.effect.low,
                "extra_admissions_avoided_high": result.effect.high,
                "cost_per_admission_avoided": result.icer,
                "verdict": result.verdict,
                "summary": describe(
                    arm, reference, result, adoption=adoption, confident=confident_range(curve)
                ),
            }
        )
        curves.append(
            pd.DataFrame(
                {
                    "arm": arm,
                    "willingness_to_pay": WILLINGNESS,
                    "probability_cost_effective": curve,
                }
            )
        )
    return pd.DataFrame(rows), pd.concat(curves, ignore_index=True)


def confident_range(curve) -> tuple[float, float] | None:
    """The willingness to pay on ``WILLINGNESS`` over which the arm is cost-effective with
    probability ``CONFIDENT`` or more: (least, most), None where it never is. A costlier, more
    effective arm's curve rises (cost-effective from some value on); a cheaper, less effective
    one's falls (worth its savings only up to some value)."""
    reached = np.flatnonzero(np.asarray(curve) >= CONFIDENT)
    if not len(reached):
        return None
    return float(WILLINGNESS[reached[0]]), float(WILLINGNESS[reached[-1]])


def describe(
    arm: str,
    reference: str,
    result: CostEffect,
    *,
    adoption: Increment,
    confident: tuple[float, float] | None,
) -> str:
    """A paragraph in words for a policymaker, the same in the CLI and on the What-if page:
    the change in adoption, in admissions avoided and in cost net of savings, each with its
    95 % interval, what they make (a cost per avoided admission, savings per avoided admission
    given up, or why there is no ratio) and over what willingness to pay the arm is
    cost-effective with 95 % probability (``confident_range``)."""
    cost, effect = result.cost, result.effect
    text = (
        f"{arm} against {reference}: adoption {points(adoption.mean)} "
        f"({signed(100 * adoption.low)} to {signed(100 * adoption.high)}) by the end; "
        f"avoidable admissions avoided {signed(effect.mean)} "
        f"({signed(effect.low)} to {signed(effect.high)}); cost (TA, staff time and set-up "
        f"less savings) {money(cost.mean, sign=True)} ({money(cost.low, sign=True)} to "
        f"{money(cost.high, sign=True)}); admissions and cost discounted, 95 % intervals over "
        "paired replicates"
    )
    icer = money(result.icer or 0.0)
    verdicts = {
        "ratio": f"about {icer} per avoided admission"
        if effect.mean > 0
        else f"it saves about {icer} per avoided admission given up",
        "dominant": "it avoids more admissions at no extra cost",
        "dominated": "it avoids fewer admissions at no saving",
        "no difference in effect": (
            "the effect is not distinguishable from none, so there is no cost per avoided admission"
        ),
    }
    probability = f"{100 * CONFIDENT:.0f} % probability"
    most = WILLINGNESS[-1]
    if confident is None:
        worth = (
            f"not cost-effective with {probability} at any willingness to pay up to "
            f"{money(most)} per avoided admission"
        )
    elif confident[0] > WILLINGNESS[0] and confident[1] < most:
        worth = (
            f"cost-effective with {probability} at {money(confident[0])} to "
            f"{money(confident[1])} per avoided admission"
        )
    elif confident[1] < most:
        worth = (
            f"cost-effective with {probability} only at a willingness to pay up to "
            f"{money(confident[1])} per avoided admission"
        )
    else:
        worth = (
            f"cost-effective with {probability} from {money(confident[0])} per avoided admission"
        )
    verdict = verdicts[result.verdict]
    return f"{text}. {verdict[0].upper()}{verdict[1:]}; {worth}."
