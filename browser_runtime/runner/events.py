"""Run events: log lines, PLR commands with their arguments, state changes, progress.

One event is one JSON object, ``{"seq", "type", "t_ms", ...}`` (``t_ms`` since the run started):

- ``status``: ``status`` (running, then completed, failed or cancelled);
- ``command``: ``machine`` (the protocol's parameter), ``command`` (the backend method), ``args``;
- ``progress``: ``commands`` done so far and ``fraction`` (of the expected, or None), when a
  command returns;
- ``log``: ``source`` (``stdout`` or the logger's name), ``level``, ``message`` (a line; what a
  backend printed while it ran one command is one event, its lines joined by newlines);
- ``state``: ``resource`` (its name) and ``state``: what changed in that resource's PLR state
  (``serialize_state()``) since its previous state event of the run: only the keys whose values
  changed; the first state event of a resource holds its whole state, and one with
  ``"replace": true`` holds the whole state again (keys went away). The changes between two
  other events are told once, per resource, just before the second one (with its time): the
  state a command leaves is what its progress and the next command see. :func:`replay_states`
  gives every resource's state after a list of events;
- ``error``: ``type``, ``message``, ``traceback``, ``command``, ``line``...
- ``unassigned`` / ``assigned``: a resource left its place on the deck / was put somewhere on it
  (PLR's ``resource_unassigned`` / ``resource_assigned``: a plate moved to another site or into
  a machine): ``resource`` (its name), ``parent`` (the parent it left / went to), ``location``
  (relative to that parent) and ``rotation`` (PLR's serialized rotation, or None); a resource's
  first such event of the run also holds ``tree``, its PLR ``serialize()`` (children included),
  so the deck drawn at any step can put it where it was. A move is an ``unassigned`` then an
  ``assigned``; a resource that arrives from outside the deck (a machine not on it) has only the
  latter, one leaving for such a place only the former.

A run's record stores exactly these events. The page gets them in batches (see
:class:`EventBatches`): ``{"runId", "events": [...]}``, each resource's state events within a
batch merged into one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import enum
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

#: Event types, in the lab's words; the page draws each kind differently.
EVENT_TYPES = frozenset(("status", "log", "command", "state", "progress", "error", "assigned", "unassigned"))


@dataclass
class EventLog:
    """Every event of one run, in order, also handed to ``listener`` as it is made."""

    listener: Callable[[dict[str, Any]], None] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)
    #: Per resource: the state (as PLR gave it) the events have told so far, and the newest
    #: state PLR reported since the last event (told when the next event comes).
    _told: dict[str, dict[str, Any]] = field(default_factory=dict)
    _newest: dict[str, dict[str, Any]] = field(default_factory=dict)

    def emit(self, type_: str, **data: Any) -> dict[str, Any]:
        if type_ not in EVENT_TYPES:
            raise ValueError(f"unknown event type {type_!r}")
        at = time.perf_counter()
        if self._newest:
            self._tell_states(at)
        return self._append(type_, data, at)

    def _append(self, type_: str, data: dict[str, Any], at: float) -> dict[str, Any]:
        event = {"seq": len(self.events), "type": type_, "t_ms": round((at - self.started) * 1000, 3), **data}
        self.events.append(event)
        if self.listener is not None:
            self.listener(event)
        return event

    def state(self, resource: str, state: dict[str, Any]) -> None:
        """``resource``'s state is now ``state`` (as PLR's ``serialize_state()`` gives it).

        Called for every tracker change PLR reports (many per command, most of them no change
        at all), so it only keeps the newest: what changed is told once the next event comes."""
        self._newest[resource] = state

    def flush(self) -> None:
        """Tell the state changes not told yet (one state event per resource that changed)."""
        if self._newest:
            self._tell_states(time.perf_counter())

    def _tell_states(self, at: float) -> None:
        newest, self._newest = self._newest, {}
        t_ms = round((at - self.started) * 1000, 3)
        for resource, state in newest.items():
            told = self._told.get(resource)
            if told == state:
                continue
            self._told[resource] = state
            if told is None or told.keys() != state.keys():
                event = {"seq": len(self.events), "type": "state", "t_ms": t_ms, "resource": resource,
                         "state": jsonable(state)}
                if told is not None:
                    event["replace"] = True
            else:
                changed = {key: jsonable(value) for key, value in state.items() if told[key] != value}
                event = {"seq": len(self.events), "type": "state", "t_ms": t_ms, "resource": resource,
                         "state": changed}
            self.events.append(event)
            if self.listener is not None:
                self.listener(event)

    def as_list(self) -> list[dict[str, Any]]:
        self.flush()
        return list(self.events)

    def last(self, type_: str) -> dict[str, Any] | None:
        for event in reversed(self.events):
            if event["type"] == type_:
                return event
        return None


def apply_state(states: dict[str, dict[str, Any]], event: dict[str, Any]) -> dict[str, Any]:
    """Apply one state event to ``states`` (resource -> whole state); returns the resource's state."""
    resource = event["resource"]
    if event.get("replace") or resource not in states:
        states[resource] = dict(event["state"])
    else:
        states[resource].update(event["state"])
    return states[resource]


def replay_states(events: Iterable[dict[str, Any]],
                  initial: dict[str, dict[str, Any]] | None = None) -> dict[str, dict[str, Any]]:
    """Every resource's whole state after ``events`` (a run's, stored or live), from ``initial``."""
    states = {name: dict(state) for name, state in (initial or {}).items()}
    for event in events:
        if event.get("type") == "state":
            apply_state(states, event)
    return states


