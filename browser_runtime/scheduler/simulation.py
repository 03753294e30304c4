"""Discrete-event simulation of a protocol: the real runner on simulated machines, on virtual time.

The protocol runs through ``ProtocolRun`` exactly as a simulated run does (same planning,
same PLR frontends and no-hardware backends, same command events). What differs is time:
every backend command takes the duration the :class:`DurationModel` gives it, and every
``asyncio.sleep`` of the protocol or of PLR's frontends (an incubation's hold, a shaker's
duration) waits on a virtual clock instead of the wall clock. The clock jumps to the next
waiting coroutine's wake-up once the event loop has nothing else to do, so concurrent
commands (``asyncio.gather`` over two machines) overlap as they would on the bench. No
threads and no real sleeping: it runs the same in Pyodide.
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
import inspect
import itertools
import sys
import types
from dataclasses import dataclass, field
from typing import Any

from browser_runtime.errors import LabwrightError
from browser_runtime.runner.events import EventLog, jsonable
from browser_runtime.runner.run import ProtocolRun
from browser_runtime.scheduler.durations import DurationModel
from browser_runtime.scheduler.timelinks import LinkCheck, StepSpan, TimeLinkWatch

#: Loop turns with nothing new before the clock moves on (lets every ready task reach its sleep).
_SETTLE_TURNS = 3
#: A protocol that would take longer than this in virtual time is stopped (a polling loop that
#: never ends on a simulator, say).
MAX_VIRTUAL_S = 14 * 86400.0

_real_sleep = asyncio.sleep
_CLOCK: contextvars.ContextVar[VirtualClock | None] = contextvars.ContextVar("labwright_clock",
                                                                               default=None)


class EstimateError(LabwrightError, RuntimeError):
    """The protocol cannot be estimated (it ran past the virtual time limit, say)."""


class VirtualClock:
    """Seconds of virtual time; coroutines sleep on it and wake in time order."""

    def __init__(self, limit_s: float = MAX_VIRTUAL_S) -> None:
        self.now = 0.0
        self.limit_s = limit_s
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    async def sleep(self, delay: float, result: Any = None) -> Any:
        if delay is None or delay <= 0:
            await _real_sleep(0)
            return result
        wake = self.now + float(delay)
        if wake > self.limit_s:
            raise EstimateError(f"the protocol runs past {self.limit_s / 3600:g} h of virtual time")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (wake, next(self._order), future))
        if self._driver is None:
            self._driver = asyncio.get_running_loop().create_task(self._drive())
        await future
        return result

    async def _drive(self) -> None:
        try:
            while self._sleepers:
                for _ in range(_SETTLE_TURNS):
                    await _real_sleep(0)
                wake, _, future = heapq.heappop(self._sleepers)
                if future.done():  # its sleeper was cancelled
                    continue
                self.now = max(self.now, wake)
                future.set_result(None)
        finally:
            self._driver = None


async def _sleep(delay: float, result: Any = None) -> Any:
    """``asyncio.sleep`` for patched modules: virtual inside an estimate, real everywhere else."""
    clock = _CLOCK.get()
    if clock is None:
        return await _real_sleep(delay, result)
    return await clock.sleep(delay, result)


class _VirtualAsyncio(types.ModuleType):
    """Stands in for ``asyncio`` in a module's globals: everything is asyncio's except sleep."""

    sleep = staticmethod(_sleep)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


_ASYNCIO = _VirtualAsyncio("asyncio")
_patched_modules: set[str] = set()


def _patch_namespace(namespace: dict[str, Any]) -> None:
    for name, value in list(namespace.items()):
        if value is asyncio:
            namespace[name] = _ASYNCIO
        elif value is _real_sleep:
            namespace[name] = _sleep


def _patch_classes(*classes: type) -> None:
    """Route the sleeps of these classes' modules through the clock-aware ``_sleep``.

    Left in place afterwards on purpose: outside an estimate ``_sleep`` is the real sleep, so a
    run going on at the same time in the same worker is not affected."""
    for cls in classes:
        for base in cls.__mro__:
            module = sys.modules.get(base.__module__)
            if module is None or base.__module__ in _patched_modules or base.__module__ == "builtins":
                continue
            _patch_namespace(module.__dict__)
            _patched_modules.add(base.__module__)


@dataclass
class CommandSpan:
    machine: str  # the protocol's parameter name
    command: str
    start_s: float
    end_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"machine": self.machine, "command": self.command,
                "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3)}


@dataclass
class Estimate:
    """What a protocol will do and how long: every command on the virtual clock."""

    protocol: str
    function: str
    status: str  # completed | failed (the protocol raised in simulation: it would fail for real)
    duration_s: float
    commands: list[CommandSpan] = field(default_factory=list)
    error: dict[str, Any] | None = None
    machine_kinds: dict[str, str] = field(default_factory=dict)
    #: Calls of the steps the protocol's time links name, and how each link call stood.
    steps: list[StepSpan] = field(default_factory=list)
    links: list[LinkCheck] = field(default_factory=list)
    #: Labware parameter -> what the run draws from it: ``{"tips": n, "volume_ul": v}``.
    consumption: dict[str, dict[str, float]] = field(default_factory=dict)
    #: When the protocol function itself ran (the machines' setup before, their stop after).
    protocol_start_s: float = 0.0
    protocol_end_s: float | None = None

    def command_names(self) -> list[str]:
        return [span.command for span in self.commands]

    def busy(self) -> dict[str, list[tuple[float, float]]]:
        """Per machine parameter, its merged busy intervals (seconds from the run's start)."""
        intervals: dict[str, list[tuple[float, float]]] = {}
        for span in sorted(self.commands, key=lambda s: (s.machine, s.start_s)):
            rows = intervals.setdefault(span.machine, [])
            if rows and span.start_s <= rows[-1][1]:
                rows[-1] = (rows[-1][0], max(rows[-1][1], span.end_s))
            else:
                rows.append((span.start_s, span.end_s))
        return intervals

    def to_dict(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol, "function": self.function, "status": self.status,
            "duration_s": round(self.duration_s, 3), "error": self.error,
            "commands": [span.to_dict() for span in self.commands],
            "busy": {name: [[round(a, 3), round(b, 3)] for a, b in rows]
                     for name, rows in self.busy().items()},
            "machine_kinds": self.machine_kinds,
            "steps": [step.to_dict() for step in self.steps],
            "time_links": [check.to_dict() for check in self.links],
            "consumption": {name: {k: round(v, 3) for k, v in used.items()}
                            for name, used in self.consumption.items()},
            "protocol_start_s": round(self.protocol_start_s, 3),
            "protocol_end_s": None if self.protocol_end_s is None else round(self.protocol_end_s, 3),
        }

    def timeline(self) -> Any:
        """The run as the scheduler places it (see ``timeline.timeline_from_estimate``)."""
        from browser_runtime.scheduler.timeline import timeline_from_estimate

        return timeline_from_estimate(self)


def _backend_commands(backend: Any) -> list[str]:
    return [name for name, member in inspect.getmembers(type(backend))
            if not name.startswith("_") and inspect.iscoroutinefunction(member)]


class _Consumption:
    """What the run draws from each labware parameter: tips picked up, net volume aspirated."""

    def __init__(self, arguments: dict[str, Any]) -> None:
        self.owners = {id(value): name for name, value in arguments.items()
                       if hasattr(value, "get_all_children")}
        self.used: dict[str, dict[str, float]] = {}

    def _owner(self, resource: Any) -> str | None:
        while resource is not None:
            found = self.owners.get(id(resource))
            if found is not None:
                return found
            resource = getattr(resource, "parent", None)
        return None

    def _add(self, resource: Any, key: str, amount: float) -> None:
        owner = self._owner(resource)
        if owner is not None:
            entry = self.used.setdefault(owner, {"tips": 0.0, "volume_ul": 0.0})
            entry[key] += amount

    def record(self, command: str, bound: dict[str, Any]) -> None:
        if command == "pick_up_tips":
            for op in bound.get("ops") or []:
                self._add(getattr(op, "resource", None), "tips", 1)
        elif command == "pick_up_tips96":
            pickup = bound.get("pickup")
            tips = [tip for tip in getattr(pickup, "tips", []) if tip is not None]
            self._add(getattr(pickup, "resource", None), "tips", len(tips))
        elif command in ("aspirate", "dispense"):
            sign = 1.0 if command == "aspirate" else -1.0
            for op in bound.get("ops") or []:
                self._add(getattr(op, "resource", None), "volume_ul", sign * float(getattr(op, "volume", 0) or 0))
        elif command in ("aspirate96", "dispense96"):
            sign = 1.0 if command == "aspirate96" else -1.0
            operation = bound.get("aspiration" if command == "aspirate96" else "dispense")
            volume = float(getattr(operation, "volume", 0) or 0)
            wells = getattr(operation, "wells", None)
            if wells:
                for well in wells:
                    self._add(well, "volume_ul", sign * volume)
            elif getattr(operation, "container", None) is not None:
                channels = len([t for t in getattr(operation, "tips", []) if t is not None]) or 96
                self._add(operation.container, "volume_ul", sign * volume * channels)

    def result(self) -> dict[str, dict[str, float]]:
        """Drawn amounts only: a plate that got as much as was taken from it drew nothing."""
        return {name: {"tips": used["tips"], "volume_ul": max(0.0, used["volume_ul"])}
                for name, used in self.used.items() if used["tips"] or used["volume_ul"] > 0}


def _time_machine(parameter: str, machine: Any, clock: VirtualClock, model: DurationModel,
                  spans: list[CommandSpan], consumption: _Consumption | None = None) -> None:
    """Every backend command takes its modelled duration on the clock (wrapped on the instance,
    under the runner's own recording wrapper, so the runner's events are unchanged)."""
    backend = getattr(machine, "backend", None)
    if backend is None:
        return
    backend_fqn = f"{type(backend).__module__}.{type(backend).__qualname__}"
    _patch_classes(type(machine), type(backend))
    for command in _backend_commands(backend):
        original = getattr(backend, command)

        async def timed(*args: Any, __original: Any = original, __command: str = command,
                        **kwargs: Any) -> Any:
            start = clock.now
            result = await __original(*args, **kwargs)
            try:
                bound = inspect.signature(__original).bind(*args, **kwargs).arguments
            except TypeError:
                bound = {}
            if consumption is not None:
                consumption.record(__command, bound)
            await clock.sleep(model.duration(__command, jsonable(bound), backend_fqn))
            spans.append(CommandSpan(parameter, __command, start, clock.now))
            return result

        setattr(backend, command, timed)


async def estimate_protocol(
    source: str,
    catalog: Any,
    *,
    function: str | None = None,
    parameters: dict[str, Any] | None = None,
    filename: str = "protocol.py",
    deck: Any = None,
    model: DurationModel | None = None,
    inventory: Any = None,
    limit_s: float = MAX_VIRTUAL_S,
) -> Estimate:
    """Run the protocol in simulation on a virtual clock: its duration and every command's span,
    the calls its time links name (their minimum waits included), what it draws from its labware.

    The protocol's code runs with no hardware grant (it can't reach a device). Raises the
    runner's ``PlanError`` when the protocol cannot be planned (what and where)."""
    from browser_runtime.protocols.decorator import get_protocol_metadata
    from browser_runtime.runner.materialize import materialize
    from browser_runtime.runner.planner import Planner
    from browser_runtime.runner.plans import PlanInputs
    from browser_runtime.runner.run import load_protocol_function
    from browser_runtime.webbridge.grants import sandboxed

    model = model or DurationModel()
    with sandboxed("an estimate"):
        plan = Planner(catalog, inventory).plan(PlanInputs(source=source, filename=filename, function=function,
                                                           parameters=parameters or {}, deck=deck))
        built = materialize(plan, catalog, inventory)
        clock = VirtualClock(limit_s)
        spans: list[CommandSpan] = []
        consumption = _Consumption(built.arguments)
        for parameter, machine in built.machines.items():
            _time_machine(parameter, machine, clock, model, spans, consumption)
        token = _CLOCK.set(clock)
        undo = None
        try:
            function_object = load_protocol_function(source, filename, plan.function)
            _patch_namespace(function_object.__globals__)
            metadata = get_protocol_metadata(function_object)
            # The links' minimum waits happen on the virtual clock, so the estimate includes them.
            watch = TimeLinkWatch(metadata.time_links if metadata else (), now=lambda: clock.now,
                                  sleep=clock.sleep)
            undo = watch.install(built.machines)
            window: list[float | None] = [0.0, None]

            async def protocol(**arguments: Any) -> Any:
                # When the protocol itself runs: the machines are set up before and stopped after.
                window[0] = clock.now
                try:
                    result = function_object(**arguments)
                    return await result if inspect.isawaitable(result) else result
                finally:
                    window[1] = clock.now

            run = ProtocolRun(protocol, built.arguments, machines=built.machines,
                              deck=built.deck, log=EventLog(), filename=filename)
            # A task of its own, so its context (and every task the protocol starts) sees the
            # clock and holds no grant.
            result = await asyncio.ensure_future(run.execute())
        finally:
            _CLOCK.reset(token)
            if undo is not None:
                undo()
    kinds = {name: machine.machine_kind for name, machine in plan.machines.items()}
    return Estimate(plan.protocol, plan.function,
                    "completed" if result.status == "completed" else result.status,
                    max([clock.now] + [span.end_s for span in spans]), spans,
                    result.error and {k: result.error[k] for k in ("type", "message", "command")},
                    kinds, watch.steps, watch.checks, consumption.result(), window[0] or 0.0, window[1])
