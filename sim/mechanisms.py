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

# Stage codes (EPIS-like, DESIGN.md section 3), with operating at a reduced level between full
# operation and stopping (Tibbits 2010: 22 % of programs five years on; anchor-ta-evidence.md 4.7).
NOT_ENGAGED, EXPLORING, PREPARING, IMPLEMENTING, SUSTAINING, REDUCED, DISCONTINUED = range(7)
STAGES = (
    "not_engaged",
    "exploring",
    "preparing",
    "implementing",
    "sustaining",
    "reduced",
    "discontinued",
)


# Phases of a team's support when it is responsive (seed 003 L11; anchor-ta-evidence.md P8).
FOUNDATIONAL, CAPACITY_BUILDING, FADING = range(3)
SUPPORT_PHASES = ("foundational", "capacity_building", "fading")


def is_adopting(stage):
    """Preparing, implementing, sustaining or reduced (the adopting stages are contiguous codes)."""
    return (stage >= PREPARING) & (stage <= REDUCED)


def is_operating(stage):
    """Implementing, sustaining or reduced: delivering the change, so with reach and fidelity."""
    return (stage >= IMPLEMENTING) & (stage <= REDUCED)


def is_fully_operating(stage):
    """Implementing or sustaining: operating, and not at a reduced level."""
    return (stage >= IMPLEMENTING) & (stage <= SUSTAINING)


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


def support_phase(*, adopting_share, operating_share, building_share, fading_share):
    """The phase of a team's support: foundational and co-design work until ``building_share``
    of its members adopt, capacity building until ``fading_share`` implement or sustain, then
    fading. Worked out each month from the team's state, so support that has moved on goes
    back when the team slips: responsive, not a fixed schedule.

    Source: seed 003 L11 ("sequential support processes", practice "in dynamic and responsive
    ways"); anchor-ta-evidence.md P8 (Aldridge 2023b: foundational and co-design work at high
    dose early, then a blended mix; support fell year over year) and 6.2 rule 1; thesis L1383
    (didactic learning first, "once they kind of got that we could move into different
    approaches"). The thresholds are assumptions: no source gives the triggers.
    """
    adopting_share = np.asarray(adopting_share, float)
    return np.where(
        adopting_share < building_share,
        FOUNDATIONAL,
        np.where(np.asarray(operating_share, float) < fading_share, CAPACITY_BUILDING, FADING),
    )


def is_contact_month(month, periodicity):
    """Whether providers meet recipients this month (thesis L419, M14)."""
    return month % PERIOD_MONTHS[periodicity] == 0


def ta_fit(*, expertise, specific):
    """How well TA is aimed at an organization's needs: sum_k e_k (1 - S_k) / sum_k (1 - S_k),
    the provider's expertise weighted by the organization's gaps, in [0, 1].

    Source: seed-thesis.md M3 (thesis L372-374: TA value depends on the overlap of capacity
    gaps and provider expertise); L1407, L1523 (matching needs was a challenge).
    """
    need = 1.0 - np.asarray(specific, float)
    aimed = np.einsum("...k,...k->...", np.asarray(expertise, float), need)
    return aimed / np.maximum(need.sum(axis=-1), 1e-12)


def satisfaction(*, fit, overload):
    """Satisfaction with the month's TA: its fit times (1 - min(1, overload)).

    TA that fits the need satisfies; TA that adds to an overloaded staff's demands is "just a
    burden" (seed 004 L162). Source: thesis L425 (individual outputs: what was provided and
    received); the form is an assumption.
    """
    strain = np.minimum(1.0, np.asarray(overload, float))
    return np.asarray(fit, float) * (1.0 - strain)


def acceptability_update(acceptability, *, satisfied, received, rate):
    """A += rate * (satisfaction - A) in a month with TA: acceptability of the transformation
    follows how well the support fits and how much it burdens.

    One of the logic model's three short-term outcomes (thesis L439); burden lowers it (seed
    004 L162). The rate is an assumption.
    """
    return np.where(received, acceptability + rate * (satisfied - acceptability), acceptability)


def acceptance_factor(acceptability):
    """0.5 + A: how acceptability scales the chance to ask for TA (1 at A = 0.5).

    Source: thesis L439 (acceptability goes with uptake); the form is an assumption.
    """
    return 0.5 + np.asarray(acceptability, float)


