"""Run requests: which protocol, with what, how urgent, when it may start and when it must end.

A request's ``timeline`` (from the discrete-event estimate, see ``timeline.py``) says when
inside the run each machine is used, so the run holds a machine only from its first to its
last command there; without one the run holds every machine for its whole duration. A run
is a chain of segments the runner goes through without pausing; between two segments it may
wait, within the windows its protocol's time links allow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from browser_runtime.errors import LabwrightError

_REQUEST_FIELDS = {"id", "protocol", "source", "function", "filename", "parameters", "priority",
                   "earliest_start", "deadline", "workcell", "duration_s", "machines", "consumables",
                   "timeline", "load_s", "unload_s"}


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
    """One piece of labware the run holds: a named inventory item, or any of a type or category.

    ``tips`` and ``volume_ul`` are what the run draws from it (tips picked up, reagent taken):
    counted against the item's stock across every queued run."""

    parameter: str
    asset_id: int | None = None
    type: str | None = None  # catalog fqn of the labware factory
    category: str | None = None
    tips: int = 0
    volume_ul: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.tips, bool) or not isinstance(self.tips, int) or self.tips < 0:
            raise RequestError(f"consumable {self.parameter!r}: tips must be a whole number >= 0, "
                               f"not {self.tips!r}")
        if isinstance(self.volume_ul, bool) or not isinstance(self.volume_ul, (int, float)) \
                or not math.isfinite(self.volume_ul) or self.volume_ul < 0:
            raise RequestError(f"consumable {self.parameter!r}: volume_ul must be a number >= 0, "
                               f"not {self.volume_ul!r}")

    @property
    def counted(self) -> bool:
        """Whether the run draws a quantity from the item (tips or volume)."""
        return bool(self.tips or self.volume_ul)

    def to_dict(self) -> dict[str, Any]:
        return {"parameter": self.parameter, "asset_id": self.asset_id, "type": self.type,
                "category": self.category, "tips": self.tips, "volume_ul": self.volume_ul}

    def amount(self) -> str:
        parts = ([f"{self.tips} tips"] if self.tips else []) + (
            [f"{self.volume_ul:g} uL"] if self.volume_ul else [])
        return " and ".join(parts)

    def describe(self) -> str:
        if self.asset_id is not None:
            return f"inventory item {self.asset_id}"
        if self.type:
            return self.type.rpartition(".")[2]
        return f"a {self.category}" if self.category else "labware"


@dataclass(frozen=True)
class Segment:
    """A stretch of a run the runner goes through without pausing."""

    duration_s: float
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"duration_s": self.duration_s, "label": self.label}


@dataclass(frozen=True)
class SegmentLink:
    """Segment ``target`` starts ``min_s``..``max_s`` after the moment ``at_s`` into segment
    ``source`` (a protocol time link: the end of the ``after`` call, the start of ``before``)."""

    source: int
    at_s: float
    target: int
    min_s: float = 0.0
    max_s: float | None = None
    label: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "at_s": self.at_s, "target": self.target, "min_s": self.min_s,
                "max_s": self.max_s, "label": self.label}


@dataclass(frozen=True)
class Timeline:
    """When inside a run its machines are used: segments, machine holds, links between segments.

    ``machines`` maps a machine parameter to ``(first segment, offset, last segment, offset)``:
    the run holds that machine from its first command to the end of its last one."""

    segments: tuple[Segment, ...]
    machines: dict[str, tuple[int, float, int, float]] = field(default_factory=dict)
    links: tuple[SegmentLink, ...] = ()

    def __post_init__(self) -> None:
        if not self.segments:
            raise RequestError("a timeline needs at least one segment")
        count = len(self.segments)
        for index, segment in enumerate(self.segments):
            if not _positive(segment.duration_s):
                raise RequestError(f"timeline segment {index}: duration_s must be a number above 0, "
                                   f"not {segment.duration_s!r}")
        for name, hold in self.machines.items():
            first, start, last, end = hold
            if not (0 <= first <= last < count) or not (_offset(start, self.segments[first])
                                                         and _offset(end, self.segments[last])) \
                    or (first == last and end < start):
                raise RequestError(f"timeline machine {name!r}: {list(hold)} is not a hold inside the "
                                   f"timeline's {count} segment(s)")
        for link in self.links:
            if not (0 <= link.source < link.target < count) or not _offset(link.at_s, self.segments[link.source]):
                raise RequestError(f"timeline link {link.label or link}: segments {link.source} -> "
                                   f"{link.target} are not in order inside the timeline")
            if not (math.isfinite(link.min_s) and link.min_s >= 0) or (
                    link.max_s is not None and not (math.isfinite(link.max_s) and link.max_s >= link.min_s)):
                raise RequestError(f"timeline link {link.label or link}: needs 0 <= min_s <= max_s")

    @property
    def duration_s(self) -> float:
        return sum(segment.duration_s for segment in self.segments)

    def to_dict(self) -> dict[str, Any]:
        return {"segments": [s.to_dict() for s in self.segments],
                "machines": {name: list(hold) for name, hold in self.machines.items()},
                "links": [link.to_dict() for link in self.links]}

    @classmethod
    def from_dict(cls, document: Any, where: str) -> Timeline:
        _only(document, {"segments", "machines", "links"}, where)
        segments = []
        for index, item in enumerate(_list(document.get("segments"), f"{where}.segments")):
            here = f"{where}.segments[{index}]"
            _only(item, {"duration_s", "label"}, here)
            label = item.get("label") or ""
            if not isinstance(label, str):
                raise RequestError(f"{here}.label: must be a string")
            segments.append(Segment(_number(item.get("duration_s"), f"{here}.duration_s"), label))
        machines = document.get("machines") or {}
        if not isinstance(machines, dict):
            raise RequestError(f"{where}.machines: must be an object of parameter -> hold")
        holds = {}
        for name, hold in machines.items():
            here = f"{where}.machines.{name}"
            if not isinstance(hold, list) or len(hold) != 4 or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in hold) \
                    or hold[0] != int(hold[0]) or hold[2] != int(hold[2]):
                raise RequestError(f"{here}: must be [first segment, offset s, last segment, offset s]")
            holds[name] = (int(hold[0]), float(hold[1]), int(hold[2]), float(hold[3]))
        links = []
        for index, item in enumerate(_list(document.get("links"), f"{where}.links")):
            here = f"{where}.links[{index}]"
            _only(item, {"source", "at_s", "target", "min_s", "max_s", "label"}, here)
            for key in ("source", "target"):
                if isinstance(item.get(key), bool) or not isinstance(item.get(key), int):
                    raise RequestError(f"{here}.{key}: must be a segment index")
            max_s = item.get("max_s")
            links.append(SegmentLink(item["source"], _number(item.get("at_s", 0.0), f"{here}.at_s", zero=True),
                                     item["target"], _number(item.get("min_s", 0.0), f"{here}.min_s", zero=True),
                                     None if max_s is None else _number(max_s, f"{here}.max_s", zero=True),
                                     str(item.get("label") or "")))
        try:
            return cls(tuple(segments), holds, tuple(links))
        except RequestError as error:
            raise RequestError(f"{where}: {error}") from None


