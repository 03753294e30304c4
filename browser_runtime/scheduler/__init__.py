"""Scheduler: workcells, run requests and their timelines, duration estimates, schedules that hold
reservations, lower bounds; the exact solver (``exact``) is CPython only and imported on its own."""

from .book import ScheduleBook, ScheduleConflict, ScheduleError
from .bounds import lower_bound
from .calendars import weekly
from .durations import DEFAULT_TIMINGS, DurationModel
from .heuristic import list_schedule
from .optimiser import optimise
from .placement import Busy, Hold, Infeasible, Operator, OperatorBusy, Placement, Problem, Schedule
from .requests import (
    ConsumableNeed,
    MachineNeed,
    RequestError,
    RunRequest,
    Segment,
    SegmentLink,
    Timeline,
    needs_from_analysis,
)
from .simulation import Estimate, EstimateError, VirtualClock, estimate_protocol
from .timeline import timeline_from_estimate
from .timelinks import TimeLinkError, TimeLinkWatch, planned_starts
from .workcells import Labware, Machine, Workcell

__all__ = [
    "DEFAULT_TIMINGS",
    "Busy",
    "ConsumableNeed",
    "DurationModel",
    "Estimate",
    "EstimateError",
    "Hold",
    "Infeasible",
    "Labware",
    "Machine",
    "MachineNeed",
    "Operator",
    "OperatorBusy",
    "Placement",
    "Problem",
    "RequestError",
    "RunRequest",
    "Schedule",
    "ScheduleBook",
    "ScheduleConflict",
    "ScheduleError",
    "Segment",
    "SegmentLink",
    "TimeLinkError",
    "TimeLinkWatch",
    "Timeline",
    "VirtualClock",
    "Workcell",
    "estimate_protocol",
    "list_schedule",
    "lower_bound",
    "needs_from_analysis",
    "optimise",
    "planned_starts",
    "timeline_from_estimate",
    "weekly",
]
