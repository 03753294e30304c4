"""One protocol run: instrument the machines, call the protocol, report what happened.

The protocol is the user's own async function, called with every parameter resolved. Each
command a machine's backend receives becomes an event with its arguments; tip and volume
state changes of every resource on the deck become state events; PLR's log lines and the
chatterbox's printout become log events. Cancelling the run's task stops the protocol at
its next ``await``; machines are stopped and callbacks removed on every ending.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import linecache
import logging
import sys
import time
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from browser_runtime.interrupts import runner_frame, user_code
from browser_runtime.runner.events import EventLog, jsonable


@dataclass
class RunResult:
    status: str  # "completed" | "failed" | "cancelled"
    events: list[dict[str, Any]]
    duration_ms: float
    error: dict[str, Any] | None = None
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "events": self.events,
            "duration_ms": round(self.duration_ms, 3),
            "error": self.error,
            "value": self.value,
        }


def load_protocol_function(source: str, filename: str, function: str) -> Callable[..., Any]:
    """Execute a protocol file's source as a fresh module and return one of its functions."""
    module = types.ModuleType(f"labwright_protocol_{abs(hash((filename, source)))}")
    module.__file__ = filename
    # Tracebacks quote the protocol's own lines, as they do for a file on disk.
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    code = compile(source, filename, "exec")
    sys.modules[module.__name__] = module  # dataclasses and typing look modules up by name
    try:
        exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(module.__name__, None)
        raise
    target = module.__dict__.get(function)
    if not callable(target):
        defined = sorted(name for name, value in module.__dict__.items() if inspect.isfunction(value))
        raise LookupError(f"{filename} defines no function {function!r} (it has: {', '.join(defined)})")
    return target


