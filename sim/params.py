"""The scenario schema: every parameter with default, allowed range, unit, meaning and source.

A scenario is a TOML file validated by the pydantic models below. Each numeric parameter is
declared with :func:`param`, which records its allowed range (used both to reject bad input
and as the default range of a sensitivity analysis), its unit, a one-line meaning and the
evidence it comes from. Evidence references point into ``shared/evidence/`` (digests) and,
through them, into ``shared/seeds/`` (``thesis L1375`` is line 1375 of the Waddell thesis,
``004 L93`` line 93 of the OHT case studies). "assumption" marks a value with no evidence.

User errors are raised as :class:`ScenarioError` with one line naming the field and the
allowed range, before anything runs.
"""

from __future__ import annotations

import math
import os
import stat
import tomllib
from copy import deepcopy
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo

from sim import paths
from sim.errors import ScenarioError

BuildingBlock = Literal[
    "population",
    "in_scope_services",
    "patient_partnership",
    "patient_care",
    "digital_health",
    "leadership_governance",
    "funding_incentives",
    "measurement_qi",
]  # RISE/OHT building blocks, thesis L1164-1174 (seed-thesis.md section 6)
BUILDING_BLOCKS: tuple[str, ...] = get_args(BuildingBlock)
N_BLOCKS = len(BUILDING_BLOCKS)

# Each vocabulary is declared once, as the type the schema validates against; the tuples
# (whose order is the integer code the model's arrays use) are read off the types.
Region = Literal["urban", "rural", "northern"]
Role = Literal["doer", "partner", "facilitator"]
Modality = Literal["in_person", "hybrid", "virtual"]
Periodicity = Literal["weekly", "biweekly", "monthly", "bimonthly", "quarterly"]
Policy = Literal["universal", "on_request", "need", "readiness", "cohort", "mandated"]
Graduation = Literal["none", "organization", "team"]
Phasing = Literal["fixed", "responsive"]
DeliveryFormat = Literal["organization", "team"]
HomeCareForm = Literal["direct", "contracted"]
REGIONS: tuple[str, ...] = get_args(Region)
ROLES: tuple[str, ...] = get_args(Role)
MODALITIES: tuple[str, ...] = get_args(Modality)
PERIODICITIES: tuple[str, ...] = get_args(Periodicity)
POLICIES: tuple[str, ...] = get_args(Policy)
GRADUATIONS: tuple[str, ...] = get_args(Graduation)
PHASINGS: tuple[str, ...] = get_args(Phasing)
ACTIVITIES = ("content", "relationship", "peer")  # the fields of ActivityMix, in array order
SHARE_TOLERANCE = 1e-6


def param(default: Any, lo: float, hi: float, unit: str, meaning: str, source: str) -> Any:
    """A scenario parameter: bounds for validation and sensitivity analysis plus provenance."""
    return Field(
        default,
        ge=lo,
        le=hi,
        description=meaning,
        json_schema_extra={"unit": unit, "source": source},
    )


def choice(default: str, meaning: str, source: str) -> Any:
    """A categorical parameter (its allowed values come from its Literal type)."""
    return Field(
        default, description=meaning, json_schema_extra={"unit": "choice", "source": source}
    )


class Section(BaseModel):
    """Base of every scenario section: strict types, no unknown keys, no NaN."""

    model_config = ConfigDict(
        extra="forbid", strict=True, allow_inf_nan=False, validate_assignment=True
    )


def _check_shares(shares: dict[str, float]) -> None:
    total = sum(shares.values())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ValueError(f"shares must sum to 1 (got {total:.4g})")


class RegionShares(Section):
    urban: float = param(
        0.55,
        0,
        1,
        "share",
        "share of teams in urban regions",
        (
            "seed-thesis.md 3.1 (thesis L1427, L1501): northern/rural influx in later cohorts; "
            "assumption for the split"
        ),
    )
    rural: float = param(0.30, 0, 1, "share", "share of teams in rural regions", "assumption")
    northern: float = param(0.15, 0, 1, "share", "share of teams in northern regions", "assumption")

    @model_validator(mode="after")
    def _sum_to_one(self):
        _check_shares(self.model_dump())
        return self


class SystemParams(Section):
    """The population of organizations, their teams, cohorts and network ties."""

    n_teams: int = param(
        55,
        1,
        5000,
        "teams",
        "number of teams (OHTs / ICSs / ACOs)",
        "seed-thesis.md 3.1: roughly 50-60 OHTs by 2023 (unverified)",
    )
    team_size_min: int = param(
        7,
        2,
        200,
        "organizations",
        "smallest team membership",
        "seed-oht.md 3.1 (004 L79): 7-43 members per OHT",
    )
    team_size_max: int = param(
        43,
        2,
        500,
        "organizations",
        "largest team membership",
        "seed-oht.md 3.1 (004 L79): 7-43 members per OHT",
    )
    team_size_skew: float = param(
        2.5,
        1,
        10,
        "Beta shape",
        "right skew of team sizes (Beta(1.3, skew) between min and max)",
        "assumption",
    )
    n_cohorts: int = param(
        4, 1, 12, "cohorts", "approval waves", "seed-thesis.md 3.1 (thesis L1244-1246): 4 cohorts"
    )
    first_cohort_month: int = param(
        10,
        0,
        600,
        "month",
        "month the first cohort is approved",
        "seed-thesis.md 3.1: announced Feb 2019, first approvals Dec 2019",
    )
    cohort_interval: int = param(
        12,
        1,
        120,
        "months",
        "months between cohort approvals",
        "assumption (later cohorts roughly yearly)",
    )
    first_cohort_share: float = param(
        0.4,
        0.05,
        1,
        "share",
        "share of teams approved in the first cohort",
        (
            "seed-oht.md 3.1 (004 L75): 30 teams invited to the first full applications; the "
            "share approved in the first cohort is an assumption"
        ),
    )
    region_shares: RegionShares = Field(
        default_factory=RegionShares, description="regional mix of teams"
    )
    maturity_mean: float = param(
        2.0,
        0,
        20,
        "years",
        "mean years of prior collaboration among team members",
        "seed-oht.md 4 (004 L93-97): formation follows prior ties",
    )
    within_team_density: float = param(
        0.35,
        0.01,
        1,
        "probability",
        "tie probability between two members of the same team",
        "assumption",
    )
    cross_team_ties: float = param(
        1.0,
        0,
        20,
        "ties per org",
        "mean ties to organizations of other teams in the same region (communities of practice)",
        "thesis L936 (peer exchange); assumption",
    )
    size_median: float = param(
        60, 1, 10000, "FTE", "median organization size", "assumption (heavy-tailed sizes)"
    )
    size_sigma: float = param(
        1.0, 0, 3, "log-sd", "log-normal spread of organization size", "assumption"
    )
    change_hours_per_fte: float = param(
        0.6,
        0.01,
        10,
        "h/FTE/month",
        "staff hours per FTE per month available for change work at full slack",
        "thesis L376, L384 (dedicated change staff); assumption",
    )
    population_per_org: float = param(
        5000,
        100,
        1e6,
        "people",
        "attributed population per member organization",
        "thesis L1609: >= 50,000 per team",
    )

    @model_validator(mode="after")
    def _consistent(self):
        if self.team_size_min > self.team_size_max:
            raise ValueError(
                f"team_size_min must be <= team_size_max ({self.team_size_max}) (got "
                f"{self.team_size_min})"
            )
        return self


