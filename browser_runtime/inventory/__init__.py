"""Inventory: assets, consumables and reservations in SQLite; consumable assignment; machine resolution."""

from .assignment import DEFAULT_PROXIMITY, DEFAULT_WEIGHTS, ConsumableAssignmentService
from .matching import greedy_assignment, max_weight_assignment
from .models import (
    Asset,
    Assignment,
    AssignmentPlan,
    ConsumableRequirement,
    NearMiss,
    Reservation,
    TimeWindow,
)
from .schema import MIGRATIONS, SCHEMA_VERSION, migrate
from .store import InventoryError, InventoryStore, ReservationConflict

__all__ = [
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
    "NearMiss",
    "Reservation",
    "ReservationConflict",
    "TimeWindow",
    "greedy_assignment",
    "max_weight_assignment",
    "migrate",
]
