"""A plan made real: PLR's deck, machines and labware (with their inventory contents), and the values.

Nothing here decides: every machine, backend, location, labware type and inventory item comes
from the plan. The planner uses it to see the deck it decided on; a run uses it to get the
objects it hands to the protocol.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from browser_runtime.machines import SimulationError, build_machine, hardware_backend
from browser_runtime.runner.plans import Plan, PlanError

__all__ = ["Materialized", "apply_contents", "import_fqn", "labware_resource", "materialize", "untrack"]


@dataclass
class Materialized:
    deck: Any
    machines: dict[str, Any] = field(default_factory=dict)
    arguments: dict[str, Any] = field(default_factory=dict)
    contents: dict[str, dict[str, Any] | None] = field(default_factory=dict)  # labware -> applied


def import_fqn(fqn: str) -> Any:
    module, _, name = fqn.rpartition(".")
    return getattr(importlib.import_module(module), name)



def labware_resource(built: Materialized, parameter: str, labware: Any) -> Any:
    """The PLR resource of a planned labware parameter: on the deck where the layout put it, or
    made and put into the machine it starts in (a plate in the plate reader)."""
    holder = (labware.placement or {}).get("machine")
    if holder is None:
        return built.deck.get_resource(parameter)
    resource = import_fqn(labware.type)(name=parameter)
    built.machines[holder].assign_child_resource(resource)
    return resource


def apply_contents(resource: Any, asset: Any) -> dict[str, Any]:
    """Give labware the contents its inventory record says it has; returns them in words."""
    from pylabrobot.resources import Container, TipRack

    if isinstance(resource, TipRack):
        tips = asset.remaining_tips if asset.remaining_tips is not None else resource.num_items
        for index, spot in enumerate(resource.get_all_items()):
            has = spot.tracker.has_tip
            if index < tips and not has:
                spot.tracker.add_tip(spot.make_tip(), commit=True)
            elif index >= tips and has:
                spot.tracker.remove_tip(commit=True)
        return {"tips": min(tips, resource.num_items)}
    containers = [c for c in resource.children if isinstance(c, Container)]
    if isinstance(resource, Container):
        containers = [resource]
    volume = asset.remaining_volume_ul or 0.0
    if containers and volume:
        each = volume / len(containers)
        for container in containers:
            container.tracker.set_volume(min(each, container.max_volume))
        return {"volume_per_well_ul": round(min(each, containers[0].max_volume), 3)}
    return {"volume_per_well_ul": 0.0}


def untrack(resource: Any) -> None:
    """Contents unknown: PLR must not pretend to know them, so tracking is off for it."""
    for item in [resource, *resource.get_all_children()]:
        tracker = getattr(item, "tracker", None)
        if tracker is not None and not tracker.is_disabled:
            tracker.disable()


def build_planned_machine(catalog: Any, plan: Plan, parameter: str, deck: Any) -> Any:
    """The PLR frontend of one planned machine on its planned backend (not set up)."""
    choice = plan.machines[parameter]
    machine_deck = deck if choice.machine_kind == "liquid_handler" else None
    if choice.hardware:
        backend = hardware_backend(catalog, choice.machine_kind,
                                   {"backend": choice.backend, "kwargs": choice.backend_kwargs},
                                   f"backends.{parameter}")
    else:
        backend = import_fqn(choice.backend)()
    return build_machine(catalog, choice.machine_kind, parameter, backend=backend, deck=machine_deck,
                         hardware=choice.hardware)


def materialize(plan: Plan, catalog: Any, inventory: Any = None) -> Materialized:
    """Build what ``plan`` says: the deck, each machine (placed where planned), labware with contents."""
    from pylabrobot.resources import Coordinate, set_tip_tracking, set_volume_tracking

    from browser_runtime.deck import build_deck

    set_tip_tracking(True)
    set_volume_tracking(True)
    deck = build_deck(plan.deck_layout, catalog) if plan.deck_layout else None
    built = Materialized(deck=deck)
    problems = []
    for parameter, choice in plan.machines.items():
        try:
            machine = build_planned_machine(catalog, plan, parameter, deck)
        except SimulationError as error:
            problems.append({"parameter": parameter, "message": str(error)})
            continue
        if deck is not None and choice.location is not None:
            deck.assign_child_resource(machine, location=Coordinate(**choice.location))
        built.machines[parameter] = machine
        built.arguments[parameter] = machine
    if problems:
        raise PlanError("cannot build the planned machines: " + "; ".join(
            f"{p['parameter']}: {p['message']}" for p in problems), problems)
    for parameter, labware in plan.labware.items():
        if labware.optional_absent:
            built.arguments[parameter] = None
            continue
        resource = labware_resource(built, parameter, labware)
        if labware.asset_id is not None and inventory is not None:
            built.contents[parameter] = apply_contents(resource, inventory.asset(labware.asset_id))
        else:
            untrack(resource)
            built.contents[parameter] = None
        built.arguments[parameter] = resource
    for parameter, value in plan.values.items():
        built.arguments[parameter] = value.value
    return built
