"""Workcells and the assets the scheduler places runs on: machines (in workcells) and labware."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Machine:
    """A registered machine (an inventory asset) as the scheduler sees it."""

    id: int
    name: str
    kind: str  # PLR machine kind: liquid_handler, plate_reader, heater_shaker, ...
    capabilities: frozenset[str] = frozenset()
    available: bool = True  # False: quarantined, retired or otherwise not usable

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind,
                "capabilities": sorted(self.capabilities), "available": self.available}


@dataclass(frozen=True)
class Workcell:
    """A named set of registered machines a run can use together; a run uses machines of one
    workcell. A machine may be in several (a plate reader two liquid handlers' arms reach)."""

    name: str
    machines: tuple[Machine, ...] = ()
    deck: str | None = None  # the deck's catalog fqn, or a deck layout's name

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError("a workcell needs a name")
        ids = [m.id for m in self.machines]
        if len(set(ids)) != len(ids):
            raise ValueError(f"workcell {self.name!r} lists a machine twice")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "deck": self.deck, "machines": [m.to_dict() for m in self.machines]}


@dataclass(frozen=True)
class Labware:
    """A consumable inventory item a run may hold: a plate, a tip rack, a trough.

    ``tips`` / ``volume_ul``: what is left in it (None: not counted). A ``refill`` item is stock
    (a tip refill, a reagent bottle) an operator loads before the run that draws from it."""

    id: int
    name: str
    fqn: str | None = None  # catalog fqn of its factory
    category: str | None = None  # plate, tip_rack, trough, ...
    available: bool = True
    status: str = field(default="available", compare=False)
    tips: int | None = None
    volume_ul: float | None = None
    cost: float = 0.0  # what one use costs, per ``cost_unit``
    cost_unit: str = "item"  # item | tip | uL
    refill: bool = False
