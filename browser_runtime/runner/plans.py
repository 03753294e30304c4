"""The typed plan of a run: every parameter resolved, with its reasons, and what it was planned from.

A plan is made once by the planner (``runner/planner.py``), shown to the user, and run as it
is: a run materialises exactly its machines, deck, labware and values. It keeps a digest of
its inputs (source, function, parameters, deck, backends), so a run asked for with other
inputs than the plan the user saw is refused as stale instead of quietly re-planned.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from browser_runtime.errors import LabwrightError

__all__ = [
    "LabwareChoice",
    "MachineChoice",
    "Plan",
    "PlanError",
    "PlanInputs",
    "StalePlan",
    "ValueChoice",
]


class PlanError(LabwrightError, ValueError):
    """A run that cannot be planned; ``problems`` lists each parameter or field and why."""

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class StalePlan(PlanError):
    """A run asked for a plan that is unknown, expired, or not what its inputs would give now."""


@dataclass(frozen=True)
class PlanInputs:
    """What a plan is made from; equal inputs give equal digests."""

    source: str
    filename: str = "protocol.py"
    function: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    deck: Any = None
    simulate: bool = True
    backends: dict[str, Any] | None = None
    assigned: dict[str, int] | None = None  # assets fixed by the schedule, which holds them
    #: What the user picked for a machine / labware parameter: an inventory item (its id) or, for
    #: labware, a definition from the catalog (its fqn).
    chosen: dict[str, int | str] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"source": self.source, "filename": self.filename, "function": self.function,
                "parameters": self.parameters, "deck": self.deck, "simulate": self.simulate,
                "backends": self.backends, "assigned": self.assigned, "chosen": self.chosen}

    def digest(self) -> str:
        canonical = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    def differences(self, other: PlanInputs) -> list[str]:
        """What changed from ``other`` to these inputs, in words (``parameters.volume: 50 → 500``)."""
        mine, theirs = self.as_dict(), other.as_dict()
        changed = []
        for key in mine:
            if key == "parameters":
                names = sorted(set(mine[key]) | set(theirs[key]))
                changed += [f"parameters.{name}: {theirs[key].get(name)!r} → {mine[key].get(name)!r}"
                            for name in names if mine[key].get(name) != theirs[key].get(name)]
            elif mine[key] != theirs[key]:
                changed.append("the protocol source" if key == "source" else key)
        return changed


@dataclass
class MachineChoice:
    parameter: str
    machine_kind: str
    capabilities: list[str]
    backend: str  # the backend's fqn: a simulator, or the real one of a hardware run
    hardware: bool
    backend_kwargs: dict[str, Any] = field(default_factory=dict)
    asset: str | None = None
    asset_id: int | None = None
    reasons: list[str] = field(default_factory=list)
    location: dict[str, float] | None = None  # where a machine that is also a resource stands

    def to_dict(self) -> dict[str, Any]:
        document = {"kind": "machine", "machine_kind": self.machine_kind,
                    "capabilities": self.capabilities, "backend": self.backend,
                    "hardware": self.hardware, "asset": self.asset, "reasons": self.reasons}
        if self.location is not None:
            document["location"] = self.location
        return document


@dataclass
class LabwareChoice:
    parameter: str
    category: str | None
    type: str | None  # the catalog fqn laid out
    placement: dict[str, Any] | None
    asset: str | None = None
    asset_id: int | None = None
    contents: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)
    score: float | None = None
    optional_absent: bool = False  # an optional labware parameter left out: the protocol gets None

    def to_dict(self) -> dict[str, Any]:
        if self.optional_absent:
            return {"kind": "resource", "value": None}
        document: dict[str, Any] = {"kind": "resource", "category": self.category, "type": self.type,
                                    "placement": self.placement, "asset": self.asset,
                                    "contents": self.contents, "reasons": self.reasons}
        if self.asset_id is not None:
            document.update(asset_id=self.asset_id, score=self.score)
        return document


@dataclass
class ValueChoice:
    parameter: str
    value: Any
    constraints: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"kind": "value", "value": self.value}
        if self.constraints:
            document["constraints"] = self.constraints
        return document


@dataclass
class Plan:
    """One resolved run; ``to_dict`` is the document the page shows and a run record keeps."""

    plan_id: str
    inputs: PlanInputs
    protocol: str
    function: str
    created_at: datetime
    machines: dict[str, MachineChoice] = field(default_factory=dict)
    labware: dict[str, LabwareChoice] = field(default_factory=dict)
    values: dict[str, ValueChoice] = field(default_factory=dict)
    parameter_order: list[str] = field(default_factory=list)
    deck_layout: dict[str, Any] | None = None
    assignment: dict[str, Any] | None = None
    deck: dict[str, Any] | None = None  # PLR's serialize() of the planned deck
    deck_state: dict[str, Any] | None = None
    data_views: list[dict[str, Any]] = field(default_factory=list)
    #: A plain PLR script (no @protocol_function): it builds its machines and deck itself, and
    #: runs as ``script_source``, the script with its real backends swapped for simulators.
    script_source: str | None = None
    swaps: list[dict[str, Any]] = field(default_factory=list)
    #: For each machine and labware parameter, the inventory items that could stand in (what the
    #: user may choose instead of the automatic choice): id, name, type, lot, expiry.
    candidates: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: From the catalog: the decks (liquid handler models) for each liquid handler parameter and
    #: the labware definitions that fit for each labware parameter (``chosen`` takes their fqn).
    models: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    definitions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def is_script(self) -> bool:
        return self.script_source is not None

    @property
    def digest(self) -> str:
        return self.inputs.digest()

    @property
    def untracked(self) -> list[str]:
        return [name for name, choice in self.labware.items()
                if not choice.optional_absent and choice.asset_id is None]

    def choice(self, parameter: str) -> MachineChoice | LabwareChoice | ValueChoice:
        return self.machines.get(parameter) or self.labware.get(parameter) or self.values[parameter]

    def asset_ids(self) -> list[int]:
        """Every inventory item the plan uses (what a run reserves)."""
        ids = [m.asset_id for m in self.machines.values() if m.asset_id is not None]
        ids += [lw.asset_id for lw in self.labware.values() if lw.asset_id is not None]
        return ids

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "digest": self.digest,
            "protocol": self.protocol,
            "function": self.function,
            "filename": self.inputs.filename,
            "simulate": self.inputs.simulate,
            "created_at": self.created_at.isoformat(),
            "parameters": {name: self.choice(name).to_dict() for name in self.parameter_order},
            "deck_layout": self.deck_layout,
            "assignment": self.assignment,
            "untracked": self.untracked,
            "deck": self.deck,
            "deck_state": self.deck_state,
            "data_views": self.data_views,
            "kind": "script" if self.is_script else "protocol",
            "swaps": self.swaps,
            "candidates": self.candidates,
            "models": self.models,
            "definitions": self.definitions,
            "chosen": self.inputs.chosen or {},
        }
