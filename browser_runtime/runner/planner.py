"""The planner: a protocol file and what the caller gave, resolved step by step into a ``Plan``.

Steps, each its own method: the protocol (static analysis: nothing of the user's code runs
while planning), its values (types and declared limits), the deck layout (the caller's or
the protocol's, completed by auto-layout), the machines (registered ones whose capabilities
cover the protocol's calls, simulated with PLR's no-hardware backends, or the real backends a
hardware run names), where machines that are also resources stand, and the labware (placed,
matched to inventory items by the consumable assignment, contents from the item). Problems
of every step are gathered and raised together as one ``PlanError``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from browser_runtime.runner import constraints
from browser_runtime.runner.events import json_safe, jsonable
from browser_runtime.machines import SimulationError, hardware_backend, simulator_backend_for
from browser_runtime.runner.materialize import import_fqn, materialize
from browser_runtime.runner.plans import (
    LabwareChoice,
    MachineChoice,
    Plan,
    PlanError,
    PlanInputs,
    ValueChoice,
)

__all__ = ["DEFAULT_DECK", "DEFAULT_WINDOW", "Planner", "choose_protocol"]

DEFAULT_DECK = "pylabrobot.resources.hamilton.hamilton_decks.STARLetDeck"
#: How long a run holds its reservations before the scheduler can say better.
DEFAULT_WINDOW = timedelta(hours=1)
# Deck children that are part of the deck itself, not labware a machine must keep clear of.
_FIXTURES = ("trash", "trash_core96", "waste_block", "teaching_rack")


def choose_protocol(analysis: Any, function: str | None) -> Any:
    """The protocol of an analysed file that ``function`` names (the only one when None)."""
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


class Planner:
    """Makes plans against one catalog and (optionally) one inventory."""

    def __init__(self, catalog: Any, inventory: Any = None, *, window: timedelta = DEFAULT_WINDOW) -> None:
        self.catalog = catalog
        self.inventory = inventory
        self.window = window

    def plan(self, inputs: PlanInputs, *, protocol: Any = None) -> Plan:
        """Resolve every parameter; ``protocol`` skips the analysis when the caller already has it."""
        from browser_runtime.inventory.store import utcnow

        protocol = protocol or self.protocol(inputs)
        plan = Plan(plan_id=uuid.uuid4().hex[:12], inputs=inputs, protocol=protocol.name,
                    function=protocol.function, created_at=utcnow(),
                    parameter_order=[p.name for p in protocol.parameters],
                    data_views=[jsonable(view.__dict__) for view in protocol.data_views])
        by_name = {p.name: p for p in protocol.parameters}
        problems: list[dict[str, Any]] = []
        unknown = sorted(set(inputs.parameters) - set(by_name))
        if unknown:
            raise PlanError(f"{protocol.function} has no parameter(s) {', '.join(unknown)}",
                            [{"parameter": name, "message": "not a parameter of this protocol"}
                             for name in unknown])
        items = {name: v for name, v in (inputs.chosen or {}).items() if not isinstance(v, str)}
        fixed = {**self._fixed_assets(items, by_name, "chosen by you"),
                 **self._fixed_assets(inputs.assigned or {}, by_name, "held for this run by the schedule")}
        definitions = self._definitions(inputs.chosen or {}, by_name)
        held = self._held(protocol, fixed, definitions)
        self._values(plan, protocol, inputs, problems)
        self._deck(plan, protocol, inputs, fixed, definitions, held)
        self._machines(plan, protocol, inputs, fixed, problems)
        if problems:
            raise _problems(problems)
        built = self._stand_machines(plan, problems)
        self._labware(plan, protocol, fixed, problems, held)
        if problems:
            raise _problems(problems)
        self._show_deck(plan, built)
        self._candidates(plan, protocol)
        self._models_and_definitions(plan, protocol)
        return plan

    def _held(self, protocol: Any, fixed: dict[str, Any], definitions: dict[str, str]) -> dict[str, dict[str, Any]]:
        """Plates that start inside a machine, not on the deck: a plate the protocol's code never
        names is only worked on by a machine that holds it (a plate reader reads the plate in it),
        so it starts in the protocol's one machine that holds plates. ``{labware: placement}``."""
        from pylabrobot.resources import ResourceHolder

        from browser_runtime.deck import default_labware
        from browser_runtime.machines import frontend_for

        holders = []
        for parameter in (p for p in protocol.parameters if p.kind == "machine"):
            try:
                frontend = import_fqn(frontend_for(self.catalog, parameter.machine_kind)["fqn"])
            except (SimulationError, ImportError, AttributeError):
                continue
            if isinstance(frontend, type) and issubclass(frontend, ResourceHolder):
                holders.append(parameter.name)
        unhandled = [r for r in protocol.requirements.resources if r.parameter is not None and not r.handled
                     and not r.multiple and r.category == "plate"]
        if len(holders) != 1 or not unhandled:
            return {}  # none, or which machine holds it is not the protocol's to say: on the deck
        requirement = unhandled[0]  # a holder takes one plate
        name = requirement.parameter
        fqn = fixed[name].catalog_fqn if name in fixed else definitions.get(name)
        entry = self.catalog.get(fqn) if fqn else default_labware(requirement, self.catalog)
        if entry is None:
            return {}
        return {name: {"name": name, "resource": entry["fqn"], "machine": holders[0]}}

    def _definitions(self, chosen: dict[str, Any], by_name: dict[str, Any]) -> dict[str, str]:
        """The labware definitions the user chose (a catalog fqn for a labware parameter), checked:
        a definition of PLR's catalog, of the category the protocol asks for."""
        definitions: dict[str, str] = {}
        problems = []
        for name, fqn in chosen.items():
            if not isinstance(fqn, str):
                continue
            parameter = by_name.get(name)
            entry = self.catalog.get(fqn)
            if parameter is None or parameter.kind != "resource":
                problems.append({"parameter": name, "message": "a labware definition is chosen for labware "
                                 "parameters only (machines: choose the deck, or an inventory item)"})
            elif entry is None or self.catalog.section_of(fqn) != "resources":
                problems.append({"parameter": name, "message": f"{fqn!r} is not a labware definition PLR has"})
            elif parameter.category and entry.get("category") != parameter.category:
                problems.append({"parameter": name, "message": f"{entry['name']} is a {entry.get('category')}; "
                                 f"{name} needs a {parameter.category}"})
            else:
                definitions[name] = entry["fqn"]
        if problems:
            raise PlanError("cannot use the chosen definitions: " + "; ".join(
                f"{p['parameter']}: {p['message']}" for p in problems), problems)
        return definitions

    def _models_and_definitions(self, plan: Plan, protocol: Any) -> None:
        """What the user may choose from the catalog: the deck (the model: a STAR or a STARlet, an
        OT-2) for each liquid handler, the labware definitions that fit for each labware parameter."""
        from browser_runtime.deck import deck_models, labware_definitions

        layout = plan.deck_layout
        if layout is None:
            return
        for name, machine in plan.machines.items():
            if machine.machine_kind == "liquid_handler":
                plan.models[name] = deck_models(self.catalog)
        for parameter in (p for p in protocol.parameters if p.kind == "resource" and p.category):
            found = labware_definitions(parameter.category, layout["deck"], self.catalog,
                                        deck_kwargs=layout.get("deck_kwargs"))
            plan.definitions[parameter.name] = [
                {"fqn": e["fqn"], "name": e["name"], "manufacturer": e.get("manufacturer")} for e in found]

    def _candidates(self, plan: Plan, protocol: Any) -> None:
        """What the user may pick instead: available items of each labware parameter's category
        (soonest expiry first) and machines of each machine parameter's kind."""
        if self.inventory is None:
            return
        assets = self.inventory.assets(status="available")
        category = {a.id: (self.catalog.get(a.catalog_fqn) or {}).get("category") for a in assets if a.kind == "labware"}

        def row(asset: Any) -> dict[str, Any]:
            return {"id": asset.id, "name": asset.name, "type": asset.catalog_fqn, "lot": asset.lot,
                    "expires_at": asset.expires_at.isoformat() if asset.expires_at else None}

        for parameter in protocol.parameters:
            if parameter.kind == "machine":
                found = [a for a in assets if a.kind == "machine" and a.machine_kind == parameter.machine_kind]
            elif parameter.kind == "resource" and parameter.category:
                found = [a for a in assets if category.get(a.id) == parameter.category]
                found.sort(key=lambda a: (a.expires_at is None, a.expires_at or 0, a.id))
            else:
                continue
            if found:
                plan.candidates[parameter.name] = [row(a) for a in found]

    # ---- steps --------------------------------------------------------------------------------

    def plan_script(self, inputs: PlanInputs, analysis: Any) -> Plan:
        """A plain script's plan: the machines it builds, each on its kind's PLR simulator."""
        from browser_runtime.inventory.store import utcnow
        from browser_runtime.protocols.scripts import simulated_script

        if not inputs.simulate:
            raise PlanError(f"{inputs.filename} is a plain script: it runs in simulation only; to run it on "
                            "devices, turn it into a @protocol_function (its machines become parameters)")
        if inputs.parameters or inputs.deck:
            raise PlanError(f"{inputs.filename} is a plain script: it takes no parameters and builds its own deck")
        source, swaps, script = simulated_script(inputs.source, inputs.filename, self.catalog)
        plan = Plan(plan_id=uuid.uuid4().hex[:12], inputs=inputs, protocol=inputs.filename.rsplit("/", 1)[-1],
                    function="<script>", created_at=utcnow(), script_source=source,
                    swaps=[{"variable": s.variable, "machine_kind": s.machine_kind, "backend": s.backend,
                            "line": s.line} for s in swaps])
        swapped = {s.variable: s for s in swaps}
        problems = []
        for machine in script.machines:
            try:
                simulator = simulator_backend_for(self.catalog, machine.machine_kind)["fqn"]
            except SimulationError as error:
                problems.append({"parameter": machine.variable, "message": str(error)})
                continue
            built = machine.backend.rpartition(".")[2] if machine.backend else "its backend"
            reasons = ([f"the script builds {built}; in simulation it runs on {simulator.rpartition('.')[2]}"]
                       if machine.variable in swapped else [f"the script builds {built}, a simulator already"])
            plan.machines[machine.variable] = MachineChoice(
                parameter=machine.variable, machine_kind=machine.machine_kind, capabilities=machine.capabilities,
                backend=simulator if machine.variable in swapped else (machine.backend or simulator),
                hardware=False, reasons=reasons)
            plan.parameter_order.append(machine.variable)
        if problems:
            raise _problems(problems)
        return plan

    def protocol(self, inputs: PlanInputs) -> Any:
        from browser_runtime.protocols import analyze_source

        return choose_protocol(analyze_source(inputs.source, inputs.filename, self.catalog), inputs.function)

    def _values(self, plan: Plan, protocol: Any, inputs: PlanInputs, problems: list[dict[str, Any]]) -> None:
        """The caller's value or the default, of the annotation's type and within declared limits."""
        for parameter in (p for p in protocol.parameters if p.kind == "value"):
            declared = (protocol.param_metadata.get(parameter.name) or {}).get("constraints") or None
            if parameter.name in inputs.parameters:
                value, problem = constraints.coerce(parameter.name, parameter.annotation,
                                                    inputs.parameters[parameter.name])
                if problem:
                    problems.append({"parameter": parameter.name, "message": problem,
                                     "value": jsonable(inputs.parameters[parameter.name])})
                    continue
            elif parameter.has_default:
                value = parameter.default
                if value is None and parameter.default_source not in (None, "None"):
                    problems.append({"parameter": parameter.name, "message":
                                     f"its default {parameter.default_source} is not a literal; give a value"})
                    continue
            elif parameter.optional:
                value = None
            else:
                problems.append({"parameter": parameter.name, "message": "has no default: give a value"})
                continue
            for problem in constraints.violations(parameter.name, value, declared):
                problems.append({"parameter": parameter.name, "message": problem, "value": jsonable(value),
                                 "constraints": declared})
            plan.values[parameter.name] = ValueChoice(parameter.name, jsonable(value), declared)

    def _deck(self, plan: Plan, protocol: Any, inputs: PlanInputs, fixed: dict[str, Any],
              definitions: dict[str, str], held: dict[str, dict[str, Any]]) -> None:
        from browser_runtime.deck import DeckLayoutError, auto_layout, load_deck_layout, validate_deck_layout

        by_name = {p.name: p for p in protocol.parameters}
        # Labware of a chosen definition, or fixed to an inventory item, is laid out as that type
        # (its geometry); an item's own type wins over a definition.
        types = {**definitions, **{name: choice.catalog_fqn for name, choice in fixed.items()
                                   if by_name[name].kind == "resource"}}
        optional = {p.name for p in protocol.parameters if p.optional}
        wanted: list[Any] = [r for r in protocol.requirements.resources
                             if r.parameter is not None and r.parameter not in optional and r.parameter not in held]
        if not wanted and not inputs.deck:
            return
        wanted = [{"parameter": r.parameter, "category": r.category, "type": types[r.parameter]}
                  if r.parameter in types else r for r in wanted]
        if isinstance(inputs.deck, dict):
            # The caller's layout: its placements stand; requirements it leaves out are added. A
            # placement of another type than the one chosen is laid out afresh.
            base = load_deck_layout(inputs.deck)
            base.placements = [p for p in base.placements if p.name not in held
                               and (p.name not in types or p.resource == types[p.name])]
            deck_fqn, deck_kwargs = base.deck, base.deck_kwargs
        else:
            base = None
            deck_fqn, deck_kwargs = inputs.deck or DEFAULT_DECK, {}
        try:
            laid_out = auto_layout(wanted, deck_fqn, self.catalog, deck_kwargs=deck_kwargs, layout=base)
        except DeckLayoutError as error:
            raise PlanError(f"the deck {str(deck_fqn).rpartition('.')[2]}: {error}",
                            [p.to_dict() for p in error.problems]) from None
        if laid_out.unplaced:
            raise PlanError(
                f"cannot place on the {str(deck_fqn).rpartition('.')[2]}: " + "; ".join(str(p) for p in laid_out.unplaced),
                [{"parameter": p.placement, "field": p.field, "message": p.message} for p in laid_out.unplaced])
        invalid = validate_deck_layout(laid_out.layout, self.catalog)
        if invalid:
            raise PlanError(
                "the deck layout is invalid: " + "; ".join(str(p) for p in invalid),
                [{"placement": p.placement, "field": p.field, "message": p.message} for p in invalid])
        plan.deck_layout = laid_out.layout

    def _machines(self, plan: Plan, protocol: Any, inputs: PlanInputs, fixed: dict[str, Any],
                  problems: list[dict[str, Any]]) -> None:
        """A registered machine for each machine parameter, and the backend it runs on."""
        from browser_runtime.inventory import ConsumableAssignmentService, TimeWindow
        from browser_runtime.inventory.store import utcnow

        by_name = {p.name: p for p in protocol.parameters}
        requirements = {m.parameter: m for m in protocol.requirements.machines}
        assets = {name: choice for name, choice in fixed.items() if by_name[name].kind == "machine"}
        hardware = not inputs.simulate
        # A hardware run's machines are the instruments given, not the inventory's simulated ones.
        to_resolve = [] if hardware else [m for name, m in requirements.items() if name not in assets]
        if self.inventory is not None and to_resolve:
            window = TimeWindow(utcnow(), utcnow() + self.window)
            service = ConsumableAssignmentService(self.inventory, self.catalog)
            registered = {asset.machine_kind for asset in self.inventory.assets(kind="machine")}
            for choice in service.resolve_machines(to_resolve, window):
                if choice.assigned:
                    assets[choice.requirement] = choice
                elif requirements[choice.requirement].machine_kind in registered:
                    # The lab has machines of this kind, but none can do what the protocol asks.
                    problems.append({"parameter": choice.requirement, "message": "; ".join(choice.reasons)})
                # No machine of this kind registered at all: a simulation still runs, unassigned.
        backends = inputs.backends or {}
        if hardware:
            machine_names = {p.name for p in protocol.parameters if p.kind == "machine"}
            problems += [{"parameter": name, "message": "is not a machine parameter of this protocol"}
                         for name in sorted(set(backends) - machine_names)]
        for parameter in (p for p in protocol.parameters if p.kind == "machine"):
            requirement = requirements.get(parameter.name)
            asset = assets.get(parameter.name)
            try:
                if not hardware:
                    backend, kwargs = simulator_backend_for(self.catalog, parameter.machine_kind)["fqn"], {}
                elif parameter.name not in backends:
                    raise SimulationError("a hardware run needs a backend for every machine; none given")
                else:
                    spec = backends[parameter.name]
                    hardware_backend(self.catalog, parameter.machine_kind, spec, f"backends.{parameter.name}")
                    backend, kwargs = spec["backend"], dict(spec.get("kwargs") or {})
            except SimulationError as error:
                problems.append({"parameter": parameter.name, "message": str(error)})
                continue
            short = backend.rpartition(".")[2]
            plan.machines[parameter.name] = MachineChoice(
                parameter=parameter.name, machine_kind=parameter.machine_kind,
                capabilities=requirement.capabilities if requirement else [],
                backend=backend, hardware=hardware, backend_kwargs=kwargs,
                asset=asset.asset_name if asset else None,
                asset_id=asset.asset_id if asset else None,
                reasons=asset.reasons if asset else (
                    [f"hardware: {short}, IO through the page's web bridge"] if hardware else []))

    def _stand_machines(self, plan: Plan, problems: list[dict[str, Any]]) -> Any:
        """Machines that are also resources (a plate reader, a heater-shaker) stand on the liquid
        handler's deck, right of the labware, so the protocol can move plates to them."""
        from browser_runtime.inventory.store import InventoryError

        try:
            built = materialize(_without_labware(plan), self.catalog)
        except (SimulationError, InventoryError) as error:
            raise PlanError(str(error)) from None
        deck = built.deck
        if deck is None:
            return built
        for parameter, machine in built.machines.items():
            if not _is_resource(machine) or machine is deck or machine.parent is not None:
                continue
            location = _free_spot(deck, machine)
            if location is None:
                problems.append({"parameter": parameter, "message": "no free space on the deck for it"})
                continue
            deck.assign_child_resource(machine, location=location)
            plan.machines[parameter].location = {"x": location.x, "y": location.y, "z": location.z}
        return built

    def _labware(self, plan: Plan, protocol: Any, fixed: dict[str, Any], problems: list[dict[str, Any]],
                 held: dict[str, dict[str, Any]]) -> None:
        """Each labware parameter placed on the deck (or in the machine that holds it) and matched
        to an inventory item."""
        from browser_runtime.inventory import ConsumableAssignmentService, ConsumableRequirement, TimeWindow
        from browser_runtime.inventory.store import utcnow

        placed = {p["name"]: p for p in (plan.deck_layout or {}).get("placements", [])}
        placed.update(held)
        needs = []
        for parameter in (p for p in protocol.parameters if p.kind == "resource"):
            placement = placed.get(parameter.name)
            if placement is None:
                if parameter.optional:
                    plan.labware[parameter.name] = LabwareChoice(parameter.name, parameter.category, None, None,
                                                                 optional_absent=True)
                else:
                    problems.append({"parameter": parameter.name, "message": "not placed on the deck"})
                continue
            needs.append(ConsumableRequirement(name=parameter.name, category=parameter.category,
                                               type=placement["resource"]))
        chosen = {name: choice for name, choice in fixed.items() if name in {n.name for n in needs}}
        open_needs = [need for need in needs if need.name not in fixed]
        if self.inventory is not None and open_needs:
            window = TimeWindow(utcnow(), utcnow() + self.window)
            assignment = ConsumableAssignmentService(self.inventory, self.catalog).assign(open_needs, window)
            plan.assignment = jsonable(assignment.to_dict())
            chosen.update({a.requirement: a for a in assignment.assignments})
        for need in needs:
            choice = chosen.get(need.name)
            labware = LabwareChoice(need.name, need.category, need.type, placed[need.name])
            if choice is not None and choice.assigned:
                asset = self.inventory.asset(choice.asset_id)
                labware.asset, labware.asset_id = asset.name, asset.id
                labware.reasons, labware.score = list(choice.reasons), choice.score
            else:
                labware.reasons = list(choice.reasons) if choice else ["no inventory to assign from"]
            if need.name in held:
                machine = held[need.name]["machine"]
                labware.reasons.insert(0, f"starts in {machine}: the protocol never handles it itself, "
                                          f"{machine} works on the plate it holds")
            plan.labware[need.name] = labware

    def _show_deck(self, plan: Plan, built: Any) -> None:
        """The deck as planned, with every labware's contents, for the page to draw (contents also
        of labware in a machine when there is no deck)."""
        from browser_runtime.runner.materialize import apply_contents, labware_resource, untrack

        deck = built.deck
        for parameter, labware in plan.labware.items():
            if labware.optional_absent:
                continue
            resource = labware_resource(built, parameter, labware)
            if labware.asset_id is not None and self.inventory is not None:
                labware.contents = apply_contents(resource, self.inventory.asset(labware.asset_id))
            else:
                untrack(resource)
        if deck is None:
            return
        plan.deck = json_safe(deck.serialize())
        plan.deck_state = {name: json_safe(state) for name, state in deck.serialize_all_state().items()
                           if "volume" in state or "tip" in state}

    def _fixed_assets(self, assigned: dict[str, int], by_name: dict[str, Any], why: str) -> dict[str, Any]:
        from browser_runtime.inventory.store import InventoryError

        problems = []
        fixed: dict[str, _Fixed] = {}
        for name, asset_id in assigned.items():
            if name not in by_name or by_name[name].kind not in ("machine", "resource"):
                problems.append({"parameter": name, "message": "is not a machine or labware parameter"})
                continue
            try:
                if self.inventory is None:
                    raise InventoryError("there is no inventory")
                asset = self.inventory.asset(asset_id)
            except InventoryError as error:
                problems.append({"parameter": name, "message": f"asset {asset_id}: {error}"})
                continue
            fixed[name] = _Fixed(name, asset.id, asset.name, [why], asset.catalog_fqn)
        if problems:
            raise PlanError(f"cannot use the assets ({why}): " + "; ".join(
                f"{p['parameter']}: {p['message']}" for p in problems), problems)
        return fixed


