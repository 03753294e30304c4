"""Site geometry PLR knows but the catalog does not hold: carrier sites, deck rails and slots.

The catalog gives each resource's outer size; where children go on a carrier or deck only PLR's
objects know, so those are built once (PLR is pure Python: this runs in the page as well) and cached.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from typing import Any

RAIL_WIDTH = 22.5  # mm, Hamilton's rail pitch (pylabrobot.resources.hamilton.hamilton_decks)


@dataclasses.dataclass(frozen=True)
class Rect:
    x: float
    y: float
    size_x: float
    size_y: float

    def overlaps(self, other: Rect, tolerance: float = 0.0) -> bool:
        return (self.x < other.x + other.size_x - tolerance and other.x < self.x + self.size_x - tolerance
                and self.y < other.y + other.size_y - tolerance
                and other.y < self.y + self.size_y - tolerance)


@dataclasses.dataclass(frozen=True)
class Site:
    """Where a child sits on its parent: PLR's own index and the site's rectangle in the parent."""

    index: int
    rect: Rect
    occupied_by: str | None = None  # a fixture the parent brings itself (OT-2 trash in slot 12)


@dataclasses.dataclass(frozen=True)
class DeckGeometry:
    fqn: str
    size_x: float
    size_y: float
    num_rails: int | None
    rails_origin: tuple[float, float] | None  # location of rail 1
    rails_limit_x: float | None  # a resource on rails must end left of this (PLR's own check)
    slots: dict[int, Site]  # OT-2 style numbered slots (PLR numbering, from 1)

    def rails_x(self, rails: int) -> float:
        assert self.rails_origin is not None
        return self.rails_origin[0] + (rails - 1) * RAIL_WIDTH


def rails_width(size_x: float) -> int:
    """How many rails a carrier of this width covers."""
    return max(1, math.ceil(size_x / RAIL_WIDTH - 1e-6))


def import_definition(entry: dict[str, Any]) -> Any:
    module = importlib.import_module(entry["module"])
    return getattr(module, entry["name"])


_RESOURCES: dict[str, Any] = {}
_DECKS: dict[tuple[str, str], DeckGeometry] = {}


def instantiate(entry: dict[str, Any], name: str) -> Any:
    """A fresh PLR resource from a catalog entry (factories are called with ``name=``)."""
    return import_definition(entry)(name=name)


def sites_of(entry: dict[str, Any]) -> dict[int, Site]:
    """Carrier sites (``carrier.sites``) by PLR's index, or {} for a resource without sites."""
    fqn = entry["fqn"]
    if fqn not in _RESOURCES:
        resource = instantiate(entry, "probe")
        sites: dict[int, Site] = {}
        for index, holder in getattr(resource, "sites", {}).items():
            location = holder.location
            sites[int(index)] = Site(int(index), Rect(location.x, location.y, holder.get_size_x(),
                                                      holder.get_size_y()))
        _RESOURCES[fqn] = sites
    return _RESOURCES[fqn]


def deck_geometry(entry: dict[str, Any], kwargs: dict[str, Any]) -> DeckGeometry:
    """Rails and slots of a deck built the way the layout builds it."""
    import json

    key = (entry["fqn"], json.dumps(kwargs, sort_keys=True, default=str))
    if key not in _DECKS:
        deck = import_definition(entry)(**kwargs)
        num_rails = getattr(deck, "num_rails", None)
        origin = limit = None
        if num_rails is not None and hasattr(deck, "rails_to_location"):
            first = deck.rails_to_location(1)
            origin = (first.x, first.y)
            limit = deck.rails_to_location(num_rails + 1).x
        slots: dict[int, Site] = {}
        # OTDeck keeps one ResourceHolder per slot (its trash already in 12); slot_locations alone
        # lacks the holders' sizes and occupants.
        holders = getattr(deck, "_slot_holders", None)
        if holders is not None:
            for number, holder in enumerate(holders, start=1):
                occupant = holder.resource.name if holder.resource is not None else None
                slots[number] = Site(number, Rect(holder.location.x, holder.location.y,
                                                  holder.get_size_x(), holder.get_size_y()), occupant)
        _DECKS[key] = DeckGeometry(entry["fqn"], deck.get_size_x(), deck.get_size_y(), num_rails,
                                   origin, limit, slots)
    return _DECKS[key]