class InitialState(Section):
    """Distributions of the organizations' starting state (Beta with the given mean)."""

    motivation_mean: float = param(
        0.45,
        0.01,
        0.99,
        "index",
        "mean initial motivation M",
        "Weiner 2009 (anchor-ta-evidence.md 3); assumption",
    )
    general_capacity_mean: float = param(
        0.45,
        0.01,
        0.99,
        "index",
        "mean initial general capacity G",
        "Scaccia 2015 (anchor-ta-evidence.md 3); assumption",
    )
    specific_capacity_mean: float = param(
        0.2,
        0.01,
        0.99,
        "index",
        "mean initial capacity over the building blocks S",
        "thesis L902 (PHM blocks are largely new capacities); the level is an assumption",
    )
    new_block_gap: float = param(
        0.1,
        0,
        0.5,
        "index",
        (
            "how much lower digital health, leadership and governance, and measurement and QI "
            "start than the other building blocks (their mean stays specific_capacity_mean)"
        ),
        "thesis L900-902 (M51: these three are largely new capacities); the size is an assumption",
    )
    trust_mean: float = param(
        0.3, 0.01, 0.99, "index", "mean initial trust in TA providers T", "assumption"
    )
    ownership_mean: float = param(
        0.5, 0.01, 0.99, "index", "mean initial ownership O", "assumption"
    )
    concentration: float = param(
        8,
        1,
        200,
        "Beta a+b",
        "concentration of the initial Beta distributions (higher = less spread)",
        "assumption",
    )
    rural_capacity_gap: float = param(
        0.10,
        0,
        0.5,
        "index",
        "how much lower G starts in rural organizations",
        "thesis L1411 (unequal change capacity); assumption",
    )
    northern_capacity_gap: float = param(
        0.18,
        0,
        0.5,
        "index",
        "how much lower G starts in northern organizations",
        "thesis L1411, L1427; assumption",
    )
    maturity_motivation: float = param(
        0.03,
        0,
        0.2,
        "index/year",
        "initial motivation and trust gained per year of prior collaboration",
        "004 L93-97 (prior ties predict progress)",
    )
    acceptability: float = param(
        0.5,
        0,
        1,
        "index",
        "initial acceptability of the transformation to each organization",
        "thesis L439 (a short-term outcome of TA); assumption",
    )
    primary_care_motivation_gap: float = param(
        0.1,
        0,
        0.5,
        "index",
        "how much lower M starts in primary care (engagement weakest at the onset)",
        "seed-oht.md M8 (004 L150-164: weakest engagement at onset); assumption for the size",
    )
    threshold_a: float = param(
        2.0,
        0.1,
        20,
        "Beta a",
        "adoption threshold theta ~ Beta(a, b)",
        "anchor-ta-evidence.md 6.4: Beta(2,4), Valente",
    )
    threshold_b: float = param(
        4.0,
        0.1,
        20,
        "Beta b",
        "adoption threshold theta ~ Beta(a, b)",
        "anchor-ta-evidence.md 6.4: Beta(2,4), Valente",
    )


class ActivityMix(Section):
    content: float = param(
        0.7,
        0,
        1,
        "share",
        "content-based one-to-many hours (webinars, toolkits, training)",
        "thesis L918-920: TA is content-heavy",
    )
    relationship: float = param(
        0.2, 0, 1, "share", "relationship-based one-to-one coaching hours", "thesis L404, L1375"
    )
    peer: float = param(
        0.1, 0, 1, "share", "peer exchange hours (communities of practice)", "thesis L936"
    )

    @model_validator(mode="after")
    def _sum_to_one(self):
        _check_shares(self.model_dump())
        return self


class ProviderGroup(Section):
    """A group of identical TA providers (e.g. one central program partner)."""

    name: str = Field("central", description="label of the group")
    role: Role = choice(
        "partner", "doer substitutes, partner supplements, facilitator enables", "thesis L398 (M18)"
    )
    count: int = param(
        6,
        0,
        2000,
        "providers",
        "number of providers in the group",
        "thesis L1351-1369: 6 original central partners",
    )
    fte: float = param(1.0, 0.05, 5, "FTE", "full-time equivalents per provider", "assumption")
    modality: Modality = choice(
        "virtual", "in person builds trust faster but costs travel", "thesis L421 (M15)"
    )
    activity_mix: ActivityMix = Field(
        default_factory=ActivityMix, description="how provider hours are spent"
    )
    regions: list[Region] = Field(
        default_factory=lambda: list(REGIONS), description="regions the group serves"
    )
    cost_per_hour: float = param(
        150,
        0,
        2000,
        "$/h",
        "cost of one provider hour",
        "Ritchie 2020 cost figures (anchor-ta-evidence.md 2.5); assumption",
    )
    caseload_limit: int = param(
        150,
        1,
        2000,
        "organizations",
        "most organizations one provider serves in a month",
        (
            "Baskerville 2012: 3-40 practices per facilitator (one-to-one); content reaches more "
            "(thesis L1371)"
        ),
    )
    expertise_mean: float = param(
        0.6,
        0.01,
        0.99,
        "index",
        "mean expertise over the building blocks (in the group's domains, if it names any)",
        "thesis L1080-1103 (expertise domains)",
    )
    domains: list[BuildingBlock] = Field(
        default_factory=list,
        description=(
            "building blocks the group specialises in (none: equally expert in all); in the "
            "other blocks its expertise is outside_domain times expertise_mean"
        ),
        json_schema_extra={
            "unit": "blocks",
            "source": "thesis L1080-1103, L1351-1369 (partners' domains), L900-902 (M51)",
        },
    )
    delivery: DeliveryFormat = choice(
        "organization",
        (
            "organization: one-to-one with each member; team: team-based coaching and working "
            "groups, the members a provider serves in a team meet together and share its time"
        ),
        "thesis L1343, L1363 (working groups), L1375 (team-based coaching in years 2-3)",
    )
    outside_domain: float = param(
        0.3,
        0,
        1,
        "factor",
        "expertise outside the group's domains relative to inside them",
        "thesis L1080-1103; assumption",
    )

    @model_validator(mode="after")
    def _regions(self):
        if not self.regions:
            raise ValueError("regions must name at least one of urban, rural, northern")
        return self


def _default_providers() -> list[ProviderGroup]:
    return [ProviderGroup()]


