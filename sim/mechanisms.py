"""Every rule of the model as a pure, vectorised function: numpy arrays in, numpy arrays out.

This module is the single source of truth for the mechanisms of DESIGN.md section 5. The
model, the dose-response experiment and the tests all call these functions, so a rule is
changed in exactly one place. Each docstring names its source: a file in
``shared/evidence/`` (and through it a line of ``shared/seeds/``), or "assumption".
Functions never draw random numbers themselves: callers pass uniforms from ``model.rng``.

Most rules take a run of same-typed floats and arrays (rates, shares, hours), so everything
after the state a rule updates is keyword-only (the ``*`` in a signature): a swapped
positional argument would still run and silently give wrong numbers, a misspelt or swapped
keyword cannot. ``net_benefit`` keeps positional arguments for the dose-response experiment.
"""

from __future__ import annotations

import numpy as np

# Stage codes (EPIS-like, DESIGN.md section 3).
NOT_ENGAGED, EXPLORING, PREPARING, IMPLEMENTING, SUSTAINING, DISCONTINUED = range(6)
STAGES = ("not_engaged", "exploring", "preparing", "implementing", "sustaining", "discontinued")


def is_adopting(stage):
    """Preparing, implementing or sustaining (the adopting stages are contiguous codes)."""
    return (stage >= PREPARING) & (stage <= SUSTAINING)


# Months between contacts for each periodicity (thesis L419, M14): weekly and biweekly are
# several contacts in every month, bimonthly and quarterly bunch the dose into fewer months.
PERIOD_MONTHS = {"weekly": 1, "biweekly": 1, "monthly": 1, "bimonthly": 2, "quarterly": 3}
CONTACTS_PER_CONTACT_MONTH = {
    "weekly": 4.3,
    "biweekly": 2.2,
    "monthly": 1.0,
    "bimonthly": 1.0,
    "quarterly": 1.0,
}


# ------------------------------------------------------------------ allocation and delivery


def caseload_quality(caseload, *, penalty, free_caseload):
    """Attention quality q = 1 / (1 + psi * max(0, c - c0)).

    Source: anchor-ta-evidence.md 2.4 and 6.2 (Baskerville 2012 re-analysis: -0.014 SMD per
    extra practice per facilitator, psi ~ 0.025, c0 ~ 5).
    """
    return 1.0 / (1.0 + penalty * np.maximum(0.0, np.asarray(caseload, float) - free_caseload))


def navigation_burden(n_providers, *, hours_per_provider, coordinated, relief):
    """Staff hours lost navigating uncoordinated offerings: nu * (n - 1), mostly removed by
    coordination.

    Source: seed-thesis.md M24-M25 (thesis L1385-1400).
    """
    extra = np.maximum(0.0, np.asarray(n_providers, float) - 1.0)
    return hours_per_provider * extra * (1.0 - relief * np.asarray(coordinated, float))


def provider_time_per_hour(*, content, relationship, peer, content_reach, travel_share):
    """Provider hours used per hour an organization receives.

    Content hours are one-to-many (one hour reaches ``content_reach`` organizations); in-person
    hours also lose travel time. Source: thesis L1371-1373 (light touch to many at once),
    thesis L421 (M15: face-to-face is resource intensive); travel shares are assumptions.
    """
    return (content / content_reach + relationship + peer) / (1.0 - travel_share)


def is_contact_month(month, periodicity):
    """Whether providers meet recipients this month (thesis L419, M14)."""
    return month % PERIOD_MONTHS[periodicity] == 0


def trust_update(
    trust, *, relationship_hours, contacts, contact, build, half_hours, decay, modality_trust
):
    """T += gain * (1 - T) with contact, T -= delta_T * T without contact.

    Each contact adds trust with diminishing returns in relationship hours, so regular
    contact builds trust faster than the same hours bunched together. Source:
    anchor-ta-evidence.md 6.2 rule 2 (beta_T 0.3, delta_T 0.08; Chilenski 2016, 2021).
    The per-contact saturation in hours is a refinement (docs/odd.md).
    """
    per_contact = relationship_hours / np.maximum(contacts, 1.0)
    gain_per_contact = build * modality_trust * per_contact / (per_contact + half_hours)
    gain = 1.0 - (1.0 - gain_per_contact) ** contacts
    return np.where(contact, trust + gain * (1.0 - trust), trust * (1.0 - decay))


def effective_dose(
    *,
    content_hours,
    coaching_hours,
    peer_hours,
    quality,
    trust,
    kappa,
    modality_effect,
    content_weight,
    peer_weight,
):
    """u = H * q * T^kappa * modality, with content hours weighted low and undiluted by caseload.

    Source: anchor-ta-evidence.md 6.2 rule 3 (Chilenski 2016; Metz 2022: relationship
    multiplies every other component); content weight: thesis L404, L1375 and Gold 2019.
    """
    weighted = content_weight * content_hours + quality * (
        coaching_hours + peer_weight * peer_hours
    )
    return weighted * np.asarray(trust, float) ** kappa * modality_effect


