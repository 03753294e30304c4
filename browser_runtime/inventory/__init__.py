"""Inventory: assets, consumables and reservations in SQLite; consumable assignment; machine resolution."""

from .assignment import DEFAULT_PROXIMITY, DEFAULT_WEIGHTS, ConsumableAssignmentService
from .matching import greedy_assignment, max_weight_assignment
from .models import (
    COST_UNITS,
    Asset,
    Assignment,
    AssignmentPlan,
    ConsumableRequirement,
    LabwareCost,
    NearMiss,
    Reservation,
    TimeWindow,
)
from .schema import MIGRATIONS, SCHEMA_VERSION, migrate
from .store import InventoryError, InventoryStore, ReservationConflict

__all__ = [
    "COST_UNITS",
    "DEFAULT_PROXIMITY",
    "DEFAULT_WEIGHTS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Asset",
    "Assignment",
    "AssignmentPlan",
    "ConsumableAssignmentService",
    "ConsumableRequirement",
    "InventoryError",
    "InventoryStore",
    "LabwareCost",
    "NearMiss",
    "Reservation",
    "ReservationConflict",
    "TimeWindow",
    "greedy_assignment",
    "max_weight_assignment",
    "migrate",
]