def retention_factor(acceptability):
    """1.5 - A: how acceptability scales the discontinuation hazard (1 at A = 0.5): an
    acceptable change is kept. Source: thesis L439; the form is an assumption.
    """
    return 1.5 - np.asarray(acceptability, float)


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
    need = np.subtract(1.0, specific)
    need **= focus
    norm = need.mean(axis=1, keepdims=True)
    need /= np.maximum(norm, 1e-12, out=norm)
    need *= expertise  # in place: this runs on (organizations x blocks) every month
    return need


def specific_capacity_update(
    specific, *, absorbed, gate, transfer, match, spillover, peer_gap, decay, learning
):
    """Specific capacity per building block: TA, learning by doing and peers build it, it decays.

    S[k] += alpha_r * a * Rg * match[k] * (1 - S[k]) + lambda_L * (1 - S[k])
            + phi * peer_gap[k] - delta_S * S[k].

    ``learning`` is the per-organization rate of learning by doing (``learning_by_doing``)
    and ``decay`` the per-organization loss rate (``capacity_drift``). Source:
    anchor-ta-evidence.md 6.2 rules 6 and 9 (DSF learning term); peer spillover: thesis L936
    (M21).
    """
    # in place, in the order of the formula: this runs on (organizations x blocks) every month
    updated = np.asarray(transfer * absorbed * gate)[:, None] * match
    updated += learning[:, None]
    updated *= 1.0 - specific
    updated += specific
    updated += spillover * peer_gap
    updated -= np.reshape(decay, (-1, 1)) * specific
    return np.clip(updated, 0.0, 1.0, out=updated)


def feedback_update(feedback, *, hours, half_hours, fade_months):
    """A provider's feedback: h / (h + h_half) in a month of coaching or peer-exchange hours h,
    fading by exp(-1 / fade) a month after it (the larger of the two).

    A quarter hour of contact reinforces little; feedback outlasts the contact month, so a
    bimonthly or quarterly rhythm is not unreinforced in between. Source:
    anchor-ta-evidence.md 4.6-4.7 (DSF: continuous learning; Cooper 2015: contact with the
    trainer goes with sustainment); the half-hours and the fading time are assumptions.
    """
    hours = np.asarray(hours, float)
    return np.maximum(hours / (hours + half_hours), feedback * np.exp(-1.0 / fade_months))


def reinforcement(*, feedback, peer_exposure, working):
    """1 - (1 - feedback) * (1 - peer exposure) while working on the change, else 1.

    Learning and ownership are kept up by a provider's feedback or by a community of practice
    (adopting peers along strong ties); an organization not working on the change has nothing
    that needs reinforcing. Source: anchor-ta-evidence.md 4.6 (DSF: fidelity decays with loss
    of reinforcement) and 4.7 (Cooper 2015: contact with the trainer and coalition functioning
    go with sustainment).
    """
    reinforced = 1.0 - (1.0 - np.asarray(feedback, float)) * (1.0 - np.asarray(peer_exposure))
    return np.where(working, reinforced, 1.0)


def learning_by_doing(*, rate, general, data_use, working, substituted, reinforced):
    """lambda_L * G * (0.5 + data use) * (1 - sub) * reinforcement while working on the change.

    An organization learns from its own work as far as it can see it: ``data_use`` is its
    capacity in digital health and in measurement and QI (``data_use``), and the factor is 1
    at half of it. Work a doer takes over teaches nothing, and learning by doing needs
    feedback (coaching or peers): without it practice drifts instead of improving. Source:
    anchor-ta-evidence.md 6.2 rule 9 (DSF learning term lambda_L * G * data use), 4.6 and 6.5
    item 5 (dependence); the 0.5 + u form is an assumption (it mirrors ``acceptance_factor``).
    """
    return np.where(
        working,
        rate * general * (0.5 + np.asarray(data_use, float)) * (1.0 - substituted) * reinforced,
        0.0,
    )