class FunderParams(Section):
    """The ministry: budget, allocation policy, coordination, mandates and withdrawal."""

    budget_per_month: float = param(
        60000,
        0,
        1e9,
        "$/month",
        "TA budget per month",
        "thesis L1592 (25.25M initial investment); assumption for TA share",
    )
    policy: Policy = choice("on_request", "who gets TA first", "DESIGN.md 5.1; thesis L1347, L1406")
    dosage_hours: float = param(
        3.0,
        0,
        60,
        "h/org/month",
        "TA hours requested per participating organization per month",
        "anchor-ta-evidence.md 2.5: 1.2 h (external) to 13 h (internal) per clinic-month",
    )
    periodicity: Periodicity = choice(
        "monthly",
        "how the monthly dose is bunched into contact months",
        "thesis L419 (M14); Chilenski 2021",
    )
    coordinated: bool = Field(
        False,
        description="a central coordination committee aligns providers",
        json_schema_extra={"unit": "on/off", "source": "thesis L1385-1400 (M24, M25)"},
    )
    coordination_start: int = param(
        0, 0, 600, "month", "month coordination starts (when coordinated)", "thesis L1393"
    )
    mandate_month: int = param(
        36,
        0,
        600,
        "month",
        "month from which participation is required (mandated policy: a counterfactual)",
        (
            "counterfactual: Ontario required no use of the supports (thesis L1347); its "
            "third-year agreements promoted particular supports (L1406)"
        ),
    )
    withdraw_month: int = param(
        0,
        0,
        600,
        "month",
        "month all TA stops (0 = never)",
        "anchor-ta-evidence.md 4.7 (sustainment after TA ends)",
    )
    graduation: Graduation = choice(
        "none",
        (
            "who graduates from TA on reaching a milestone: none, each organization on reaching "
            "sustaining, or a whole team once graduation_share of its members implement or sustain"
        ),
        "thesis M32 (L1730: capacity outgrowing the need for TA), M30 (L1525); milestones assumed",
    )
    graduation_share: float = param(
        0.5,
        0.01,
        1,
        "share",
        "share of a team's members implementing or sustaining at which the team graduates",
        "thesis L1730; assumption",
    )
    taper_months: int = param(
        0,
        0,
        60,
        "months",
        (
            "months over which the dose falls to nothing once withdrawal or graduation begins "
            "(0 = TA stops at once)"
        ),
        "anchor-ta-evidence.md 6.2 rule 1, P8 (Aldridge 2023b); thesis M30; linear form assumed",
    )
    phasing: Phasing = choice(
        "fixed",
        (
            "fixed: each provider group's own activity mix throughout; responsive: each team's "
            "support moves from foundational and co-design work to capacity building to fading "
            "as its members progress, and back if they slip"
        ),
        (
            "seed 003 L11 (sequential, responsive support); anchor-ta-evidence.md P8 (Aldridge "
            "2023b: foundational and co-design work at high dose first, then a blended mix); "
            "thesis L1383 (didactic first, then other approaches)"
        ),
    )
    building_share: float = param(
        0.25,
        0,
        1,
        "share",
        "share of a team's members adopting at which its support moves on to capacity building",
        "thesis L1383 ('once they kind of got that we could move into different approaches'); "
        "assumption",
    )
    fading_share: float = param(
        0.5,
        0,
        1,
        "share",
        "share of a team's members implementing or sustaining at which its support fades",
        "anchor-ta-evidence.md 6.2 rule 1 (support fades as ownership is established); assumption",
    )
    foundation_mix: ActivityMix = Field(
        default_factory=lambda: ActivityMix(content=0.5, relationship=0.5, peer=0.0),
        description=(
            "activity mix of the foundational phase: didactic content and co-design work "
            "(thesis L1383; Aldridge 2023b, anchor-ta-evidence.md P8); the split is an assumption"
        ),
    )
    fading_dose: float = param(
        0.5,
        0,
        1,
        "share",
        "share of the dose a team receives once its support fades",
        "anchor-ta-evidence.md P8 (Aldridge 2023b: monthly support fell year over year); "
        "assumption",
    )
    request_base: float = param(
        0.15,
        0,
        1,
        "probability",
        "monthly TA request probability of an unmotivated organization (on_request)",
        "thesis L1347, L415 (M11: content is pull-based)",
    )
    request_motivation: float = param(
        0.6,
        0,
        1,
        "probability",
        "extra request probability at full motivation",
        "thesis L415 (M11)",
    )
    adaptive: bool = Field(
        False,
        description=(
            "the funder reviews progress, moves lagging low-capacity teams to hands-on coaching "
            "and adds local providers for under-served regions"
        ),
        json_schema_extra={"unit": "on/off", "source": "thesis L1371-1383, L1497-1503 (rule 16)"},
    )
    review_interval: int = param(
        12, 1, 120, "months", "months between adaptive reviews", "assumption"
    )
    lagging_adoption: float = param(
        0.3,
        0,
        1,
        "share",
        "a team whose adopting share is below this is lagging",
        "thesis L1375 (M5)",
    )
    lagging_outcome: float = param(
        0.5,
        0,
        1,
        "share",
        (
            "a team adopting at least lagging_adoption whose avoidable admissions avoided so "
            "far are below this share of the mean of such teams lags too, whatever its "
            "capacity (0 = adoption only)"
        ),
        "thesis L1730 (M32: what the funder monitors); share an assumption",
    )
    lagging_capacity_quantile: float = param(
        0.5,
        0,
        1,
        "quantile",
        (
            "a lagging team is moved to hands-on coaching only if its capacity is at or below this "
            "quantile of teams' capacity (1 = every lagging team)"
        ),
        "thesis L1375-1377 (M5: limited recipient capacity made TA hands-on)",
    )
    hands_on_dosage: float = param(
        8.0,
        0,
        60,
        "h/org/month",
        "dose given to lagging teams switched to hands-on coaching",
        "thesis L1375-1377",
    )
    hands_on_mix: ActivityMix = Field(
        default_factory=lambda: ActivityMix(content=0.1, relationship=0.8, peer=0.1),
        description="activity mix of hands-on coaching",
    )
    underserved_share: float = param(
        0.5,
        0,
        1,
        "share",
        (
            "a region whose organizations received less than this share of the system's TA "
            "hours per organization-month gets local providers at a review (0 = never)"
        ),
        "thesis L1369, L1501-1503 (M29, SF12: northern partners added as northern teams arrived)",
    )
    local_providers: ProviderGroup = Field(
        default_factory=lambda: ProviderGroup(
            name="local",
            role="facilitator",
            count=2,
            modality="in_person",
            caseload_limit=30,
            cost_per_hour=120.0,
            activity_mix=ActivityMix(content=0.1, relationship=0.7, peer=0.2),
        ),
        description=(
            "the provider group the adaptive funder adds for each under-served region (its "
            "regions are set when added)"
        ),
    )
    budget_step: float = param(
        0.25,
        0,
        2,
        "share",
        (
            "budget increase at a review that moves new teams to hands-on coaching or adds local "
            "providers (adaptive)"
        ),
        "thesis L1497-1503; assumption",
    )


class RoleParams(Section):
    """Parameters of one provider role (anchor-ta-evidence.md 6.3)."""

    substitution: float = param(
        0.4,
        0,
        1,
        "share",
        "share of the implementation task the provider does itself (s_r)",
        "anchor-ta-evidence.md 6.3 (Nastase): doer 0.6-0.9, partner 0.3-0.5, facilitator 0-0.15",
    )
    capacity_transfer: float = param(
        0.5,
        0,
        1,
        "relative",
        "capacity built per unit absorption (alpha_r, relative to the base rate)",
        "anchor-ta-evidence.md 6.3: doer 0.1-0.3, partner 0.4-0.6, facilitator 0.7-1.0",
    )
    ownership_gain: float = param(
        0.05,
        0,
        0.5,
        "1/month",
        "ownership built per unit absorption (eta_r)",
        "anchor-ta-evidence.md 6.3 (Katz & Wandersman)",
    )
    readiness_dependence: float = param(
        1.0,
        0,
        2,
        "exponent",
        "how strongly capacity gains need readiness (exponent on the gate)",
        "anchor-ta-evidence.md 6.3 (Smith 2020)",
    )