def absorption(dose, *, general_capacity, half_saturation, hill):
    """a = u^n / (K^n + u^n) with K = K0 / (0.5 + G): saturating, with a minimum effective dose
    for n > 1.

    Source: anchor-ta-evidence.md 6.2 rule 4 and 6.5 (Hill form; K0 4 h/month, n 1.5;
    Gold 2019 saturation, Kilbourne 2015 small-dose response).
    """
    k = half_saturation / (0.5 + np.asarray(general_capacity, float))
    un = np.asarray(dose, float) ** hill
    return un / (k**hill + un)


def readiness(*, motivation, general_capacity, specific_mean, weights=(1.0, 1.0, 1.0)):
    """R = M^wM * G^wG * Sbar^wS, a weighted geometric mean: zero in any part means not ready.

    Source: anchor-ta-evidence.md 3 (Scaccia 2015, R = MC^2).
    """
    w = np.asarray(weights, float) / np.sum(weights)
    return (
        np.asarray(motivation, float) ** w[0]
        * np.asarray(general_capacity, float) ** w[1]
        * np.asarray(specific_mean, float) ** w[2]
    )


def capacity_gate(*, motivation, general_capacity, dependence=1.0):
    """Rg = (M * G)^0.5, raised to a role's readiness dependence: no capacity is built without
    readiness.

    Source: anchor-ta-evidence.md 6.2 rule 6 and 6.3 (facilitators need readiness,
    doers much less; Smith 2020).
    """
    base = np.sqrt(np.asarray(motivation, float) * np.asarray(general_capacity, float))
    return np.where(base > 0, base**dependence, 0.0)


def expertise_match(*, specific, expertise, focus):
    """match[k]: provider expertise aimed at the organization's weakest building blocks (mean
    weight 1).

    Source: seed-thesis.md M3 (thesis L372-374): TA value depends on the overlap of capacity
    gaps and provider expertise.
    """
    need = (1.0 - specific) ** focus
    weights = need / np.maximum(need.mean(axis=1, keepdims=True), 1e-12)
    return expertise * weights


def specific_capacity_update(
    specific, *, absorbed, gate, transfer, match, spillover, peer_gap, decay, learning
):
    """Specific capacity per building block: TA, learning by doing and peers build it, it decays.

    S[k] += alpha_r * a * Rg * match[k] * (1 - S[k]) + lambda_L * (1 - S[k])
            + phi * peer_gap[k] - delta_S * S[k].

    ``learning`` is the per-organization rate of learning by doing (lambda_L * G times the
    share of the implementation work done in house). Source: anchor-ta-evidence.md 6.2
    rules 6 and 9 (DSF learning term); peer spillover: thesis L936 (M21).
    """
    growth = ((transfer * absorbed * gate)[:, None] * match + learning[:, None]) * (1.0 - specific)
    return np.clip(specific + growth + spillover * peer_gap - decay * specific, 0.0, 1.0)


def learning_by_doing(*, rate, general, working, substituted):
    """lambda_L * G * (1 - sub) while working on the change: work a doer takes over teaches nothing.

    Source: anchor-ta-evidence.md 6.2 rule 9 (DSF learning term) and 6.5 item 5 (dependence).
    """
    return np.where(working, rate * general * (1.0 - substituted), 0.0)


def general_capacity_update(general, *, absorbed, gate, transfer, decay, resting):
    """G += alpha_G,r * a * Rg * (1 - G) - delta_G * (G - G0).

    Source: anchor-ta-evidence.md 6.2 rule 6. Refinement (docs/odd.md): general capacity
    relaxes to the organization's own resting level G0 rather than to zero, because
    leadership, staffing and QI infrastructure persist without TA.
    """
    return np.clip(
        general + transfer * absorbed * gate * (1.0 - general) - decay * (general - resting),
        0.0,
        1.0,
    )


def peer_gap(weights, values):
    """Shortfall of each organization behind the tie-weighted mean of its neighbours (>= 0).

    ``weights`` is a row-normalised sparse adjacency matrix. Source: thesis L936 (M21) and
    anchor-ta-evidence.md 6.2 rule 6 (phi * peer_gap).
    """
    return np.maximum(0.0, weights @ values - values)