def data_use(specific, *, blocks):
    """Mean capacity over the building blocks in ``blocks`` (column indices): for digital
    health and measurement and QI, how far an organization can see and learn from what it does.

    Source: anchor-ta-evidence.md 4.6 and 6.2 rule 9 (DSF: data use drives continuous
    learning); thesis L1164-1174 (building blocks 5 and 8) and L900-902.
    """
    return np.asarray(specific, float)[:, list(blocks)].mean(axis=1)


def implementation_capacity(specific, *, weakest):
    """Mean of an organization's ``weakest`` lowest building blocks (all of them = the mean).

    Population health management needs its blocks together (thesis L356-441, L1164-1174), so
    strength in some does not make up for gaps in others: what an organization can implement
    is set by its weakest blocks. How many count is an assumption.
    """
    specific = np.asarray(specific, float)
    if weakest >= specific.shape[1]:
        return specific.mean(axis=1)
    return np.partition(specific, weakest - 1, axis=1)[:, :weakest].mean(axis=1)


def capacity_drift(*, decay, extra, reinforced):
    """delta_S * (1 + extra * (1 - reinforcement)): specific capacity erodes faster unreinforced.

    Source: anchor-ta-evidence.md 4.6 (program drift: fidelity decays with loss of
    reinforcement) and seed-realist.md (L1322: referrals returned to pre-pilot levels after
    the pilot ended); the size of ``extra`` is an assumption.
    """
    return decay * (1.0 + extra * (1.0 - np.asarray(reinforced, float)))


def capacity_routes(*, absorbed, relationship_absorbed, content_specific_share):
    """Split the absorbed dose into what builds general capacity and what builds the building
    blocks: relationship work (coaching, peer exchange) builds transformation-specific
    capacity, content work predominantly general capacity, ``content_specific_share`` of it
    the blocks. Returns (general, specific).

    Source: thesis L404 (content-driven approaches "focused predominantly on information
    transfer ... to address general capacity gaps"; relationship-driven ones on
    "transformation-specific capacities"); L902 (content such as playbooks on data and quality
    measurement also carries block knowledge). The share is an assumption.
    """
    content = np.asarray(absorbed, float) - relationship_absorbed
    return (
        (1.0 - content_specific_share) * content,
        relationship_absorbed + content_specific_share * content,
    )


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


def tie_log_complement(strength, *, transmission):
    """log(1 - tau * w): a tie of strength w passes the practice on with chance tau * w a month.

    Kept as a logarithm so that exposure over many ties is a sum (a sparse product). Source:
    anchor-ta-evidence.md 4.3 and 6.2 rule 8 (diffusion along ties); the independent-chance
    form, in which exposure grows with the number and strength of ties rather than being
    Valente's share of adopting neighbours, and ``transmission`` are assumptions.
    """
    return np.log1p(-transmission * np.asarray(strength, float))


def peer_exposure(log_complement):
    """1 - prod_j (1 - tau * w_ij * x_j): the chance that at least one adopting tie reaches i.

    Unlike a share of neighbours, it grows with how many ties an organization has and how
    strong they are (thesis L936, M21: peers learn through their ties; the form is an
    assumption, see ``tie_log_complement``). ``log_complement`` is
    sum_j x_j * log(1 - tau * w_ij).
    """
    return -np.expm1(log_complement)


def peer_gap(*, neighbour_mean, values, connectedness):
    """Shortfall behind the tie-weighted mean of one's neighbours, scaled by connectedness.

    An organization learns from better-off peers in proportion to how well tied it is, so an
    isolated one gains nothing and dense, strong ties carry more. Source: thesis L936 (M21);
    anchor-ta-evidence.md 6.2 rule 6 (phi * peer_gap) and 4.4 (learning collaboratives).
    """
    gap = np.subtract(neighbour_mean, values)
    np.maximum(gap, 0.0, out=gap)
    gap *= np.asarray(connectedness, float)[:, None]
    return gap


def tie_growth(strength, *, joint, rate):
    """w += rate * joint * (1 - w): ties strengthen with joint work (in the model: both ends
    taking part in peer exchange in the same month, as in a shared community of practice).

    Source: seed-oht.md M1 and M3 (004 L93, L104: relationships built by working together;
    "informal collaboration" improved relationships, 001 L362); the rate is an assumption.
    """
    return strength + rate * np.asarray(joint, float) * (1.0 - strength)