def _positive(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value) and value > 0


def _offset(value: Any, segment: Segment) -> bool:
    return isinstance(value, (int, float)) and -1e-9 <= value <= segment.duration_s + 1e-9


def _number(value: Any, where: str, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not zero):
        raise RequestError(f"{where}: must be a number {'>= 0' if zero else 'above 0'}, not {value!r}")
    return float(value)


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
    timeline: Timeline | None = None  # None: every machine held for the whole run
    load_s: float = 0.0  # an operator loads the deck before the run (a manual step)
    unload_s: float = 0.0  # and unloads it after

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
        for name in ("load_s", "unload_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not 0 <= value < 86400:
                raise RequestError(f"{where}: {name} must be a number of seconds from 0 to a day, not {value!r}")
        if self.timeline is not None:
            if not isinstance(self.timeline, Timeline):
                raise RequestError(f"{where}: timeline must be a Timeline")
            if abs(self.timeline.duration_s - self.duration_s) > 1e-6 * max(1.0, self.duration_s):
                raise RequestError(f"{where}: duration_s {self.duration_s:g} is not the timeline's "
                                   f"{self.timeline.duration_s:g} s")
            unknown = sorted(set(self.timeline.machines) - {m.parameter for m in self.machines})
            if unknown:
                raise RequestError(f"{where}: the timeline holds machine(s) {', '.join(unknown)} the "
                                   "request does not need")

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
            "timeline": self.timeline.to_dict() if self.timeline is not None else None,
            "load_s": self.load_s, "unload_s": self.unload_s,
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
            _only(item, {"parameter", "asset_id", "type", "category", "tips", "volume_ul"}, here)
            asset_id = item.get("asset_id")
            if asset_id is not None and (isinstance(asset_id, bool) or not isinstance(asset_id, int)):
                raise RequestError(f"{here}.asset_id: must be an integer")
            try:
                consumables.append(ConsumableNeed(
                    _text(item.get("parameter"), f"{here}.parameter"), asset_id,
                    _text(item["type"], f"{here}.type") if item.get("type") is not None else None,
                    _text(item["category"], f"{here}.category") if item.get("category") is not None else None,
                    item.get("tips") or 0, item.get("volume_ul") or 0.0))
            except RequestError as error:
                raise RequestError(f"{here}: {str(error).split(': ', 1)[-1]}") from None
        parameters = document.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise RequestError(f"{where}.parameters: must be an object")
        for name in ("source", "function", "workcell", "filename"):
            value = document.get(name)
            if value is not None and not isinstance(value, str):
                raise RequestError(f"{where}.{name}: must be a string")
        timeline = (Timeline.from_dict(document["timeline"], f"{where}.timeline")
                    if document.get("timeline") is not None else None)
        try:
            return cls(
                id=document["id"], protocol=document["protocol"], duration_s=document["duration_s"],
                machines=tuple(machines), consumables=tuple(consumables),
                priority=document.get("priority", 0),
                earliest_start=parse_time(document.get("earliest_start"), f"{where}.earliest_start"),
                deadline=parse_time(document.get("deadline"), f"{where}.deadline"),
                workcell=document.get("workcell"), function=document.get("function"),
                filename=document.get("filename") or "protocol.py", source=document.get("source"),
                parameters=parameters, timeline=timeline, load_s=document.get("load_s") or 0.0,
                unload_s=document.get("unload_s") or 0.0)
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
