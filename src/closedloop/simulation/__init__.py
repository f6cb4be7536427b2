"""Simulation of policy variants on the same domain model an embedder runs.

A deterministic event loop drives :class:`~closedloop.ClosedLoop` on a simulated clock;
scenarios describe the world, policies the mechanism under test (``Baseline`` versus
``DownwardMeetings``), and results carry the same metrics a real log gives.
"""

from closedloop.simulation.engine import EventLoop
from closedloop.simulation.model import Simulation, simulate
from closedloop.simulation.policies import Baseline, DownwardMeetings, Knobs, Policy
from closedloop.simulation.results import Comparison, Estimate, SimulationResult, compare
from closedloop.simulation.scenario import (
    ArrivalModel,
    BehaviourModel,
    HandlingModel,
    NeedModel,
    Scenario,
)
from closedloop.simulation.streams import RandomStreams, derive_seed
from closedloop.simulation.sweep import SweepResult, grid_points, run_sweep, yiwu_variant
from closedloop.simulation.yiwu import YIWU_KNOBS, YIWU_TARGETS, yiwu_policies, yiwu_scenario

__all__ = [
    "YIWU_KNOBS",
    "YIWU_TARGETS",
    "ArrivalModel",
    "Baseline",
    "BehaviourModel",
    "Comparison",
    "DownwardMeetings",
    "Estimate",
    "EventLoop",
    "HandlingModel",
    "Knobs",
    "NeedModel",
    "Policy",
    "RandomStreams",
    "Scenario",
    "Simulation",
    "SimulationResult",
    "SweepResult",
    "compare",
    "derive_seed",
    "grid_points",
    "run_sweep",
    "simulate",
    "yiwu_policies",
    "yiwu_scenario",
    "yiwu_variant",
]
