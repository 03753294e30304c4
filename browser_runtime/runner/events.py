"""Run events: log lines, PLR commands with their arguments, state changes, progress."""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Event types, in the lab's words; the page draws each kind differently.
EVENT_TYPES = ("status", "log", "command", "state", "progress", "error")


@dataclass
class Event:
    seq: int
    type: str
    t_ms: float  # since the run started
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "type": self.type, "t_ms": round(self.t_ms, 3), **self.data}


@dataclass
class EventLog:
    """Every event of one run, in order, also handed to ``listener`` as it happens."""

    listener: Callable[[dict[str, Any]], None] | None = None
    events: list[Event] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def emit(self, type_: str, **data: Any) -> Event:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type_!r}")
        event = Event(len(self.events), type_, (time.perf_counter() - self.started) * 1000, data)
        self.events.append(event)
        if self.listener is not None:
            self.listener(event.as_dict())
        return event

    def as_list(self) -> list[dict[str, Any]]:
        return [event.as_dict() for event in self.events]

    def last(self, type_: str) -> Event | None:
        for event in reversed(self.events):
            if event.type == type_:
                return event
        return None


def jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON form of a PLR command argument: resources by name, dataclasses by field."""
    from pylabrobot.resources import Coordinate, Resource

    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        # JSON has no Infinity or NaN (PLR's trash holds an infinite volume).
        return round(value, 6) if math.isfinite(value) else str(value)
    if depth > 6:
        return repr(value)[:80]
    if isinstance(value, Resource):
        return value.name
    if isinstance(value, Coordinate):
        return {"x": round(value.x, 6), "y": round(value.y, 6), "z": round(value.z, 6)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): jsonable(item, depth + 1) for key, item in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(item, depth + 1) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: jsonable(getattr(value, item.name), depth + 1)
            for item in dataclasses.fields(value)
        }
    if hasattr(value, "serialize"):
        try:
            return jsonable(value.serialize(), depth + 1)
        except Exception:  # noqa: BLE001 - fall back to the repr below
            pass
    return repr(value)[:200]


def json_safe(value: Any) -> Any:
    """A JSON document (PLR's serialize() output) made safe for JSON.parse: no Infinity/NaN."""
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value