class _Fixed:
    """An asset the schedule chose for a parameter (shaped like the assignment service's choices)."""

    assigned = True
    score = None

    def __init__(self, requirement: str, asset_id: int, asset_name: str, reasons: list[str],
                 catalog_fqn: str) -> None:
        self.requirement, self.asset_id, self.asset_name = requirement, asset_id, asset_name
        self.reasons, self.catalog_fqn = reasons, catalog_fqn


def _problems(problems: list[dict[str, Any]]) -> PlanError:
    return PlanError("cannot resolve " + "; ".join(f"{p['parameter']}: {p['message']}" for p in problems),
                     problems)


def _without_labware(plan: Plan) -> Plan:
    """The plan's deck and machines only: what the machines' places are found on."""
    from dataclasses import replace

    return replace(plan, labware={}, values={})


def _is_resource(machine: Any) -> bool:
    from pylabrobot.resources import Resource

    return isinstance(machine, Resource) and not hasattr(machine, "deck")


def _free_spot(deck: Any, machine: Any) -> Any:
    """The first place right of everything on the deck's working area where ``machine`` fits.

    Measured from the deck's own children, front row (y of the first carrier) upwards, so a
    simulated instrument never overlaps real labware."""
    from pylabrobot.resources import Coordinate

    occupied = [child for child in deck.children if child.location is not None and child.name not in _FIXTURES]
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