def team_tie_strength(maturity, *, base, saturation):
    """Strength of the ties inside a team: ``base``, rising to 1 with years of collaboration.

    Source: seed-oht.md M1 (004 L93: teams formed on prior working relationships; a history of
    joint working eases integration, 001 L309); base and saturation are assumptions.
    """
    return base + (1.0 - base) * np.minimum(1.0, np.asarray(maturity, float) / saturation)


def maturity_update(maturity, *, collaborating):
    """Years of collaboration grow by the share of members working on the change together.

    A month in which every member works on the change adds a month of joint working. Source:
    seed-oht.md M1 (004 L93, L97); the exact form is an assumption.
    """
    return maturity + np.asarray(collaborating, float) / 12.0


def governance_capacity(
    *, maturity_index, governance_block, coordinator, members, coordinator_weight, party_cost
):
    """A team's capacity to decide and act together, in [0, 1].

    (c * coordinator + (1 - c) * joint) / (1 + party_cost * (parties - 1)), where
    joint = 1 - (1 - maturity) * (1 - block) is what lets the members decide together: the
    relationships of a mature team or the formal structures of the governance building block
    (``governance_block``, the members' mean capacity in leadership, accountability and
    governance, thesis L1164-1174, which TA concentrated on: L900-902). A dedicated
    coordinator is "an indispensable resource", usually funded by the convening hospital
    (seed-oht.md M12: 004 L142, L116); existing relationships lower the cost of coordination
    (M1: 004 L93); governance costs rise with the number of parties (M5: 001 L319). The
    weights and the either-or form are assumptions.
    """
    joint = 1.0 - (1.0 - np.asarray(maturity_index, float)) * (
        1.0 - np.asarray(governance_block, float)
    )
    own = coordinator_weight * np.asarray(coordinator, float) + (1.0 - coordinator_weight) * joint
    return own / (1.0 + party_cost * (np.asarray(members, float) - 1.0))


def decision_pace(governance):
    """0.5 + governance: how fast a team's members decide, about 1 at middling governance.

    Multiplies the adoption hazard (seed-oht.md M1, M5, M12). The form mirrors absorptive
    capacity, K0 / (0.5 + G); it is an assumption.
    """
    return 0.5 + np.asarray(governance, float)


