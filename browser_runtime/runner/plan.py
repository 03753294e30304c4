"""From a protocol file and what the caller gave to a run that can start: every parameter resolved.

Machines resolve to registered machines whose capabilities cover the protocol's calls, and
are simulated with PLR's no-hardware backends. Resources are laid out on the deck (the
protocol's or the caller's layout, else auto-layout), built with PLR, and matched to
inventory items by the consumable assignment; an assigned item gives the labware its
starting contents (liquid, tips), an unassigned one runs with tracking off and is shown as
unknown. Values come from the caller, else their defaults. Anything that cannot be resolved
is a :class:`PlanError` that says which parameter and why. Reservations are taken for the
whole plan at once and released by ``PreparedRun.release``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from browser_runtime.errors import LabwrightError
from browser_runtime.machines import (
    SimulationError,
    build_machine,
    build_simulated_machine,
    hardware_backend,
)
from browser_runtime.runner.events import json_safe, jsonable
from browser_runtime.runner.run import load_protocol_function

DEFAULT_DECK = "pylabrobot.resources.hamilton.hamilton_decks.STARLetDeck"
#: How long a plan holds its reservations before the scheduler can say better.
DEFAULT_WINDOW = timedelta(hours=1)

_VALUE_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}


class PlanError(LabwrightError, ValueError):
    """A run that cannot be planned; ``problems`` lists each parameter or field and why."""

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclass
class PreparedRun:
    function: Callable[..., Any]
    arguments: dict[str, Any]
    machines: dict[str, Any]
    deck: Any
    plan: dict[str, Any]
    protocol_name: str
    function_name: str
    run_id: str
    _release: list[Callable[[], None]] = field(default_factory=list)

    def release(self) -> None:
        """Give back every reservation of this plan (safe to call more than once)."""
        while self._release:
            self._release.pop()()


def _choose_protocol(analysis: Any, function: str | None) -> Any:
    if not analysis.protocols:
        if analysis.errors:
            where = "; ".join(f"line {e.line}, column {e.column}: {e.message}" for e in analysis.errors)
            raise PlanError(f"{analysis.filename}: {where}", [e.__dict__ for e in analysis.errors])
        raise PlanError(f"{analysis.filename} has no @protocol_function")
    if function is None:
        if len(analysis.protocols) > 1:
            names = ", ".join(p.function for p in analysis.protocols)
            raise PlanError(f"{analysis.filename} has several protocols ({names}): say which one")
        return analysis.protocols[0]
    for protocol in analysis.protocols:
        if protocol.function == function:
            return protocol
    names = ", ".join(p.function for p in analysis.protocols)
    raise PlanError(f"{analysis.filename} has no protocol {function!r} (it has {names})")


def _coerce_value(parameter: Any, value: Any) -> Any:
    expected = _VALUE_TYPES.get((parameter.annotation or "").strip())
    if expected is None or value is None:
        return value
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise PlanError(
            f"parameter {parameter.name!r} must be {expected.__name__}, not {type(value).__name__}",
            [{"parameter": parameter.name, "message": f"expected {expected.__name__}"}],
        )
    return value


def _deck_layout(protocol: Any, deck: Any, catalog: Any, types: dict[str, str] | None = None) -> dict[str, Any]:
    from browser_runtime.deck import auto_layout, load_deck_layout, validate_deck_layout

    # Optional labware (``parking: Plate | None = None``) is not laid out: it gets None.
    optional = {p.name for p in protocol.parameters if p.optional}
    wanted: list[Any] = [r for r in protocol.requirements.resources
                         if r.parameter is not None and r.parameter not in optional]
    wanted = [{"parameter": r.parameter, "category": r.category, "type": types[r.parameter]}
              if r.parameter in (types or {}) else r for r in wanted]
    if isinstance(deck, dict):
        # The caller's layout: its placements stand; requirements it leaves out are added.
        base = load_deck_layout(deck)
        deck_fqn, deck_kwargs = base.deck, base.deck_kwargs
    else:
        base = None
        deck_fqn, deck_kwargs = deck or DEFAULT_DECK, {}
    laid_out = auto_layout(wanted, deck_fqn, catalog, deck_kwargs=deck_kwargs, layout=base)
    if laid_out.unplaced:
        raise PlanError(
            "cannot place on the deck: " + "; ".join(str(p) for p in laid_out.unplaced),
            [{"parameter": p.placement, "field": p.field, "message": p.message} for p in laid_out.unplaced],
        )
    problems = validate_deck_layout(laid_out.layout, catalog)
    if problems:
        raise PlanError(
            "the deck layout is invalid: " + "; ".join(str(p) for p in problems),
            [{"placement": p.placement, "field": p.field, "message": p.message} for p in problems],
        )
    return laid_out.layout


def _apply_contents(resource: Any, asset: Any) -> dict[str, Any]:
    """Give labware the contents its inventory record says it has."""
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


def _untrack(resource: Any) -> None:
    """Contents unknown: PLR must not pretend to know them, so tracking is off for it."""
    for item in [resource, *resource.get_all_children()]:
        tracker = getattr(item, "tracker", None)
        if tracker is not None and not tracker.is_disabled:
            tracker.disable()


def prepare_run(
    source: str,
    function: str | None,
    parameters: dict[str, Any],
    catalog: Any,
    *,
    filename: str = "protocol.py",
    deck: Any = None,
    inventory: Any = None,
    run_id: str | None = None,
    reserve: bool = True,
    assigned: dict[str, int] | None = None,
    backends: dict[str, Any] | None = None,
) -> PreparedRun:
    """Resolve every parameter of a protocol into a runnable call.

    ``assigned`` fixes parameters to inventory assets chosen elsewhere (the scheduler, which
    already holds them): those are used as they are, not looked up or reserved again.
    ``backends`` (hardware runs) gives every machine parameter a real PLR backend,
    ``{parameter: {"backend": fqn, "kwargs": {...}}}``; without it machines are simulated.
    """
    from pylabrobot.resources import set_tip_tracking, set_volume_tracking

    from browser_runtime.deck import build_deck
    from browser_runtime.inventory import ConsumableAssignmentService, ConsumableRequirement, TimeWindow
    from browser_runtime.inventory.store import utcnow
    from browser_runtime.protocols import analyze_source

    analysis = analyze_source(source, filename, catalog)
    protocol = _choose_protocol(analysis, function)
    by_name = {p.name: p for p in protocol.parameters}
    unknown = sorted(set(parameters) - set(by_name))
    if unknown:
        raise PlanError(
            f"{protocol.function} has no parameter(s) {', '.join(unknown)}",
            [{"parameter": name, "message": "not a parameter of this protocol"} for name in unknown],
        )
    run_id = run_id or uuid.uuid4().hex[:12]
    window = TimeWindow(utcnow(), utcnow() + DEFAULT_WINDOW)
    set_tip_tracking(True)
    set_volume_tracking(True)

    resource_parameters = [p for p in protocol.parameters if p.kind == "resource"]
    required_resources = [p for p in resource_parameters if not p.optional]
    fixed = _fixed_assets(inventory, assigned or {}, by_name)
    # Labware fixed to an inventory item is laid out as that item's own type (its geometry).
    types = {name: choice.catalog_fqn for name, choice in fixed.items() if by_name[name].kind == "resource"}
    layout = _deck_layout(protocol, deck, catalog, types) if required_resources or deck else None
    plr_deck = build_deck(layout, catalog) if layout else None
    plan: dict[str, Any] = {"run_id": run_id, "protocol": protocol.name, "function": protocol.function,
                            "parameters": {}, "deck_layout": layout, "assignment": None}
    prepared = PreparedRun(
        function=load_protocol_function(source, filename, protocol.function),
        arguments={},
        machines={},
        deck=plr_deck,
        plan=plan,
        protocol_name=protocol.name,
        function_name=protocol.function,
        run_id=run_id,
    )
    problems: list[dict[str, Any]] = []

    # Machines: a registered machine that covers the protocol's calls, simulated.
    machine_requirements = {m.parameter: m for m in protocol.requirements.machines}
    machine_assets: dict[str, Any] = {}
    machine_assets.update({name: choice for name, choice in fixed.items() if by_name[name].kind == "machine"})
    # A hardware run's machines are the instruments given, not the inventory's simulated ones.
    to_resolve = [] if backends is not None else [
        m for name, m in machine_requirements.items() if name not in machine_assets]
    if inventory is not None and to_resolve:
        service = ConsumableAssignmentService(inventory, catalog)
        registered_kinds = {asset.machine_kind for asset in inventory.assets(kind="machine")}
        for choice in service.resolve_machines(to_resolve, window):
            if choice.assigned:
                machine_assets[choice.requirement] = choice
            elif machine_requirements[choice.requirement].machine_kind in registered_kinds:
                # The lab has machines of this kind, but none can do what the protocol asks.
                problems.append({"parameter": choice.requirement, "message": "; ".join(choice.reasons)})
            # No machine of this kind registered at all: a simulation still runs, unassigned.
    if backends is not None:
        unknown = sorted(set(backends) - {p.name for p in protocol.parameters if p.kind == "machine"})
        problems += [{"parameter": name, "message": "is not a machine parameter of this protocol"}
                     for name in unknown]
    for parameter in (p for p in protocol.parameters if p.kind == "machine"):
        requirement = machine_requirements.get(parameter.name)
        machine_deck = plr_deck if parameter.machine_kind == "liquid_handler" else None
        try:
            if backends is None:
                machine = build_simulated_machine(catalog, parameter.machine_kind, parameter.name,
                                                  deck=machine_deck)
            elif parameter.name not in backends:
                raise SimulationError("a hardware run needs a backend for every machine; none given")
            else:
                backend = hardware_backend(catalog, parameter.machine_kind, backends[parameter.name],
                                           f"backends.{parameter.name}")
                machine = build_machine(catalog, parameter.machine_kind, parameter.name, backend=backend,
                                        deck=machine_deck, hardware=True)
        except SimulationError as error:
            problems.append({"parameter": parameter.name, "message": str(error)})
            continue
        prepared.machines[parameter.name] = machine
        prepared.arguments[parameter.name] = machine
        asset = machine_assets.get(parameter.name)
        plan["parameters"][parameter.name] = {
            "kind": "machine",
            "machine_kind": parameter.machine_kind,
            "capabilities": requirement.capabilities if requirement else [],
            "backend": f"{type(machine.backend).__module__}.{type(machine.backend).__qualname__}",
            "hardware": backends is not None,
            "asset": asset.asset_name if asset else None,
            "reasons": asset.reasons if asset else (
                [f"hardware: {type(machine.backend).__name__}, IO through the page's web bridge"]
                if backends is not None else []),
        }

    # Machines that are also resources (a plate reader, a heater-shaker) stand on the liquid
    # handler's deck, so the protocol can move plates to them with the gripper.
    if plr_deck is not None:
        for parameter, machine in prepared.machines.items():
            if parameter in plan["parameters"] and _is_resource(machine) and machine is not plr_deck:
                location = _free_spot(plr_deck, machine)
                if location is None:
                    problems.append({"parameter": parameter, "message": "no free space on the deck for it"})
                    continue
                plr_deck.assign_child_resource(machine, location=location)
                plan["parameters"][parameter]["location"] = jsonable(location)

    # Resources: placed on the deck, contents from the inventory item assigned to each.
    needs = []
    placed = {p["name"]: p for p in (layout or {}).get("placements", [])}
    for parameter in resource_parameters:
        placement = placed.get(parameter.name)
        if placement is None or plr_deck is None:
            if parameter.optional:
                prepared.arguments[parameter.name] = None
                plan["parameters"][parameter.name] = {"kind": "resource", "value": None}
            else:
                problems.append({"parameter": parameter.name, "message": "not placed on the deck"})
            continue
        needs.append(ConsumableRequirement(name=parameter.name, category=parameter.category,
                                           type=placement["resource"]))
    assignment = None
    open_needs = [need for need in needs if need.name not in fixed]
    if inventory is not None and open_needs:
        assignment = ConsumableAssignmentService(inventory, catalog).assign(open_needs, window)
        plan["assignment"] = jsonable(assignment.to_dict())
    chosen = {a.requirement: a for a in assignment.assignments} if assignment else {}
    chosen.update({name: choice for name, choice in fixed.items() if by_name[name].kind == "resource"})
    untracked = []
    for need in needs:
        resource = plr_deck.get_resource(need.name)
        prepared.arguments[need.name] = resource
        choice = chosen.get(need.name)
        entry: dict[str, Any] = {"kind": "resource", "category": need.category, "type": need.type,
                                 "placement": placed[need.name]}
        if choice is not None and choice.assigned:
            asset = inventory.asset(choice.asset_id)
            entry.update(asset=asset.name, asset_id=asset.id, contents=_apply_contents(resource, asset),
                         reasons=choice.reasons, score=choice.score)
        else:
            _untrack(resource)
            untracked.append(need.name)
            entry.update(asset=None, contents=None,
                         reasons=choice.reasons if choice else ["no inventory to assign from"])
        plan["parameters"][need.name] = entry
    plan["untracked"] = untracked

    # Values: the caller's, else the default.
    for parameter in (p for p in protocol.parameters if p.kind == "value"):
        if parameter.name in parameters:
            value = _coerce_value(parameter, parameters[parameter.name])
        elif parameter.has_default:
            value = parameter.default
            if value is None and parameter.default_source not in (None, "None"):
                problems.append({"parameter": parameter.name,
                                 "message": f"its default {parameter.default_source} is not a literal; give a value"})
                continue
        elif parameter.optional:
            value = None
        else:
            problems.append({"parameter": parameter.name, "message": "has no default: give a value"})
            continue
        prepared.arguments[parameter.name] = value
        plan["parameters"][parameter.name] = {"kind": "value", "value": jsonable(value)}

    if problems:
        raise PlanError(
            "cannot resolve " + "; ".join(f"{p['parameter']}: {p['message']}" for p in problems), problems
        )

    # Reserve the whole plan at once (machines and labware), released when the run ends.
    if inventory is not None and reserve:
        asset_ids = [a.asset_id for a in machine_assets.values()]
        asset_ids += [a.asset_id for a in chosen.values() if a.assigned]
        asset_ids = [asset_id for asset_id in asset_ids if asset_id not in (assigned or {}).values()]
        if asset_ids:
            inventory.reserve(run_id, asset_ids, window)
            prepared._release.append(lambda: inventory.release(run_id, "run ended"))
    if plr_deck is not None:
        plan["deck"] = json_safe(plr_deck.serialize())
        plan["deck_state"] = {
            name: json_safe(state) for name, state in plr_deck.serialize_all_state().items()
            if "volume" in state or "tip" in state
        }
    return prepared


@dataclass
class _Fixed:
    """An asset the caller chose for a parameter (shaped like the assignment service's choices)."""

    requirement: str
    asset_id: int
    asset_name: str
    reasons: list[str]
    catalog_fqn: str = ""
    score: float | None = None
    assigned: bool = True


def _fixed_assets(inventory: Any, assigned: dict[str, int], by_name: dict[str, Any]) -> dict[str, _Fixed]:
    from browser_runtime.inventory.store import InventoryError

    problems = []
    fixed: dict[str, _Fixed] = {}
    for name, asset_id in assigned.items():
        if name not in by_name or by_name[name].kind not in ("machine", "resource"):
            problems.append({"parameter": name, "message": "is not a machine or labware parameter"})
            continue
        try:
            if inventory is None:
                raise InventoryError("there is no inventory")
            asset = inventory.asset(asset_id)
        except InventoryError as error:
            problems.append({"parameter": name, "message": f"asset {asset_id}: {error}"})
            continue
        fixed[name] = _Fixed(name, asset.id, asset.name, ["held for this run by the schedule"], asset.catalog_fqn)
    if problems:
        raise PlanError("cannot use the assigned assets: " + "; ".join(
            f"{p['parameter']}: {p['message']}" for p in problems), problems)
    return fixed


def _is_resource(machine: Any) -> bool:
    from pylabrobot.resources import Resource

    return isinstance(machine, Resource) and not hasattr(machine, "deck")


def _free_spot(deck: Any, machine: Any) -> Any:
    """The first place right of everything on the deck's working area where ``machine`` fits.

    Measured from the deck's own children, front row (y of the first carrier) upwards, so a
    simulated instrument never overlaps real labware."""
    from pylabrobot.resources import Coordinate

    occupied = [child for child in deck.children if child.location is not None
                and child.name not in ("trash", "trash_core96", "waste_block", "teaching_rack")]
    right = max((c.location.x + c.get_absolute_size_x() for c in occupied), default=100.0)
    y = min((c.location.y for c in occupied), default=63.0)
    z = min((c.location.z for c in occupied), default=100.0)
    x = right + 10.0
    limit = getattr(deck, "get_size_x", lambda: None)() or 0
    trash = [c for c in deck.children if c.name in ("trash", "waste_block")]
    if trash:
        limit = min(c.location.x for c in trash if c.location is not None)
    if x + machine.get_absolute_size_x() > limit:
        return None
    return Coordinate(x, y, z)
