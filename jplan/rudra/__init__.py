"""Rudra's decentralised long-term planning frame (A. Rudra, "Decentralised Longterm Planning — A Frame", called Rudra's frame paper in these docstrings): the central LP for targets and prices,
sectoral planners choosing technology by gradient descent on their criterion λ_j, planning cycles, and the
shortest-time variant, and the full central calculation of §6 (steps 1–8 in rounds: `jplan.rudra.full`).
Economies live in `jplan.economies.rudra` and `jplan.economies.rudra_full`; this package knows nothing of
files."""

from .central import CentralPlan, capital_gap, central_lp, sectoral_criterion, sensitivities, solve_central
from .cycles import CYCLE_STATUS, CycleHistory, cycle_status_name, plan_cycles
from .sectoral import SectoralChoice, choose_all, choose_technology, criterion_along
from .plan_length import ShortestTime, gap_at_length, shortest_time
from .full import (
    CentralCalculation,
    FullCycles,
    balance_residuals,
    calibrate_savings,
    central_calculation,
    full_capital_gap,
    full_planning_cycles,
    full_sectoral_criterion,
    objective_slacks,
)

__all__ = [
    "CYCLE_STATUS",
    "CentralCalculation",
    "FullCycles",
    "balance_residuals",
    "calibrate_savings",
    "central_calculation",
    "full_capital_gap",
    "full_planning_cycles",
    "full_sectoral_criterion",
    "objective_slacks",
    "CentralPlan",
    "CycleHistory",
    "SectoralChoice",
    "ShortestTime",
    "capital_gap",
    "central_lp",
    "choose_all",
    "choose_technology",
    "criterion_along",
    "cycle_status_name",
    "gap_at_length",
    "plan_cycles",
    "sectoral_criterion",
    "sensitivities",
    "shortest_time",
    "solve_central",
]
