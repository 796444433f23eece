"""Builds the health system of a scenario: teams, organizations, network ties and TA providers.

Every random draw comes from the generator passed in (the model's ``model.rng``), so a
system is determined by its scenario and seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from sim import mechanisms as mech
from sim.params import (
    ACTIVITIES,
    BUILDING_BLOCKS,
    MODALITIES,
    N_BLOCKS,
    REGIONS,
    ROLES,
    ProviderGroup,
    Scenario,
)

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
# Relative risk of an avoidable emergency admission in the population each sector serves:
# highest where people live with at least moderate disease or frailty (realist synthesis L1815;
# long-term care's residents, OHT synthesis L144; the MCP's tier at risk of unscheduled care,
# L595), lowest for public health's whole-population reach. The sizes are assumptions.
SECTOR_ADMISSION_RISK = (1.5, 1.0, 2.0, 1.2, 2.5, 1.0, 0.5)
HOURS_PER_FTE = 120.0  # direct TA hours per provider FTE per month (anchor-ta-evidence.md 6.4)
HOSPITAL, PRIMARY_CARE = SECTORS.index("hospital"), SECTORS.index("primary_care")
HOME_CARE = SECTORS.index("home_community_care")
WITHIN_TEAM_WEIGHT = 0.5  # tie strength inside a team before any collaboration (assumption)
CROSS_TEAM_WEIGHT = 0.3  # initial strength of a tie to another team (assumption)
MATURITY_SATURATION = 5.0  # years of collaboration for a team's strongest ties (assumption)


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
    team_based: np.ndarray  # bool: serves a team's members together (team-based coaching)
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
    sector = rng.choice(len(SECTORS), size=n, p=SECTOR_SHARES)
    maturity_boost = initial.maturity_motivation * teams.maturity[team]
    engagement_gap = np.where(sector == PRIMARY_CARE, initial.primary_care_motivation_gap, 0.0)
    capacity_gap = np.array([0.0, initial.rural_capacity_gap, initial.northern_capacity_gap])[
        region
    ]
    concentration = initial.concentration
    return Organizations(
        team=team,
        region=region,
        sector=sector,
        size=scenario.system.size_median
        * np.exp(scenario.system.size_sigma * rng.standard_normal(n)),
        threshold=rng.beta(initial.threshold_a, initial.threshold_b, n),
        M=beta_with_mean(
            rng, initial.motivation_mean + maturity_boost - engagement_gap, concentration, n
        ),
        G=beta_with_mean(rng, initial.general_capacity_mean - capacity_gap, concentration, n),
        S=beta_with_mean(rng, block_means(initial), concentration, (n, N_BLOCKS)),
        T=beta_with_mean(rng, initial.trust_mean + maturity_boost, concentration, n),
        O=beta_with_mean(rng, initial.ownership_mean, concentration, n),
    )


@dataclass
class PeerNetwork:
    """Ties among organizations: inside teams and across them.

    Ties inside a team share the team's strength (it grows as the team matures, so it is a
    per-team state the model passes in); ties to other teams each have their own strength,
    which grows with joint peer exchange (``strengthen``). ``within`` is the 0/1 adjacency
    inside teams, ``cross`` holds the cross-team strengths and ``cross_pairs`` the (row,
    column) of each of its stored entries. What follows from the cross-team strengths alone
    is kept until they change, since they change only in months with peer exchange.
    """

    org_team: np.ndarray
    within: sparse.csr_matrix
    within_degree: np.ndarray
    cross: sparse.csr_matrix
    cross_pairs: tuple[np.ndarray, np.ndarray]
    edges: tuple[np.ndarray, np.ndarray]  # every tie once, for the graph Mesa's Network holds
    mean_weights: sparse.csr_matrix  # row-normalised initial strengths, for neighbour means
    cross_log: sparse.csr_matrix  # log(1 - tau w) of the cross-team ties (see _cross)
    _cross_cache: dict = field(default_factory=dict, repr=False)

    def exposure(self, adopting, *, team_strength, transmission):
        """Per organization: the chance an adopting tie reaches it, and its connectedness (the
        same chance were every neighbour adopting); see ``mechanisms.peer_exposure``.
        """
        team_log = mech.tie_log_complement(team_strength, transmission=transmission)
        inner_log = team_log[self.org_team]
        cross_log, cross_log_total = self._cross(transmission)
        exposure = mech.peer_exposure(inner_log * (self.within @ adopting) + cross_log @ adopting)
        connectedness = mech.peer_exposure(inner_log * self.within_degree + cross_log_total)
        return exposure, connectedness

    def neighbour_mean(self, values):
        """Mean of ``values`` (one row per organization) over each organization's neighbours.

        Weighted by the ties' strengths when the network was built: how much the neighbours
        count (``connectedness``) follows the ties' current number and strength, so the mean
        itself needs no monthly reweighting.
        """
        return self.mean_weights @ values

    def strengthen(self, joint, *, rate):
        """Cross-team ties whose two ends worked together (``joint`` per organization) grow."""
        rows, columns = self.cross_pairs
        self.cross.data = mech.tie_growth(
            self.cross.data, joint=joint[rows] & joint[columns], rate=rate
        )
        self._cross_cache.clear()

    def _cross(self, transmission):
        """log(1 - tau w) of the cross-team ties as a matrix, and its row sums.

        Refreshed in place (same sparsity, new values) when the strengths or tau changed.
        """
        if self._cross_cache.get("transmission") != transmission:
            self.cross_log.data[:] = mech.tie_log_complement(
                self.cross.data, transmission=transmission
            )
            self._cross_cache.update(
                transmission=transmission,
                total=np.bincount(
                    self.cross_pairs[0], weights=self.cross_log.data, minlength=len(self.org_team)
                ),
            )
        return self.cross_log, self._cross_cache["total"]


def _symmetric(n: int, sources, targets, weights) -> sparse.csr_matrix:
    return sparse.csr_matrix(
        (
            np.concatenate([weights, weights]),
            (np.concatenate([sources, targets]), np.concatenate([targets, sources])),
        ),
        shape=(n, n),
    )


NEW_BLOCKS = ("digital_health", "leadership_governance", "measurement_qi")  # thesis L902


def block_means(initial) -> np.ndarray:
    """Mean initial capacity per building block: the three largely new blocks
    ``new_block_gap`` below the other five, the mean over all eight ``specific_capacity_mean``.

    Source: thesis L900-902 (M51).
    """
    new = np.isin(BUILDING_BLOCKS, NEW_BLOCKS)
    share_new = new.mean()
    offset = np.where(new, -(1.0 - share_new), share_new) * initial.new_block_gap
    return np.clip(initial.specific_capacity_mean + offset, 0.01, 0.99)


@dataclass(frozen=True)
class Partnerships:
    """Home and community care organizations working with teams other than their own: one
    entry per (organization, team) pair."""

    org: np.ndarray
    team: np.ndarray

    def per_team(self, n_teams: int) -> np.ndarray:
        """Partners each team has from outside its membership."""
        return np.bincount(self.team, minlength=n_teams)

    def per_org(self, n_orgs: int) -> np.ndarray:
        """Teams each organization works with besides its own."""
        return np.bincount(self.org, minlength=n_orgs)


def build_partnerships(
    scenario: Scenario, teams: Teams, orgs: Organizations, rng: np.random.Generator
) -> Partnerships:
    """Each home and community care organization also works with ``teams_served - 1`` other
    teams of its region, drawn at random (as many as there are).

    Source: seed 001 L168 (HCC providers "will need to contract with multiple OHTs"), L227
    (contracts held per provider in the UK and US).
    """
    extra = scenario.home_care.teams_served - 1
    home_care = np.flatnonzero(orgs.sector == HOME_CARE)
    pairs_org, pairs_team = [np.zeros(0, int)], [np.zeros(0, int)]
    if extra > 0:
        for org in home_care:
            others = np.flatnonzero(
                (teams.region == orgs.region[org]) & (np.arange(len(teams.size)) != orgs.team[org])
            )
            chosen = rng.permutation(others)[:extra]
            pairs_org.append(np.full(len(chosen), org))
            pairs_team.append(chosen)
    return Partnerships(org=np.concatenate(pairs_org), team=np.concatenate(pairs_team))


def team_leads(orgs: Organizations, n_teams: int) -> np.ndarray:
    """Each team's lead organization: its largest hospital, else its largest member (the
    convener that holds the team's agreements; seed-oht.md M12: 004 L116, L142)."""
    order = np.lexsort((orgs.size, orgs.sector == HOSPITAL, orgs.team))
    last_of_team = np.r_[orgs.team[order][1:] != orgs.team[order][:-1], True]
    leads = np.zeros(n_teams, dtype=int)
    leads[orgs.team[order][last_of_team]] = order[last_of_team]
    return leads