def merge_state_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` with each resource's state events merged into one, where its last one was.

    What a batch for the page needs: the deck drawn once per resource, at its latest state.
    The events given are not changed (a merge is a new event, with the last one's seq and
    time); merged after a whole state (the first, or ``replace``) the state is whole too."""
    merged: dict[str, dict[str, Any]] = {}
    states = 0
    for event in events:
        if event["type"] != "state":
            continue
        states += 1
        before = merged.get(event["resource"])
        if before is None or event.get("replace"):
            merged[event["resource"]] = event
        else:
            merged[event["resource"]] = {**event, "state": {**before["state"], **event["state"]},
                                         **({"replace": True} if before.get("replace") else {})}
    if len(merged) == states:
        return events
    return [event if event["type"] != "state" else merged[event["resource"]] for event in events
            if event["type"] != "state" or merged[event["resource"]]["seq"] == event["seq"]]


class EventBatches:
    """An ``EventLog`` listener that hands one run's events on in batches: ``send(events)``.

    Events are kept until ``interval_s`` has passed since the first of them (checked as they
    come, so a run that never awaits still sends its batches; a timer on the event loop sends
    what a quiet run left), or sent at once with a status or error event (the start, the end)
    or when ``max_events`` are kept. Within a batch each resource's state events are one
    (``merge_state_events``): what the page draws is the state at the batch's end.
    """

    def __init__(self, send: Callable[[list[dict[str, Any]]], None], interval_s: float = 0.05,
                 max_events: int = 2000) -> None:
        self._send = send
        self.interval_s = interval_s
        self.max_events = max_events
        self._kept: list[dict[str, Any]] = []
        self._due = 0.0
        self._timer: asyncio.TimerHandle | None = None

    def __call__(self, event: dict[str, Any]) -> None:
        kept = self._kept
        if not kept:
            self._due = time.perf_counter() + self.interval_s
            try:
                self._timer = asyncio.get_running_loop().call_later(self.interval_s, self.flush)
            except RuntimeError:  # no event loop (a run driven by hand): sent when due or at the end
                self._timer = None
        kept.append(event)
        # The clock is read every 16 events only: in Pyodide reading it is a call into JS.
        if (event["type"] in ("status", "error") or len(kept) >= self.max_events
                or (len(kept) % 16 == 0 and time.perf_counter() >= self._due)):
            self.flush()

    def flush(self) -> None:
        """Send what is kept now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._kept:
            events, self._kept = self._kept, []
            self._send(merge_state_events(events))


# ---- JSON forms ------------------------------------------------------------------------------

def jsonable(value: Any, depth: int = 0) -> Any:
    """A JSON form of a PLR command argument: resources by name, dataclasses by field."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is float:
        # JSON has no Infinity or NaN (PLR's trash holds an infinite volume); x - x is 0 for the rest.
        return round(value, 6) if value - value == 0 else str(value)
    if depth > 6:
        return repr(value)[:80]
    if kind is dict:
        return {str(key): jsonable(item, depth + 1) for key, item in value.items()}
    if kind is list or kind is tuple:
        return [jsonable(item, depth + 1) for item in value]
    encode = _encoders.get(kind)
    if encode is None:
        encode = _encoders[kind] = _encoder_for(kind)
    return encode(value, depth)


#: How each other type becomes JSON, decided once per type (a run meets the same few thousands of times).
_encoders: dict[type, Callable[[Any, int], Any]] = {}


def _encoder_for(kind: type) -> Callable[[Any, int], Any]:
    from pylabrobot.resources import Coordinate, Resource

    if issubclass(kind, (bool, int, str)):
        return lambda value, depth: value  # subclasses too (an IntEnum is its number)
    if issubclass(kind, float):
        return lambda value, depth: round(value, 6) if value - value == 0 else str(value)
    if issubclass(kind, Resource):
        return lambda value, depth: value.name
    if issubclass(kind, Coordinate):
        return lambda value, depth: {"x": round(value.x, 6), "y": round(value.y, 6), "z": round(value.z, 6)}
    if issubclass(kind, enum.Enum):
        return lambda value, depth: value.name
    if issubclass(kind, (datetime.datetime, datetime.date, datetime.time)):
        return lambda value, depth: value.isoformat()
    if issubclass(kind, dict):
        return lambda value, depth: {str(key): jsonable(item, depth + 1) for key, item in value.items()}
    if issubclass(kind, (list, tuple, set)):
        return lambda value, depth: [jsonable(item, depth + 1) for item in value]
    if dataclasses.is_dataclass(kind) and not issubclass(kind, type):
        return _fields_encoder(tuple(item.name for item in dataclasses.fields(kind)))
    return _serialized_or_repr


def _fields_encoder(names: tuple[str, ...]) -> Callable[[Any, int], Any]:
    """``{field: jsonable(value.field)}`` for a dataclass, written out once for its fields.

    A liquid handler's command carries a dataclass per channel (and a tip in each): spelled
    out, with plain values (the most) kept inline, a field costs an attribute read, not a call."""
    if not all(name.isidentifier() for name in names):
        return lambda value, depth: {name: jsonable(getattr(value, name), depth + 1) for name in names}
    lines = ["def encode(value, depth):", "    inner = depth + 1"]
    for index, name in enumerate(names):
        lines += [f"    x = value.{name}",
                  "    k = x.__class__",
                  f"    if k is float: f{index} = round(x, 6) if x - x == 0 else str(x)",
                  f"    else: f{index} = x if k is str or k is int or k is bool or x is None"
                  " else jsonable(x, inner)"]
    lines.append("    return {" + ", ".join(f"{name!r}: f{index}" for index, name in enumerate(names)) + "}")
    namespace: dict[str, Any] = {"jsonable": jsonable}
    exec("\n".join(lines), namespace)  # noqa: S102 - code made here from a dataclass's field names
    return namespace["encode"]


def _serialized_or_repr(value: Any, depth: int) -> Any:
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
