"""Run requests: which protocol, with what, how urgent, when it may start and when it must end."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from browser_runtime.errors import LabwrightError

_REQUEST_FIELDS = {"id", "protocol", "source", "function", "filename", "parameters", "priority",
                   "earliest_start", "deadline", "workcell", "duration_s", "machines", "consumables"}


class RequestError(LabwrightError, ValueError):
    """A run request that cannot be scheduled as written; says which field and why."""


@dataclass(frozen=True)
class MachineNeed:
    """One machine parameter of the protocol: a machine of ``kind`` that can do ``capabilities``."""

    parameter: str
    kind: str
    capabilities: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        return {"parameter": self.parameter, "kind": self.kind, "capabilities": sorted(self.capabilities)}


@dataclass(frozen=True)
class ConsumableNeed:
    """One piece of labware the run holds: a named inventory item, or any of a type or category."""

    parameter: str
    asset_id: int | None = None
    type: str | None = None  # catalog fqn of the labware factory
    category: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"parameter": self.parameter, "asset_id": self.asset_id, "type": self.type,
                "category": self.category}

    def describe(self) -> str:
        if self.asset_id is not None:
            return f"inventory item {self.asset_id}"
        if self.type:
            return self.type.rpartition(".")[2]
        return f"a {self.category}" if self.category else "labware"


@dataclass(frozen=True)
class RunRequest:
    """A run to place on a workcell. ``duration_s`` is the estimate (see ``simulation``)."""

    id: str
    protocol: str
    duration_s: float
    machines: tuple[MachineNeed, ...] = ()
    consumables: tuple[ConsumableNeed, ...] = ()
    priority: int = 0  # higher runs first
    earliest_start: datetime | None = None
    deadline: datetime | None = None
    workcell: str | None = None  # pin the run to one workcell
    function: str | None = None
    filename: str = "protocol.py"
    source: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        where = f"run request {self.id!r}"
        if not isinstance(self.id, str) or not self.id or len(self.id) > 128:
            raise RequestError("run request: id must be a string of 1-128 characters")
        if not isinstance(self.protocol, str) or not self.protocol:
            raise RequestError(f"{where}: protocol must be a non-empty string")
        if isinstance(self.duration_s, bool) or not isinstance(self.duration_s, (int, float)) \
                or not 0 < self.duration_s < 30 * 86400:
            raise RequestError(f"{where}: duration_s must be a number of seconds above 0 and below "
                               f"30 days, not {self.duration_s!r}")
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise RequestError(f"{where}: priority must be an integer, not {self.priority!r}")
        for name in ("earliest_start", "deadline"):
            moment = getattr(self, name)
            if moment is not None and (not isinstance(moment, datetime) or moment.tzinfo is None):
                raise RequestError(f"{where}: {name} must be a time with a time zone")
        if self.earliest_start and self.deadline and self.deadline <= self.earliest_start:
            raise RequestError(f"{where}: deadline {self.deadline.isoformat()} is not after the earliest "
                               f"start {self.earliest_start.isoformat()}")
        parameters = [n.parameter for n in (*self.machines, *self.consumables)]
        repeated = sorted({p for p in parameters if parameters.count(p) > 1})
        if repeated:
            raise RequestError(f"{where}: parameter(s) {', '.join(repeated)} are needed twice")
        for need in self.consumables:
            if need.asset_id is None and not need.type and not need.category:
                raise RequestError(f"{where}: consumable {need.parameter!r} needs an asset_id, a type "
                                   "or a category")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "protocol": self.protocol, "function": self.function,
            "filename": self.filename, "source": self.source, "parameters": self.parameters,
            "priority": self.priority, "duration_s": self.duration_s,
            "earliest_start": self.earliest_start.isoformat() if self.earliest_start else None,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "workcell": self.workcell,
            "machines": [m.to_dict() for m in self.machines],
            "consumables": [c.to_dict() for c in self.consumables],
        }

    @classmethod
    def from_dict(cls, document: Any, where: str = "request") -> RunRequest:
        """A request from its JSON form; every problem names the field (``request.machines[0].kind``)."""
        if not isinstance(document, dict):
            raise RequestError(f"{where}: must be an object, not {type(document).__name__}")
        unknown = sorted(set(document) - _REQUEST_FIELDS)
        if unknown:
            raise RequestError(f"{where}: unknown field(s) {', '.join(unknown)}")
        for name in ("id", "protocol", "duration_s"):
            if name not in document:
                raise RequestError(f"{where}.{name}: is required")
        machines = []
        for index, item in enumerate(_list(document.get("machines"), f"{where}.machines")):
            here = f"{where}.machines[{index}]"
            _only(item, {"parameter", "kind", "capabilities"}, here)
            machines.append(MachineNeed(_text(item.get("parameter"), f"{here}.parameter"),
                                        _text(item.get("kind"), f"{here}.kind"),
                                        frozenset(_texts(item.get("capabilities"), f"{here}.capabilities"))))
        consumables = []
        for index, item in enumerate(_list(document.get("consumables"), f"{where}.consumables")):
            here = f"{where}.consumables[{index}]"
            _only(item, {"parameter", "asset_id", "type", "category"}, here)
            asset_id = item.get("asset_id")
            if asset_id is not None and (isinstance(asset_id, bool) or not isinstance(asset_id, int)):
                raise RequestError(f"{here}.asset_id: must be an integer")
            consumables.append(ConsumableNeed(
                _text(item.get("parameter"), f"{here}.parameter"), asset_id,
                _text(item["type"], f"{here}.type") if item.get("type") is not None else None,
                _text(item["category"], f"{here}.category") if item.get("category") is not None else None))
        parameters = document.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise RequestError(f"{where}.parameters: must be an object")
        for name in ("source", "function", "workcell", "filename"):
            value = document.get(name)
            if value is not None and not isinstance(value, str):
                raise RequestError(f"{where}.{name}: must be a string")
        try:
            return cls(
                id=document["id"], protocol=document["protocol"], duration_s=document["duration_s"],
                machines=tuple(machines), consumables=tuple(consumables),
                priority=document.get("priority", 0),
                earliest_start=parse_time(document.get("earliest_start"), f"{where}.earliest_start"),
                deadline=parse_time(document.get("deadline"), f"{where}.deadline"),
                workcell=document.get("workcell"), function=document.get("function"),
                filename=document.get("filename") or "protocol.py", source=document.get("source"),
                parameters=parameters)
        except RequestError as error:
            raise RequestError(str(error).replace("run request", where, 1)) from None


def parse_time(value: Any, where: str) -> datetime | None:
    """An ISO 8601 time with a zone (``2025-05-01T09:00:00+00:00`` or ``...Z``), or None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise RequestError(f"{where}: {value!r} is not an ISO 8601 time") from None
    else:
        raise RequestError(f"{where}: must be an ISO 8601 time string")
    if moment.tzinfo is None:
        raise RequestError(f"{where}: {value!r} has no time zone (add Z or +00:00)")
    return moment


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RequestError(f"{where}: must be a list")
    return value


