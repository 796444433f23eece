"""Builds the health system of a scenario: teams, organizations, network ties and TA providers.

Every random draw comes from the generator passed in (the model's ``model.rng``), so a
system is determined by its scenario and seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from sim.params import ACTIVITIES, MODALITIES, N_BLOCKS, REGIONS, ROLES, ProviderGroup, Scenario

SECTORS = (
    "hospital",
    "primary_care",
    "home_community_care",
    "mental_health_addictions",
    "long_term_care",
    "community_support",
    "public_health",
)
SECTOR_SHARES = (
    0.12,
    0.30,
    0.12,
    0.14,
    0.12,
    0.16,
    0.04,
)  # assumption (seed-oht.md 1.1: actor types)
HOURS_PER_FTE = 120.0  # direct TA hours per provider FTE per month (anchor-ta-evidence.md 6.4)
WITHIN_TEAM_WEIGHT = 0.5  # tie weight inside a team before prior collaboration (assumption)
CROSS_TEAM_WEIGHT = 0.3  # tie weight to other teams (communities of practice; assumption)
MATURITY_SATURATION = 5.0  # years of prior collaboration at which ties are strongest (assumption)


@dataclass
class Teams:
    size: np.ndarray
    region: np.ndarray  # index into REGIONS
    cohort: np.ndarray
    approval_month: np.ndarray
    maturity: np.ndarray  # years of prior collaboration


@dataclass
class Organizations:
    team: np.ndarray
    region: np.ndarray
    sector: np.ndarray  # index into SECTORS
    size: np.ndarray  # FTE
    threshold: np.ndarray  # adoption threshold theta
    M: np.ndarray
    G: np.ndarray
    S: np.ndarray  # (n, N_BLOCKS)
    T: np.ndarray
    O: np.ndarray  # noqa: E741 (the design's name for ownership)


@dataclass
class Providers:
    """TA providers as arrays, plus the fixed links from organizations to their providers."""

    group: np.ndarray
    role: np.ndarray  # index into ROLES
    hours: np.ndarray  # capacity per month
    modality: np.ndarray  # index into MODALITIES
    activity_mix: np.ndarray  # (n_providers, 3) over ACTIVITIES
    cost_per_hour: np.ndarray
    caseload_limit: np.ndarray
    expertise: np.ndarray  # (n_providers, N_BLOCKS)
    link_org: np.ndarray  # one entry per (organization, provider) link
    link_provider: np.ndarray

    @property
    def count(self) -> int:
        return len(self.role)


def beta_with_mean(rng: np.random.Generator, mean, concentration: float, size) -> np.ndarray:
    """Beta draws with a given mean and concentration a + b."""
    mean = np.clip(mean, 0.01, 0.99)
    return rng.beta(mean * concentration, (1.0 - mean) * concentration, size)


def build_teams(scenario: Scenario, rng: np.random.Generator) -> Teams:
    """Teams with skewed sizes, a regional mix, and cohorts in which rural and northern teams
    come later.

    Source: seed-oht.md 3.1 (7-43 members), seed-thesis.md 3.1 (4 cohorts; northern/rural
    influx in cohorts 3 and 4, thesis L1427, L1501).
    """
    system = scenario.system
    n = system.n_teams
    span = system.team_size_max - system.team_size_min
    size = system.team_size_min + np.rint(span * rng.beta(1.3, system.team_size_skew, n)).astype(
        int
    )
    shares = [getattr(system.region_shares, region) for region in REGIONS]
    region = rng.choice(len(REGIONS), size=n, p=shares)
    order = np.argsort(region + rng.uniform(0.0, 1.5, n), kind="stable")
    first = max(1, round(system.first_cohort_share * n)) if system.n_cohorts > 1 else n
    rest = np.array_split(np.arange(first, n), max(system.n_cohorts - 1, 1))
    cohort = np.zeros(n, dtype=int)
    for index, positions in enumerate(rest, start=1):
        cohort[order[positions]] = index
    approval_month = system.first_cohort_month + cohort * system.cohort_interval
    maturity = (
        rng.gamma(2.0, system.maturity_mean / 2.0, n) if system.maturity_mean > 0 else np.zeros(n)
    )
    return Teams(
        size=size, region=region, cohort=cohort, approval_month=approval_month, maturity=maturity
    )


def build_organizations(
    scenario: Scenario, teams: Teams, rng: np.random.Generator
) -> Organizations:
    """Member organizations with heterogeneous size, readiness, capacity and thresholds."""
    initial = scenario.initial
    team = np.repeat(np.arange(len(teams.size)), teams.size)
    n = len(team)
    region = teams.region[team]
    maturity_boost = initial.maturity_motivation * teams.maturity[team]
    capacity_gap = np.array([0.0, initial.rural_capacity_gap, initial.northern_capacity_gap])[
        region
    ]
    concentration = initial.concentration
    return Organizations(
        team=team,
        region=region,
        sector=rng.choice(len(SECTORS), size=n, p=SECTOR_SHARES),
        size=scenario.system.size_median
        * np.exp(scenario.system.size_sigma * rng.standard_normal(n)),
        threshold=rng.beta(initial.threshold_a, initial.threshold_b, n),
        M=beta_with_mean(rng, initial.motivation_mean + maturity_boost, concentration, n),
        G=beta_with_mean(rng, initial.general_capacity_mean - capacity_gap, concentration, n),
        S=beta_with_mean(rng, initial.specific_capacity_mean, concentration, (n, N_BLOCKS)),
        T=beta_with_mean(rng, initial.trust_mean + maturity_boost, concentration, n),
        O=beta_with_mean(rng, initial.ownership_mean, concentration, n),
    )


def build_ties(
    scenario: Scenario, teams: Teams, orgs: Organizations, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Undirected weighted ties: dense inside teams, sparse across the teams of a region.

    Ties inside a team are stronger with prior collaboration.

    Source: DESIGN.md section 3 (Network); seed-oht.md 4 (004 L93: formation follows prior ties).
    """
    sources, targets, weights = [], [], []
    start = np.concatenate([[0], np.cumsum(teams.size)[:-1]])
    for index, (first, size) in enumerate(zip(start, teams.size, strict=True)):
        left, right = np.triu_indices(size, k=1)
        keep = rng.random(len(left)) < scenario.system.within_team_density
        sources.append(first + left[keep])
        targets.append(first + right[keep])
        strength = WITHIN_TEAM_WEIGHT + (1 - WITHIN_TEAM_WEIGHT) * min(
            1.0, teams.maturity[index] / MATURITY_SATURATION
        )
        weights.append(np.full(keep.sum(), strength))
    n = len(orgs.team)
    n_cross = rng.poisson(scenario.system.cross_team_ties / 2.0, n)  # each tie has two ends
    origin = np.repeat(np.arange(n), n_cross)
    for region in range(len(REGIONS)):
        members = np.flatnonzero(orgs.region == region)
        from_region = origin[orgs.region[origin] == region]
        if len(members) == 0 or len(from_region) == 0:
            continue
        partner = members[rng.integers(0, len(members), len(from_region))]
        other_team = orgs.team[partner] != orgs.team[from_region]
        sources.append(from_region[other_team])
        targets.append(partner[other_team])
        weights.append(np.full(other_team.sum(), CROSS_TEAM_WEIGHT))
    return np.concatenate(sources), np.concatenate(targets), np.concatenate(weights)


