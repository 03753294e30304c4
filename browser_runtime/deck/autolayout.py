"""Auto-layout: place a protocol's labware on a Hamilton STAR/STARlet (carriers on rails) or an
OT-2 (numbered slots) using catalog geometry, returning an editable layout document."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from .geometry import DeckGeometry, deck_geometry, rails_width, sites_of
from .layout import DeckLayout, DeckLayoutError, Problem, load_deck_layout
from .validate import FIT_TOLERANCE, validate_deck_layout

# What a lab would put out by default when the protocol only says "a plate". Looked up in the
# catalog (so they carry PLR's geometry); if one is missing the catalog's best match is used.
_DEFAULT_LABWARE = {
    "plate": "pylabrobot.resources.corning.plates.cor_96_wellplate_360uL_Fb",
    "tip_rack": "pylabrobot.resources.hamilton.tip_racks.hamilton_96_tiprack_1000uL_filter",
    "trough": "pylabrobot.resources.hamilton.troughs.hamilton_1_trough_200mL_Vb",
}
_CARRIER_FOR = {"plate": "plate_carrier", "tip_rack": "tip_carrier", "trough": "trough_carrier",
                "tube_rack": "tube_carrier", "tube": "tube_carrier", "plate_adapter": "plate_carrier",
                "lid": "plate_carrier"}
_DEFAULT_CARRIER = {
    "plate_carrier": "pylabrobot.resources.hamilton.plate_carriers.PLT_CAR_L5AC_A00",
    "tip_carrier": "pylabrobot.resources.hamilton.tip_carriers.TIP_CAR_480_A00",
    "trough_carrier": "pylabrobot.resources.hamilton.trough_carriers.Trough_CAR_4R200_A00",
    "tube_carrier": "pylabrobot.resources.hamilton.tube_carriers.Tube_CAR_24_A00",
}
_MANUFACTURER_RANK = {"hamilton": 0, "corning": 1, "opentrons": 2}


@dataclasses.dataclass
class AutoLayout:
    layout: dict[str, Any]
    unplaced: list[Problem]  # requirements auto-layout could not place, and why


def _field(requirement: Any, key: str) -> Any:
    return requirement.get(key) if isinstance(requirement, dict) else getattr(requirement, key, None)


def _labware(requirement: Any, catalog: Any, fits: Any) -> dict | None:
    """The concrete factory for a requirement: its own type if that is one, else a default."""
    entry = catalog.get(_field(requirement, "type") or "")
    if entry and catalog.section_of(entry["fqn"]) == "resources" and entry.get("kind") == "factory" \
            and entry.get("size"):
        return entry
    category = _field(requirement, "category") or (entry or {}).get("category")
    default = catalog.get(_DEFAULT_LABWARE.get(category, ""))
    if default and default.get("size") and fits(default):
        return default
    candidates = _fitting(catalog, category, fits)
    return candidates[0] if candidates else None


def default_labware(requirement: Any, catalog: Any) -> dict | None:
    """The definition auto-layout would lay out for a requirement anywhere (its own type if that
    is one, else the category's default): what labware that starts inside a machine is."""
    return _labware(requirement, catalog, lambda entry: True)


def _fitting(catalog: Any, category: str | None, fits: Any) -> list[dict]:
    candidates = [e for e in catalog.by_category(category or "") if e.get("kind") == "factory"
                  and e.get("size") and not e.get("deprecated") and not e.get("error") and fits(e)]
    candidates.sort(key=lambda e: (_MANUFACTURER_RANK.get(e.get("manufacturer"), 9), e["fqn"]))
    return candidates


def labware_definitions(category: str | None, deck: str, catalog: Any, *,
                        deck_kwargs: dict | None = None) -> list[dict]:
    """The catalog's labware definitions of ``category`` auto-layout can place on ``deck`` (built
    from a factory, with geometry; fitting a free slot on a slot deck, a carrier on a rail deck):
    what a user may choose for a labware parameter, the automatic choice's ranking first."""
    geometry = deck_geometry(catalog.get(deck), dict(deck_kwargs or {}))
    if geometry.slots:
        fits = _slot_fit(geometry)
    else:
        carrier = _CARRIER_FOR.get(category or "")
        fits = (lambda entry: carrier is not None and _carrier(carrier, entry, catalog) is not None)
    return _fitting(catalog, category, fits)


_MODELS: dict[int, list[dict]] = {}


def deck_models(catalog: Any) -> list[dict]:
    """The decks auto-layout can lay out a plate and a tip rack on (built without arguments): the
    liquid handler models a plan can be made for (a STAR and a STARlet differ by their deck)."""
    key = id(catalog.document) if hasattr(catalog, "document") else id(catalog)
    if key not in _MODELS:
        _MODELS.clear()  # one catalog at a time
        _MODELS[key] = _deck_models(catalog)
    return _MODELS[key]


def _deck_models(catalog: Any) -> list[dict]:
    models = []
    probe = [{"parameter": "plate", "category": "plate"}, {"parameter": "tips", "category": "tip_rack"}]
    for entry in catalog.entries("decks"):
        if entry.get("skipped") or entry.get("error") or not entry.get("serialized"):
            continue
        try:
            if auto_layout(probe, entry["fqn"], catalog).unplaced:
                continue
        except Exception:  # noqa: BLE001 - a deck auto-layout cannot fill is not a model to offer
            continue
        models.append({"fqn": entry["fqn"], "name": entry["name"], "manufacturer": entry.get("manufacturer"),
                       "rails": entry.get("rails"), "slots": len(entry.get("slots") or []) or None})
    models.sort(key=lambda m: (_MANUFACTURER_RANK.get(m["manufacturer"], 9), m["manufacturer"] or "", m["name"]))
    return models


def _carrier(category: str, child: dict, catalog: Any) -> tuple[dict, int] | None:
    """A carrier whose every site holds ``child``, and its site count."""
    def usable(entry: dict | None) -> int:
        if not entry or not entry.get("size") or entry.get("kind") != "factory":
            return 0
        try:
            sites = sites_of(entry)
        except Exception:  # noqa: BLE001 - a carrier PLR cannot build is not a candidate
            return 0
        size = child["size"]
        if sites and all(size["x"] <= s.rect.size_x + FIT_TOLERANCE
                         and size["y"] <= s.rect.size_y + FIT_TOLERANCE for s in sites.values()):
            return len(sites)
        return 0

    default = catalog.get(_DEFAULT_CARRIER.get(category, ""))
    if usable(default):
        return default, usable(default)
    ranked = sorted((e for e in catalog.by_category(category) if not e.get("deprecated")),
                    key=lambda e: (_MANUFACTURER_RANK.get(e.get("manufacturer"), 9), e["fqn"]))
    for entry in ranked:
        count = usable(entry)
        if count:
            return entry, count
    return None


def auto_layout(requirements: list[Any], deck: str, catalog: Any, *, deck_kwargs: dict | None = None,
                layout: DeckLayout | dict | None = None) -> AutoLayout:
    """Place each resource requirement (``ResourceRequirement`` or dicts with parameter/name,
    category, type) on ``deck``. Placements already in ``layout`` are kept exactly as given."""
    deck_entry = catalog.get(deck)
    if deck_entry is None or catalog.section_of(deck) != "decks":
        raise DeckLayoutError(f"auto-layout: {deck!r} is not a deck PLR defines")
    deck_kwargs = dict(deck_kwargs or {})
    geometry = deck_geometry(deck_entry, deck_kwargs)
    base = load_deck_layout(layout) if isinstance(layout, dict) else layout
    placements = [p.to_dict() for p in base.placements] if base else []
    taken_names = {p["name"] for p in placements}
    unplaced: list[Problem] = []
    wanted: list[tuple[str, dict]] = []
    for index, requirement in enumerate(requirements):
        name = _field(requirement, "parameter") or _field(requirement, "name") or \
            f"{_field(requirement, 'category') or 'resource'}_{index + 1}"
        if name in taken_names:
            continue  # explicitly placed already
        taken_names.add(name)
        fits = _slot_fit(geometry) if geometry.slots else (lambda entry: True)
        entry = _labware(requirement, catalog, fits)
        if entry is None:
            unplaced.append(Problem(name, "resource", f"no labware of category "
                                                      f"{_field(requirement, 'category')!r} with "
                                                      "known geometry fits this deck"))
            continue
        wanted.append((name, entry))
    if geometry.slots:
        _fill_slots(geometry, wanted, placements, unplaced)
    elif geometry.num_rails is not None and geometry.rails_origin is not None:
        _fill_rails(geometry, wanted, placements, unplaced, catalog)
    else:
        raise DeckLayoutError(f"auto-layout places labware on Hamilton decks (rails) and the OT-2 "
                              f"(slots); {deck_entry['name']} has neither it knows")
    document = {"deck": deck, "deck_kwargs": deck_kwargs, "placements": placements}
    problems = validate_deck_layout(document, catalog)
    if problems:
        # Explicit placements from ``layout`` can be wrong; auto-placed ones never should be.
        raise DeckLayoutError("the layout has problems: " + "; ".join(str(p) for p in problems), problems)
    return AutoLayout(document, unplaced)


def _slot_fit(geometry: DeckGeometry) -> Any:
    sizes = [s.rect for s in geometry.slots.values() if not s.occupied_by]
    return lambda entry: any(entry["size"]["x"] <= r.size_x + FIT_TOLERANCE
                             and entry["size"]["y"] <= r.size_y + FIT_TOLERANCE for r in sizes)


def _fill_slots(geometry: DeckGeometry, wanted: list[tuple[str, dict]], placements: list[dict],
                unplaced: list[Problem]) -> None:
    used = {p.get("slot") for p in placements if p.get("parent") is None}
    free = [n for n, site in sorted(geometry.slots.items()) if not site.occupied_by and n not in used]
    for name, entry in wanted:
        slot = next((n for n in free if entry["size"]["x"] <= geometry.slots[n].rect.size_x + FIT_TOLERANCE
                     and entry["size"]["y"] <= geometry.slots[n].rect.size_y + FIT_TOLERANCE), None)
        if slot is None:
            unplaced.append(Problem(name, "slot", "no free slot left on the deck"))
            continue
        free.remove(slot)
        placements.append({"name": name, "resource": entry["fqn"], "slot": slot})


def _fill_rails(geometry: DeckGeometry, wanted: list[tuple[str, dict]], placements: list[dict],
                unplaced: list[Problem], catalog: Any) -> None:
    spans: list[tuple[int, int]] = []
    for placement in placements:
        entry = catalog.get(placement.get("resource") or "")
        if placement.get("parent") is None and placement.get("rails") is not None and entry:
            start = placement["rails"]
            spans.append((start, start + rails_width(entry["size"]["x"]) - 1))
    # One carrier per kind at a time, filled site by site, in the order the protocol names them.
    open_carriers: dict[str, tuple[str, int, int]] = {}  # category -> (name, sites, next site)
    counter = 0
    for name, entry in wanted:
        category = _CARRIER_FOR.get(entry.get("category") or "")
        if category is None:
            unplaced.append(Problem(name, "resource", f"auto-layout has no carrier for "
                                                      f"{entry.get('category')!r} labware"))
            continue
        current = open_carriers.get(category)
        if current is None or current[2] >= current[1] or current[0] == "":
            chosen = _carrier(category, entry, catalog)
            if chosen is None:
                unplaced.append(Problem(name, "resource", f"no {category} holds {entry['name']}"))
                continue
            carrier, sites = chosen
            width = rails_width(carrier["size"]["x"])
            start = _free_rails(geometry, spans, width, carrier["size"]["x"])
            if start is None:
                unplaced.append(Problem(name, "rails", f"no free rails left for another "
                                                       f"{carrier['name']} ({width} rails)"))
                continue
            spans.append((start, start + width - 1))
            counter += 1
            carrier_name = f"{category}_{counter}"
            while any(p["name"] == carrier_name for p in placements):
                counter += 1
                carrier_name = f"{category}_{counter}"
            placements.append({"name": carrier_name, "resource": carrier["fqn"], "rails": start})
            current = (carrier_name, sites, 0)
        placements.append({"name": name, "resource": entry["fqn"], "parent": current[0],
                           "slot": current[2]})
        open_carriers[category] = (current[0], current[1], current[2] + 1)


def _free_rails(geometry: DeckGeometry, spans: list[tuple[int, int]], width: int,
                size_x: float) -> int | None:
    for start in range(1, (geometry.num_rails or 0) + 1):
        end = start + width - 1
        if geometry.rails_x(start) + size_x > (geometry.rails_limit_x or 0) + FIT_TOLERANCE:
            return None
        if all(end < a or start > b for a, b in spans):
            return start
    return None


def plan_deck(protocol: Any, deck: str, catalog: Any, base_dir: str | Path | None = None) -> AutoLayout:
    """The deck for a protocol: its ``deck_layout_path`` layout (validated) when it names one,
    else an auto-layout of its resource requirements."""
    path = _field(protocol, "deck_layout_path")
    if path:
        full = Path(base_dir or ".") / path
        layout = load_deck_layout(full)
        problems = validate_deck_layout(layout, catalog)
        if problems:
            raise DeckLayoutError(f"{full}: " + "; ".join(str(p) for p in problems), problems)
        return AutoLayout(layout.to_dict(), [])
    requirements = _field(protocol, "requirements")
    resources = _field(requirements, "resources") if requirements is not None else []
    return auto_layout(list(resources or []), deck, catalog)
