"""validate_deck_layout: every problem of a layout at once, each naming the placement and field."""

from __future__ import annotations

import copy
import math
from typing import Any

from .geometry import DeckGeometry, Rect, Site, deck_geometry, rails_width, sites_of
from .layout import DeckLayout, Placement, Problem, load_deck_layout

# PLR's carrier sites and SBS plates differ by under a millimetre (127.0 vs 127.76 mm).
FIT_TOLERANCE = 1.0
CARRIER_CATEGORIES = frozenset({"plate_carrier", "tip_carrier", "trough_carrier", "tube_carrier",
                                "mfx_carrier", "carrier"})
# Single-site holders: one child, placed at the holder's origin unless a location is given.
HOLDER_CATEGORIES = frozenset({"plate_holder", "resource_holder", "plate_adapter",
                               "petri_dish_holder", "tube_rack", "container_rack"})


def validate_deck_layout(layout: DeckLayout | dict[str, Any], catalog: Any) -> list[Problem]:
    """Every problem in ``layout``; an empty list means it can be built."""
    if isinstance(layout, dict):
        layout = load_deck_layout(layout)
    # The validator blanks unusable values as it goes; the caller's layout stays as it was.
    return _Validator(copy.deepcopy(layout), catalog).run()


class _Validator:
    def __init__(self, layout: DeckLayout, catalog: Any) -> None:
        self.layout = layout
        self.catalog = catalog
        self.problems: list[Problem] = list(layout.shape_problems)
        self.entries: dict[int, dict] = {}  # placement index -> catalog resource entry
        self.by_name: dict[str, Placement] = {}
        self.deck: DeckGeometry | None = None
        self.unplaceable: set[int] = set()  # position already reported as unreadable

    def problem(self, placement: Placement | None, field: str, message: str) -> None:
        self.problems.append(Problem(placement.label if placement else None, field, message))

    def run(self) -> list[Problem]:
        self._deck()
        for placement in self.layout.placements:
            self._fields(placement)
        for placement in self.layout.placements:
            self._parent(placement)
        self._positions()
        return self.problems

    def _deck(self) -> None:
        deck, kwargs = self.layout.deck, self.layout.deck_kwargs
        if not isinstance(kwargs, dict):
            self.problem(None, "deck_kwargs", "must be an object of keyword arguments")
            kwargs = {}
        if not isinstance(deck, str) or not deck:
            self.problem(None, "deck", f"must be the fully qualified name of a PLR deck, got {deck!r}")
            return
        entry = self.catalog.get(deck)
        if entry is None or self.catalog.section_of(deck) != "decks":
            what = "is not a deck" if entry is not None else "is not a deck PLR defines"
            self.problem(None, "deck", f"{deck!r} {what}")
            return
        try:
            self.deck = deck_geometry(entry, kwargs)
        except Exception as exc:  # noqa: BLE001 - PLR says why the deck cannot be built
            self.problem(None, "deck_kwargs", f"cannot build {entry['name']}: {type(exc).__name__}: {exc}")

    def _fields(self, placement: Placement) -> None:
        name = placement.name
        if not isinstance(name, str) or not name.strip():
            self.problem(placement, "name", f"must be a non-empty string, got {name!r}")
        elif name in self.by_name:
            self.problem(placement, "name", f"duplicate name {name!r} (also placement "
                                            f"#{self.by_name[name].index})")
        else:
            self.by_name[name] = placement
        resource = placement.resource
        if not isinstance(resource, str) or not resource:
            self.problem(placement, "resource", f"must be a fully qualified resource name, got {resource!r}")
        else:
            entry = self.catalog.get(resource)
            section = self.catalog.section_of(resource)
            if entry is None:
                self.problem(placement, "resource", f"{resource!r} is not a resource PLR defines")
            elif section != "resources":
                self.problem(placement, "resource", f"{resource!r} is a {section[:-1]}, not labware")
            elif entry.get("kind") != "factory" or entry.get("size") is None:
                why = entry.get("skipped") or entry.get("error") or (
                    "it is a class; name a factory that makes a concrete one")
                self.problem(placement, "resource", f"{resource!r} has no geometry: {why}")
            else:
                self.entries[placement.index] = entry
        for field in ("slot", "rails"):
            value = getattr(placement, field)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                self.problem(placement, field, f"must be an integer, got {value!r}")
                setattr(placement, field, None)
                self.unplaceable.add(placement.index)
        location = placement.location
        if location is not None:
            if not isinstance(location, dict) or set(location) != {"x", "y", "z"} or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                    for v in location.values()):
                self.problem(placement, "location", f"must be {{'x', 'y', 'z'}} numbers in mm, "
                                                    f"got {location!r}")
                placement.location = None
                self.unplaceable.add(placement.index)
        rotation = placement.rotation
        if rotation is not None:
            if isinstance(rotation, bool) or not isinstance(rotation, (int, float)) or rotation % 90:
                self.problem(placement, "rotation", f"must be a multiple of 90 degrees, got {rotation!r}")
                placement.rotation = None
        given = [f for f in ("slot", "rails", "location") if getattr(placement, f) is not None]
        if len(given) > 1:
            self.problem(placement, given[1], f"give one of slot, rails or location, not {' and '.join(given)}")
        if placement.parent is not None and not isinstance(placement.parent, str):
            self.problem(placement, "parent", f"must be a placement name, got {placement.parent!r}")
            placement.parent = None

    def _parent(self, placement: Placement) -> None:
        parent_name = placement.parent
        if parent_name is None:
            return
        parent = self.by_name.get(parent_name)
        if parent is None:
            self.problem(placement, "parent", f"no placement is named {parent_name!r}")
            return
        seen = {placement.label}
        current: Placement | None = parent
        while current is not None:
            if current.label in seen:
                self.problem(placement, "parent", f"parents form a cycle through {current.label!r}")
                placement.parent = None
                return
            seen.add(current.label)
            current = self.by_name.get(current.parent) if isinstance(current.parent, str) else None
        entry = self.entries.get(parent.index)
        if entry is None:
            return  # the parent's own resource problem is already reported
        category = entry.get("category")
        child = self.entries.get(placement.index)
        lid_on_plate = category == "plate" and child is not None and child.get("category") == "lid"
        if category not in CARRIER_CATEGORIES | HOLDER_CATEGORIES and not lid_on_plate:
            self.problem(placement, "parent", f"{parent_name!r} is a {category or 'resource'} "
                                              f"({entry['name']}) and cannot hold other resources")

    def _size(self, placement: Placement) -> tuple[float, float] | None:
        entry = self.entries.get(placement.index)
        if entry is None:
            return None
        size = entry["size"]
        if placement.rotation is not None and int(placement.rotation) % 180:
            return size["y"], size["x"]
        return size["x"], size["y"]

    def _positions(self) -> None:
        on_deck: list[tuple[Placement, Rect]] = []
        by_parent: dict[str, list[Placement]] = {}
        for placement in self.layout.placements:
            if placement.parent is None:
                rect = self._deck_position(placement)
                if rect is not None:
                    on_deck.append((placement, rect))
            elif placement.parent in self.by_name:
                by_parent.setdefault(placement.parent, []).append(placement)
        self._overlaps(on_deck)
        for parent_name, children in by_parent.items():
            self._children(self.by_name[parent_name], children)

    def _deck_position(self, placement: Placement) -> Rect | None:
        deck = self.deck
        if deck is None:
            return None
        size = self._size(placement)
        if placement.slot is not None:
            if not deck.slots:
                self.problem(placement, "slot", f"{_short(deck.fqn)} has no numbered slots; "
                                                "use rails or location")
                return None
            site = deck.slots.get(placement.slot)
            if site is None:
                self.problem(placement, "slot", f"slot {placement.slot} is out of range "
                                                f"{min(deck.slots)}-{max(deck.slots)}")
                return None
            if site.occupied_by:
                self.problem(placement, "slot", f"slot {placement.slot} holds the deck's own "
                                                f"{site.occupied_by!r}")
            if size is not None:
                self._fit(placement, size, site, f"slot {placement.slot}")
                return Rect(site.rect.x, site.rect.y, size[0], size[1])
            return None
        if placement.rails is not None:
            if deck.num_rails is None:
                self.problem(placement, "rails", f"{_short(deck.fqn)} has no rails; use "
                                                 + ("slot" if deck.slots else "location"))
                return None
            # PLR's own accepted range (rails 0 and below are left of the first support rail).
            if not -4 <= placement.rails <= deck.num_rails:
                self.problem(placement, "rails", f"rails {placement.rails} is out of range "
                                                 f"1-{deck.num_rails}")
                return None
            if size is None:
                return None
            rect = Rect(deck.rails_x(placement.rails), deck.rails_origin[1], size[0], size[1])
            if rect.x + rect.size_x > deck.rails_limit_x + FIT_TOLERANCE or rect.y + rect.size_y > (
                    deck.size_y + FIT_TOLERANCE):
                self.problem(placement, "rails", f"{placement.resource.rpartition('.')[2]} "
                                                 f"({rect.size_x:g} mm wide, {rails_width(size[0])} "
                                                 f"rails) does not fit on the deck at rails "
                                                 f"{placement.rails} of {deck.num_rails}")
            return rect
        if placement.location is not None:
            if deck.slots:
                self.problem(placement, "location", f"{_short(deck.fqn)} takes labware in numbered "
                                                    "slots only; give slot")
                return None
            if size is None:
                return None
            rect = Rect(placement.location["x"], placement.location["y"], size[0], size[1])
            if (rect.x < -FIT_TOLERANCE or rect.y < -FIT_TOLERANCE
                    or rect.x + rect.size_x > deck.size_x + FIT_TOLERANCE
                    or rect.y + rect.size_y > deck.size_y + FIT_TOLERANCE):
                self.problem(placement, "location", f"footprint x {rect.x:g}-{rect.x + rect.size_x:g}, "
                                                    f"y {rect.y:g}-{rect.y + rect.size_y:g} mm lies "
                                                    f"outside the deck ({deck.size_x:g} x "
                                                    f"{deck.size_y:g} mm)")
            return rect
        if placement.index in self.unplaceable:
            return None
        self.problem(placement, "slot" if deck.slots else "rails",
                     "a resource on the deck needs " + ("a slot" if deck.slots else "rails or a location"))
        return None

    def _overlaps(self, on_deck: list[tuple[Placement, Rect]]) -> None:
        for i, (first, a) in enumerate(on_deck):
            for second, b in on_deck[i + 1:]:
                if first.slot is not None and first.slot == second.slot:
                    self.problem(second, "slot", f"slot {second.slot} is already taken by "
                                                 f"{first.label!r}")
                elif first.rails is not None and second.rails is not None:
                    if a.overlaps(b, FIT_TOLERANCE):
                        self.problem(second, "rails", f"rails {second.rails}-{second.rails + rails_width(b.size_x) - 1} "
                                                      f"collide with {first.label!r} at rails "
                                                      f"{first.rails}-{first.rails + rails_width(a.size_x) - 1}")
                elif a.overlaps(b, FIT_TOLERANCE):
                    field = "location" if second.location is not None else (
                        "rails" if second.rails is not None else "slot")
                    self.problem(second, field, f"footprint overlaps {first.label!r}")

    def _children(self, parent: Placement, children: list[Placement]) -> None:
        entry = self.entries.get(parent.index)
        if entry is None:
            return
        category = entry.get("category")
        sites: dict[int, Site] = {}
        if category in CARRIER_CATEGORIES:
            try:
                sites = sites_of(entry)
            except Exception as exc:  # noqa: BLE001 - PLR says why
                self.problem(parent, "resource", f"cannot read the sites of {entry['name']}: {exc}")
                return
        taken: dict[int, Placement] = {}
        placed: list[tuple[Placement, Rect]] = []
        for child in children:
            size = self._size(child)
            if child.rails is not None:
                self.problem(child, "rails", "rails place carriers on a deck; on a carrier give a slot")
            if child.slot is not None:
                if not sites:
                    self.problem(child, "slot", f"{parent.label!r} ({entry['name']}) has no numbered sites")
                    continue
                site = sites.get(child.slot)
                if site is None:
                    self.problem(child, "slot", f"slot {child.slot} is out of range "
                                                f"{min(sites)}-{max(sites)} of {parent.label!r}")
                    continue
                if child.slot in taken:
                    self.problem(child, "slot", f"slot {child.slot} of {parent.label!r} is already "
                                                f"taken by {taken[child.slot].label!r}")
                    continue
                taken[child.slot] = child
                if size is not None:
                    self._fit(child, size, site, f"slot {child.slot} of {parent.label!r}")
            elif child.location is not None:
                if size is not None:
                    loc = child.location
                    placed.append((child, Rect(loc["x"], loc["y"], size[0], size[1])))
            elif sites:
                self.problem(child, "slot", f"a resource on {parent.label!r} needs a slot "
                                            f"({min(sites)}-{max(sites)}) or a location")
            elif size is not None:
                placed.append((child, Rect(0, 0, size[0], size[1])))
                if category in HOLDER_CATEGORIES:
                    holder = entry["size"]
                    self._fit(child, size, Site(0, Rect(0, 0, holder["x"], holder["y"])),
                              f"{parent.label!r}")
        for i, (first, a) in enumerate(placed):
            for second, b in placed[i + 1:]:
                if a.overlaps(b, FIT_TOLERANCE):
                    self.problem(second, "location" if second.location is not None else "parent",
                                 f"footprint overlaps {first.label!r} on {parent.label!r}")

    def _fit(self, placement: Placement, size: tuple[float, float], site: Site, where: str) -> None:
        if size[0] > site.rect.size_x + FIT_TOLERANCE or size[1] > site.rect.size_y + FIT_TOLERANCE:
            self.problem(placement, "slot" if placement.slot is not None else "parent",
                         f"{placement.resource.rpartition('.')[2]} ({size[0]:g} x {size[1]:g} mm) "
                         f"does not fit {where} ({site.rect.size_x:g} x {site.rect.size_y:g} mm)")


def _short(fqn: str) -> str:
    return fqn.rpartition(".")[2]