def _only(item: Any, allowed: set[str], where: str) -> None:
    if not isinstance(item, dict):
        raise RequestError(f"{where}: must be an object")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise RequestError(f"{where}: unknown field(s) {', '.join(unknown)}")


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RequestError(f"{where}: must be a non-empty string")
    return value


def _texts(value: Any, where: str) -> list[str]:
    return [_text(item, f"{where}[{index}]") for index, item in enumerate(_list(value, where))]


def needs_from_analysis(protocol: Any) -> tuple[tuple[MachineNeed, ...], tuple[ConsumableNeed, ...]]:
    """Machine and labware needs from a protocol's LibCST analysis (a ``ProtocolDefinition``)."""
    machines = tuple(MachineNeed(m.parameter, m.machine_kind, frozenset(m.capabilities))
                     for m in protocol.requirements.machines)
    covered = {m.parameter for m in machines}
    for parameter in protocol.parameters:  # a machine the protocol never calls still occupies it
        if parameter.kind == "machine" and parameter.name not in covered and parameter.machine_kind:
            machines += (MachineNeed(parameter.name, parameter.machine_kind),)
    consumables = tuple(
        ConsumableNeed(p.name, category=p.category, type=p.type if p.category is None else None)
        for p in protocol.parameters if p.kind == "resource" and not p.optional)
    return machines, consumables
