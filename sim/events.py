"""Shocks and policy events: scheduled parameter changes, pandemic, turnover, policy uncertainty.

Scheduled changes (``[[events]]`` in a scenario) are how budget cuts, mandates, hands-on
coaching or new providers arrive at a given month; the shocks are rule 15 of DESIGN.md.
What a pandemic does to organizations (slack lost, partners' mutual aid, the crisis as a
burning platform) is in ``sim.mechanisms``: who accelerates and who falls back emerges
from capacity, trust and ties.
"""

from __future__ import annotations

import numpy as np

from sim.params import PandemicParams, Scenario, UncertaintyParams


def changes_due(scenario_events, month: int) -> dict:
    """All parameter changes scheduled for this month, merged in file order."""
    merged: dict = {}
    for event in scenario_events:
        if event.month == month:
            merged.update(event.set)
    return merged


def apply_changes(scenario: Scenario, changes: dict) -> Scenario:
    """The scenario with ``changes`` (dotted paths) applied, validated like a scenario file.

    Every change to the model's parameters goes through here: scheduled events, and the
    adaptive funder's decisions that are parameter values (its budget, the provider groups it
    adds), so a value outside its allowed range fails as one ScenarioError line naming the
    parameter whichever made it. The events list is kept so later events still fire.
    """
    return scenario.with_overrides(changes) if changes else scenario


def pandemic_active(pandemic: PandemicParams, month: int) -> bool:
    """Whether service pressure from the pandemic is on (thesis L1467)."""
    return (
        pandemic.enabled
        and pandemic.start_month <= month < pandemic.start_month + pandemic.duration
    )


def uncertainty_active(uncertainty: UncertaintyParams, month: int) -> bool:
    """Whether organizations are waiting for policy direction (004 L192-204)."""
    return uncertainty.start_month <= month < uncertainty.start_month + uncertainty.duration


def turnover(*, specific, trust, uniform, monthly_probability, capacity_loss, trust_loss):
    """A key person leaves: specific capacity and trust drop (Hemler 2022; McKay 2018).

    Source: anchor-ta-evidence.md 2.4 (31.6 % of practices lose a clinician in 3-15 months).
    Returns the new (specific, trust) and the mask of organizations hit.
    """
    hit = uniform < monthly_probability
    keep_specific = np.where(hit, 1.0 - capacity_loss, 1.0)
    keep_trust = np.where(hit, 1.0 - trust_loss, 1.0)
    return specific * keep_specific[:, None], trust * keep_trust, hit


def home_care_transition_active(home_care, month: int) -> bool:
    """Whether the move of home and community care into the teams is under way this month:
    from ``transfer_month`` (0 = never) for ``transition_months`` (seed 001 L109, L124-134)."""
    start = home_care.transfer_month
    return start > 0 and start <= month < start + home_care.transition_months