def build_ties(
    scenario: Scenario,
    teams: Teams,
    orgs: Organizations,
    rng: np.random.Generator,
    partnerships: Partnerships | None = None,
) -> PeerNetwork:
    """Undirected ties: dense inside teams, sparse across the teams of a region. A home and
    community care organization working with another team is tied inside it as its members
    are (``partnerships``); like every tie inside a team, each end's strength follows the
    maturity of that end's own team (``PeerNetwork.exposure``).

    Source: DESIGN.md section 3 (Network); seed-oht.md 4 (004 L93: formation follows prior ties).
    """
    n = len(orgs.team)
    density = scenario.system.within_team_density
    inner_sources, inner_targets = [], []
    start = np.concatenate([[0], np.cumsum(teams.size)[:-1]])
    for first, size in zip(start, teams.size, strict=True):
        left, right = np.triu_indices(size, k=1)
        keep = rng.random(len(left)) < density
        inner_sources.append(first + left[keep])
        inner_targets.append(first + right[keep])
    if partnerships is not None:
        for org, team in zip(partnerships.org, partnerships.team, strict=True):
            members = start[team] + np.flatnonzero(rng.random(teams.size[team]) < density)
            inner_sources.append(np.full(len(members), org))
            inner_targets.append(members)
    cross_sources, cross_targets = [np.zeros(0, int)], [np.zeros(0, int)]
    n_cross = rng.poisson(scenario.system.cross_team_ties / 2.0, n)  # each tie has two ends
    origin = np.repeat(np.arange(n), n_cross)
    for region in range(len(REGIONS)):
        members = np.flatnonzero(orgs.region == region)
        from_region = origin[orgs.region[origin] == region]
        if len(members) == 0 or len(from_region) == 0:
            continue
        partner = members[rng.integers(0, len(members), len(from_region))]
        other_team = orgs.team[partner] != orgs.team[from_region]
        cross_sources.append(from_region[other_team])
        cross_targets.append(partner[other_team])
    inner_sources, inner_targets = np.concatenate(inner_sources), np.concatenate(inner_targets)
    within = _symmetric(n, inner_sources, inner_targets, np.ones(len(inner_sources)))
    within.data[:] = 1.0  # two partners tied through each other's team are tied once
    cross_sources, cross_targets = np.concatenate(cross_sources), np.concatenate(cross_targets)
    cross = _symmetric(n, cross_sources, cross_targets, np.ones(len(cross_sources)))
    cross.data[:] = CROSS_TEAM_WEIGHT  # a pair drawn twice is one tie
    if partnerships is not None and len(partnerships.org):
        # a partner already tied inside the other's team is not tied across teams as well
        cross = (cross - cross.multiply(within)).tocsr()
        cross.eliminate_zeros()
    rows = np.repeat(np.arange(n), np.diff(cross.indptr))
    inner_strength = inner_tie_strength(teams.maturity)[orgs.team]
    initial = within.multiply(inner_strength[:, None]).tocsr() + cross
    totals = np.asarray(initial.sum(axis=1)).ravel()
    mean_weights = sparse.diags(np.divide(1.0, totals, out=np.zeros(n), where=totals > 0)) @ initial
    return PeerNetwork(
        org_team=orgs.team,
        within=within,
        within_degree=np.diff(within.indptr).astype(float),
        cross=cross,
        cross_pairs=(rows, cross.indices.copy()),
        edges=(
            np.concatenate([inner_sources, cross_sources]),
            np.concatenate([inner_targets, cross_targets]),
        ),
        mean_weights=mean_weights.tocsr(),
        cross_log=cross.copy(),
    )