def motivation_update(
    motivation,
    *,
    resting,
    relationship_absorbed,
    peer_exposure,
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

    M += beta_M * a_rel * (1 - M) + nu * (peer exposure - M)+ + wins * F * (1 - M)
         - delta_M * (M - M0) - kappa_W * overload - uncertainty * M.
    Source: anchor-ta-evidence.md 6.2 rule 5 (Repenning & Sterman for overload);
    policy uncertainty: seed-oht.md (004 L192-204). Motivation decays slowly towards the
    organization's resting level M0 (refinement, docs/odd.md).
    """
    gain = (
        build * relationship_absorbed * (1.0 - motivation)
        + peer_pull * np.maximum(0.0, peer_exposure - motivation)
        + wins * fidelity * (1.0 - motivation)
    )
    loss = decay * (motivation - resting) + overload_loss * overload + uncertainty_loss * motivation
    return np.clip(motivation + gain - loss, 0.0, 1.0)


def substitution(hours, *, substitution_share, task_hours):
    """sub = s_r * min(1, H / H_task): the share of the task the provider does itself.

    Source: anchor-ta-evidence.md 6.2 rule 7 (Nastase 2021; doers substitute).
    """
    return substitution_share * np.minimum(1.0, np.asarray(hours, float) / task_hours)


def ownership_update(ownership, *, absorbed, gain, loss, substituted, decay, reinforced):
    """O += eta_r * a * (1 - O) - zeta * sub * O - delta_O * (1 - reinforcement) * O.

    Doers displace ownership (anchor-ta-evidence.md 6.2 rule 7); ownership also wanes without
    contact or peers to reinforce it (4.7: Cooper 2015, contact with the trainer and coalition
    functioning go with sustainment; Katz & Wandersman 2016, TA rarely targets sustainment).
    ``decay`` is an assumption.
    """
    return np.clip(
        ownership
        + gain * absorbed * (1.0 - ownership)
        - loss * substituted * ownership
        - decay * (1.0 - reinforced) * ownership,
        0.0,
        1.0,
    )


TASK_REFERENCE_FTE = 60.0  # the size H_task is given for: the baseline's median organization


def task_hours(size, *, at_reference, reference_size, exponent):
    """Implementation work per month: H_task * (size / reference size)^e, with e < 1.

    The work grows with the organization, but part of it (planning, reporting, governance) is
    fixed, so it weighs more on small organizations: reporting is "burdensome for smaller
    organizations" (seed-oht.md M12: 001 L181, L334). The exponent is an assumption.
    """
    return at_reference * (np.asarray(size, float) / reference_size) ** exponent


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


def adoption_hazard(*, innovation, imitation, peer_exposure, absorption_effect, absorbed, pace):
    """1 - exp(-pace * (p + q * peer exposure + beta_A * a)).

    Source: anchor-ta-evidence.md 4.2 and 6.2 rule 8 (Bass p, q; TA-driven adoption); the
    team's ``pace`` (``decision_pace``) sets how fast its members decide.
    """
    return 1.0 - np.exp(
        -pace * (innovation + imitation * peer_exposure + absorption_effect * absorbed)
    )


def adopts(*, hazard, ready, threshold, uniform):
    """Adoption only where readiness reaches the heterogeneous threshold theta_i (Valente)."""
    return (ready >= threshold) & (uniform < hazard)


def penetration_update(penetration, *, specific_mean, ready, rate, level):
    """P += r_P * (level * S * R - P): reach follows capacity and readiness where operating.

    ``level`` is 1 while implementing or sustaining, the reduced level when operating at a
    reduced level, and 0 otherwise (so P decays). Source: RE-AIM reach; anchor-ta-evidence.md
    6.2 rule 8; Tibbits 2010 (4.7) for the reduced level.
    """
    target = level * specific_mean * ready
    return np.clip(penetration + rate * (target - penetration), 0.0, 1.0)


def fidelity(specific_mean, *, exponent, substituted, operating):
    """F = min(1, Sbar^eps + sub) while operating; what a doer supplies vanishes with its hours.

    Source: anchor-ta-evidence.md 6.2 rule 9 (Durlak & DuPre; the drop is the dependence).
    """
    return np.where(
        operating,
        np.minimum(1.0, np.asarray(specific_mean, float) ** exponent + substituted),
        0.0,
    )


def discontinuation_hazard(*, base, ownership, general):
    """h = h0 * (1 - O) * (1 - G) per month after TA ends: 5-8 %/year at median O and G (the
    model multiplies it by ``retention_factor``, 1 at neutral acceptability).

    Source: anchor-ta-evidence.md 4.7 and 6.4 (Tibbits 2010 7.7 %; Johnson 2017 4.9 %).
    """
    return base * (1.0 - ownership) * (1.0 - general)


def transition_work(*, home_care_contracts, lead_contracts, contracted, hours, support):
    """Staff hours a month that moving home and community care into the teams takes, per
    organization, while the transition lasts.

    Under contracted delivery each HCC organization holds one contract per team it serves and
    each team's lead one per HCC partner of the team; under direct delivery the lead brings
    care coordination in-house (HR, unions, wages) and the HCC organizations hold no contracts.
    ``support`` is the share legal, actuarial, consultancy and business supports take over.
    Source: seed 001 L125-131 (direct or contracted delivery), L164 and L229 (contracting is
    resource- and time-intensive, small organizations lack in-house legal resources), L168
    (contracts with multiple OHTs), L211-217 (supports); 004 L200. The hours per contract are an
    assumption.
    """
    contracts = np.asarray(lead_contracts, float) + (
        np.asarray(home_care_contracts, float) if contracted else 0.0
    )
    return hours * (1.0 - support) * contracts


def discount_factor(month, *, rate):
    """(1 + rate)^(-month / 12): the present value of a cost or effect ``month`` months on, at an
    annual rate (0 = no discounting). A health-economic convention; the sources give no rate."""
    return (1.0 + rate) ** (-np.asarray(month, float) / 12.0)


def capacity_shortfall(*, implementation_capacity, substituted, needed):
    """How far own capacity (``implementation_capacity``: its weakest blocks) plus a
    provider's substitution falls short of what implementing needs, as a share of it (0 = none).

    An organization let into implementation on capacity plus a doer's substitution loses that
    prop when the doer's hours stop (anchor-ta-evidence.md 4.7 and 6.3: post-withdrawal
    fidelity drops by ``sub``; 6.5 item 5).
    """
    return np.clip((needed - implementation_capacity - substituted) / needed, 0.0, 1.0)


def fallback_hazard(*, shortfall, overload, rate):
    """rate * max(shortfall, min(1, overload)): the monthly chance of falling back to a reduced
    level, for an organization implementing or sustaining whose own capacity falls short of
    the work or whose staff are overloaded.
    Partial sustainment is more common than full continuation (Wiltsey Stirman 2012; Tibbits
    2010: 22 % at a reduced level five years after funding, anchor-ta-evidence.md 4.7); under
    COVID-19 some teams "reverted to 'old ways' of working" (thesis L1467); overload erodes
    the capability to change (Repenning & Sterman, anchor-ta-evidence.md 6.2 rule 10). The
    rate is an assumption.
    """
    strain = np.minimum(1.0, np.asarray(overload, float))
    return rate * np.maximum(np.asarray(shortfall, float), strain)


def taper_factor(months_since, *, taper_months):
    """Share of the full dose given ``months_since`` months after withdrawal began.

    1 before it, then falling in equal steps to 0 over ``taper_months`` (0: TA stops at once):
    a sustaining phase of fading support (Aldridge 2023b: months 13+ "sustaining and fading",
    anchor-ta-evidence.md 6.2 rule 1 and P8; thesis M30, L1525).
    """
    since = np.asarray(months_since, float)
    return np.where(since < 0, 1.0, np.clip(1.0 - (since + 1.0) / (taper_months + 1.0), 0.0, 1.0))


def shock_slack_cut(*, cut, support, mutual_aid):
    """Share of change slack a shock takes: cut * (1 - mutual aid * support along ties).

    Whether strongly tied partners could "lean in to support one another" is the question
    seed 004 L226 asks of the pandemic response (seed-oht.md M20); the relief is an
    assumption.
    """
    return cut * (1.0 - mutual_aid * np.asarray(support, float))


def crisis_motivation(motivation, *, general, trust, support, urgency):
    """M += urgency * G * T * support * (1 - M) while a crisis makes the need plain.

    A crisis is a burning platform only for those able to act on it: capacity, trust in their
    partners and ties to them together decide who accelerates, so the gain is their product
    (thesis L1467-1475, L1515: COVID-19 showed the need to manage whole populations;
    seed-oht.md M20, 004 L226). The urgency is an assumption.
    """
    gain = urgency * np.asarray(general, float) * np.asarray(trust, float) * support
    return np.clip(motivation + gain * (1.0 - motivation), 0.0, 1.0)


def lagged(value, *, target, delay):
    """First-order delay: Y += (Y* - Y) / tau.

    Source: realist synthesis L1440, L1474 (outcomes take years).
    """
    return value + (target - value) / delay


# The building blocks through which a change in practice acts on each outcome, with their
# weights (in sim.params.BUILDING_BLOCKS order: population, in_scope_services,
# patient_partnership, patient_care, digital_health, leadership_governance, funding_incentives,
# measurement_qi). The blocks are the evidence's; the weights are assumptions on its emphasis.
# Avoidable admissions: care coordination and multidisciplinary teams (patient_care, realist
# synthesis L1815), risk stratification and case-finding (population, L1837, L595), telehealth
# and integrated pathways (digital_health, L1754), self-management (patient_partnership,
# L1588-1590).
ADMISSION_BLOCKS = (0.3, 0.0, 0.15, 0.4, 0.15, 0.0, 0.0, 0.0)
# Patient experience: continuity and coordination (patient_care, OHT synthesis L339-340, realist
# synthesis L1344), partnership with patients (patient_partnership, L1602, L1632), routinely
# collected patient-reported feedback (measurement_qi, L1770).
EXPERIENCE_BLOCKS = (0.0, 0.0, 0.4, 0.4, 0.0, 0.0, 0.0, 0.2)


def operating_level(stage, *, reduced_level):
    """1 while implementing or sustaining, ``reduced_level`` at a reduced level, 0 otherwise:
    how much of the change an organization is delivering.

    Source: anchor-ta-evidence.md 4.7 (Tibbits 2010; Wiltsey Stirman 2012).
    """
    return np.where(is_fully_operating(stage), 1.0, np.where(stage == REDUCED, reduced_level, 0.0))


def block_support(specific, *, weights, needed):
    """min(1, S . w / needed): how far the building blocks that act on an outcome carry an
    organization's change in practice, against the capacity implementing needs.

    An organization whose acting blocks are at ``needed`` (``implement_capacity``) delivers the
    full effect of what it practises; weaker blocks deliver less. Source: thesis L356-441 (the
    blocks make population-health-management capacity); the proportional form is an assumption.
    """
    weights = np.asarray(weights, float)
    return np.minimum(1.0, (specific @ (weights / weights.sum())) / max(needed, 1e-9))


def practice_change(*, level, fidelity_value, gamma, support):
    """level * F^gamma * support: the change in care an organization delivers, in [0, 1].

    Outcomes need the change delivered (``level``), delivered faithfully (gamma 1-2: low fidelity
    buys little, anchor-ta-evidence.md 6.2 rule 11, Durlak & DuPre) and carried by the blocks
    that act on the outcome (``block_support``).
    """
    return level * np.asarray(fidelity_value, float) ** gamma * support


def avoidable_admissions(*, base_rate, change, max_cut):
    """base_rate * (1 - max_cut * change): avoidable emergency admissions per 1,000 a year.

    ``base_rate`` carries the risk of the population an organization serves (larger effects in
    people with at least moderate disease, realist synthesis L1815); ``max_cut`` is the share
    avoided at full change (at most about 20 % in the sources, L1588-1590, L1815; a wide
    documented range, since pooled schemes mostly showed none, L1450).
    """
    return base_rate * (1.0 - max_cut * np.asarray(change, float))


def patient_experience_target(*, base, gain, change, overload, strain_loss):
    """base + gain * change - strain_loss * overload: a patient-experience score.

    Continuity, coordination and partnership raise it (OHT synthesis L339-340: +8.6 % on
    continuity; realist synthesis L1326-1344, L1602); staff under continuous pressure lower it
    (L1878-1880, L1894). The size of the strain effect is an assumption.
    """
    return base + gain * np.asarray(change, float) - strain_loss * np.asarray(overload, float)


def provider_experience_target(
    *, base, gain, working_change, workload, workload_loss, overload, overload_loss
):
    """base + gain * working change - workload_loss * W - overload_loss * overload.

    Working in new roles with autonomy raises staff satisfaction (realist synthesis L1336-1338,
    L1374, L1880); running services while building new ones, the pace of change and overload
    lower it (L1886, L1894, L1900; OHT staff work "off the side of their desks", case studies
    L104). No source gives a magnitude: the three sizes are assumptions.
    """
    return (
        base
        + gain * np.asarray(working_change, float)
        - workload_loss * np.asarray(workload, float)
        - overload_loss * np.asarray(overload, float)
    )


def kept_savings(*, savings, change, months_sustained, after, kept_base, funding_support):
    """Per-capita savings from avoided use an organization keeps: ``savings * change`` once it
    has sustained the change for ``after`` months, times the share kept.

    Savings come only after sustained implementation and stabilisation (realist synthesis
    L1398; 5-7 years, L1474); how much turns into lower cost rather than induced demand or
    reinvestment depends on the funding and incentives in place (L1348, L1452, L1484; case
    studies L208: whether OHTs may keep savings is unresolved): ``kept_base`` without that
    block, all with it at the capacity implementing needs (``funding_support``).
    """
    sustained = np.asarray(months_sustained) >= after
    kept = kept_base + (1.0 - kept_base) * np.asarray(funding_support, float)
    return savings * np.asarray(change, float) * sustained * kept


def net_benefit(absorbed, benefit, overload_value, overload_cost):
    """Benefit of absorbed TA minus the cost of overload: an interior optimum for low capacity.

    Source: anchor-ta-evidence.md 6.5 item 4 (mechanism-based, not directly observed).
    """
    return benefit * absorbed - overload_cost * overload_value
