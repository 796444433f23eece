"""TransformationModel: the monthly schedule of DESIGN.md section 4 over model-owned arrays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import mesa
import networkx as nx
import numpy as np
import pandas as pd
from mesa.discrete_space import Network
from mesa.experimental.scenarios import Scenario as MesaScenario
from scipy import sparse

from sim import allocation, events, metrics, paths
from sim import mechanisms as mech
from sim.agents import Organization, TAProvider, Team
from sim.params import (
    BUILDING_BLOCKS,
    MODALITIES,
    REGIONS,
    ROLES,
    ProviderGroup,
    Scenario,
    load_scenario,
)
from sim.system import (
    HOME_CARE,
    MATURITY_SATURATION,
    admission_risk,
    build_organizations,
    build_partnerships,
    build_teams,
    build_ties,
    combine_providers,
    inner_tie_strength,
    reuse_provider_blocks,
    team_has_coordinator,
    team_leads,
)

VIRTUAL = MODALITIES.index("virtual")
DATA_BLOCKS = tuple(BUILDING_BLOCKS.index(b) for b in ("digital_health", "measurement_qi"))
GOVERNANCE_BLOCK = BUILDING_BLOCKS.index("leadership_governance")
ROLE_FIELDS = ("substitution", "capacity_transfer", "ownership_gain", "readiness_dependence")
SUSTAIN_HYSTERESIS = 0.15  # fidelity margin below which sustaining falls back (assumption)
NEVER = 10**6  # the month of something that has not happened
BINDING_SHARE = 0.99  # spending at this share of the budget means it binds (assumption)


class ModelScenario(MesaScenario):
    """The run's validated scenario as ``model.scenario``, in the form Mesa 3.5 expects.

    Mesa's convention is that ``model.scenario`` holds the run's parameters as an instance of
    its experimental ``Scenario`` (SolaraViz checks that type to tell scenario parameters from
    model keywords, and the scenario refuses changes while the model runs). Our scenario is a
    validated pydantic schema, which cannot also subclass Mesa's (both lay out ``__slots__``),
    so this thin Mesa scenario reads every attribute through to ``validated``:
    ``model.scenario.funder.budget_per_month`` is the validated value, and the schema's own
    methods (``with_overrides``, ``model_dump``, ``get``) work as on the schema.
    """

    def __init__(self, validated: Scenario | None = None, *, rng=None):
        super().__init__(rng=rng, validated=validated)

    def __getattr__(self, name: str):
        # only reached for names Mesa's scenario does not hold; never for the proxy's own
        # (so unpickling, which looks names up before __dict__ is filled, cannot recurse)
        validated = self.__dict__.get("validated")
        if validated is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(validated, name)


@dataclass(eq=False)
class FunderState:
    """What the funder has decided in this run, as distinct from the scenario it was given.

    The scenario is validated input and is never changed in place: a scheduled event replaces
    it with a revalidated copy. What the funder does on its own (rule 16) lives here: the
    adaptive review raises the budget, switches coordination on, moves teams to hands-on
    coaching and adds local provider groups, and organizations or teams graduate from TA.
    A scheduled budget and the review's raises compose: the budget is the scheduled one times
    every raise so far (``follow``); a scheduled coordination switch replaces the review's.
    """

    budget: float  # $ per month the allocation may spend
    coordinated: bool  # providers coordinate (effective from funder.coordination_start)
    hands_on: np.ndarray  # per team: moved to hands-on coaching, for good
    graduated: np.ndarray  # per organization: month its graduation from TA began (NEVER)
    raised: float = 1.0  # product of the review's budget raises
    peak_share: float = 0.0  # most of the budget spent in a month since the last review
    local_providers: list[ProviderGroup] = field(default_factory=list)  # added by the review

    @classmethod
    def from_scenario(cls, scenario: Scenario, n_teams: int, n_orgs: int) -> FunderState:
        return cls(
            budget=scenario.funder.budget_per_month,
            coordinated=scenario.funder.coordinated,
            hands_on=np.zeros(n_teams, dtype=bool),
            graduated=np.full(n_orgs, NEVER),
        )

    @property
    def local_regions(self) -> set[str]:
        """Regions already given local providers (each gets them once)."""
        return {region for group in self.local_providers for region in group.regions}

    def follow(self, scenario: Scenario, changes: dict) -> None:
        """After a scheduled event: the budget it sets, with the raises so far; its coordination.

        The composed budget is validated like a scheduled one, so past its allowed range it
        stops the run with the same one-line error.
        """
        if _sets(changes, "funder.budget_per_month"):
            budget = scenario.funder.budget_per_month * self.raised
            events.apply_changes(scenario, {"funder.budget_per_month": budget})
            self.budget = budget
        if _sets(changes, "funder.coordinated"):
            self.coordinated = scenario.funder.coordinated


def _sets(changes: dict, path: str) -> bool:
    """Whether dotted-path ``changes`` set ``path``, itself or a section containing it."""
    return any(path == key or path.startswith(f"{key}.") for key in changes)


@dataclass(frozen=True)
class Month:
    """What the events phase settles for the rest of the month."""

    number: int
    pandemic: bool  # service pressure from the pandemic is on
    approved: np.ndarray  # organizations whose team is approved by now


@dataclass(frozen=True)
class Ties:
    """The network as the month finds it: what phases 3 to 5 read of it."""

    exposure: np.ndarray  # per organization: chance an adopting tie reaches it
    connectedness: np.ndarray  # per organization: the exposure if every neighbour adopted


@dataclass(frozen=True)
class Delivery:
    """The month's TA: per link (for the flows) and summed per organization (for the rules).

    ``content``, ``coaching`` and ``peer`` are hours; the other per-organization fields are
    hours-weighted means over the links that delivered, and ``expertise`` has one column
    per building block.
    """

    delivered: np.ndarray
    time_used: np.ndarray
    link_mix: np.ndarray
    link_modality: np.ndarray
    content: np.ndarray
    coaching: np.ndarray
    peer: np.ndarray
    quality: np.ndarray
    modality_effect: np.ndarray
    modality_trust: np.ndarray
    substitution_share: np.ndarray
    transfer: np.ndarray
    ownership_gain: np.ndarray
    readiness_dependence: np.ndarray
    expertise: np.ndarray
    in_team_session: np.ndarray  # received team-based TA together with fellow members


@dataclass(frozen=True)
class Uptake:
    """What receiving TA did this month, as the later phases need it."""

    absorbed: np.ndarray
    relationship_absorbed: np.ndarray  # the part of ``absorbed`` due to coaching and peer hours
    substituted: np.ndarray
    overload: np.ndarray
    peer_hours: np.ndarray  # peer-exchange hours received, for the ties they strengthen
    hours_by_block: np.ndarray  # the month's TA hours, each split over the blocks it aimed at
    in_team_session: np.ndarray  # worked with fellow members in a team session this month


class TransformationModel(mesa.Model):
    """Organizations in teams, served by TA providers under a funder's budget and policy.

    ``TransformationModel(scenario=None, rng=None, **overrides)``: ``scenario`` is a
    :class:`Scenario`, a shipped scenario name or a TOML path (default ``baseline``);
    ``overrides`` are dotted parameter paths with ``__`` or ``.`` (e.g.
    ``funder__budget_per_month=1e5``) so the model works from scripts, ``batch_run`` and SolaraViz.
    """

    def __init__(
        self, scenario: Scenario | ModelScenario | str | None = None, rng=None, **overrides
    ):
        if isinstance(scenario, ModelScenario):
            scenario = scenario.validated
        if not isinstance(scenario, Scenario):
            scenario = load_scenario("baseline" if scenario is None else scenario)
        if overrides:
            scenario = scenario.with_overrides(
                {paths.from_keyword(key): value for key, value in overrides.items()}
            )
        super().__init__(rng=rng, scenario=ModelScenario(scenario, rng=rng))
        self._build()
        # one table row a month holds every system-level series (DESIGN.md section 7)
        self.datacollector = mesa.DataCollector(tables={"system": list(metrics.SYSTEM_COLUMNS)})
        self._record()

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        scenario = self.scenario.validated
        self.teams = build_teams(scenario, self.rng)
        orgs = build_organizations(scenario, self.teams, self.rng)
        self.n_orgs = len(orgs.team)
        self.n_teams = len(self.teams.size)
        self.org_team, self.org_region, self.org_sector, self.org_size = (
            orgs.team,
            orgs.region,
            orgs.sector,
            orgs.size,
        )
        self.threshold = orgs.threshold
        self.M, self.G, self.S, self.T, self.O = orgs.M, orgs.G, orgs.S, orgs.T, orgs.O
        self.resting_M, self.resting_G = orgs.M.copy(), orgs.G.copy()
        self.W = np.zeros(self.n_orgs)
        self.P = np.zeros(self.n_orgs)
        self.F = np.zeros(self.n_orgs)
        self.H = np.zeros(self.n_orgs)
        self.navigation = np.zeros(self.n_orgs)
        self.stage = np.full(self.n_orgs, mech.NOT_ENGAGED, dtype=np.int64)
        self.months_without_ta = np.full(self.n_orgs, NEVER)
        self.feedback = np.zeros(self.n_orgs)  # a provider's feedback, fading after contact
        self.prop = np.zeros(self.n_orgs)  # a doer's substitution, until the TA has ended
        self.A = np.full(self.n_orgs, scenario.initial.acceptability)  # of the transformation
        self.satisfaction = np.zeros(self.n_orgs)  # with this month's TA (0 without TA)
        self.R = mech.readiness(
            motivation=self.M,
            general_capacity=self.G,
            specific_mean=self.S.mean(axis=1),
            weights=scenario.mechanisms.readiness_weights,
        )
        baseline_capacity = self.capacity()
        self.capacity_quintile = np.searchsorted(
            np.quantile(baseline_capacity, [0.2, 0.4, 0.6, 0.8]), baseline_capacity
        )
        self.equity_contrasts = metrics.equity_contrasts(self)
        self.adopting = mech.is_adopting(self.stage)
        self.months_adopting = np.zeros(self.n_orgs, dtype=np.int64)
        self.team_phase = np.full(self.n_teams, mech.CAPACITY_BUILDING)

        self.partnerships = partnerships = build_partnerships(scenario, self.teams, orgs, self.rng)
        self.network = build_ties(scenario, self.teams, orgs, self.rng, partnerships)
        outside_partners = partnerships.per_team(self.n_teams)
        # the parties a team's governance has to bring along: members and outside HCC partners
        self.team_parties = self.teams.size + outside_partners
        home_care = orgs.sector == HOME_CARE
        self.home_care_contracts = np.where(
            home_care, 1 + partnerships.per_org(self.n_orgs), 0
        ).astype(float)
        # a lead holds one contract per HCC party of its team, none with itself
        leads = team_leads(orgs, self.n_teams)
        self.lead_contracts = np.zeros(self.n_orgs)
        self.lead_contracts[leads] = (
            np.bincount(orgs.team, weights=home_care, minlength=self.n_teams)
            + outside_partners
            - home_care[leads]
        )
        self.transition_hours = np.zeros(self.n_orgs)
        self.team_maturity = self.teams.maturity.copy()  # years of collaboration, growing
        self.team_coordinator = team_has_coordinator(orgs, self.n_teams)
        self._grid: Network | None = None  # built when first asked for (``grid``)
        self.organizations = Organization.create_agents(self, self.n_orgs, list(range(self.n_orgs)))
        self.team_agents = Team.create_agents(self, self.n_teams, list(range(self.n_teams)))

        self.org_population = (
            scenario.system.population_per_org * self.org_size / scenario.system.size_median
        )
        self.team_population = np.bincount(self.org_team, weights=self.org_population)
        # avoidable admissions per 1,000 a year before change, at each population's risk
        self.base_admissions = scenario.outcomes.admissions_base * admission_risk(
            orgs.sector, self.org_population
        )
        self.base_team_admissions = metrics.team_mean(self, self.base_admissions)
        self.months_faithful = np.zeros(self.n_orgs, dtype=np.int64)  # at sustaining fidelity
        self.hours_received = np.zeros(self.n_orgs)  # cumulative TA hours, for the adaptive review
        self.ta_cost_by_team = np.zeros(self.n_teams)
        self.staff_cost_by_team = np.zeros(self.n_teams)
        self.outcomes = metrics.initial_outcomes(self)
        self.funder = FunderState.from_scenario(scenario, self.n_teams, self.n_orgs)
        self.provider_blocks = []
        self._set_providers()
        self._month_satisfaction_inputs = (
            np.zeros(len(self.providers.link_org)),
            self.S,
            np.zeros(self.n_orgs),
        )
        self.month_flows = metrics.empty_flows()
        self.team_history: list[np.ndarray] = []

    @property
    def grid(self) -> Network:
        """The organizations on Mesa's network space, one cell per organization, the peer
        ties as its edges.

        Built the first time it is asked for (the network view does, experiments never do):
        it costs about 6 % of a baseline run and nothing in the month reads it.
        """
        if self._grid is None:
            graph = nx.Graph()
            graph.add_nodes_from(range(self.n_orgs))
            sources, targets = self.network.edges
            graph.add_edges_from(zip(sources.tolist(), targets.tolist(), strict=True))
            self._grid = Network(graph, random=self.random, layout=None)
            for organization in self.organizations:
                organization.cell = self._grid[organization.index]
        return self._grid

    @property
    def provider_groups(self) -> list[ProviderGroup]:
        """The scenario's provider groups, then those the adaptive funder added."""
        return [*self.scenario.providers, *self.funder.local_providers]

    def _set_providers(self) -> None:
        """(Re)build provider arrays and agents, e.g. when a policy event adds providers.

        Groups that are unchanged keep their providers, expertise and links.
        """
        if hasattr(self, "provider_agents"):
            self.provider_agents.do("remove")
        self.provider_blocks = reuse_provider_blocks(
            self.provider_groups, self.provider_blocks, self.teams, self.rng
        )
        self.providers = combine_providers(self.provider_blocks, self.teams)
        self.caseload = np.zeros(self.providers.count)
        self.link_role = self.providers.role[self.providers.link_provider]
        self.link_expertise = self.providers.expertise[self.providers.link_provider]
        self.link_activity_mix = self.providers.activity_mix[self.providers.link_provider]
        self.provider_agents = TAProvider.create_agents(
            self, self.providers.count, list(range(self.providers.count))
        )

    # ------------------------------------------------------------------ the month

    def step(self) -> None:
        """One month: the six phases of DESIGN.md section 4, in order, one method each.

        ``_ties`` reads the network once, at the start of the month, for the phases that use it
        (capacity spillover and reinforcement in phase 3, peer exchange, adoption).

        After the scenario's last month ``running`` is False, Mesa's sign that the run is over
        (its ``run_model``, ``batch_run`` and SolaraViz's play loop stop there); a caller that
        asks for more months (``simulate(months=...)``) still gets them.
        """
        month = self._events()
        delivery = self._allocation(month)
        ties = self._ties()
        uptake = self._receive_ta(month, delivery, ties)
        self._peer_exchange(month, uptake, ties)
        self._stages_penetration_fidelity(month, uptake, ties)
        self._outcomes_costs_and_record(delivery, uptake)
        if self.steps >= self.scenario.months:
            self.running = False

    def _events(self) -> Month:
        """Phase 1: scheduled changes, turnover, cohort approvals and the funder's review."""
        number = self.steps
        self._fire_events(number)
        params = self.scenario.validated
        pandemic = events.pandemic_active(params.shocks.pandemic, number)
        self.S, self.T, _ = events.turnover(
            specific=self.S,
            trust=self.T,
            uniform=self.rng.random(self.n_orgs),
            **params.shocks.turnover.model_dump(),
        )
        approved = self.teams.approval_month[self.org_team] <= number
        self.stage[(self.stage == mech.NOT_ENGAGED) & approved] = mech.EXPLORING
        home_care = params.home_care
        self.transition_hours = (
            mech.transition_work(
                home_care_contracts=self.home_care_contracts,
                lead_contracts=self.lead_contracts,
                contracted=home_care.form == "contracted",
                hours=home_care.contract_hours,
                support=home_care.contract_support,
            )
            if events.home_care_transition_active(home_care, number)
            else np.zeros(self.n_orgs)
        )
        if params.funder.adaptive and number % params.funder.review_interval == 0:
            self._review(number)
        if params.funder.graduation != "none":
            self._graduate(number)
        return Month(number=number, pandemic=pandemic, approved=approved)

    def _allocation(self, month: Month) -> Delivery:
        """Phase 2: hours under the hard provider-hour and budget limits, summed per organization.

        One sparse product of the hours on each link with the link's attributes gives every
        hours-weighted per-organization quantity the rules of phase 3 need.
        """
        params = self.scenario.validated
        mp = params.mechanisms
        delivered, time_used, link_mix, link_modality, together = self._allocate(month)
        p = self.providers
        n = self.n_orgs
        self.caseload = allocation.caseloads(
            p.link_provider, delivered, p.count, 1.0 / together if p.team_based.any() else 1.0
        )
        role_table = np.array(
            [
                [getattr(getattr(params.roles, role), field) for field in ROLE_FIELDS]
                for role in ROLES
            ]
        )
        served = np.flatnonzero(delivered > 0)  # only links that delivered hours matter this month
        link_values = np.column_stack(
            [
                np.ones(len(served)),
                link_mix[served],
                mech.caseload_quality(
                    self.caseload[p.link_provider[served]],
                    penalty=mp.caseload_penalty,
                    free_caseload=mp.caseload_free,
                )
                * np.where(together[served] > 1, mp.group_tailoring, 1.0),
                _by_modality(mp.virtual_effect)[link_modality[served]],
                _by_modality(mp.virtual_trust)[link_modality[served]],
                role_table[self.link_role[served]],
                self.link_expertise[served],
            ]
        )
        # one entry per column (served link), so the compressed-column form is built without sorting
        hours_by_link = sparse.csc_matrix(
            (delivered[served], p.link_org[served], np.arange(len(served) + 1)),
            shape=(n, len(served)),
        )
        totals = hours_by_link @ link_values  # every hours-weighted sum per organization at once
        H = totals[:, 0]
        self.H = H
        self.hours_received += H
        self.months_without_ta = np.where(H > 0, 0, self.months_without_ta + 1)
        hours_weighted = totals[:, 4:] / np.maximum(H, 1e-12)[:, None]

        n_providers = np.bincount(p.link_org[served], minlength=n)
        coordinated = self.funder.coordinated and month.number >= params.funder.coordination_start
        self.navigation = mech.navigation_burden(
            n_providers,
            hours_per_provider=mp.navigation_hours,
            coordinated=coordinated,
            relief=mp.coordination_relief,
        )
        return Delivery(
            delivered=delivered,
            time_used=time_used,
            link_mix=link_mix,
            link_modality=link_modality,
            content=totals[:, 1],
            coaching=totals[:, 2],
            peer=totals[:, 3],
            quality=hours_weighted[:, 0],
            modality_effect=hours_weighted[:, 1],
            modality_trust=hours_weighted[:, 2],
            substitution_share=hours_weighted[:, 3],
            transfer=hours_weighted[:, 4],
            ownership_gain=hours_weighted[:, 5],
            readiness_dependence=hours_weighted[:, 6],
            expertise=hours_weighted[:, 7:],
            in_team_session=np.bincount(
                p.link_org[served], weights=together[served] > 1, minlength=n
            )
            > 0,
        )

    def _ties(self) -> Ties:
        """Each organization's exposure to adopters and its connectedness over all its ties,
        with the ties inside teams as strong as the teams are mature (rule 8, DESIGN.md
        section 3).
        """
        exposure, connectedness = self.network.exposure(
            self.adopting,
            team_strength=inner_tie_strength(self.team_maturity),
            transmission=self.scenario.validated.mechanisms.tie_transmission,
        )
        return Ties(exposure=exposure, connectedness=connectedness)

    def _receive_ta(self, month: Month, delivery: Delivery, ties: Ties) -> Uptake:
        """Phase 3: trust, dose, absorption, capacity, ownership and workload (rules 3-10)."""
        params = self.scenario.validated
        mp = params.mechanisms
        H, n = self.H, self.n_orgs
        self.T = mech.trust_update(
            self.T,
            relationship_hours=delivery.coaching,
            contacts=mech.CONTACTS_PER_CONTACT_MONTH[params.funder.periodicity],
            contact=H > 0,
            build=mp.trust_build,
            half_hours=mp.trust_half_hours,
            decay=mp.trust_decay,
            modality_trust=delivery.modality_trust,
        )
        dose_inputs = dict(
            coaching_hours=delivery.coaching,
            # a community of practice works through the ties an organization has in it
            peer_hours=delivery.peer * ties.connectedness,
            quality=delivery.quality,
            trust=self.T,
            kappa=mp.trust_exponent,
            modality_effect=delivery.modality_effect,
            peer_weight=mp.peer_weight,
        )
        dose = mech.effective_dose(
            content_hours=delivery.content, content_weight=mp.content_weight, **dose_inputs
        )
        # the relationship part of the dose (no content hours) is what builds motivation
        relationship_dose = mech.effective_dose(
            content_hours=0.0, content_weight=0.0, **dose_inputs
        )
        absorbed = mech.absorption(
            dose, general_capacity=self.G, half_saturation=mp.half_saturation, hill=mp.hill
        )
        relationship_absorbed = absorbed * np.divide(
            relationship_dose, dose, out=np.zeros(n), where=dose > 0
        )

        gate = mech.capacity_gate(
            motivation=self.M, general_capacity=self.G, dependence=delivery.readiness_dependence
        )
        task_hours = mech.task_hours(
            self.org_size,
            at_reference=mp.task_hours,
            reference_size=mech.TASK_REFERENCE_FTE,
            exponent=mp.task_size_exponent,
        )
        substituted = mech.substitution(
            H, substitution_share=delivery.substitution_share, task_hours=task_hours
        )
        self.feedback = mech.feedback_update(
            self.feedback,
            hours=delivery.coaching + delivery.peer,
            half_hours=mp.feedback_half_hours,
            fade_months=mp.feedback_fade_months,
        )
        reinforced = mech.reinforcement(
            feedback=self.feedback, peer_exposure=ties.exposure, working=self.adopting
        )
        specific = self.S
        match = mech.expertise_match(
            specific=self.S, expertise=delivery.expertise, focus=mp.expertise_focus
        )
        to_general, to_specific = mech.capacity_routes(
            absorbed=absorbed,
            relationship_absorbed=relationship_absorbed,
            content_specific_share=mp.content_specific_share,
        )
        self.S = mech.specific_capacity_update(
            self.S,
            absorbed=to_specific,
            gate=gate,
            transfer=mp.capacity_rate * delivery.transfer,
            match=match,
            spillover=mp.peer_spillover,
            peer_gap=mech.peer_gap(
                neighbour_mean=self.network.neighbour_mean(self.S),
                values=self.S,
                connectedness=ties.connectedness,
            ),
            decay=mech.capacity_drift(
                decay=mp.specific_decay, extra=mp.drift_unreinforced, reinforced=reinforced
            ),
            learning=mech.learning_by_doing(
                rate=mp.learning_rate,
                general=self.G,
                data_use=mech.data_use(self.S, blocks=DATA_BLOCKS),
                working=self.adopting,
                substituted=substituted,
                reinforced=reinforced,
            ),
        )
        self.G = mech.general_capacity_update(
            self.G,
            absorbed=to_general,
            gate=gate,
            transfer=mp.general_rate * delivery.transfer,
            decay=mp.general_decay,
            resting=self.resting_G,
        )
        self.O = mech.ownership_update(
            self.O,
            absorbed=absorbed,
            gain=delivery.ownership_gain,
            loss=mp.ownership_loss,
            substituted=substituted,
            decay=mp.ownership_decay,
            reinforced=reinforced,
        )

        working = (self.stage == mech.PREPARING) | (self.stage == mech.IMPLEMENTING)
        internal_work = np.where(working, task_hours * (1.0 - substituted), 0.0)
        pandemic = params.shocks.pandemic
        slack = 1.0 - (
            mech.shock_slack_cut(
                cut=pandemic.slack_cut, support=ties.connectedness, mutual_aid=pandemic.mutual_aid
            )
            if month.pandemic
            else 0.0
        )
        change_hours = params.system.change_hours_per_fte * self.org_size * slack * (0.5 + self.G)
        self.W = mech.workload(
            hours=H,
            recipient_hours=mp.recipient_hours,
            internal_work=internal_work,
            navigation=self.navigation + self.transition_hours,
            change_hours=change_hours,
        )
        overload = mech.overload(self.W, threshold=mp.overload_threshold)
        self._satisfaction_and_acceptability(delivery, specific, overload)
        return Uptake(
            absorbed=absorbed,
            relationship_absorbed=relationship_absorbed,
            substituted=substituted,
            overload=overload,
            peer_hours=delivery.peer,
            hours_by_block=_hours_by_block(H, match),
            in_team_session=delivery.in_team_session,
        )

    def _satisfaction_and_acceptability(self, delivery: Delivery, specific, overload) -> None:
        """Satisfaction with the month's TA per organization, and the acceptability it moves
        (thesis L425, L439; 004 L162).

        ``specific`` is the capacity the TA met, before this month's update. Fit is linear in
        expertise, so an organization's satisfaction is the hours-weighted mean of its links'
        (``link_satisfaction``, worked out from the month's inputs kept here when asked for).
        """
        self._month_satisfaction_inputs = (delivery.delivered, specific, overload)
        received = self.H > 0
        satisfied = mech.satisfaction(
            fit=mech.ta_fit(expertise=delivery.expertise, specific=specific), overload=overload
        )
        self.satisfaction = np.where(received, satisfied, 0.0)
        self.A = mech.acceptability_update(
            self.A,
            satisfied=satisfied,
            received=received,
            rate=self.scenario.validated.mechanisms.acceptability_rate,
        )

    def link_satisfaction(self) -> np.ndarray:
        """Satisfaction with last month's TA on each (organization, provider) link that
        delivered hours, 0 on the others (thesis L425: what was provided and received)."""
        delivered, specific, overload = self._month_satisfaction_inputs
        served = np.flatnonzero(delivered > 0)
        orgs = self.providers.link_org[served]
        result = np.zeros(len(delivered))
        result[served] = mech.satisfaction(
            fit=mech.ta_fit(expertise=self.link_expertise[served], specific=specific[orgs]),
            overload=overload[orgs],
        )
        return result

    def _peer_exchange(self, month: Month, uptake: Uptake, ties: Ties) -> None:
        """Phase 4: motivation from peers and TA (rule 8), a crisis as a burning platform for those
        able to act on it (rule 15), and the network growing with joint work: teams mature as
        their members work on the change together, and cross-team ties strengthen with joint
        peer exchange.

        Capacity spillover along ties is part of the capacity update of phase 3.
        """
        params = self.scenario.validated
        mp = params.mechanisms
        uncertainty = params.shocks.policy_uncertainty
        self.M = mech.motivation_update(
            self.M,
            resting=self.resting_M,
            relationship_absorbed=uptake.relationship_absorbed,
            peer_exposure=ties.exposure,
            fidelity=self.F,
            overload=uptake.overload,
            build=mp.motivation_build,
            peer_pull=mp.motivation_peer,
            wins=mp.motivation_wins,
            decay=mp.motivation_decay,
            overload_loss=mp.overload_motivation,
            uncertainty_loss=(
                uncertainty.motivation_loss
                if events.uncertainty_active(uncertainty, month.number)
                else 0.0
            ),
        )
        if month.pandemic:
            self.M = mech.crisis_motivation(
                self.M,
                general=self.G,
                trust=self.T,
                support=ties.connectedness,
                urgency=params.shocks.pandemic.urgency,
            )
        self.team_maturity = mech.maturity_update(
            self.team_maturity,
            collaborating=self.team_average(self.adopting | uptake.in_team_session),
        )
        in_exchange = uptake.peer_hours > 0
        if in_exchange.any():
            self.network.strengthen(in_exchange, rate=mp.tie_growth)

    def _stages_penetration_fidelity(self, month: Month, uptake: Uptake, ties: Ties) -> None:
        """Phase 5: readiness, stage transitions, then penetration and fidelity (rules 11-13)."""
        mp = self.scenario.validated.mechanisms
        specific_mean = self.S.mean(axis=1)
        self.R = mech.readiness(
            motivation=self.M,
            general_capacity=self.G,
            specific_mean=specific_mean,
            weights=mp.readiness_weights,
        )
        self._transitions(month, uptake, ties)
        self.P = mech.penetration_update(
            self.P,
            specific_mean=specific_mean,
            ready=self.R,
            rate=mp.penetration_rate,
            level=mech.operating_level(self.stage, reduced_level=mp.reduced_level),
        )
        self.F = mech.fidelity(
            specific_mean,
            exponent=mp.fidelity_exponent,
            substituted=uptake.substituted,
            operating=mech.is_operating(self.stage),
        )
        # consecutive months of full operation at the fidelity sustaining needs: what savings
        # wait for (outcomes.savings_after)
        faithful = mech.is_fully_operating(self.stage) & (mp.sustain_fidelity <= self.F)
        self.months_faithful = np.where(faithful, self.months_faithful + 1, 0)

    def _outcomes_costs_and_record(self, delivery: Delivery, uptake: Uptake) -> None:
        """Phase 6: TA cost per team, lagged outcomes (rule 14), the month's flows and record."""
        p = self.providers
        cost = delivery.time_used * p.cost_per_hour[p.link_provider]
        self.ta_cost_by_team = np.bincount(
            self.org_team[p.link_org], weights=cost, minlength=self.n_teams
        )
        # recipient staff time on TA, costed (Ritchie 2020: 35-47 % of facilitation's cost)
        outcomes = self.scenario.validated.outcomes
        self.staff_cost_by_team = (
            outcomes.staff_wage
            * self.scenario.validated.mechanisms.recipient_hours
            * np.bincount(self.org_team, weights=self.H, minlength=self.n_teams)
        )
        self.outcomes = metrics.update_outcomes(self, uptake.overload)
        self.funder.peak_share = max(
            self.funder.peak_share, cost.sum() / max(self.funder.budget, 1e-12)
        )
        self.month_flows = metrics.flows(
            self,
            delivered=delivery.delivered,
            time_used=delivery.time_used,
            link_mix=delivery.link_mix,
            link_modality=delivery.link_modality,
            role_of_link=self.link_role,
            cost=cost,
            overload=uptake.overload,
            hours_by_block=uptake.hours_by_block,
        )
        self._record()

    def _fire_events(self, month: int) -> None:
        """Scheduled parameter changes due this month: a revalidated scenario replaces the old."""
        changes = events.changes_due(self.scenario.events, month)
        if not changes:
            return
        old = self.scenario.validated
        self.scenario = ModelScenario(events.apply_changes(old, changes), rng=self.scenario.rng)
        self.funder.follow(self.scenario.validated, changes)
        if self.scenario.providers != old.providers:
            self._set_providers()

    def _review(self, month: int) -> None:
        """Adaptive funder (rule 16): hands-on coaching for lagging low-capacity teams, local
        providers for under-served regions, more budget for either, coordination once the
        navigation burden shows.

        The budget is raised only if spending reached it in some month since the last review
        (in a contact month, whatever the periodicity): when the providers' hours are what
        limits delivery, more money would buy nothing, and the budget reported is the budget
        that can be used. The decisions go into ``self.funder``; the scenario stays as given.
        Those that are
        parameter values (the raised budget, the local groups) are first validated by
        ``events.apply_changes``, as a scheduled event setting them would be, so a budget
        raised past its allowed range stops the run with the same one-line error.
        """
        funder, state = self.scenario.funder, self.funder
        team_months = month - self.teams.approval_month
        lagging = allocation.lagging_teams(
            adoption_by_team=self.team_average(self.adopting),
            capacity_by_team=self.team_average(self.capacity()),
            admissions_fall_by_team=metrics.admissions_fall(self),
            months_approved=team_months,
            review_interval=funder.review_interval,
            lagging_share=funder.lagging_adoption,
            capacity_quantile=funder.lagging_capacity_quantile,
            outcome_share=funder.lagging_outcome,
        )
        newly_hands_on = lagging & ~state.hands_on
        state.hands_on |= newly_hands_on

        org_months = team_months[self.org_team]
        reviewed = org_months >= funder.review_interval
        underserved = allocation.underserved_regions(
            hours_received=self.hours_received[reviewed],
            months_approved=org_months[reviewed],
            org_region=self.org_region[reviewed],
            n_regions=len(REGIONS),
            share=funder.underserved_share,
        )
        new_regions = [
            region
            for region, flag in zip(REGIONS, underserved, strict=True)
            if flag and region not in state.local_regions
        ]
        decisions: dict = {}
        # more money only where the budget, not the providers' hours, is what limits delivery
        binding = state.peak_share >= BINDING_SHARE
        state.peak_share = 0.0
        raise_budget = binding and (newly_hands_on.any() or bool(new_regions))
        if raise_budget:
            decisions["funder.budget_per_month"] = state.budget * (1.0 + funder.budget_step)
        if new_regions:
            local = funder.local_providers.model_dump()
            decisions["providers"] = [
                *(group.model_dump() for group in self.provider_groups),
                *(
                    local | {"name": f"{local['name']}_{region}", "regions": [region]}
                    for region in new_regions
                ),
            ]
        if decisions:
            validated = events.apply_changes(self.scenario.validated, decisions)
            if raise_budget:
                state.budget = validated.funder.budget_per_month
                state.raised *= 1.0 + funder.budget_step
            if new_regions:
                state.local_providers = validated.providers[len(self.scenario.providers) :]
                self._set_providers()
        if allocation.navigation_observed(self.navigation):
            state.coordinated = True

    def _graduate(self, month: int) -> None:
        """Organizations (or whole teams) that reached the scenario's milestone begin to leave TA.

        ``organization``: on reaching sustaining. ``team``: once ``graduation_share`` of its
        members implement or sustain. Source: thesis M32 (L1730: capacity outgrowing the need
        for TA) and M30 (L1525); the milestones are assumptions.
        """
        funder = self.scenario.funder
        if funder.graduation == "organization":
            reached = self.stage == mech.SUSTAINING
        else:
            reached = (
                self.team_average(mech.is_fully_operating(self.stage)) >= funder.graduation_share
            )[self.org_team]
        graduated = self.funder.graduated
        graduated[reached & (graduated == NEVER)] = month

    def withdrawal_start(self) -> np.ndarray:
        """Per organization, the month its TA began to be withdrawn (NEVER if it has not).

        The earlier of the scenario's system-wide withdrawal and its own graduation.
        """
        withdraw = self.scenario.validated.funder.withdraw_month
        if withdraw > 0:
            return np.minimum(self.funder.graduated, withdraw)
        return self.funder.graduated

    def capacity(self) -> np.ndarray:
        """Overall capacity (G + Sbar) / 2.

        What need-targeting, the adaptive review and the equity quintiles rank by.
        """
        return (self.G + self.S.mean(axis=1)) / 2

    def team_average(self, values) -> np.ndarray:
        """Unweighted mean of an organization-level array over each team's members.

        For example the adopting share of each team.
        """
        return np.bincount(self.org_team, weights=values.astype(float)) / self.teams.size

    def _allocate(self, month: Month):
        """Who asks, in which order, and how much each link (organization, provider) delivers.

        Returns per link the hours delivered, the provider time they used, the activity mix
        and the modality of the month (the support's phase, hands-on teams and a pandemic
        change the last two), and how many of the team's members meet the provider together
        (1 for one-to-one TA).
        """
        params = self.scenario.validated
        funder, mp, p = params.funder, params.mechanisms, self.providers
        links = p.link_org
        support = (
            mech.taper_factor(
                month.number - self.withdrawal_start(), taper_months=funder.taper_months
            )
            if funder.withdraw_month > 0 or funder.graduation != "none"
            else np.ones(self.n_orgs)
        )
        eligible = (
            month.approved
            & (self.stage != mech.DISCONTINUED)
            & (self.stage != mech.NOT_ENGAGED)
            & (support > 0)
        )
        takes_up = allocation.participates(
            funder.policy,
            month=month.number,
            mandate_month=funder.mandate_month,
            motivation=self.M,
            uniform=self.rng.random(self.n_orgs),
            request_base=funder.request_base,
            request_motivation=funder.request_motivation,
            acceptance=mech.acceptance_factor(self.A),
        )
        period = mech.PERIOD_MONTHS[funder.periodicity]
        contact_month = mech.is_contact_month(month.number, funder.periodicity)
        hands_on = self.funder.hands_on[self.org_team]
        self.team_phase = self._support_phases()
        dosage = (
            np.where(hands_on, funder.hands_on_dosage, funder.dosage_hours)
            * period
            * support
            * np.where(self.team_phase == mech.FADING, funder.fading_dose, 1.0)[self.org_team]
        )
        demand = np.where(eligible & (takes_up | hands_on) & contact_month, dosage, 0.0)

        order_key = allocation.priority(
            funder.policy,
            uniform=self.rng.random(self.n_orgs),
            capacity=self.capacity() if funder.policy == "need" else None,  # only need reads it
            ready=self.R,
            cohort=self.teams.cohort[self.org_team].astype(float),
        )
        link_mix = self.link_activity_mix
        if funder.phasing == "responsive":
            foundational = self.team_phase[self.org_team[links]] == mech.FOUNDATIONAL
            link_mix = np.where(
                foundational[:, None], _activity_shares(funder.foundation_mix), link_mix
            )
        if self.funder.hands_on.any():
            link_mix = np.where(
                hands_on[links][:, None], _activity_shares(funder.hands_on_mix), link_mix
            )
        link_modality = p.modality[p.link_provider]
        if month.pandemic and not params.shocks.pandemic.in_person_allowed:
            link_modality = np.full_like(link_modality, VIRTUAL)
        travel_by_region = np.array(
            [mp.travel_share_urban, mp.travel_share_rural, mp.travel_share_northern]
        )[self.org_region[links]]
        travel = travel_by_region * _by_modality(0.0)[link_modality]
        time_per_hour = mech.provider_time_per_hour(
            content=link_mix[:, 0],
            relationship=link_mix[:, 1],
            peer=link_mix[:, 2],
            content_reach=mp.content_reach,
            travel_share=travel,
        )
        # the members a team-based provider serves in a team meet it together, in one session
        sessions = (
            np.where(
                p.team_based[p.link_provider],
                p.link_provider * self.n_teams + self.org_team[links],
                -1,
            )
            if p.team_based.any()
            else None
        )
        standdown = params.shocks.pandemic.ta_standdown if month.pandemic else 0.0
        delivered, time_used = allocation.allocate(
            link_org=links,
            link_provider=p.link_provider,
            demand=demand,
            order_key=order_key,
            time_per_hour=time_per_hour,
            provider_hours=p.hours * (1 - standdown),
            provider_cost=p.cost_per_hour,
            caseload_limit=p.caseload_limit,
            budget=self.funder.budget,
            proportional=funder.policy == "universal",
            sessions=sessions,
        )
        together = np.ones(len(links))  # members served together on each link, 1 if one-to-one
        if sessions is not None:
            attended = (sessions >= 0) & (delivered > 0)
            counts = np.bincount(sessions[attended], minlength=p.count * self.n_teams)
            together[attended] = counts[sessions[attended]]
        return delivered, time_used, link_mix, link_modality, together

    def _support_phases(self) -> np.ndarray:
        """Each team's support phase this month (``mechanisms.support_phase``); with fixed
        phasing every team is in capacity building, its providers' own mix."""
        funder = self.scenario.validated.funder
        if funder.phasing == "fixed":
            return np.full(self.n_teams, mech.CAPACITY_BUILDING)
        return mech.support_phase(
            adopting_share=self.team_average(self.adopting),
            operating_share=self.team_average(mech.is_fully_operating(self.stage)),
            building_share=funder.building_share,
            fading_share=funder.fading_share,
        )

    def _transitions(self, month: Month, uptake: Uptake, ties: Ties) -> None:
        """Adoption, stage progress, operating at a reduced level, discontinuation after TA ends.

        Rules 11, 13 and 15. Every transition mask is computed from the stage at the start of
        the phase, so an organization moves at most one stage a month.
        """
        params = self.scenario.validated
        mp = params.mechanisms
        stage = self.stage
        governance = mech.governance_capacity(
            maturity_index=np.minimum(1.0, self.team_maturity / MATURITY_SATURATION),
            governance_block=self.team_average(self.S[:, GOVERNANCE_BLOCK]),
            coordinator=self.team_coordinator,
            members=self.team_parties,
            coordinator_weight=mp.coordinator_weight,
            party_cost=mp.party_cost,
        )
        hazard = mech.adoption_hazard(
            innovation=mp.innovation_p,
            imitation=mp.imitation_q,
            peer_exposure=ties.exposure,
            absorption_effect=mp.absorption_adoption,
            absorbed=uptake.absorbed,
            pace=mech.decision_pace(governance)[self.org_team],
        )
        adopt = (stage == mech.EXPLORING) & mech.adopts(
            hazard=hazard,
            ready=self.R,
            threshold=self.threshold,
            uniform=self.rng.random(self.n_orgs),
        )
        ta_ended = self.months_without_ta >= mp.ta_gap_months
        # a doer's substitution props the organization up until its TA has ended, not only in
        # the months it has hours (a skipped or non-contact month is no withdrawal)
        self.prop = np.where(
            self.H > 0,
            uptake.substituted,
            np.where(ta_ended, 0.0, self.prop),
        )
        # only adopting organizations implement, fall back or recover
        capacity = np.zeros(self.n_orgs)
        adopting = np.flatnonzero(self.adopting)
        capacity[adopting] = mech.implementation_capacity(
            self.S[adopting], weakest=mp.weakest_blocks
        )
        shortfall = mech.capacity_shortfall(
            implementation_capacity=capacity,
            substituted=self.prop,
            needed=mp.implement_capacity,
        )
        implement = (stage == mech.PREPARING) & (shortfall == 0)
        falls_back = self.rng.random(self.n_orgs) < mech.fallback_hazard(
            shortfall=shortfall, overload=uptake.overload, rate=mp.reduction_rate
        )
        sustain = (
            (stage == mech.IMPLEMENTING)
            & (mp.sustain_penetration <= self.P)
            & (mp.sustain_fidelity <= self.F)
        )
        slip = (stage == mech.SUSTAINING) & (mp.sustain_fidelity - SUSTAIN_HYSTERESIS > self.F)
        reduce = mech.is_fully_operating(stage) & falls_back
        recover = (stage == mech.REDUCED) & (shortfall == 0) & (uptake.overload == 0)
        stage = np.where(adopt, mech.PREPARING, stage)
        stage = np.where(implement | slip | recover, mech.IMPLEMENTING, stage)
        stage = np.where(sustain, mech.SUSTAINING, stage)
        stage = np.where(reduce, mech.REDUCED, stage)
        at_risk = mech.is_adopting(stage) & ta_ended
        stop = at_risk & (
            self.rng.random(self.n_orgs)
            < mech.discontinuation_hazard(base=mp.discontinuation, ownership=self.O, general=self.G)
            * mech.retention_factor(self.A)
        )
        self.stage = np.where(stop, mech.DISCONTINUED, stage)
        self.adopting = mech.is_adopting(self.stage)
        self.months_adopting += self.adopting

    def _record(self) -> None:
        self.datacollector.add_table_row("system", metrics.system_row(self))
        self.team_history.append(metrics.team_row(self))

    # ------------------------------------------------------------------ results

    def system_frame(self) -> pd.DataFrame:
        return self.datacollector.get_table_dataframe("system")

    def team_frame(self) -> pd.DataFrame:
        return metrics.team_frame(self)


