"""TransformationModel: the monthly schedule of DESIGN.md section 4 over model-owned state arrays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import mesa
import networkx as nx
import numpy as np
import pandas as pd
from mesa.discrete_space import Network
from scipy import sparse

from sim import allocation, events, metrics
from sim import mechanisms as mech
from sim.agents import Organization, TAProvider, Team
from sim.params import MODALITIES, REGIONS, ROLES, Scenario, load_scenario
from sim.system import build_organizations, build_providers, build_teams, build_ties, peer_matrix

VIRTUAL = MODALITIES.index("virtual")
ROLE_FIELDS = ("substitution", "capacity_transfer", "ownership_gain", "readiness_dependence")
SUSTAIN_HYSTERESIS = (
    0.15  # fidelity margin below which sustaining falls back to implementing (assumption)
)


class TransformationModel(mesa.Model):
    """Organizations in teams, served by TA providers under a funder's budget and policy.

    ``TransformationModel(scenario=None, rng=None, **overrides)``: ``scenario`` is a
    :class:`Scenario`, a shipped scenario name or a TOML path (default ``baseline``);
    ``overrides`` are dotted parameter paths with ``__`` or ``.`` (e.g.
    ``funder__budget_per_month=1e5``) so the model works from scripts, ``batch_run`` and SolaraViz.
    """

    def __init__(self, scenario: Scenario | str | None = None, rng=None, **overrides):
        super().__init__(rng=rng)
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario or "baseline")
        if overrides:
            scenario = scenario.with_overrides(
                {key.replace("__", "."): value for key, value in overrides.items()}
            )
        self.params = scenario
        self._build()
        self.datacollector = mesa.DataCollector(
            model_reporters=metrics.MODEL_REPORTERS,
            tables={"system": list(metrics.SYSTEM_COLUMNS)},
        )
        self._record()

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        scenario = self.params
        self.teams = build_teams(scenario, self.rng)
        orgs = build_organizations(scenario, self.teams, self.rng)
        self.n_orgs = len(orgs.team)
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
        self.months_without_ta = np.full(self.n_orgs, 10**6)
        self.R = mech.readiness(
            self.M, self.G, self.S.mean(axis=1), scenario.mechanisms.readiness_weights
        )
        baseline_capacity = self.capacity()
        self.capacity_quintile = np.searchsorted(
            np.quantile(baseline_capacity, [0.2, 0.4, 0.6, 0.8]), baseline_capacity
        )
        self.equity_contrasts = metrics.equity_contrasts(self)
        self.adopting = mech.is_adopting(self.stage)
        self.months_adopting = np.zeros(self.n_orgs, dtype=np.int64)

        sources, targets, weights = build_ties(scenario, self.teams, orgs, self.rng)
        self.peers = peer_matrix(self.n_orgs, sources, targets, weights)
        graph = nx.Graph()
        graph.add_nodes_from(range(self.n_orgs))
        graph.add_edges_from(zip(sources.tolist(), targets.tolist(), strict=True))
        self.grid = Network(graph, random=self.random, layout=None)
        cells = [self.grid[node] for node in range(self.n_orgs)]
        self.organizations = Organization.create_agents(
            self, self.n_orgs, list(range(self.n_orgs)), cells
        )
        self.team_agents = Team.create_agents(
            self, len(self.teams.size), list(range(len(self.teams.size)))
        )

        self.org_population = (
            scenario.system.population_per_org * self.org_size / scenario.system.size_median
        )
        self.team_population = np.bincount(self.org_team, weights=self.org_population)
        self.team_hands_on = np.zeros(len(self.teams.size), dtype=bool)
        self.hours_received = np.zeros(self.n_orgs)  # cumulative TA hours, for the adaptive review
        self.reinforced_regions: set[str] = (
            set()
        )  # regions given local providers by the adaptive funder
        self.outcomes = metrics.initial_outcomes(scenario.outcomes, len(self.teams.size))
        self.ta_cost_by_team = np.zeros(len(self.teams.size))
        self.budget = scenario.funder.budget_per_month
        self.coordinated = scenario.funder.coordinated
        self._set_providers()
        self.month_flows = metrics.empty_flows()
        self.team_history: list[np.ndarray] = []

    def _set_providers(self) -> None:
        """(Re)build provider arrays and agents, e.g. when a policy event adds providers."""
        if hasattr(self, "provider_agents"):
            self.provider_agents.do("remove")
        self.providers = build_providers(self.params, self.teams, self.rng)
        self.caseload = np.zeros(self.providers.count)
        self.link_role = self.providers.role[self.providers.link_provider]
        self.link_expertise = self.providers.expertise[self.providers.link_provider]
        self.link_activity_mix = self.providers.activity_mix[self.providers.link_provider]
        self.provider_agents = TAProvider.create_agents(
            self, self.providers.count, list(range(self.providers.count))
        )

    # ------------------------------------------------------------------ the month

    def step(self) -> None:
        month = self.steps
        self._fire_events(month)
        params = self.params
        mp = params.mechanisms
        pandemic = events.pandemic_active(params.shocks.pandemic, month)

        # 1. Events: turnover, cohort approvals, funder review.
        self.S, self.T, _ = events.turnover(
            self.S, self.T, self.rng.random(self.n_orgs), **params.shocks.turnover.model_dump()
        )
        approved = self.teams.approval_month[self.org_team] <= month
        self.stage[(self.stage == mech.NOT_ENGAGED) & approved] = mech.EXPLORING
        if params.funder.adaptive and month % params.funder.review_interval == 0:
            self._review(month)

        # 2. Allocation under hard provider-hour and budget limits.
        delivered, time_used, link_mix, link_modality = self._allocate(month, approved, pandemic)
        p = self.providers
        n = self.n_orgs
        self.caseload = allocation.caseloads(p.link_provider, delivered, p.count)
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
                    self.caseload[p.link_provider[served]], mp.caseload_penalty, mp.caseload_free
                ),
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
        totals = (
            hours_by_link @ link_values
        )  # every hours-weighted per-organization sum in one product
        H = totals[:, 0]
        self.H = H
        self.hours_received += H
        self.months_without_ta = np.where(H > 0, 0, self.months_without_ta + 1)
        content, coaching, peer = totals[:, 1], totals[:, 2], totals[:, 3]
        hours_weighted = totals[:, 4:] / np.maximum(H, 1e-12)[:, None]
        quality, modality_effect, modality_trust = (
            hours_weighted[:, 0],
            hours_weighted[:, 1],
            hours_weighted[:, 2],
        )
        substitution_share, transfer, ownership_gain, readiness_dependence = hours_weighted[
            :, 3:7
        ].T
        expertise = hours_weighted[:, 7:]

        n_providers = np.bincount(p.link_org[served], minlength=n)
        coordinated = self.coordinated and month >= params.funder.coordination_start
        self.navigation = mech.navigation_burden(
            n_providers, mp.navigation_hours, coordinated, mp.coordination_relief
        )

        # 3. Receiving TA: trust, effective dose, absorption, capacity, motivation, ownership, workload.
        contact = H > 0
        contacts = mech.CONTACTS_PER_CONTACT_MONTH[params.funder.periodicity]
        self.T = mech.trust_update(
            self.T,
            coaching,
            contacts,
            contact,
            mp.trust_build,
            mp.trust_half_hours,
            mp.trust_decay,
            modality_trust,
        )
        dose = mech.effective_dose(
            content,
            coaching,
            peer,
            quality,
            self.T,
            mp.trust_exponent,
            modality_effect,
            mp.content_weight,
            mp.peer_weight,
        )
        relationship_dose = mech.effective_dose(
            0.0,
            coaching,
            peer,
            quality,
            self.T,
            mp.trust_exponent,
            modality_effect,
            0.0,
            mp.peer_weight,
        )
        absorbed = mech.absorption(dose, self.G, mp.half_saturation, mp.hill)
        relationship_absorbed = absorbed * np.divide(
            relationship_dose, dose, out=np.zeros(n), where=dose > 0
        )

        gate = mech.capacity_gate(self.M, self.G, readiness_dependence)
        match = mech.expertise_match(self.S, expertise, mp.expertise_focus)
        peer_gap = mech.peer_gap(self.peers, self.S)
        substituted = mech.substitution(H, substitution_share, mp.task_hours)
        learning = mech.learning_by_doing(mp.learning_rate, self.G, self.adopting, substituted)
        self.S = mech.specific_capacity_update(
            self.S,
            absorbed,
            gate,
            mp.capacity_rate * transfer,
            match,
            mp.peer_spillover,
            peer_gap,
            mp.specific_decay,
            learning,
        )
        self.G = mech.general_capacity_update(
            self.G, absorbed, gate, mp.general_rate * transfer, mp.general_decay, self.resting_G
        )
        self.O = mech.ownership_update(
            self.O, absorbed, ownership_gain, mp.ownership_loss, substituted
        )

        working = (self.stage == mech.PREPARING) | (self.stage == mech.IMPLEMENTING)
        internal_work = np.where(working, mp.task_hours * (1.0 - substituted), 0.0)
        slack = 1.0 - (params.shocks.pandemic.slack_cut if pandemic else 0.0)
        change_hours = params.system.change_hours_per_fte * self.org_size * slack * (0.5 + self.G)
        self.W = mech.workload(H, mp.recipient_hours, internal_work, self.navigation, change_hours)
        overload = mech.overload(self.W, mp.overload_threshold)

        # 4. Peer exchange: adoption pressure along ties.
        peer_share = self.peers @ self.adopting.astype(float)
        uncertainty = params.shocks.policy_uncertainty
        uncertainty_loss = (
            uncertainty.motivation_loss if events.uncertainty_active(uncertainty, month) else 0.0
        )
        self.M = mech.motivation_update(
            self.M,
            self.resting_M,
            relationship_absorbed,
            peer_share,
            self.F,
            overload,
            mp.motivation_build,
            mp.motivation_peer,
            mp.motivation_wins,
            mp.motivation_decay,
            mp.overload_motivation,
            uncertainty_loss,
        )

        # 5. Stages, penetration and fidelity.
        specific_mean = self.S.mean(axis=1)
        self.R = mech.readiness(self.M, self.G, specific_mean, mp.readiness_weights)
        self._transitions(month, absorbed, peer_share, substituted, specific_mean, pandemic)
        implementing = (self.stage == mech.IMPLEMENTING) | (self.stage == mech.SUSTAINING)
        self.P = mech.penetration_update(
            self.P, specific_mean, self.R, mp.penetration_rate, implementing
        )
        self.F = mech.fidelity(specific_mean, mp.fidelity_exponent, substituted, implementing)

        # 6. Outcomes (lagged), costs, equity; data collection.
        cost = time_used * p.cost_per_hour[p.link_provider]
        self.ta_cost_by_team = np.bincount(
            self.org_team[p.link_org], weights=cost, minlength=len(self.teams.size)
        )
        self.outcomes = metrics.update_outcomes(self, overload)
        self.month_flows = metrics.flows(
            self, delivered, time_used, link_mix, link_modality, self.link_role, cost, overload
        )
        self._record()

    def _fire_events(self, month: int) -> None:
        changes = events.changes_due(self.params.events, month)
        if not changes:
            return
        old = self.params
        self.params = events.apply_changes(old, changes)
        if any(key.startswith("funder.budget_per_month") for key in changes):
            self.budget = self.params.funder.budget_per_month
        if any(key.startswith("funder.coordinated") for key in changes):
            self.coordinated = self.params.funder.coordinated
        if self.params.providers != old.providers:
            self._set_providers()

    def _review(self, month: int) -> None:
        """Adaptive funder (rule 16): hands-on coaching for lagging low-capacity teams, local providers
        for under-served regions, more budget for either, coordination once navigation burden shows."""
        funder = self.params.funder
        team_months = month - self.teams.approval_month
        adoption_by_team = self.team_average(self.adopting)
        capacity_by_team = self.team_average(self.capacity())
        lagging = allocation.lagging_teams(
            adoption_by_team,
            capacity_by_team,
            team_months,
            funder.review_interval,
            funder.lagging_adoption,
            funder.lagging_capacity_quantile,
        )
        newly_hands_on = lagging & ~self.team_hands_on
        self.team_hands_on |= newly_hands_on

        org_months = team_months[self.org_team]
        reviewed = org_months >= funder.review_interval
        underserved = allocation.underserved_regions(
            self.hours_received[reviewed],
            org_months[reviewed],
            self.org_region[reviewed],
            len(REGIONS),
            funder.underserved_share,
        )
        new_regions = [
            region
            for region, flag in zip(REGIONS, underserved, strict=True)
            if flag and region not in self.reinforced_regions
        ]
        if new_regions:
            self.reinforced_regions.update(new_regions)
            local = [
                funder.local_providers.model_copy(
                    update={"name": f"{funder.local_providers.name}_{region}", "regions": [region]}
                )
                for region in new_regions
            ]
            self.params = self.params.model_copy(
                update={"providers": [*self.params.providers, *local]}
            )
            self._set_providers()

        if newly_hands_on.any() or new_regions:
            self.budget *= 1.0 + funder.budget_step
        if allocation.navigation_observed(self.navigation):
            self.coordinated = True

    def capacity(self) -> np.ndarray:
        """Overall capacity (G + Sbar) / 2: what need-targeting, the adaptive review and the equity quintiles rank by."""
        return (self.G + self.S.mean(axis=1)) / 2

    def team_average(self, values) -> np.ndarray:
        """Unweighted mean of an organization-level array over each team's members (e.g. adopting share)."""
        return np.bincount(self.org_team, weights=values.astype(float)) / self.teams.size

    def _allocate(self, month: int, approved, pandemic: bool):
        params = self.params
        funder, mp, p = params.funder, params.mechanisms, self.providers
        links = p.link_org
        withdrawn = funder.withdraw_month > 0 and month >= funder.withdraw_month
        eligible = (
            approved
            & (self.stage != mech.DISCONTINUED)
            & (self.stage != mech.NOT_ENGAGED)
            & (not withdrawn)
        )
        takes_up = allocation.participates(
            funder.policy,
            month,
            funder.mandate_month,
            self.M,
            self.rng.random(self.n_orgs),
            funder.request_base,
            funder.request_motivation,
        )
        period = mech.PERIOD_MONTHS[funder.periodicity]
        contact_month = mech.is_contact_month(month, funder.periodicity)
        hands_on = self.team_hands_on[self.org_team]
        dosage = np.where(hands_on, funder.hands_on_dosage, funder.dosage_hours) * period
        demand = np.where(eligible & (takes_up | hands_on) & contact_month, dosage, 0.0)

        order_key = allocation.priority(
            funder.policy,
            self.rng.random(self.n_orgs),
            self.capacity(),
            self.R,
            self.teams.cohort[self.org_team].astype(float),
        )
        link_mix = self.link_activity_mix
        if self.team_hands_on.any():
            hands_on_mix = np.array(
                [
                    funder.hands_on_mix.content,
                    funder.hands_on_mix.relationship,
                    funder.hands_on_mix.peer,
                ]
            )
            link_mix = np.where(hands_on[links][:, None], hands_on_mix, link_mix)
        link_modality = p.modality[p.link_provider]
        if pandemic and not params.shocks.pandemic.in_person_allowed:
            link_modality = np.full_like(link_modality, VIRTUAL)
        travel_by_region = np.array(
            [mp.travel_share_urban, mp.travel_share_rural, mp.travel_share_northern]
        )[self.org_region[links]]
        travel = travel_by_region * _by_modality(0.0)[link_modality]
        time_per_hour = mech.provider_time_per_hour(
            link_mix[:, 0], link_mix[:, 1], link_mix[:, 2], mp.content_reach, travel
        )
        standdown = params.shocks.pandemic.ta_standdown if pandemic else 0.0
        delivered, time_used = allocation.allocate(
            links,
            p.link_provider,
            demand,
            order_key,
            time_per_hour,
            p.hours * (1 - standdown),
            p.cost_per_hour,
            p.caseload_limit,
            self.budget,
            proportional=funder.policy == "universal",
        )
        return delivered, time_used, link_mix, link_modality

    def _transitions(
        self, month, absorbed, peer_share, substituted, specific_mean, pandemic
    ) -> None:
        """Adoption, stage progress, pandemic divergence and discontinuation after TA ends (rules 11, 13, 15)."""
        params = self.params
        mp = params.mechanisms
        stage = self.stage
        hazard = mech.adoption_hazard(
            mp.innovation_p, mp.imitation_q, peer_share, mp.absorption_adoption, absorbed
        )
        adopt = (stage == mech.EXPLORING) & mech.adopts(
            hazard, self.R, self.threshold, self.rng.random(self.n_orgs)
        )
        implement = (stage == mech.PREPARING) & (
            specific_mean + substituted >= mp.implement_capacity
        )
        sustain = (
            (stage == mech.IMPLEMENTING)
            & (mp.sustain_penetration <= self.P)
            & (mp.sustain_fidelity <= self.F)
        )
        slip = (stage == mech.SUSTAINING) & (mp.sustain_fidelity - SUSTAIN_HYSTERESIS > self.F)
        stage = np.where(adopt, mech.PREPARING, stage)
        stage = np.where(implement, mech.IMPLEMENTING, stage)
        stage = np.where(sustain, mech.SUSTAINING, stage)
        stage = np.where(slip, mech.IMPLEMENTING, stage)
        if pandemic:
            stage, self.M = events.pandemic_divergence(
                stage, self.M, self.G, self.T, self.rng.random(self.n_orgs), params.shocks.pandemic
            )
        ta_ended = self.months_without_ta >= mp.ta_gap_months
        at_risk = mech.is_adopting(stage) & ta_ended
        stop = at_risk & (
            self.rng.random(self.n_orgs)
            < mech.discontinuation_hazard(mp.discontinuation, self.O, self.G)
        )
        self.stage = np.where(stop, mech.DISCONTINUED, stage)
        self.adopting = mech.is_adopting(self.stage)
        self.months_adopting += self.adopting

    def _record(self) -> None:
        self.datacollector.add_table_row("system", metrics.system_row(self))
        self.datacollector.collect(self)
        self.team_history.append(metrics.team_row(self))

    # ------------------------------------------------------------------ results

    def system_frame(self) -> pd.DataFrame:
        return self.datacollector.get_table_dataframe("system")

    def team_frame(self) -> pd.DataFrame:
        return metrics.team_frame(self)


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
