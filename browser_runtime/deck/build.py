"""build_deck: a deck layout -> the real PyLabRobot Deck with every placement assigned."""

from __future__ import annotations

import importlib
from typing import Any

from .layout import DeckLayout, DeckLayoutError, Placement, load_deck_layout
from .validate import validate_deck_layout


def _import(fqn: str, catalog: Any | None) -> Any:
    entry = catalog.get(fqn) if catalog is not None else None
    module, _, name = (f"{entry['module']}.{entry['name']}" if entry else fqn).rpartition(".")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError) as exc:
        raise DeckLayoutError(f"cannot import {fqn!r}: {exc}") from None


def build_deck(layout: DeckLayout | dict[str, Any] | str, catalog: Any | None = None) -> Any:
    """Build the PLR deck. With a catalog the layout is validated first and every problem raised
    together (DeckLayoutError.problems); without one PLR's own checks are the only ones."""
    from pylabrobot.resources import Coordinate

    if not isinstance(layout, DeckLayout):
        layout = load_deck_layout(layout)
    if catalog is not None:
        problems = validate_deck_layout(layout, catalog)
        if problems:
            raise DeckLayoutError(f"the deck layout has {len(problems)} problem(s): "
                                  + "; ".join(str(p) for p in problems), problems)
    elif layout.shape_problems:
        raise DeckLayoutError("; ".join(str(p) for p in layout.shape_problems), layout.shape_problems)
    deck = _import(layout.deck, catalog)(**(layout.deck_kwargs or {}))
    built: dict[str, Any] = {}
    pending = list(layout.placements)
    # Parents first: a placement is built once its parent exists.
    while pending:
        ready = [p for p in pending if p.parent is None or p.parent in built]
        if not ready:
            names = ", ".join(repr(p.label) for p in pending)
            raise DeckLayoutError(f"placements {names} have parents that are never placed")
        for placement in ready:
            built[placement.name] = _place(deck, placement, built, catalog, Coordinate)
            pending.remove(placement)
    return deck


def _place(deck: Any, placement: Placement, built: dict[str, Any], catalog: Any, coordinate: Any) -> Any:
    resource = _import(placement.resource, catalog)(name=placement.name)
    if placement.rotation:
        resource.rotate(z=placement.rotation)
    location = coordinate(**placement.location) if placement.location is not None else None
    parent = deck if placement.parent is None else built[placement.parent]
    try:
        if placement.parent is None and placement.slot is not None:
            parent.assign_child_at_slot(resource, placement.slot)
        elif placement.parent is None and placement.rails is not None:
            parent.assign_child_resource(resource, rails=placement.rails)
        elif placement.slot is not None:
            parent.assign_resource_to_site(resource, placement.slot)
        elif location is not None:
            parent.assign_child_resource(resource, location=location)
        else:
            parent.assign_child_resource(resource)
    except Exception as exc:
        raise DeckLayoutError(f"placement {placement.label!r}: PLR refused it: {exc}") from exc
    return resource