class Loadable:
    """What a run calls is made when it starts (its module's code runs then, not before):
    ``load(run)`` returns the function the run awaits."""

    def __call__(self, run: ProtocolRun) -> Callable[..., Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class ProtocolSource(Loadable):
    """A protocol function still to be loaded from its file's source."""

    source: str
    filename: str
    function: str

    def __call__(self, run: ProtocolRun) -> Callable[..., Any]:
        return load_protocol_function(self.source, self.filename, self.function)


def user_line(exc: BaseException, filename: str | None) -> int | None:
    """The line of the protocol file where ``exc`` was raised last (the user's, not PLR's)."""
    line = None
    if isinstance(exc, SyntaxError) and exc.filename == filename:
        return exc.lineno
    tb = exc.__traceback__
    while tb is not None:
        if filename is not None and tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def plr_call(exc: BaseException, filename: str | None) -> dict[str, Any] | None:
    """The PLR call the user's code made that raised: the frame right after the protocol's last."""
    tb, after_user = exc.__traceback__, None
    while tb is not None:
        if filename is not None and tb.tb_frame.f_code.co_filename == filename:
            after_user = tb.tb_next
        tb = tb.tb_next
    if after_user is None:
        return None
    frame = after_user.tb_frame
    owner = frame.f_locals.get("self")
    return {"machine": type(owner).__name__ if owner is not None else frame.f_globals.get("__name__", ""),
            "command": frame.f_code.co_name, "args": {}}


class _LineWriter(io.TextIOBase):
    """A stdout stand-in that turns every printed line into a log event."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._partial = ""

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                self._emit(line)
        return len(text)

    def flush(self) -> None:
        if self._partial.strip():
            self._emit(self._partial)
        self._partial = ""


class _LogHandler(logging.Handler):
    def __init__(self, log: EventLog) -> None:
        super().__init__(level=logging.INFO)
        self._log = log

    def emit(self, record: logging.LogRecord) -> None:
        self._log.emit("log", source=record.name, level=record.levelname.lower(), message=record.getMessage())


def _backend_commands(backend: Any) -> list[str]:
    """The public coroutine methods a backend offers: the commands PLR sends it."""
    names = []
    for name, member in inspect.getmembers(type(backend)):
        if name.startswith("_") or not inspect.iscoroutinefunction(member):
            continue
        names.append(name)
    return names


@dataclass
class ProtocolRun:
    """Everything one run needs; ``execute`` is awaited once (as a task, to be cancellable)."""

    function: Callable[..., Any] | Loadable
    arguments: dict[str, Any]
    machines: dict[str, Any] = field(default_factory=dict)
    deck: Any = None
    log: EventLog = field(default_factory=EventLog)
    expected_commands: int | None = None
    setup_machines: bool = True
    filename: str | None = None  # the protocol file, whose line an error points at

    _commands: int = 0
    _current_command: dict[str, Any] | None = None
    _failed_call: dict[str, Any] | None = None
    _undo: list[Callable[[], None]] = field(default_factory=list)
    _decks: list[Any] = field(default_factory=list)
    _watched: set[int] = field(default_factory=set)

    def _instrument_frontend(self, parameter: str, machine: Any) -> None:
        """Remember which protocol-level call (``lh.aspirate(...)``) was running when one raises.

        PLR checks many things (tips, volumes) in the frontend before the backend hears of
        the command, so the last backend command is not always the one that failed.
        """
        for name, member in inspect.getmembers(type(machine)):
            if name.startswith("_") or not inspect.iscoroutinefunction(member):
                continue
            original = getattr(machine, name)

            async def tracked(*args: Any, __original: Any = original, __name: str = name, **kwargs: Any) -> Any:
                try:
                    return await __original(*args, **kwargs)
                except Exception:
                    if self._failed_call is None:  # the innermost call is the one that failed
                        try:
                            bound = inspect.signature(__original).bind(*args, **kwargs).arguments
                        except TypeError:
                            bound = {"args": args, **kwargs}
                        self._failed_call = {"machine": parameter, "command": __name, "args": jsonable(bound)}
                    raise

            setattr(machine, name, tracked)
            self._undo.append(lambda machine=machine, name=name: delattr(machine, name))

    def _instrument_machine(self, parameter: str, machine: Any) -> None:
        backend = getattr(machine, "backend", None)
        if backend is not None:
            self.attach_backend(parameter, backend)

    def attach_backend(self, parameter: str, backend: Any) -> None:
        """Record every command ``backend`` receives as ``parameter``'s (also for backends a
        script builds while it runs); a deck the backend is given is watched from then on."""
        for command in _backend_commands(backend):
            original = getattr(backend, command)

            async def recorded(*args: Any, __original: Any = original, __command: str = command, **kwargs: Any) -> Any:
                bound = None
                try:
                    bound = inspect.signature(__original).bind(*args, **kwargs).arguments
                except TypeError:
                    bound = {"args": args, **kwargs}
                event = {"machine": parameter, "command": __command, "args": jsonable(bound)}
                self._current_command = event
                self.log.emit("command", **event)
                self._watch_deck(getattr(backend, "_deck", None))  # PLR gives the backend its deck at setup
                result = await __original(*args, **kwargs)
                self._commands += 1
                fraction = (
                    min(self._commands / self.expected_commands, 1.0) if self.expected_commands else None
                )
                self.log.emit("progress", commands=self._commands, fraction=fraction)
                return result

            setattr(backend, command, recorded)
            self._undo.append(lambda backend=backend, command=command: delattr(backend, command))

    def _watch_state(self) -> None:
        self._watch_deck(self.deck)

    def _watch_deck(self, deck: Any) -> None:
        """State events (tips, volumes) of every resource on ``deck``, and of what is put on it later."""
        if deck is None or any(watched is deck for watched in self._decks):
            return
        self._decks.append(deck)
        for resource in deck.get_all_resources():
            self._watch_resource(resource)

        def assigned(resource: Any) -> None:
            for item in [resource, *resource.get_all_children()]:
                self._watch_resource(item)

        deck.register_did_assign_resource_callback(assigned)
        self._undo.append(lambda deck=deck, assigned=assigned: deck.deregister_did_assign_resource_callback(assigned))

    def _watch_resource(self, resource: Any) -> None:
        if not hasattr(resource, "tracker") or id(resource) in self._watched:
            return  # only tip spots and containers have tip / volume state
        self._watched.add(id(resource))

        def changed(state: dict[str, Any], name: str = resource.name) -> None:
            self.log.emit("state", resource=name, state=jsonable(state))

        resource.register_state_update_callback(changed)
        self._undo.append(
            lambda resource=resource, changed=changed: resource.deregister_state_update_callback(changed)
        )

    @runner_frame
    async def execute(self) -> RunResult:
        started = time.perf_counter()
        self.log.emit("status", status="running")
        handler = _LogHandler(self.log)
        plr_logger = logging.getLogger("pylabrobot")
        previous_level = plr_logger.level
        plr_logger.addHandler(handler)
        plr_logger.setLevel(logging.INFO)
        writer = _LineWriter(lambda line: self.log.emit("log", source="stdout", level="info", message=line))
        status, error, value = "completed", None, None
        with contextlib.redirect_stdout(writer):
            try:
                for parameter, machine in self.machines.items():
                    self._instrument_machine(parameter, machine)
                    self._instrument_frontend(parameter, machine)
                self._watch_state()
                with user_code(self.filename):  # the page's interrupt may stop this code only
                    function = self.function(self) if isinstance(self.function, Loadable) else self.function
                if self.setup_machines:
                    for machine in self.machines.values():
                        await machine.setup()
                with user_code(self.filename):
                    result = function(**self.arguments)
                    if inspect.isawaitable(result):
                        result = await result
                value = jsonable(result)
            except (asyncio.CancelledError, KeyboardInterrupt):
                # Cancel: at the protocol's next await, or (busy Python) the page's interrupt.
                status = "cancelled"
            except Exception as exc:  # noqa: BLE001 - a failing protocol is a result, not a crash
                status = "failed"
                error = {
                    "type": type(exc).__name__,
                    "message": str(exc),
                    "traceback": "".join(traceback.format_exception(exc)),
                    "command": self._failed_call or plr_call(exc, self.filename) or self._current_command,
                    "last_device_command": self._current_command,
                    "line": user_line(exc, self.filename),
                }
            finally:
                await self._stop_machines()
                writer.flush()
                for undo in reversed(self._undo):
                    undo()
                self._undo.clear()
                plr_logger.removeHandler(handler)
                plr_logger.setLevel(previous_level)
        if error is not None:
            self.log.emit("error", **error)
        self.log.emit("status", status=status)
        return RunResult(
            status=status,
            events=self.log.as_list(),
            duration_ms=(time.perf_counter() - started) * 1000,
            error=error,
            value=value,
        )

    async def _stop_machines(self) -> None:
        for parameter, machine in self.machines.items():
            if not getattr(machine, "setup_finished", False):
                continue
            try:
                await machine.stop()
            except Exception as exc:  # noqa: BLE001 - stopping must not hide the run's outcome
                self.log.emit("log", source=parameter, level="warning", message=f"stop failed: {exc}")
