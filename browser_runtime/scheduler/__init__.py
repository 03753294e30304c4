"""Scheduler: workcells, run requests, duration estimates, schedules that hold reservations."""

from .book import ScheduleBook, ScheduleConflict, ScheduleError
from .durations import DEFAULT_TIMINGS, DurationModel
from .heuristic import list_schedule
from .optimiser import optimise
from .placement import Busy, Infeasible, Placement, Problem, Schedule
from .requests import ConsumableNeed, MachineNeed, RequestError, RunRequest, needs_from_analysis
from .simulation import Estimate, EstimateError, VirtualClock, estimate_protocol
from .workcells import Labware, Machine, Workcell

__all__ = [
    "DEFAULT_TIMINGS",
    "Busy",
    "ConsumableNeed",
    "DurationModel",
    "Estimate",
    "EstimateError",
    "Infeasible",
    "Labware",
    "Machine",
    "MachineNeed",
    "Placement",
    "Problem",
    "RequestError",
    "RunRequest",
    "Schedule",
    "ScheduleBook",
    "ScheduleConflict",
    "ScheduleError",
    "VirtualClock",
    "Workcell",
    "estimate_protocol",
    "list_schedule",
    "needs_from_analysis",
    "optimise",
]
