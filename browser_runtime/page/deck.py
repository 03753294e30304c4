"""Area ``deck``: where a placement of a plan's deck layout can go when the user moves it.

The workbench shows a layout's placements as numbers (rails, slots) and lets the user drag them
on the drawn deck. What a drag of so many millimetres means depends on the deck: one rail every
22.5 mm on Hamilton decks, numbered slots on an OT-2. The page asks here and writes the answer
into the layout; whether the moved layout is valid is the planner's to say when it plans again.
"""

from __future__ import annotations

import math
from typing import Any

from browser_runtime.deck.geometry import RAIL_WIDTH, DeckGeometry, deck_geometry
from browser_runtime.errors import NotFound
from browser_runtime.page.session import PageSession

__all__ = ["positions", "move"]

#: A drop this close (mm) to a slot it is not on still lands in it: slots have gaps between them.
SLOT_REACH_MM = 10.0


def _deck(session: PageSession, layout: dict[str, Any]) -> DeckGeometry | None:
    """The layout's deck geometry, or None when the layout names no deck PLR can build."""
    fqn = layout.get("deck") if isinstance(layout, dict) else None
    kwargs = layout.get("deck_kwargs") or {}
    if not isinstance(fqn, str) or not isinstance(kwargs, dict):
        return None
    entry = session.catalog.get(fqn)
    if entry is None or session.catalog.section_of(fqn) != "decks":
        return None
    try:
        return deck_geometry(entry, kwargs)
    except Exception:  # noqa: BLE001 - an unbuildable deck is the planner's to report, not ours
        return None


def _placements(layout: dict[str, Any]) -> list[dict[str, Any]]:
    placements = layout.get("placements") if isinstance(layout, dict) else None
    if not isinstance(placements, list):
        raise ValueError("layout.placements: must be a list of placements")
    return [p for p in placements if isinstance(p, dict)]


def _field(placement: dict[str, Any]) -> str | None:
    for field in ("rails", "slot"):
        value = placement.get(field)
        if isinstance(value, int) and not isinstance(value, bool):
            return field
    return None


def _draggable(deck: DeckGeometry | None, placement: dict[str, Any], field: str) -> bool:
    if deck is None or placement.get("parent") is not None:
        return False  # only what stands on the deck itself is drawn (and dragged) as a whole
    if field == "rails":
        return deck.num_rails is not None and deck.rails_origin is not None
    return bool(deck.slots)


def positions(session: PageSession, layout: dict[str, Any]) -> list[dict[str, Any]]:
    """The placements that sit at a numbered position, in layout order: ``{placement, resource,
    field: "rails" | "slot", value, draggable}``; ``draggable`` when a drag on the drawn deck can move
    it (a carrier on a rail deck's rails, labware in a deck's numbered slot)."""
    deck = _deck(session, layout)
    found = []
    for placement in _placements(layout):
        field = _field(placement)
        if field is None:
            continue
        found.append({"placement": placement.get("name"), "resource": placement.get("resource"),
                      "field": field, "value": placement[field],
                      "draggable": _draggable(deck, placement, field)})
    return found


def _round_half_up(value: float) -> int:
    # As a person counts rails: half a rail or more is the next one, whichever way the drag went.
    return math.floor(value + 0.5)


def _slot_at(deck: DeckGeometry, x: float, y: float) -> int | None:
    best, best_distance = None, math.inf
    for number, site in deck.slots.items():
        rect = site.rect
        dx = max(rect.x - x, 0.0, x - (rect.x + rect.size_x))
        dy = max(rect.y - y, 0.0, y - (rect.y + rect.size_y))
        distance = math.hypot(dx, dy)
        if distance < best_distance:
            best, best_distance = number, distance
    return best if best_distance <= SLOT_REACH_MM else None


def move(session: PageSession, layout: dict[str, Any], placement: str, dx: float,
         dy: float = 0.0) -> dict[str, Any]:
    """Where ``placement`` goes when dragged by ``dx``, ``dy`` mm (PLR's frame: x to the right,
    y to the back): ``{moved: true, placement, field, value, before}`` with the new rails or slot,
    or ``{moved: false, placement, reason}`` when the drag does not move it."""
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (dx, dy)):
        raise ValueError(f"move of {placement!r}: dx and dy must be finite numbers of mm, got {dx!r}, {dy!r}")
    found = next((p for p in _placements(layout) if p.get("name") == placement), None)
    if found is None:
        raise NotFound(f"the layout has no placement named {placement!r}")
    deck = _deck(session, layout)
    field = _field(found)

    def stays(reason: str) -> dict[str, Any]:
        return {"moved": False, "placement": placement, "reason": reason}

    if deck is None:
        return stays(f"the layout's deck {layout.get('deck')!r} is not one PLR can build")
    if field is None or not _draggable(deck, found, field):
        where = f"on {found['parent']!r}" if found.get("parent") is not None else "by location"
        return stays(f"{placement} is placed {where}; only labware on the deck's rails or slots moves by dragging")
    before = found[field]
    if field == "rails":
        value = max(1, before + _round_half_up(dx / RAIL_WIDTH))
        if value == before:
            return stays(f"a drag of {dx:g} mm is less than half a rail ({RAIL_WIDTH:g} mm)")
    else:
        site = deck.slots.get(before)
        if site is None:
            return stays(f"slot {before} is not one of the deck's slots")
        rect = site.rect
        value = _slot_at(deck, rect.x + rect.size_x / 2 + dx, rect.y + rect.size_y / 2 + dy)
        if value is None:
            return stays(f"{placement} was dropped off the deck's slots")
        if value == before:
            return stays(f"{placement} was dropped on its own slot {before}")
    return {"moved": True, "placement": placement, "field": field, "value": value, "before": before}