def _hours_by_block(hours, match) -> np.ndarray:
    """The month's TA hours split over the blocks in proportion to where each organization's
    TA was aimed (``match``); hours aimed nowhere (every block full) are split evenly, so the
    blocks add up to the hours."""
    total = match.sum(axis=1)
    aimed = total > 0
    return (np.where(aimed, hours, 0.0) / np.where(aimed, total, 1.0)) @ match + hours[
        ~aimed
    ].sum() / match.shape[1]


def _activity_shares(mix) -> np.ndarray:
    """An activity mix as shares in the order of ``ACTIVITIES`` (content, relationship, peer)."""
    return np.array([mix.content, mix.relationship, mix.peer])


def _by_modality(virtual_value: float) -> np.ndarray:
    """A factor per modality code: 1 in person, ``virtual_value`` virtual, halfway for hybrid."""
    return np.array([1.0, (1.0 + virtual_value) / 2.0, virtual_value])


@dataclass
class RunResult:
    """One simulation: monthly system series, monthly per-team series, per-run summary."""

    scenario: Scenario
    seed: int
    system: pd.DataFrame
    teams: pd.DataFrame
    summary: dict[str, float]


def simulate(
    scenario: Scenario | str = "baseline",
    seed: int = 0,
    months: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Run one simulation for ``months`` (default: the scenario's horizon)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    model = TransformationModel(scenario, rng=seed)
    total = months if months is not None else scenario.months
    for month in range(1, total + 1):
        model.step()
        if progress is not None:
            progress(month, total)
    system = model.system_frame()
    return RunResult(
        scenario=scenario,
        seed=seed,
        system=system,
        teams=model.team_frame(),
        summary=metrics.summary(system, scenario),
    )


def run(
    scenario: Scenario | str = "baseline", seed: int = 0, months: int | None = None
) -> pd.DataFrame:
    """The system-level monthly time series of one simulation."""
    return simulate(scenario, seed=seed, months=months).system
