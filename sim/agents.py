"""Organization, Team and TAProvider: Mesa agents that are thin views over the model's state arrays.

State lives in numpy arrays owned by the model (one row per organization) so that a month
is a handful of vectorised calls; the agents make that state visible to Mesa's AgentSet,
the network space and SolaraViz (DESIGN.md section 2).
"""

from __future__ import annotations

from mesa import Agent
from mesa.discrete_space import FixedAgent

from sim.mechanisms import STAGES
from sim.params import BUILDING_BLOCKS, MODALITIES, REGIONS, ROLES
from sim.system import SECTORS


class StateView:
    """A property reading and writing this agent's row of a model-owned array."""

    def __init__(self, array_name: str):
        self.array_name = array_name

    def __get__(self, agent, owner=None):
        if agent is None:
            return self
        return getattr(agent.model, self.array_name)[agent.index].item()

    def __set__(self, agent, value):
        getattr(agent.model, self.array_name)[agent.index] = value


class Organization(FixedAgent):
    """A health or social care provider, member of one team, placed on the network."""

    M = StateView("M")
    G = StateView("G")
    T = StateView("T")
    O = StateView("O")  # noqa: E741 (the design's name for ownership)
    W = StateView("W")
    P = StateView("P")
    F = StateView("F")
    R = StateView("R")
    stage_code = StateView("stage")
    ta_hours = StateView("H")
    team_index = StateView("org_team")

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def cell(self):
        """The organization's cell on the network (``TransformationModel.grid``)."""
        if self._mesa_cell is None:
            self.model.grid  # noqa: B018 (builds the network and places every organization)
        return self._mesa_cell

    @cell.setter
    def cell(self, cell) -> None:
        FixedAgent.cell.fset(self, cell)

    @property
    def stage(self) -> str:
        return STAGES[self.stage_code]

    @property
    def region(self) -> str:
        return REGIONS[self.model.org_region[self.index]]

    @property
    def sector(self) -> str:
        return SECTORS[self.model.org_sector[self.index]]

    @property
    def capacity_by_block(self) -> dict[str, float]:
        return dict(zip(BUILDING_BLOCKS, self.model.S[self.index].tolist(), strict=True))


class Team(Agent):
    """An Ontario Health Team / integrated care system / ACO: members, cohort, maturity."""

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def cohort(self) -> int:
        return int(self.model.teams.cohort[self.index])

    @property
    def region(self) -> str:
        return REGIONS[self.model.teams.region[self.index]]

    @property
    def maturity(self) -> float:
        """Years of collaboration: the prior years it started with plus its joint work since."""
        return float(self.model.team_maturity[self.index])

    @property
    def members(self) -> list[Organization]:
        return [org for org in self.model.organizations if org.team_index == self.index]


class TAProvider(Agent):
    """A TA provider: role, hours, modality, activity mix, expertise (provider array rows)."""

    def __init__(self, model, index: int):
        super().__init__(model)
        self.index = index

    @property
    def role(self) -> str:
        return ROLES[self.model.providers.role[self.index]]

    @property
    def modality(self) -> str:
        return MODALITIES[self.model.providers.modality[self.index]]

    @property
    def hours_per_month(self) -> float:
        return float(self.model.providers.hours[self.index])

    @property
    def caseload(self) -> int:
        return int(self.model.caseload[self.index])
