"""How long each PLR command takes: a timing table by command kind, per backend, refined by history.

Defaults are by the command a backend receives (what the runner records): tip pick-up and
drop, aspirate and dispense by volume and flow rate (the slowest channel sets the pace), the
96-head, plate moves (pick up, move, drop), plate reads, and shake / temperature by their
parameters. A backend's own table overrides any entry. Durations recorded in run history
(runs on real hardware: simulated runs take no time) refine the table as a per-command factor
on the default, blended with the default so a few odd runs do not swing it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

#: Seconds and rates per backend command. ``base_s`` is the fixed part (moves, settling);
#: liquid commands add volume / flow rate; reads add ``per_well_s`` per well read;
#: ``set_temperature`` adds the ramp from ambient at ``ramp_c_per_s``.
DEFAULT_TIMINGS: dict[str, dict[str, float]] = {
    "setup": {"base_s": 10.0},
    "stop": {"base_s": 2.0},
    "pick_up_tips": {"base_s": 8.0},
    "drop_tips": {"base_s": 6.0},
    "aspirate": {"base_s": 4.0, "flow_rate_ul_s": 100.0},
    "dispense": {"base_s": 4.0, "flow_rate_ul_s": 150.0},
    "pick_up_tips96": {"base_s": 12.0},
    "drop_tips96": {"base_s": 10.0},
    "aspirate96": {"base_s": 6.0, "flow_rate_ul_s": 100.0},
    "dispense96": {"base_s": 6.0, "flow_rate_ul_s": 150.0},
    "pick_up_resource": {"base_s": 8.0},
    "move_picked_up_resource": {"base_s": 6.0},
    "drop_resource": {"base_s": 8.0},
    "open": {"base_s": 5.0},
    "close": {"base_s": 5.0},
    "read_absorbance": {"base_s": 15.0, "per_well_s": 0.1},
    "read_fluorescence": {"base_s": 25.0, "per_well_s": 0.2},
    "read_luminescence": {"base_s": 30.0, "per_well_s": 0.3},
    "set_temperature": {"base_s": 1.0, "ramp_c_per_s": 0.5, "ambient_c": 22.0},
    "deactivate": {"base_s": 1.0},
    "start_shaking": {"base_s": 3.0},
    "stop_shaking": {"base_s": 3.0},
    "lock_plate": {"base_s": 2.0},
    "unlock_plate": {"base_s": 2.0},
}
#: Any other command, and quick queries (``get_*``, ``request_*``).
UNKNOWN_COMMAND_S = 1.0
QUERY_S = 0.2
#: How many recorded runs the default counts as when blended with history.
PRIOR_WEIGHT = 3.0

_LIQUID = {"aspirate", "dispense"}
_LIQUID96 = {"aspirate96": "aspiration", "dispense96": "dispense"}


@dataclass
class _Learned:
    factor_sum: float = 0.0
    count: int = 0


@dataclass
class DurationModel:
    """Estimates a backend command's duration in seconds from its recorded arguments."""

    timings: dict[str, dict[str, float]] = field(default_factory=lambda: {
        command: dict(values) for command, values in DEFAULT_TIMINGS.items()})
    #: backend fqn -> command -> timing entries that override the defaults for that backend
    backends: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    _learned: dict[tuple[str | None, str], _Learned] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for where, table in [("timings", self.timings)] + [
                (f"backends[{fqn!r}]", table) for fqn, table in self.backends.items()]:
            for command, entry in table.items():
                for key, value in entry.items():
                    if isinstance(value, bool) or not isinstance(value, (int, float)) \
                            or not math.isfinite(value) or value < 0:
                        raise ValueError(f"duration model {where}[{command!r}][{key!r}] must be a "
                                         f"non-negative number, not {value!r}")
                    if key.endswith("_per_s") and value == 0:
                        raise ValueError(f"duration model {where}[{command!r}][{key!r}] cannot be 0")

    def _entry(self, command: str, backend: str | None) -> dict[str, float] | None:
        own = self.backends.get(backend or "", {}).get(command)
        default = self.timings.get(command)
        if own is None:
            return default
        return {**(default or {}), **own}

    def default_duration(self, command: str, args: Mapping[str, Any] | None = None,
                         backend: str | None = None) -> float:
        """The table's estimate, before history."""
        args = args or {}
        entry = self._entry(command, backend)
        if entry is None:
            return QUERY_S if command.startswith(("get_", "request_")) else UNKNOWN_COMMAND_S
        seconds = entry.get("base_s", 0.0)
        if command in _LIQUID:
            seconds += _slowest_channel(args.get("ops"), entry["flow_rate_ul_s"])
        elif command in _LIQUID96:
            seconds += _slowest_channel([args.get(_LIQUID96[command])], entry["flow_rate_ul_s"])
        elif command.startswith("read_"):
            wells = args.get("wells")
            seconds += entry.get("per_well_s", 0.0) * (len(wells) if isinstance(wells, list) else 96)
        elif command == "set_temperature":
            target = _number(args.get("temperature"))
            if target is not None:
                seconds += abs(target - entry.get("ambient_c", 22.0)) / entry["ramp_c_per_s"]
        return seconds

    def duration(self, command: str, args: Mapping[str, Any] | None = None,
                 backend: str | None = None) -> float:
        """The estimate: the table's, scaled by what history taught for this backend's command."""
        seconds = self.default_duration(command, args, backend)
        learned = self._learned.get((backend, command)) or self._learned.get((None, command))
        if learned is None or not learned.count:
            return seconds
        factor = (learned.factor_sum + PRIOR_WEIGHT) / (learned.count + PRIOR_WEIGHT)
        return seconds * factor

    def observe(self, command: str, args: Mapping[str, Any] | None, backend: str | None,
                seconds: float) -> None:
        """One measured command duration (from a run on real hardware)."""
        if not math.isfinite(seconds) or seconds < 0:
            return
        default = self.default_duration(command, args, backend)
        if default <= 0:
            return
        for key in ((backend, command), (None, command)):
            learned = self._learned.setdefault(key, _Learned())
            learned.factor_sum += seconds / default
            learned.count += 1

    def learn_from_history(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Learn from stored runs (``RunHistory.get`` records); returns the commands learned from.

        Only hardware runs teach anything (a simulated command takes no real time). A command's
        duration is the time from its ``command`` event to the ``progress`` event that follows
        (the runner emits one when the backend returns)."""
        learned = 0
        for record in records:
            if record.get("simulate", True) or record.get("status") != "completed":
                continue
            backends = {name: entry.get("backend") for name, entry in
                        ((record.get("plan") or {}).get("parameters") or {}).items()
                        if isinstance(entry, dict) and entry.get("kind") == "machine"}
            pending: dict[str, Any] | None = None
            for event in record.get("events") or []:
                if event.get("type") == "command":
                    pending = event
                elif event.get("type") == "progress" and pending is not None:
                    seconds = (event["t_ms"] - pending["t_ms"]) / 1000
                    self.observe(pending["command"], pending.get("args") or {},
                                 backends.get(pending.get("machine")), seconds)
                    learned += 1
                    pending = None
        return learned

    def learned(self) -> dict[str, dict[str, float]]:
        """What history taught: ``backend or '*'`` / command -> factor and run count."""
        return {f"{backend or '*'}/{command}": {
            "factor": (item.factor_sum + PRIOR_WEIGHT) / (item.count + PRIOR_WEIGHT),
            "observations": item.count} for (backend, command), item in self._learned.items()}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _slowest_channel(operations: Any, default_flow_rate: float) -> float:
    """Channels move liquid in parallel: the longest volume / flow rate sets the pace."""
    slowest = 0.0
    for operation in operations if isinstance(operations, list) else []:
        if not isinstance(operation, dict):
            continue
        volume = _number(operation.get("volume")) or 0.0
        rate = _number(operation.get("flow_rate")) or default_flow_rate
        if rate > 0:
            slowest = max(slowest, abs(volume) / rate)
    return slowest