def motivation_update(
    motivation,
    *,
    resting,
    relationship_absorbed,
    peer_share,
    fidelity,
    overload,
    build,
    peer_pull,
    wins,
    decay,
    overload_loss,
    uncertainty_loss,
):
    """Motivation rises with co-design, peer adoption and early wins; overload and uncertainty
    erode it.

    M += beta_M * a_rel * (1 - M) + nu * (peer - M)+ + wins * F * (1 - M) - delta_M * (M - M0)
         - kappa_W * overload - uncertainty * M.
    Source: anchor-ta-evidence.md 6.2 rule 5 (Repenning & Sterman for overload);
    policy uncertainty: seed-oht.md (004 L192-204). Motivation decays slowly towards the
    organization's resting level M0 (refinement, docs/odd.md).
    """
    gain = (
        build * relationship_absorbed * (1.0 - motivation)
        + peer_pull * np.maximum(0.0, peer_share - motivation)
        + wins * fidelity * (1.0 - motivation)
    )
    loss = decay * (motivation - resting) + overload_loss * overload + uncertainty_loss * motivation
    return np.clip(motivation + gain - loss, 0.0, 1.0)


def substitution(hours, *, substitution_share, task_hours):
    """sub = s_r * min(1, H / H_task): the share of the task the provider does itself.

    Source: anchor-ta-evidence.md 6.2 rule 7 (Nastase 2021; doers substitute).
    """
    return substitution_share * np.minimum(1.0, np.asarray(hours, float) / task_hours)


def ownership_update(ownership, *, absorbed, gain, loss, substituted):
    """O += eta_r * a * (1 - O) - zeta * sub * O (anchor-ta-evidence.md 6.2 rule 7)."""
    return np.clip(
        ownership + gain * absorbed * (1.0 - ownership) - loss * substituted * ownership, 0.0, 1.0
    )


def workload(*, hours, recipient_hours, internal_work, navigation, change_hours):
    """W = (omega * H + internal work + navigation burden) / change hours available.

    Source: anchor-ta-evidence.md 2.5 (Ritchie 2020: 0.8 recipient hours per facilitator
    hour) and 6.2 rule 10; Hunter 2009 (TA requires significant staff time).
    """
    return (recipient_hours * hours + internal_work + navigation) / np.maximum(change_hours, 1e-9)


def overload(workload_ratio, *, threshold):
    """max(0, W - W*): strain beyond what staff can absorb.

    Source: Repenning & Sterman 2001; the threshold W* is an assumption.
    """
    return np.maximum(0.0, np.asarray(workload_ratio, float) - threshold)


def adoption_hazard(*, innovation, imitation, peer_share, absorption_effect, absorbed):
    """1 - exp(-(p + q * share of adopting neighbours + beta_A * a)).

    Source: anchor-ta-evidence.md 4.2 and 6.2 rule 8 (Bass p, q; TA-driven adoption).
    """
    return 1.0 - np.exp(-(innovation + imitation * peer_share + absorption_effect * absorbed))


def adopts(*, hazard, ready, threshold, uniform):
    """Adoption only where readiness reaches the heterogeneous threshold theta_i (Valente)."""
    return (ready >= threshold) & (uniform < hazard)


def penetration_update(penetration, *, specific_mean, ready, rate, active):
    """P += r_P * (S * R - P) while implementing or sustaining; P decays otherwise.

    Source: RE-AIM reach; anchor-ta-evidence.md 6.2 rule 8.
    """
    target = np.where(active, specific_mean * ready, 0.0)
    return np.clip(penetration + rate * (target - penetration), 0.0, 1.0)


def fidelity(specific_mean, *, exponent, substituted, implementing):
    """F = min(1, Sbar^eps + sub) while implementing; what a doer supplies vanishes with its hours.

    Source: anchor-ta-evidence.md 6.2 rule 9 (Durlak & DuPre; the drop is the dependence).
    """
    return np.where(
        implementing,
        np.minimum(1.0, np.asarray(specific_mean, float) ** exponent + substituted),
        0.0,
    )


def discontinuation_hazard(*, base, ownership, general):
    """h = h0 * (1 - O) * (1 - G) per month after TA ends: 5-8 %/year at median O and G.

    Source: anchor-ta-evidence.md 4.7 and 6.4 (Tibbits 2010 7.7 %; Johnson 2017 4.9 %).
    """
    return base * (1.0 - ownership) * (1.0 - general)


def lagged(value, *, target, delay):
    """First-order delay: Y += (Y* - Y) / tau.

    Source: realist synthesis L1440, L1474 (outcomes take years).
    """
    return value + (target - value) / delay


def outcome_gain(*, penetration, fidelity_value, gamma):
    """P * F^gamma: outcomes need reach and high fidelity.

    Source: anchor-ta-evidence.md 6.2 rule 11 (gamma 1-2).
    """
    return penetration * np.asarray(fidelity_value, float) ** gamma


def net_benefit(absorbed, benefit, overload_value, overload_cost):
    """Benefit of absorbed TA minus the cost of overload: an interior optimum for low capacity.

    Source: anchor-ta-evidence.md 6.5 item 4 (mechanism-based, not directly observed).
    """
    return benefit * absorbed - overload_cost * overload_value