def role_params(name: str, **defaults: float) -> type[RoleParams]:
    """RoleParams with a role's own defaults (anchor-ta-evidence.md 6.3).

    A scenario that sets only some of a role's fields keeps the role's defaults for the rest.
    """
    fields = {
        key: (float, FieldInfo.merge_field_infos(RoleParams.model_fields[key], default=value))
        for key, value in defaults.items()
    }
    return create_model(name, __base__=RoleParams, **fields)


# Doers substitute for capacity and work where readiness is low;
# facilitators enable, and need readiness.
DoerParams = role_params(
    "DoerParams",
    substitution=0.75,
    capacity_transfer=0.2,
    ownership_gain=0.0,
    readiness_dependence=0.3,
)
FacilitatorParams = role_params(
    "FacilitatorParams",
    substitution=0.1,
    capacity_transfer=1.0,
    ownership_gain=0.12,
    readiness_dependence=1.5,
)


class Roles(Section):
    doer: DoerParams = Field(default_factory=DoerParams)
    partner: RoleParams = Field(default_factory=RoleParams)
    facilitator: FacilitatorParams = Field(default_factory=FacilitatorParams)


class MechanismParams(Section):
    """Constants of the rules of DESIGN.md section 5 (monthly units)."""

    caseload_penalty: float = param(
        0.025,
        0,
        0.2,
        "1/org",
        "psi: attention lost per organization beyond c0",
        "anchor-ta-evidence.md 6.2: Baskerville re-analysis psi 0.02-0.03",
    )
    caseload_free: float = param(
        5,
        1,
        50,
        "organizations",
        "c0: caseload with no dilution",
        "anchor-ta-evidence.md 6.2: c0 ~ 5",
    )
    navigation_hours: float = param(
        4.0,
        0,
        40,
        "h/provider/month",
        "nu: staff hours lost per extra uncoordinated provider",
        "thesis L1385-1391 (M24)",
    )
    coordination_relief: float = param(
        0.8,
        0,
        1,
        "share",
        "share of the navigation burden coordination removes",
        "thesis L1393-1400 (M25)",
    )
    travel_share_rural: float = param(
        0.25,
        0,
        0.9,
        "share",
        "share of an in-person hour lost to travel (rural)",
        "thesis L421 (M15); assumption",
    )
    travel_share_northern: float = param(
        0.45,
        0,
        0.9,
        "share",
        "share of an in-person hour lost to travel (northern)",
        "thesis L421, L1427; assumption",
    )
    travel_share_urban: float = param(
        0.05, 0, 0.9, "share", "share of an in-person hour lost to travel (urban)", "assumption"
    )
    virtual_effect: float = param(
        0.8,
        0.1,
        1,
        "factor",
        "dose effectiveness of a virtual hour relative to in person",
        "thesis L421 (M15)",
    )
    virtual_trust: float = param(
        0.5,
        0,
        1,
        "factor",
        "trust built by a virtual hour relative to in person",
        "thesis L421; assumption",
    )
    content_reach: float = param(
        5.0,
        1,
        50,
        "orgs per hour",
        "organizations one content hour reaches (one-to-many)",
        "thesis L1371-1373 (light touch to many at once)",
    )
    content_weight: float = param(
        0.35,
        0,
        1,
        "factor",
        "effectiveness of a content hour relative to a coaching hour",
        "thesis L404, L1375; Gold 2019",
    )
    peer_weight: float = param(
        0.6,
        0,
        1,
        "factor",
        "effectiveness of a peer-exchange hour relative to a coaching hour",
        "thesis L936",
    )
    trust_build: float = param(
        0.3,
        0,
        1,
        "1/month",
        "beta_T: trust gained at full relationship contact",
        "anchor-ta-evidence.md 6.4: beta_T 0.3",
    )
    trust_half_hours: float = param(
        2.0,
        0.1,
        20,
        "h/month",
        "relationship hours giving half the maximum trust gain",
        "assumption",
    )
    trust_decay: float = param(
        0.08,
        0,
        0.5,
        "1/month",
        "delta_T: trust lost in a month without contact",
        "anchor-ta-evidence.md 6.4: delta_T 0.08",
    )
    trust_exponent: float = param(
        1.0,
        0.5,
        2,
        "exponent",
        "kappa: how strongly trust multiplies the dose",
        "anchor-ta-evidence.md 6.4 (Chilenski 2016)",
    )
    half_saturation: float = param(
        4.0,
        1,
        20,
        "h/month",
        "K0: effective hours giving half absorption at G = 0.5",
        "anchor-ta-evidence.md 6.4: K0 4 (2-8)",
    )
    hill: float = param(
        1.5,
        1,
        4,
        "exponent",
        "n: Hill exponent (n > 1 gives a minimum effective dose)",
        "anchor-ta-evidence.md 6.4: n 1.5 (1-2)",
    )
    readiness_weights: list[Annotated[float, Field(ge=0, le=5)]] = Field(
        default_factory=lambda: [1.0, 1.0, 1.0],
        min_length=3,
        max_length=3,
        description="exponents of M, G and mean S in R = M^wM G^wG S^wS (normalised)",
        json_schema_extra={
            "unit": "exponents",
            "source": "Scaccia 2015 R = MC^2 (anchor-ta-evidence.md 3)",
        },
    )
    capacity_rate: float = param(
        0.2,
        0.01,
        1,
        "1/month",
        "alpha: base capacity growth at full absorption (facilitator)",
        "anchor-ta-evidence.md 6.4: alpha 0.2 (0.1-0.3)",
    )
    content_specific_share: float = param(
        0.25,
        0,
        1,
        "share",
        (
            "share of the absorbed content dose that builds the building blocks; the rest builds "
            "general capacity (relationship work builds the blocks)"
        ),
        "thesis L404 (content 'predominantly' for general capacity gaps), L902; assumption",
    )
    general_rate: float = param(
        0.08,
        0,
        1,
        "1/month",
        "alpha_G: base general-capacity growth at full absorption",
        "anchor-ta-evidence.md 6.2; assumption",
    )
    peer_spillover: float = param(
        0.03,
        0,
        0.5,
        "1/month",
        "phi: capacity gained per unit gap to better-off neighbours",
        "thesis L936 (M21)",
    )
    learning_rate: float = param(
        0.03,
        0,
        0.2,
        "1/month",
        "lambda_L: specific capacity learned by doing the implementation work oneself",
        "anchor-ta-evidence.md 6.2 rule 9 (DSF learning term lambda_L * G)",
    )
    feedback_half_hours: float = param(
        2.0,
        0.1,
        40,
        "h/month",
        "coaching or peer-exchange hours in a month that give half of full feedback",
        "anchor-ta-evidence.md 4.6-4.7 (DSF; Cooper 2015); assumption",
    )
    feedback_fade_months: float = param(
        6.0,
        0.5,
        60,
        "months",
        "months after a contact over which a provider's feedback fades (by 1/e)",
        "anchor-ta-evidence.md 4.6-4.7 (DSF; Cooper 2015); assumption",
    )
    drift_unreinforced: float = param(
        1.5,
        0,
        10,
        "factor",
        "extra specific-capacity decay without reinforcement (1.5 = 2.5 times delta_S)",
        "anchor-ta-evidence.md 4.6 (program drift); seed-realist.md L1322; assumption",
    )
    ownership_decay: float = param(
        0.02,
        0,
        0.5,
        "1/month",
        "delta_O: ownership lost in a month without reinforcement (contact or peers)",
        "anchor-ta-evidence.md 4.7 (Cooper 2015; Katz & Wandersman 2016); assumption",
    )
    acceptability_rate: float = param(
        0.1,
        0,
        1,
        "1/month",
        "how fast acceptability follows satisfaction with the TA received",
        "thesis L425, L439; seed 004 L162 (burden); assumption",
    )
    tie_transmission: float = param(
        0.3,
        0,
        0.99,
        "1/month",
        (
            "tau: chance a full-strength tie to an adopter passes the practice on in a month; it "
            "also sets connectedness, through which peer hours, spillover and shocks act"
        ),
        "anchor-ta-evidence.md 4.3 (diffusion along ties); assumption",
    )
    tie_growth: float = param(
        0.05,
        0,
        1,
        "1/month",
        "strengthening of a cross-team tie per month in which both ends take part in peer exchange",
        "seed-oht.md M1, M3 (004 L93, L104; 001 L362); assumption",
    )
    coordinator_weight: float = param(
        0.4,
        0,
        1,
        "share",
        "weight of a dedicated coordinator (versus maturity) in a team's governance capacity",
        "seed-oht.md M12 (004 L142: an indispensable resource); assumption",
    )
    party_cost: float = param(
        0.01,
        0,
        0.2,
        "1/member",
        "governance capacity lost per extra member organization",
        "seed-oht.md M5 (001 L319: governance costs rise with the number of parties); assumption",
    )
    specific_decay: float = param(
        0.008,
        0,
        0.2,
        "1/month",
        "delta_S: monthly loss of specific capacity",
        (
            "anchor-ta-evidence.md 6.4: 0.01-0.02 under TA; lower default because learning by "
            "doing and turnover are separate terms (assumption)"
        ),
    )
    general_decay: float = param(
        0.005,
        0,
        0.2,
        "1/month",
        "delta_G: monthly relaxation of general capacity to its resting level",
        "anchor-ta-evidence.md 6.4: 0.005",
    )
    motivation_build: float = param(
        0.06,
        0,
        1,
        "1/month",
        "beta_M: motivation gained per unit relationship absorption (co-design)",
        "anchor-ta-evidence.md 6.2 rule 5",
    )
    motivation_peer: float = param(
        0.05,
        0,
        1,
        "1/month",
        "nu: motivation pulled up by adopting neighbours",
        "anchor-ta-evidence.md 6.2 rule 5",
    )
    motivation_wins: float = param(
        0.02,
        0,
        0.5,
        "1/month",
        "motivation gained per unit fidelity (early wins)",
        "realist synthesis (seed-realist.md 2.2); assumption",
    )
    motivation_decay: float = param(
        0.01,
        0,
        0.2,
        "1/month",
        "delta_M: slow relaxation of motivation to its resting level",
        "anchor-ta-evidence.md 6.2",
    )
    overload_motivation: float = param(
        0.08,
        0,
        1,
        "1/month",
        "kappa_W: motivation lost per unit overload above W*",
        "anchor-ta-evidence.md 6.2 (Repenning & Sterman)",
    )
    overload_threshold: float = param(
        1.0,
        0.1,
        5,
        "ratio",
        "W*: workload ratio above which staff are overloaded",
        "anchor-ta-evidence.md 6.4 (assumption)",
    )
    recipient_hours: float = param(
        0.8,
        0,
        3,
        "h/h",
        "omega: recipient staff hours per TA hour",
        "anchor-ta-evidence.md 2.5: Ritchie 2020, 0.8",
    )
    task_hours: float = param(
        10.0,
        1,
        100,
        "h/month",
        "H_task: monthly implementation work of a 60-FTE organization working on the change",
        "assumption",
    )
    task_size_exponent: float = param(
        0.7,
        0,
        1,
        "exponent",
        "how implementation work scales with size: H_task * (size / 60 FTE)^e",
        "seed-oht.md M12 (001 L181, L334: burdensome for smaller organizations); assumption",
    )
    ownership_loss: float = param(
        0.05,
        0,
        0.5,
        "1/month",
        "zeta: ownership lost per unit substitution",
        "anchor-ta-evidence.md 6.2 rule 7",
    )
    innovation_p: float = param(
        0.0025,
        0,
        0.05,
        "1/month",
        "p: spontaneous adoption hazard",
        "anchor-ta-evidence.md 6.4: Bass p 0.0025",
    )
    imitation_q: float = param(
        0.05,
        0,
        0.3,
        "1/month",
        "q: adoption hazard per unit share of adopting neighbours",
        "anchor-ta-evidence.md 6.4: Bass q 0.015-0.05 per month",
    )
    absorption_adoption: float = param(
        0.5,
        0,
        2,
        "1/month",
        "beta_A: adoption hazard per unit absorption",
        "anchor-ta-evidence.md 6.2 rule 8",
    )
    implement_capacity: float = param(
        0.25,
        0,
        1,
        "index",
        "capacity in the weakest building blocks at which preparing becomes implementing",
        "assumption (EPIS-like stages)",
    )
    sustain_penetration: float = param(
        0.2,
        0,
        1,
        "index",
        "penetration at which implementing becomes sustaining (with sustain_fidelity)",
        "assumption: low enough that some implementers reach it within the horizon",
    )
    sustain_fidelity: float = param(
        0.5,
        0,
        1,
        "index",
        "fidelity needed to enter sustaining",
        "assumption: low enough that some implementers reach it within the horizon",
    )
    penetration_rate: float = param(
        0.08,
        0,
        1,
        "1/month",
        "r_P: speed penetration follows S*R",
        "anchor-ta-evidence.md 6.2 rule 8",
    )
    fidelity_exponent: float = param(
        0.8, 0.1, 3, "exponent", "eps: F = min(1, S^eps + sub)", "anchor-ta-evidence.md 6.2 rule 9"
    )
    discontinuation: float = param(
        0.02,
        0,
        0.2,
        "1/month",
        "h0: discontinuation hazard after TA ends at O = G = 0",
        "anchor-ta-evidence.md 6.4: 5-8 %/yr at median O, G (Tibbits; Johnson)",
    )
    ta_gap_months: int = param(
        6,
        1,
        60,
        "months",
        "months without TA after which an organization's TA has ended",
        "assumption",
    )
    reduction_rate: float = param(
        0.1,
        0,
        1,
        "1/month",
        "monthly chance of falling back at a full capacity shortfall or overload",
        "anchor-ta-evidence.md 4.7 (Tibbits 2010: 22 % at a reduced level); assumption",
    )
    reduced_level: float = param(
        0.5,
        0,
        1,
        "share",
        "share of full penetration an organization operating at a reduced level aims at",
        "anchor-ta-evidence.md 4.7 (Tibbits 2010; Wiltsey Stirman 2012); assumption",
    )
    group_tailoring: float = param(
        0.8,
        0,
        1,
        "factor",
        "quality of a team session for each member relative to one-to-one TA (less tailored)",
        "thesis L1381 (meeting teams 'where they are at'); no source compares the formats: "
        "assumption",
    )
    expertise_focus: float = param(
        2.0,
        0,
        10,
        "exponent",
        (
            "how strongly TA is aimed at each organization's weakest building blocks: 0 = every "
            "provider delivers its own package whatever the need (pitched), higher = matched"
        ),
        (
            "thesis L372-374 (M3: value depends on matching expertise to gaps); in Ontario "
            "legacy partners pitched their packages (L1439-1447) and matching needs was a "
            "listed challenge (L1407, L1523)"
        ),
    )
    weakest_blocks: int = param(
        4,
        1,
        8,
        "blocks",
        (
            "implementation needs this many of an organization's weakest building blocks at "
            "implement_capacity (8 = the mean of all blocks)"
        ),
        "thesis L356-441, L1164-1174 (the blocks together make PHM capacity); assumption",
    )

    @field_validator("readiness_weights")
    @classmethod
    def _some_readiness_weight(cls, weights: list[float]) -> list[float]:
        if sum(weights) <= 0:
            raise ValueError("weights must not all be 0 (each in [0, 5])")
        return weights


