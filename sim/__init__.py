"""Agent-based model of technical assistance (TA) in health-system transformation (Mesa).

>>> from sim import load_scenario, run
>>> frame = run(load_scenario("baseline"), seed=1)
"""

from sim.agents import Organization, TAProvider, Team
from sim.errors import ScenarioError
from sim.model import RunResult, TransformationModel, run, simulate
from sim.params import Scenario, list_scenarios, load_scenario
from sim.paths import parameter_info, parameter_table

__all__ = [
    "Organization",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "TAProvider",
    "Team",
    "TransformationModel",
    "list_scenarios",
    "load_scenario",
    "parameter_info",
    "parameter_table",
    "run",
    "simulate",
]
