"""TA allocation: who asks for TA, who is served first, how provider hours and budget are shared.

Provider hours and the budget are hard limits (DESIGN.md 5.1): the hours delivered never
exceed either. The last three functions are what the adaptive funder (rule 16,
``TransformationModel._review``) looks at: lagging teams, under-served regions and the
navigation burden.
"""

from __future__ import annotations

import numpy as np


def participates(
    policy: str,
    *,
    month: int,
    mandate_month: int,
    motivation,
    uniform,
    request_base,
    request_motivation,
    acceptance,
):
    """Which eligible organizations take up TA this month.

    on_request: uptake is voluntary, more likely when motivated (thesis L1347; M11, L415) and
    when the transformation is acceptable to the organization (``acceptance``, a factor about
    1; ``mechanisms.acceptance_factor``).
    mandated: on request until the mandate month, then required. A counterfactual: Ontario
    required no use of its supports (thesis L1347); third-year agreements only promoted
    particular supports (L1406).
    The other policies offer TA to every eligible organization.
    """
    requested = uniform < (request_base + request_motivation * motivation) * acceptance
    if policy == "on_request" or (policy == "mandated" and month < mandate_month):
        return requested
    return np.ones_like(requested, dtype=bool)


def priority(policy: str, *, uniform, capacity, ready, cohort):
    """Order in which providers serve organizations when hours or budget run short (higher first).

    need: lowest capacity first; readiness: most ready first (thesis L370); cohort: newest
    cohort first (M28); otherwise a fair lottery.
    """
    if policy == "need":
        return 1.0 - capacity
    if policy == "readiness":
        return ready
    if policy == "cohort":
        return cohort + 0.5 * uniform
    return uniform


def allocate(
    *,
    link_org,
    link_provider,
    demand,
    order_key,
    time_per_hour,
    provider_hours,
    provider_cost,
    caseload_limit,
    budget,
    proportional=False,
    sessions=None,
):
    """Share provider time and the budget among the links (organization, provider) that want TA.

    Each organization's demand is split equally among the providers linked to it, and each
    provider serves at most its caseload limit of organizations, in priority order. Then
    provider hours and the budget are rationed: in priority order (the first served get
    their full dose), or, with ``proportional``, pro rata so that everyone gets the same
    share of what was asked (the ``universal`` policy: equal light touch for all).

    ``sessions`` (one id per link, -1 for one-to-one TA) groups the links a team-based
    provider serves together: a session is rationed whole, as one organization against the
    caseload, at the priority of its first member and for the longest dose among its members,
    and its provider time is shared among them in proportion to their hours (``share_session``).
    Returns the hours each link delivers to the organization and the provider time it uses.
    """
    n_links_per_org = np.bincount(link_org, minlength=len(demand))
    wanted = demand[link_org] / np.maximum(n_links_per_org[link_org], 1)
    # Integer ranks (highest priority first, ties by organization) make every sort key unique,
    # so plain integer argsorts replace a lexsort of floats: this is the hot path of a month.
    rank_of_org = np.empty(len(order_key), dtype=np.int64)
    rank_of_org[np.argsort(-order_key, kind="stable")] = np.arange(len(order_key))
    rationing = dict(
        provider_hours=provider_hours,
        provider_cost=provider_cost,
        caseload_limit=caseload_limit,
        budget=budget,
        proportional=proportional,
    )
    link_rank = rank_of_org[link_org]
    if sessions is None:
        return _ration(link_provider, link_rank, wanted, time_per_hour, **rationing)
    asking = np.flatnonzero(wanted > 0)
    unit, first = _units(sessions[asking], link_rank[asking])
    unit_wanted = np.zeros(len(first))
    np.maximum.at(unit_wanted, unit, wanted[asking])  # a session lasts as long as its longest dose
    unit_delivered, unit_time = _ration(
        link_provider[asking][first],
        link_rank[asking][first],
        unit_wanted,
        time_per_hour[asking][first],
        **rationing,
    )
    delivered, time_used = np.zeros(len(link_org)), np.zeros(len(link_org))
    delivered[asking], time_used[asking] = share_session(
        unit=unit, wanted=wanted[asking], delivered=unit_delivered, time=unit_time
    )
    return delivered, time_used


def _units(sessions, link_rank):
    """Each link's rationing unit (its session, or itself for one-to-one TA) and each unit's
    first member, the one of highest priority, which sets the unit's place."""
    one_to_one = sessions < 0
    key = np.where(
        one_to_one, np.max(sessions, initial=-1) + 1 + np.arange(len(sessions)), sessions
    )
    _, unit = np.unique(key, return_inverse=True)
    order = np.lexsort((link_rank, unit))  # by unit, best first
    first = order[np.r_[True, unit[order][1:] != unit[order][:-1]]]
    return unit, first


def share_session(*, unit, wanted, delivered, time):
    """Each member's hours (what it wanted, up to its session's) and its share of the session's
    provider time, in proportion to its hours: the members a team-based provider meets together
    share its time (thesis L1363, L1375)."""
    hours = np.minimum(wanted, delivered[unit])
    total = np.bincount(unit, weights=hours, minlength=len(delivered))
    share = np.divide(hours, total[unit], out=np.zeros(len(unit)), where=total[unit] > 0)
    return hours, time[unit] * share