class PandemicParams(Section):
    enabled: bool = Field(
        True,
        description="a pandemic strikes",
        json_schema_extra={
            "unit": "on/off",
            "source": "thesis L1467 (COVID-19 during OHT start-up)",
        },
    )
    start_month: int = param(
        13,
        0,
        600,
        "month",
        "month the pandemic starts",
        "OHTs announced Feb 2019, COVID-19 March 2020",
    )
    duration: int = param(24, 1, 120, "months", "months of service pressure", "assumption")
    slack_cut: float = param(
        0.6, 0, 1, "share", "share of change slack lost to service pressure", "thesis L376, L1467"
    )
    ta_standdown: float = param(
        0.5, 0, 1, "share", "share of TA hours that stand down", "thesis L1467"
    )
    in_person_allowed: bool = Field(
        False,
        description="in-person TA continues during the pandemic",
        json_schema_extra={"unit": "on/off", "source": "thesis L421 (M15)"},
    )
    urgency: float = param(
        0.1,
        0,
        0.5,
        "1/month",
        (
            "motivation a crisis gives an organization able to act on it (at G = T = 1 and full "
            "support along ties): the burning platform"
        ),
        "thesis L1467-1475, L1515; seed-oht.md M20 (004 L226); assumption",
    )
    mutual_aid: float = param(
        0.3,
        0,
        1,
        "share",
        "share of the slack cut that strong ties to partners absorb (at full connectedness)",
        "seed-oht.md M20 (004 L226 asks whether partners could lean in); assumption",
    )


