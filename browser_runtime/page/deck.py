"""Area ``deck``: where a placement of a plan's deck layout can go when the user moves it.

The workbench shows a layout's placements as numbers (rails, slots, sites) and lets the user drag
them on the drawn deck. What a drag of so many millimetres means depends on where the placement
sits: one rail every 22.5 mm for a carrier on a Hamilton deck, a numbered slot on an OT-2, a site
of a carrier (the same one or another) for labware on a carrier. The page asks here and writes the
answer into the layout; whether the moved layout is valid is the planner's to say when it plans.
"""

from __future__ import annotations

import math
from typing import Any

from browser_runtime.deck.geometry import RAIL_WIDTH, DeckGeometry, deck_geometry
from browser_runtime.errors import NotFound
from browser_runtime.page.session import PageSession

__all__ = ["positions", "move"]

#: A drop this close (mm) to a slot or site it is not on still lands in it: they have gaps between them.
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
    if deck is None:
        return False
    if placement.get("parent") is not None:
        return field == "slot"  # to another site of a carrier (which one: `_site_move`)
    if field == "rails":
        return deck.num_rails is not None and deck.rails_origin is not None
    return bool(deck.slots)


def positions(session: PageSession, layout: dict[str, Any]) -> list[dict[str, Any]]:
    """The placements that sit at a numbered position, in layout order: ``{placement, resource,
    field: "rails" | "slot", value, draggable}`` and ``parent`` for a site of a carrier; ``draggable``
    when a drag on the drawn deck can move it (a carrier on a rail deck's rails, labware in a deck's
    numbered slot or on a carrier's site)."""
    deck = _deck(session, layout)
    found = []
    for placement in _placements(layout):
        field = _field(placement)
        if field is None:
            continue
        position = {"placement": placement.get("name"), "resource": placement.get("resource"),
                    "field": field, "value": placement[field], "draggable": _draggable(deck, placement, field)}
        if placement.get("parent") is not None:
            position["parent"] = placement["parent"]
        found.append(position)
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
    y to the back): ``{moved: true, placement, field, value, before}`` with the new rails or slot
    (and ``parent``, ``parent_before`` for labware moved to a carrier's site), or ``{moved: false,
    placement, reason}`` when the drag does not move it."""
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
    if found.get("parent") is not None and field == "slot":
        return _site_move(session, layout, found, dx, dy, stays)
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


def _site_move(session: PageSession, layout: dict[str, Any], found: dict[str, Any], dx: float, dy: float,
               stays: Any) -> dict[str, Any]:
    """Labware on a carrier's site dropped ``dx``, ``dy`` mm away: onto the site (of any carrier
    on the deck) under its centre. The layout is built with PLR so sites are where PLR puts them."""
    from browser_runtime.deck import DeckLayoutError, build_deck

    name = found["name"]
    try:
        built = build_deck(layout, session.catalog)
    except DeckLayoutError as error:
        return stays(f"the layout does not build, so nothing can move on it: {error}")
    resource = built.get_resource(name)
    start = resource.get_absolute_location()
    x = start.x + resource.get_absolute_size_x() / 2 + dx
    y = start.y + resource.get_absolute_size_y() / 2 + dy
    best, best_distance = None, math.inf
    for carrier in (p for p in _placements(layout) if p.get("parent") is None):
        sites = getattr(built.get_resource(carrier["name"]), "sites", None)
        if not isinstance(sites, dict):
            continue  # not a carrier: nothing sits on it by site number
        for index, site in sites.items():
            corner = site.get_absolute_location()
            dx_out = max(corner.x - x, 0.0, x - (corner.x + site.get_absolute_size_x()))
            dy_out = max(corner.y - y, 0.0, y - (corner.y + site.get_absolute_size_y()))
            distance = math.hypot(dx_out, dy_out)
            if distance < best_distance:
                best, best_distance = (carrier["name"], index, site), distance
    if best is None or best_distance > SLOT_REACH_MM:
        return stays(f"{name} was dropped off every carrier's sites")
    carrier, index, site = best
    if carrier == found["parent"] and index == found["slot"]:
        return stays(f"{name} was dropped on its own site {index} of {carrier}")
    occupant = next((c for c in site.children if c is not resource), None)
    if occupant is not None:
        return stays(f"site {index} of {carrier} holds {occupant.name}")
    return {"moved": True, "placement": name, "field": "slot", "value": index, "before": found["slot"],
            "parent": carrier, "parent_before": found["parent"]}