def inner_tie_strength(maturity) -> np.ndarray:
    """The strength of the ties inside teams with ``maturity`` years of collaboration."""
    return mech.team_tie_strength(maturity, base=WITHIN_TEAM_WEIGHT, saturation=MATURITY_SATURATION)


def team_has_coordinator(orgs: Organizations, n_teams: int) -> np.ndarray:
    """Whether a team has a hospital member, the usual convener that funds a coordinator.

    Source: seed-oht.md M12 and 1.1 (004 L116, L142).
    """
    return np.bincount(orgs.team, weights=orgs.sector == HOSPITAL, minlength=n_teams) > 0


@dataclass(frozen=True)
class ProviderBlock:
    """One group's providers as built: their expertise and which team each one serves.

    A block is kept for as long as its group is unchanged, so a policy event that adds or
    changes one group leaves every other provider, its expertise and its links as they were.
    """

    group: ProviderGroup
    expertise: np.ndarray  # (count, N_BLOCKS)
    link_team: np.ndarray  # teams served, one entry per (team, provider) link
    link_provider: np.ndarray  # the provider of each link, numbered within the group


def expertise_means(group: ProviderGroup):
    """Mean expertise per building block: ``expertise_mean`` in the group's domains (all blocks
    if it names none), ``outside_domain`` times that elsewhere.

    Source: thesis L1080-1103 and L1351-1369 (each central partner brings its own domains).
    """
    if not group.domains:
        return group.expertise_mean
    inside = np.isin(BUILDING_BLOCKS, group.domains)
    return np.where(inside, 1.0, group.outside_domain) * group.expertise_mean