class TurnoverParams(Section):
    monthly_probability: float = param(
        0.025,
        0,
        0.5,
        "1/month",
        "chance an organization loses a key person in a month",
        "anchor-ta-evidence.md 2.4: Hemler 31.6 % lose a clinician in 3-15 months",
    )
    capacity_loss: float = param(
        0.15,
        0,
        1,
        "share",
        "share of specific capacity lost with the person",
        "McKay 2018; assumption",
    )
    trust_loss: float = param(
        0.3, 0, 1, "share", "share of trust lost with the person", "assumption"
    )


class UncertaintyParams(Section):
    start_month: int = param(
        0,
        0,
        600,
        "month",
        "month policy uncertainty starts (0 with duration 0 = none)",
        "004 L192-204 (waiting for direction)",
    )
    duration: int = param(0, 0, 600, "months", "months of policy uncertainty", "004 L192-204")
    motivation_loss: float = param(
        0.02,
        0,
        0.5,
        "1/month",
        "motivation lost per month while waiting for direction",
        "004 L192-204; assumption",
    )


class ShockParams(Section):
    pandemic: PandemicParams = Field(default_factory=PandemicParams)
    turnover: TurnoverParams = Field(default_factory=TurnoverParams)
    policy_uncertainty: UncertaintyParams = Field(default_factory=UncertaintyParams)


class HomeCareParams(Section):
    """Home and community care (HCC) in the teams: providers that serve several teams, and the
    move of HCC funding and care coordination into the teams (O. Reg 187/22)."""

    teams_served: int = param(
        2,
        1,
        6,
        "teams",
        (
            "teams each home and community care organization works with: its own and "
            "teams_served - 1 others of its region"
        ),
        (
            "seed 001 L168 (HCC providers 'will need to contract with multiple OHTs'), L227 "
            "(UK providers held 1.9-2.4 contracts, US community organizations 3 on average); "
            "the Ontario number is not known: assumption"
        ),
    )
    transfer_month: int = param(
        0,
        0,
        600,
        "month",
        "month HCC funding and care coordination move into the teams (0 = never)",
        "seed 001 L109, L124-134 (O. Reg 187/22, in force May 2022)",
    )
    form: HomeCareForm = choice(
        "contracted",
        (
            "direct: the team's lead takes care coordination on with its own employees; "
            "contracted: through contracts with the HCC organizations, one per team each serves"
        ),
        "seed 001 L125-131 (directly and/or indirectly through contracts), L172-181",
    )
    contract_hours: float = param(
        10.0,
        0,
        200,
        "h/month",
        (
            "staff hours a month each contract (or, under direct delivery, each HCC partner "
            "brought in-house) takes during the transition"
        ),
        (
            "seed 001 L164 and L229 (contracting is resource- and time-intensive), 004 L200 "
            "(HR, unions and wages differ across sectors); the number is an assumption"
        ),
    )
    transition_months: int = param(
        12,
        1,
        120,
        "months",
        "months the transition work lasts after the transfer",
        "assumption (the sources give no duration)",
    )
    contract_support: float = param(
        0.0,
        0,
        1,
        "share",
        (
            "share of the transition work that legal, actuarial, consultancy and business "
            "supports take over"
        ),
        "seed 001 L211-217 (the supports contracting needs); the share is an assumption",
    )