def _ration(
    link_provider,
    link_rank,
    wanted,
    time_per_hour,
    *,
    provider_hours,
    provider_cost,
    caseload_limit,
    budget,
    proportional,
):
    """Caseloads, provider hours and the budget rationed over links ranked by ``link_rank``."""
    active = np.flatnonzero(wanted * time_per_hour > 0)
    time_used = np.zeros(len(link_provider))
    if len(active) == 0:
        return time_used.copy(), time_used
    provider = link_provider[active]
    time_wanted = (wanted * time_per_hour)[active]
    link_rank = link_rank[active]
    by_provider = np.argsort(provider * (int(link_rank.max()) + 1) + link_rank)
    sorted_provider = provider[by_provider]
    first = np.searchsorted(sorted_provider, np.arange(len(provider_hours)))[sorted_provider]
    rank = np.arange(len(sorted_provider)) - first
    sorted_time = time_wanted[by_provider] * (rank < caseload_limit[sorted_provider])
    if proportional:
        asked = np.bincount(sorted_provider, weights=sorted_time, minlength=len(provider_hours))
        share = np.minimum(
            1.0, np.divide(provider_hours, asked, out=np.ones_like(asked), where=asked > 0)
        )
        granted = sorted_time * share[sorted_provider]
    else:
        cumulative = np.cumsum(sorted_time)
        before = cumulative - sorted_time - (cumulative[first] - sorted_time[first])
        granted = np.clip(provider_hours[sorted_provider] - before, 0.0, sorted_time)
    granted_active = np.empty_like(granted)
    granted_active[by_provider] = granted

    cost = granted_active * provider_cost[provider]
    if proportional:
        total = cost.sum()
        granted_active *= min(1.0, budget / total) if total > 0 else 0.0
    else:
        by_priority = np.argsort(link_rank * len(active) + np.arange(len(active)))
        ordered_cost = cost[by_priority]
        spent_before = np.cumsum(ordered_cost) - ordered_cost
        affordable = np.clip(budget - spent_before, 0.0, ordered_cost)
        granted_active[by_priority] *= np.divide(
            affordable, ordered_cost, out=np.zeros_like(ordered_cost), where=ordered_cost > 0
        )
    time_used[active] = granted_active
    delivered = np.zeros(len(link_provider))
    delivered[active] = granted_active / time_per_hour[active]
    return delivered, time_used


def caseloads(link_provider, delivered, n_providers, caseload_weight=1.0):
    """Organizations each provider actually served this month (for caseload dilution), each
    link counted as ``caseload_weight`` (1 / the members served together: a session counts
    once)."""
    return np.bincount(
        link_provider, weights=(delivered > 0) * caseload_weight, minlength=n_providers
    )


def lagging_teams(
    *,
    adoption_by_team,
    capacity_by_team,
    admissions_fall_by_team,
    months_approved,
    review_interval,
    lagging_share,
    capacity_quantile,
    outcome_share,
):
    """Teams approved for a full review period that lag on adoption with limited capacity, or
    lag on outcomes.

    It was limited recipient capacity that turned light-touch TA into hands-on coaching
    (thesis L1375-1377, M5); without the capacity condition nearly every young team lags on
    adoption and coaching is not targeted at all. A funder monitors outcomes as well as uptake
    (thesis L1730, M32): a team adopting at least ``lagging_share`` lags on outcomes when its
    avoidable admissions avoided so far (per 1,000 a year) are below ``outcome_share`` of the
    mean of such teams reviewed, once that mean is above 0. It adopts without results, so it
    gets coaching whatever its capacity; a team adopting little is judged on adoption.
    """
    reviewed = months_approved >= review_interval
    limited = capacity_by_team <= np.quantile(capacity_by_team, capacity_quantile)
    adopting = adoption_by_team >= lagging_share
    judged = reviewed & adopting
    mean_fall = admissions_fall_by_team[judged].mean() if judged.any() else 0.0
    behind_on_outcomes = (mean_fall > 0) & (admissions_fall_by_team < outcome_share * mean_fall)
    return reviewed & ((limited & ~adopting) | (adopting & behind_on_outcomes))


def underserved_regions(*, hours_received, months_approved, org_region, n_regions, share):
    """Regions getting under ``share`` of the system's TA hours per organization-month.

    Northern and Indigenous-focused partners were added as northern teams arrived and the
    need for "boots on the ground" showed (thesis L1369, L1501-1503; M29, SF12).
    A region with no approved organization yet is not judged.
    """
    exposure = np.bincount(org_region, weights=months_approved, minlength=n_regions)
    hours = np.bincount(org_region, weights=hours_received, minlength=n_regions)
    system_rate = hours.sum() / exposure.sum() if exposure.sum() > 0 else 0.0
    rate = np.divide(hours, exposure, out=np.full(n_regions, np.inf), where=exposure > 0)
    return rate < share * system_rate


def navigation_observed(navigation_hours, threshold_hours=1.0):
    """Whether the funder sees enough navigation burden to set up coordination (thesis L1393)."""
    return float(np.mean(navigation_hours)) > threshold_hours