def peer_matrix(
    n: int, sources: np.ndarray, targets: np.ndarray, weights: np.ndarray
) -> sparse.csr_matrix:
    """Row-normalised symmetric tie weights: row i averages over i's neighbours."""
    matrix = sparse.coo_matrix(
        (
            np.concatenate([weights, weights]),
            (np.concatenate([sources, targets]), np.concatenate([targets, sources])),
        ),
        shape=(n, n),
    ).tocsr()
    matrix.sum_duplicates()
    totals = np.asarray(matrix.sum(axis=1)).ravel()
    return sparse.diags(np.divide(1.0, totals, out=np.zeros(n), where=totals > 0)) @ matrix


def build_providers(
    groups: Sequence[ProviderGroup], teams: Teams, rng: np.random.Generator
) -> Providers:
    """Providers of every group, each team linked to one provider of every group serving its region.

    ``groups`` are the scenario's provider groups followed by any the adaptive funder added.

    Several groups serving the same team are the uncoordinated central program partners of
    thesis L1351-1369 and L1385-1387; providers share their hours across their teams (M16).
    """
    columns: dict[str, list] = {
        key: []
        for key in ("group", "role", "hours", "modality", "mix", "cost", "caseload", "expertise")
    }
    link_team, link_provider = [], []
    for group_index, group in enumerate(groups):
        if group.count == 0:
            continue
        first_id = len(columns["role"])
        columns["group"] += [group_index] * group.count
        columns["role"] += [ROLES.index(group.role)] * group.count
        columns["hours"] += [group.fte * HOURS_PER_FTE] * group.count
        columns["modality"] += [MODALITIES.index(group.modality)] * group.count
        columns["mix"] += [
            [getattr(group.activity_mix, activity) for activity in ACTIVITIES]
        ] * group.count
        columns["cost"] += [group.cost_per_hour] * group.count
        columns["caseload"] += [group.caseload_limit] * group.count
        columns["expertise"].append(
            beta_with_mean(rng, group.expertise_mean, 10.0, (group.count, N_BLOCKS))
        )
        served = np.flatnonzero(
            np.isin(teams.region, [REGIONS.index(region) for region in group.regions])
        )
        link_team.append(served)
        link_provider.append(first_id + rng.permutation(len(served)) % group.count)
    link_team_all = np.concatenate(link_team) if link_team else np.zeros(0, int)
    link_provider_all = np.concatenate(link_provider) if link_provider else np.zeros(0, int)
    team_start = np.concatenate([[0], np.cumsum(teams.size)])
    counts = teams.size[link_team_all]
    link_org = (
        np.concatenate([np.arange(team_start[t], team_start[t + 1]) for t in link_team_all])
        if len(link_team_all)
        else np.zeros(0, int)
    )
    return Providers(
        group=np.array(columns["group"], dtype=int),
        role=np.array(columns["role"], dtype=int),
        hours=np.array(columns["hours"], dtype=float),
        modality=np.array(columns["modality"], dtype=int),
        activity_mix=np.array(columns["mix"], dtype=float).reshape(-1, len(ACTIVITIES)),
        cost_per_hour=np.array(columns["cost"], dtype=float),
        caseload_limit=np.array(columns["caseload"], dtype=int),
        expertise=np.concatenate(columns["expertise"])
        if columns["expertise"]
        else np.zeros((0, N_BLOCKS)),
        link_org=link_org.astype(int),
        link_provider=np.repeat(link_provider_all, counts).astype(int),
    )