class OutcomeParams(Section):
    """Quadruple-aim outcomes per team, each with its own drivers and lag (rule 14)."""

    admissions_base: float = param(
        12.0,
        0,
        200,
        "per 1,000/yr",
        "avoidable emergency admissions before change, system-wide (organizations' populations "
        "differ by sector risk)",
        "seed-realist.md 3.3; realist synthesis L578 (about 20 % of admissions avoidable); "
        "assumption",
    )
    admissions_cut: float = param(
        0.15,
        0,
        0.5,
        "share",
        "share of avoidable admissions avoided at full change in practice, with the blocks that "
        "act on them (care coordination, risk stratification, digital health, self-management) "
        "at the capacity implementing needs",
        "realist synthesis L1815, L1588-1590 (up to about 20 %), L1450 (most schemes none); "
        "evidence range 0-0.2",
    )
    experience_base: float = param(
        70, 0, 100, "score", "patient experience before change", "assumption"
    )
    experience_gain: float = param(
        6,
        0,
        30,
        "score",
        "patient experience gain at full change in continuity, coordination and partnership",
        "OHT synthesis L339-340 (+8.6 % continuity, +1.7 % coordination); realist synthesis "
        "L1326-1344, L1602",
    )
    experience_strain: float = param(
        5,
        0,
        30,
        "score",
        "patient experience lost per unit of staff overload",
        "realist synthesis L1878-1880, L1894 (direction); size an assumption",
    )
    provider_base: float = param(
        65, 0, 100, "score", "provider experience before change", "assumption"
    )
    provider_gain: float = param(
        8,
        0,
        30,
        "score",
        "provider experience gain from working in the changed way (new roles, autonomy)",
        "realist synthesis L1336-1338, L1374 (direction); size an assumption",
    )
    provider_workload: float = param(
        5,
        0,
        30,
        "score",
        "provider experience lost per unit of change workload (share of change hours used)",
        "realist synthesis L1886, L1900; case studies L104 (direction); size an assumption",
    )
    provider_overload: float = param(
        10,
        0,
        100,
        "score",
        "provider experience lost per unit overload",
        "realist synthesis L1886, L1894; Repenning & Sterman (direction); size an assumption",
    )
    cost_base: float = param(
        3000, 0, 1e5, "$/person/yr", "per-capita cost before change", "assumption"
    )
    staff_wage: float = param(
        80,
        0,
        1000,
        "$/h",
        "cost of an hour of recipient staff time spent on TA (recipient_hours per TA hour)",
        (
            "anchor-ta-evidence.md 2.5 (Ritchie 2020: stakeholder time 35-47 % of about $260k "
            "per network over 1,281-1,363 person-hours, about $66-97 an hour, derived)"
        ),
    )
    discount_rate: float = param(
        0.03,
        0,
        0.2,
        "1/yr",
        "annual rate at which future costs and effects are discounted (0 = none)",
        "health-economic convention; the sources give none",
    )
    setup_cost: float = param(
        20,
        0,
        1e4,
        "$/person/yr",
        "extra per-capita cost of an organization in its set-up period after adopting "
        "(supervision, longer contacts, lower case mix, administration; staff time on TA is "
        "costed apart)",
        "realist synthesis L1348-1350 (the costs), L1532 (may outweigh savings); size an "
        "assumption in a range 0-200, the largest cost of change in the model",
    )
    setup_months: int = param(
        24,
        1,
        120,
        "months",
        "length of the set-up period after adoption",
        "seed-realist.md 3.2 (L1460: design and set-up up to 2 years)",
    )
    savings: float = param(
        90,
        0,
        1e4,
        "$/person/yr",
        "per-capita savings from avoided use at full change, sustained, all kept",
        (
            "realist synthesis L1502 (a 10 % cut was required and not met), L1456 (-$500 per "
            "person a year for dual-eligibles only), L1450 (3 of 34 schemes cut use); 3 % of "
            "cost_base, an assumption in a range 0-10 %"
        ),
    )
    savings_after: int = param(
        24,
        0,
        120,
        "months",
        "months an organization must sustain the change before it saves",
        "realist synthesis L1398 (savings only after sustained implementation and "
        "stabilisation), L1474 (5-7 years); length an assumption",
    )
    savings_kept: float = param(
        0.25,
        0,
        1,
        "share",
        "share of savings kept as lower cost without funding and incentives built for it (all "
        "kept with that block at the capacity implementing needs)",
        "realist synthesis L1348, L1452, L1484; case studies L208 (direction); share an assumption",
    )
    fidelity_gamma: float = param(
        1.5,
        0.5,
        3,
        "exponent",
        "gamma: outcomes depend on F^gamma",
        "anchor-ta-evidence.md 6.2: gamma 1-2 (Durlak & DuPre)",
    )
    delay_process: float = param(
        9,
        1,
        60,
        "months",
        "tau for patient and provider experience",
        "anchor-ta-evidence.md 6.4: tau_Y 9 (6-12); realist synthesis L1490 (not in months)",
    )
    delay_health: float = param(
        36,
        2,
        120,
        "months",
        (
            "mean delay of population health, in two stages of half each (a second-order "
            "delay: little shows in the first year), after the years implementation takes"
        ),
        "realist synthesis L1440 (at least 5 years), L1474 (5-7 years); anchor-ta-evidence.md "
        "L327 (McKay ABM: effects from about 2 years)",
    )
    delay_cost: float = param(
        24,
        1,
        120,
        "months",
        "tau for savings once an organization has sustained the change savings_after months",
        "realist synthesis L1348-1398 (J-curve), L1474",
    )


# What the model reads only when it builds the system and starts the run, never again: the
# horizon (sim.model.simulate), the population of teams and organizations (sim.system's
# build_teams, build_organizations and build_ties; TransformationModel._build's populations)
# and their initial state, which teams home and community care organizations serve, and the
# avoidable admissions before change (what admissions avoided are counted against). A
# scheduled event setting one of these would do nothing, so it is refused. The one exception
# is read every month (TransformationModel._receive_ta).
READ_ONCE = (
    "months",
    "system",
    "initial",
    "home_care.teams_served",
    "outcomes.admissions_base",
)
READ_MONTHLY = ("system.change_hours_per_fte",)


def read_once(path: str) -> bool:
    """Whether the parameter at ``path`` (or a section holding one) is only read when the model
    is built."""
    dotted = ".".join(map(str, paths.split(path)))

    def within(prefix: str) -> bool:
        return dotted == prefix or dotted.startswith(f"{prefix}.")

    holds = any(once == dotted or once.startswith(f"{dotted}.") for once in READ_ONCE)
    return (holds or any(map(within, READ_ONCE))) and not any(map(within, READ_MONTHLY))


class ScheduledChange(Section):
    """A policy event: at ``month`` the parameters in ``set`` take new values."""

    month: int = param(1, 1, 600, "month", "month the change takes effect", "DESIGN.md 4 step 1")
    set: dict[str, Any] = Field(
        default_factory=dict, description="dotted parameter paths and their new values"
    )


