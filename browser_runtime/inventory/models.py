"""Inventory records and assignment results as dataclasses (what the page and the scheduler read)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any


@dataclasses.dataclass(frozen=True)
class TimeWindow:
    starts_at: datetime
    ends_at: datetime

    def __post_init__(self) -> None:
        if self.ends_at <= self.starts_at:
            raise ValueError(f"a time window must end after it starts: {self.starts_at.isoformat()} "
                             f"-> {self.ends_at.isoformat()}")

    def overlaps(self, other: TimeWindow) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


@dataclasses.dataclass
class Asset:
    id: int
    kind: str  # machine | labware
    name: str
    catalog_fqn: str
    machine_kind: str | None
    backend_fqn: str | None
    capabilities: list[str]
    barcode: str | None
    location: str | None
    status: str
    lot: str | None = None
    received_at: datetime | None = None
    expires_at: datetime | None = None
    remaining_volume_ul: float | None = None
    remaining_tips: int | None = None
    refill: bool = False  # stock an operator loads before a run draws from it (a tip refill)


@dataclasses.dataclass
class Reservation:
    id: int
    asset_id: int
    run_id: str
    window: TimeWindow
    status: str  # held | active (its run started) | released
    expires_at: datetime | None
    released_at: datetime | None = None
    release_reason: str | None = None
    note: str | None = None  # why it was made, for a hold made by hand


COST_UNITS = ("item", "tip", "uL")


@dataclasses.dataclass(frozen=True)
class LabwareCost:
    """What a labware type costs: per item used, per tip picked up, or per uL drawn."""

    catalog_fqn: str
    cost: float
    unit: str = "item"
    currency: str = ""

    def of(self, tips: int = 0, volume_ul: float = 0.0) -> float:
        """The cost of one use drawing ``tips`` / ``volume_ul``."""
        if self.unit == "tip":
            return self.cost * tips
        if self.unit == "uL":
            return self.cost * volume_ul
        return self.cost

    def describe(self, tips: int = 0, volume_ul: float = 0.0) -> str:
        money = f"{self.currency} " if self.currency else ""
        if self.unit == "item":
            return f"costs {money}{self.cost:g} per item"
        quantity = tips if self.unit == "tip" else volume_ul
        return f"costs {money}{self.cost:g} per {self.unit} x {quantity:g} = {money}{self.of(tips, volume_ul):.4g}"


@dataclasses.dataclass(frozen=True)
class ConsumableRequirement:
    """One piece of labware a run needs. ``type`` is a catalog fqn (a factory pins the exact
    labware; a class such as Plate only its category)."""

    name: str
    category: str | None = None
    type: str | None = None
    min_well_volume_ul: float = 0.0  # each well / tip must hold at least this
    volume_ul: float = 0.0  # reagent the run draws from this item (remaining_volume_ul)
    tips: int = 0  # tips the run picks up from this rack


@dataclasses.dataclass
class NearMiss:
    asset_id: int
    asset_name: str
    excluded_by: list[str]  # every hard constraint the item fails, in words


@dataclasses.dataclass
class Assignment:
    requirement: str
    asset_id: int | None
    asset_name: str | None
    score: float
    breakdown: dict[str, float]
    reasons: list[str]
    candidates: int  # items that passed every hard constraint
    near_misses: list[NearMiss] = dataclasses.field(default_factory=list)
    cost: float = 0.0  # what using the chosen item costs (its type's price for this use)

    @property
    def assigned(self) -> bool:
        return self.asset_id is not None


@dataclasses.dataclass
class AssignmentPlan:
    window: TimeWindow
    assignments: list[Assignment]

    @property
    def total_score(self) -> float:
        return sum(a.score for a in self.assignments if a.assigned)

    @property
    def complete(self) -> bool:
        return all(a.assigned for a in self.assignments)

    @property
    def total_cost(self) -> float:
        return sum(a.cost for a in self.assignments if a.assigned)

    def asset_ids(self) -> list[int]:
        return [a.asset_id for a in self.assignments if a.asset_id is not None]

    def to_dict(self) -> dict[str, Any]:
        document = dataclasses.asdict(self)
        document["window"] = {"starts_at": self.window.starts_at.isoformat(),
                              "ends_at": self.window.ends_at.isoformat()}
        document["total_score"] = self.total_score
        document["total_cost"] = self.total_cost
        return document