def build_provider_block(
    group: ProviderGroup, teams: Teams, rng: np.random.Generator
) -> ProviderBlock:
    """A group's providers, each team of its regions linked to one of them (in turn, at random)."""
    served = np.flatnonzero(
        np.isin(teams.region, [REGIONS.index(region) for region in group.regions])
    )
    if group.count == 0:
        return ProviderBlock(group, np.zeros((0, N_BLOCKS)), np.zeros(0, int), np.zeros(0, int))
    return ProviderBlock(
        group=group,
        expertise=beta_with_mean(rng, expertise_means(group), 10.0, (group.count, N_BLOCKS)),
        link_team=served,
        link_provider=rng.permutation(len(served)) % group.count,
    )


BLOCK_FIELDS = {
    "count",
    "regions",
    "domains",
    "expertise_mean",
    "outside_domain",
}  # drawn per block


def reuse_provider_blocks(
    groups: Sequence[ProviderGroup],
    built: Sequence[ProviderBlock],
    teams: Teams,
    rng: np.random.Generator,
) -> list[ProviderBlock]:
    """Blocks for ``groups``: a group whose drawn fields (``BLOCK_FIELDS``: its providers'
    number, regions and expertise) are unchanged keeps its providers, expertise and links, with
    its other settings (role, mix, modality, delivery, ...) updated; any other is built anew."""

    def drawn(group: ProviderGroup) -> dict:
        return group.model_dump(include=BLOCK_FIELDS)

    unused = list(built)
    blocks = []
    for group in groups:
        same = next((block for block in unused if drawn(block.group) == drawn(group)), None)
        if same is None:
            blocks.append(build_provider_block(group, teams, rng))
        else:
            unused.remove(same)
            blocks.append(ProviderBlock(group, same.expertise, same.link_team, same.link_provider))
    return blocks


def combine_providers(blocks: Sequence[ProviderBlock], teams: Teams) -> Providers:
    """Every block's providers as one set of arrays, each team's links expanded to its members.

    The blocks are the scenario's provider groups followed by any the adaptive funder added.
    Several groups serving the same team are the uncoordinated central program partners of
    thesis L1351-1369 and L1385-1387; providers share their hours across their teams (M16).
    """
    counts = [block.group.count for block in blocks]
    first_id = (np.cumsum([0, *counts])[:-1]).astype(int)

    def per_provider(value) -> np.ndarray:
        return np.repeat(np.array([value(block.group) for block in blocks]), counts, axis=0)

    link_team = np.concatenate([np.zeros(0, int), *(block.link_team for block in blocks)])
    link_provider = np.concatenate(
        [np.zeros(0, int)]
        + [block.link_provider + first for block, first in zip(blocks, first_id, strict=True)]
    )
    team_start = np.concatenate([[0], np.cumsum(teams.size)])
    link_org = np.concatenate(
        [np.zeros(0, int)]
        + [np.arange(team_start[team], team_start[team + 1]) for team in link_team]
    )
    return Providers(
        group=np.repeat(np.arange(len(blocks)), counts),
        role=per_provider(lambda group: ROLES.index(group.role)).astype(int),
        hours=per_provider(lambda group: group.fte * HOURS_PER_FTE).astype(float),
        modality=per_provider(lambda group: MODALITIES.index(group.modality)).astype(int),
        activity_mix=per_provider(
            lambda group: [getattr(group.activity_mix, activity) for activity in ACTIVITIES]
        )
        .astype(float)
        .reshape(-1, len(ACTIVITIES)),
        cost_per_hour=per_provider(lambda group: group.cost_per_hour).astype(float),
        caseload_limit=per_provider(lambda group: group.caseload_limit).astype(int),
        expertise=np.concatenate([np.zeros((0, N_BLOCKS)), *(block.expertise for block in blocks)]),
        team_based=per_provider(lambda group: group.delivery == "team").astype(bool),
        link_org=link_org.astype(int),
        link_provider=np.repeat(link_provider, teams.size[link_team]).astype(int),
    )


def admission_risk(sector, population) -> np.ndarray:
    """Each organization's population's relative risk of an avoidable admission by its sector
    (``SECTOR_ADMISSION_RISK``), scaled to a population-weighted mean of 1, so the system starts
    at ``outcomes.admissions_base`` and a team's rate follows the sectors in it."""
    risk = np.asarray(SECTOR_ADMISSION_RISK)[sector]
    return risk / np.average(risk, weights=population)