class Scenario(Section):
    """A complete, validated scenario."""

    name: str = "custom"
    description: str = ""
    months: int = param(120, 1, 600, "months", "simulated horizon", "DESIGN.md 3: 120 months")
    system: SystemParams = Field(default_factory=SystemParams)
    initial: InitialState = Field(default_factory=InitialState)
    providers: list[ProviderGroup] = Field(default_factory=_default_providers)
    funder: FunderParams = Field(default_factory=FunderParams)
    roles: Roles = Field(default_factory=Roles)
    mechanisms: MechanismParams = Field(default_factory=MechanismParams)
    shocks: ShockParams = Field(default_factory=ShockParams)
    home_care: HomeCareParams = Field(default_factory=HomeCareParams)
    outcomes: OutcomeParams = Field(default_factory=OutcomeParams)
    events: list[ScheduledChange] = Field(default_factory=list)

    @model_validator(mode="after")
    def _events_valid(self):
        without_events = self.model_dump() | {"events": []}
        for index, event in enumerate(self.events):
            if event.month > self.months:
                raise ValueError(
                    f"events.{index}.month must be <= months ({self.months}) (got {event.month})"
                )
            try:
                apply_overrides(without_events, event.set)
            except ScenarioError as error:
                raise ValueError(f"events.{index}.set has {error}") from None
            if built := next((path for path in event.set if read_once(path)), None):
                raise ValueError(
                    f"events.{index}.set has {built}: only read when the model is built, so an "
                    f"event at month {event.month} cannot change it (set it in the scenario)"
                )
        return self

    def with_overrides(self, overrides: dict[str, Any]) -> Scenario:
        """A new validated scenario with dotted-path overrides applied."""
        return apply_overrides(self.model_dump(), overrides)

    def get(self, path: str) -> Any:
        """The value at a dotted path (``funder.budget_per_month``, ``providers.0.count``)."""
        return paths.get(self, path)


# ---------------------------------------------------------------- loading


def scenario_dir() -> Path:
    return Path(str(resources.files("sim") / "scenarios"))


def list_scenarios() -> list[str]:
    """Names of the shipped scenarios."""
    return sorted(path.stem for path in scenario_dir().glob("*.toml"))


# Limits on what a file may make the model read: a scenario or targets file is a page of text,
# so a larger, deeper or longer input is a mistake (or /dev/zero), refused before it is read.
FILE_LIMIT = 1024 * 1024  # bytes in one scenario or targets file (1 MiB)
NESTING_LIMIT = 32  # tables and arrays inside one another in a file or a --set value
EXTENDS_LIMIT = 16  # scenarios in one ``extends`` chain
FILE_TYPES = {
    stat.S_ISDIR: "a directory",
    stat.S_ISFIFO: "a FIFO",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


def size_text(size: int) -> str:
    """``1048576`` -> ``1 MiB``: how a limit in bytes is named in messages."""
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


def read_text(path: str | Path, kind: str = "scenario", limit: int = FILE_LIMIT) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes.

    Anything else (a directory, a FIFO, a device such as /dev/zero, a larger file, bytes that
    are not UTF-8) is one ScenarioError line naming the file, before more than ``limit`` bytes
    are read. The file is opened without blocking, so a FIFO cannot hang the command, and its
    type is checked on the open file, so it cannot change between the check and the read.
    """
    path = Path(path)
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise ScenarioError(f"{path}: cannot be read ({error.strerror})") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        what = next((name for test, name in FILE_TYPES.items() if test(mode)), "a special file")
        raise ScenarioError(f"{path}: {what}; a {kind} file must be a regular file")
    with os.fdopen(descriptor, "rb") as handle:
        try:
            data = handle.read(limit + 1)
        except OSError as error:
            raise ScenarioError(f"{path}: cannot be read ({error.strerror})") from None
    if len(data) > limit:
        raise ScenarioError(
            f"{path}: file is larger than the {size_text(limit)} limit for {kind} files"
        )
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise ScenarioError(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); "
            f"a {kind} file must be text"
        ) from None


def parse_toml(text: str, name: str) -> dict[str, Any]:
    """TOML text as a dictionary nested at most NESTING_LIMIT deep; else one ScenarioError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{name}: not valid TOML ({error})") from None
    except RecursionError:
        raise ScenarioError(f"{name}: not valid TOML (nested too deeply)") from None
    check_nesting(data, name)
    return data


def check_nesting(value: Any, name: str) -> None:
    """Refuse tables and arrays nested deeper than NESTING_LIMIT (counted without recursion)."""
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= NESTING_LIMIT:
                raise ScenarioError(
                    f"{name}: tables and arrays nested deeper than the limit of {NESTING_LIMIT}"
                )
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)


def read_toml(path: str | Path, kind: str = "scenario") -> dict[str, Any]:
    """A scenario or targets file (``kind`` names it in messages), read with the limits above.

    The one way the model's TOML inputs are read: sim/params.py for scenarios and their
    ``extends`` chains, calibration/targets.py for targets files.
    """
    return parse_toml(read_text(path, kind), str(path))


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "set":
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = deepcopy(value)
    return merged


def _resolve(name_or_path: str | Path, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The raw scenario dictionary with ``extends`` chains merged in."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = scenario_dir() / f"{name_or_path}.toml"
        if not path.exists():
            raise ScenarioError(
                f"{name_or_path}: unknown scenario (shipped: {', '.join(list_scenarios())})"
            )
    elif not path.exists():
        raise ScenarioError(f"{path}: no such scenario file")
    data = read_toml(path, "scenario")
    data.setdefault("name", path.stem)
    parent = data.pop("extends", None)
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise ScenarioError(f"extends: must be a scenario name (got {parent!r})")
    if parent in seen:
        raise ScenarioError(f"extends: circular chain {' -> '.join((*seen, parent))}")
    if len(seen) >= EXTENDS_LIMIT:
        raise ScenarioError(
            f"extends: a chain of more than the limit of {EXTENDS_LIMIT} scenarios "
            f"({' -> '.join(seen[:2])} -> ... -> {parent})"
        )
    base = _resolve(parent if Path(parent).suffix == "" else path.parent / parent, (*seen, parent))
    base.pop("description", None)
    return _deep_merge(base, data)


def validate_scenario(data: dict[str, Any]) -> Scenario:
    """Validate a raw dictionary; any problem becomes one ScenarioError line."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(describe_validation_error(error)) from None


def load_scenario(
    name_or_path: str | Path = "baseline", overrides: dict[str, Any] | None = None
) -> Scenario:
    """Load a shipped scenario by name or a TOML file by path, apply overrides, validate."""
    data = _resolve(name_or_path)
    return apply_overrides(data, overrides or {})


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> Scenario:
    """Set dotted paths in a copy of a raw scenario dictionary and validate the result."""
    data = deepcopy(data)
    for path, value in overrides.items():
        paths.assign(data, path, value, Scenario)
    return validate_scenario(data)


def describe_validation_error(error: ValidationError) -> str:
    """One line: the first problem, with the field's dotted path and what is allowed."""
    problem = error.errors()[0]
    path = ".".join(str(part) for part in problem["loc"])
    kind = problem["type"]
    given = problem.get("input")
    context = problem.get("ctx") or {}
    if kind == "extra_forbidden":
        return f"{path}: unknown parameter (see `tasim scenarios show baseline`)"
    if kind in {"greater_than_equal", "less_than_equal"}:
        low, high = _field_bounds(path)
        return f"{path}: must be between {low:g} and {high:g} (got {given!r})"
    if kind == "finite_number":
        return f"{path}: must be a finite number (got {given!r})"
    if kind == "literal_error":
        return f"{path}: must be one of {context.get('expected')} (got {given!r})"
    if kind == "value_error":
        return f"{path or 'scenario'}: {context.get('error', problem['msg'])}"
    return f"{path or 'scenario'}: {problem['msg'].lower()} (got {given!r})"


def _field_bounds(path: str) -> tuple[float, float]:
    low, high = paths.bounds(paths.field(Scenario, path))
    return (-math.inf if low is None else low, math.inf if high is None else high)
