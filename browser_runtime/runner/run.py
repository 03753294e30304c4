"""One protocol run: instrument the machines, call the protocol, report what happened.

The protocol is the user's own async function, called with every parameter resolved. Each
command a machine's backend receives becomes an event with its arguments; tip and volume
state changes of every resource on the deck become state events (what changed, see
``runner.events``); PLR's log lines and the chatterbox's printout become log events (a line
both print and log say within one command is told once; what a backend prints while it runs
a command, a chatterbox's table, is one log event of several lines). Cancelling the run's task stops the
protocol at its next ``await``; machines are stopped and callbacks removed on every ending.

A protocol on chatterbox backends never really awaits (each command returns at once), so a run
with ``pause_every_s`` pauses at the event loop between commands that often: the worker can
post its events and serve requests meanwhile. A cancel that lands in such a pause stops the run
before its next command, raised as ``RunCancelled`` from the backend so that PLR's frontend
rolls back what it had queued for the command that was not sent.
"""

from __future__ import annotations

import abc
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
from browser_runtime.runner.events import EventLog, json_safe, jsonable


#: How long a pause waits. Not 0: in the page a zero wait is a message the worker posts itself,
#: which Chromium ran before the page's requests for hundreds of milliseconds (measured: a request
#: made during a busy run waited 0.3-0.9 s; with a 3 ms timer 50-170 ms).
_PAUSE_S = 0.003


class RunCancelled(Exception):
    """The run was cancelled: raised instead of sending the next command to a backend.

    An ``Exception`` (not ``CancelledError``) on purpose: PLR's frontends catch exceptions of
    their backend's commands and roll back the tip and volume changes they had queued."""


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


class Loadable(abc.ABC):
    """What a run calls is made when it starts (its module's code runs then, not before):
    calling it with the run returns the function the run awaits (ProtocolSource, ScriptSource)."""

    @abc.abstractmethod
    def __call__(self, run: ProtocolRun) -> Callable[..., Any]: ...


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
        if text == "\n":  # print() writes its text, then the line's end on its own
            line, self._partial = self._partial, ""
            if line.strip():
                self._emit(line)
            return 1
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
    def __init__(self, line: Callable[[str, str, str], None]) -> None:
        super().__init__(level=logging.INFO)
        self._line = line

    def emit(self, record: logging.LogRecord) -> None:
        self._line(record.name, record.levelname.lower(), record.getMessage())


def _binder(signature: inspect.Signature) -> Callable[..., dict[str, Any]]:
    """``signature.bind(*args, **kwargs).arguments``, made quickly for calls by keyword only
    (how PLR's frontends call their backends); any other call goes through ``bind``."""
    parameters = signature.parameters.values()
    named = [p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    known = frozenset(named)
    required = frozenset(p.name for p in parameters if p.name in known and p.default is p.empty)
    var_keyword = next((p.name for p in parameters if p.kind is p.VAR_KEYWORD), None)

    def bind(*args: Any, **kwargs: Any) -> dict[str, Any]:
        if args or not required.issubset(kwargs) or (var_keyword is None and not known.issuperset(kwargs)):
            return dict(signature.bind(*args, **kwargs).arguments)
        arguments = {name: kwargs[name] for name in named if name in kwargs}
        if len(arguments) < len(kwargs):
            arguments[var_keyword] = {key: value for key, value in kwargs.items() if key not in known}
        return arguments

    return bind


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
    #: Pause at the event loop at most this long after the last pause (None: never). Off unless
    #: asked: an estimate on a virtual clock must not depend on the wall clock.
    pause_every_s: float | None = None

    _commands: int = 0
    _next_pause: float = 0.0
    _cancel_requested: bool = False
    _stopping: bool = False
    _lines: dict[str, list[str]] = field(default_factory=dict)  # this command's lines -> who said them
    _printout: list[str] = field(default_factory=list)  # lines printed during a command, not told yet
    _in_command: int = 0
    _deck_seen: Any = None
    _resources: dict[str, Any] = field(default_factory=dict)  # watched, by name
    _stale: bool = False  # a command failed: PLR may have rolled back states without telling
    _current_command: dict[str, Any] | None = None
    _failed_call: dict[str, Any] | None = None
    _undo: list[Callable[[], None]] = field(default_factory=list)
    _decks: list[Any] = field(default_factory=list)
    _watched: set[int] = field(default_factory=set)
    _trees_told: set[str] = field(default_factory=set)  # resources whose tree an event holds

    def _calling_line(self) -> int | None:
        """The protocol file's line this command comes from (the timeline marks it in the editor)."""
        if self.filename is None:
            return None
        frame = sys._getframe(2)
        for _ in range(40):  # PLR's frontend, its helpers, our wrappers: a few dozen frames at most
            if frame is None:
                return None
            if frame.f_code.co_filename == self.filename:
                return frame.f_lineno
            frame = frame.f_back
        return None

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
                    self._recheck_states()
                    if self._failed_call is None and not self._cancel_requested:
                        # the innermost call is the one that failed
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
            try:
                signature: inspect.Signature | None = inspect.signature(original)
            except (TypeError, ValueError):
                signature = None
            bind = _binder(signature) if signature is not None else None

            async def recorded(*args: Any, __original: Any = original, __command: str = command,
                               __bind: Any = bind, **kwargs: Any) -> Any:
                if not self._stopping:
                    if self.pause_every_s is not None and time.perf_counter() >= self._next_pause:
                        await self._pause()
                    if self._cancel_requested:
                        self._stale = True
                        raise RunCancelled(f"cancelled before {parameter}.{__command}")
                try:
                    bound = __bind(*args, **kwargs) if __bind is not None else None
                except TypeError:
                    bound = None
                event = {"machine": parameter, "command": __command,
                         "args": jsonable(bound if bound is not None else {"args": args, **kwargs})}
                line = self._calling_line()
                if line is not None:
                    event["line"] = line
                self._current_command = event
                self._tell_printout()  # of a command this one runs within
                self._lines.clear()
                self.log.emit("command", **event)
                deck = getattr(backend, "_deck", None)  # PLR gives the backend its deck at setup
                if deck is not self._deck_seen:
                    self._deck_seen = deck
                    self._watch_deck(deck)
                self._in_command += 1
                try:
                    result = await __original(*args, **kwargs)
                except BaseException:
                    self._stale = True
                    raise
                finally:
                    self._in_command -= 1
                    self._tell_printout()
                self._commands += 1
                fraction = (
                    min(self._commands / self.expected_commands, 1.0) if self.expected_commands else None
                )
                self.log.emit("progress", commands=self._commands, fraction=fraction)
                return result

            if signature is not None:
                # What PLR's frontend sees when it checks the backend's keyword arguments: the
                # command's own parameters (and inspect needs not look at the wrapper each time).
                recorded.__signature__ = signature  # type: ignore[attr-defined]
            recorded.__name__ = recorded.__qualname__ = command  # as PLR's messages name it
            setattr(backend, command, recorded)
            self._undo.append(lambda backend=backend, command=command: delattr(backend, command))

    async def _pause(self) -> None:
        """Let the event loop run (the worker posts events, serves requests); a cancel that
        arrives now is kept and stops the run before its next command (see ``RunCancelled``)."""
        try:
            await asyncio.sleep(_PAUSE_S)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()  # taken over: RunCancelled ends the run instead
            self._cancel_requested = True
        self._next_pause = time.perf_counter() + (self.pause_every_s or 0.0)

    def _log_line(self, source: str, level: str, message: str) -> None:
        # A chatterbox may print what PLR also logs: within one command, a line one source says
        # after another said it is the same line, told once (each repeat by one source is told).
        sources = self._lines.get(message)
        if sources:
            for index, said in enumerate(sources):
                if said != source:
                    del sources[index]
                    return
            sources.append(source)
        else:
            self._lines[message] = [source]
        if self._in_command and source == "stdout":
            self._printout.append(message)  # a backend's printout of its command: one event
            return
        self._tell_printout()
        self.log.emit("log", source=source, level=level, message=message)

    def _tell_printout(self) -> None:
        if self._printout:
            message = "\n".join(self._printout)
            self._printout.clear()
            self.log.emit("log", source="stdout", level="info", message=message)

    def _recheck_states(self) -> None:
        """After a command failed (or was not sent: a cancel) PLR's frontend rolls back what it had
        queued for it, and a rollback tells no one: read every watched state again (only what
        differs from what the events told becomes an event)."""
        if not self._stale:
            return
        self._stale = False
        for name, resource in self._resources.items():
            self.log.state(name, resource.serialize_state())

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
            self._placed("assigned", resource)

        def unassigning(resource: Any) -> None:  # before: its parent and location are still known
            self._placed("unassigned", resource)

        deck.register_did_assign_resource_callback(assigned)
        deck.register_will_unassign_resource_callback(unassigning)
        self._undo.append(lambda deck=deck, assigned=assigned: deck.deregister_did_assign_resource_callback(assigned))
        self._undo.append(lambda deck=deck, unassigning=unassigning:
                          deck.deregister_will_unassign_resource_callback(unassigning))

    def _placed(self, kind: str, resource: Any) -> None:
        """An ``assigned`` / ``unassigned`` event (see ``runner.events``): where ``resource`` went
        or where it was; its tree with the first of them, for drawing it there at any step."""
        if self._stopping:
            return  # what stopping machines do to the deck is no step of the run
        parent = resource.parent
        rotation = getattr(resource, "rotation", None)
        event: dict[str, Any] = {
            "resource": resource.name,
            "parent": parent.name if parent is not None else None,
            "location": jsonable(resource.location),
            "rotation": jsonable(rotation.serialize()) if hasattr(rotation, "serialize") else None,
        }
        if resource.name not in self._trees_told:
            self._trees_told.add(resource.name)
            event["tree"] = json_safe(resource.serialize())
        self.log.emit(kind, **event)

    def _watch_resource(self, resource: Any) -> None:
        if not hasattr(resource, "tracker") or id(resource) in self._watched:
            return  # only tip spots and containers have tip / volume state
        self._watched.add(id(resource))
        self._resources[resource.name] = resource

        def changed(state: dict[str, Any], name: str = resource.name, log: EventLog = self.log) -> None:
            log.state(name, state)

        resource.register_state_update_callback(changed)
        self._undo.append(
            lambda resource=resource, changed=changed: resource.deregister_state_update_callback(changed)
        )

    @runner_frame
    async def execute(self) -> RunResult:
        started = time.perf_counter()
        self.log.emit("status", status="running")
        handler = _LogHandler(self._log_line)
        plr_logger = logging.getLogger("pylabrobot")
        previous_level = plr_logger.level
        plr_logger.addHandler(handler)
        plr_logger.setLevel(logging.INFO)
        writer = _LineWriter(lambda line: self._log_line("stdout", "info", line))
        self._next_pause = time.perf_counter() + (self.pause_every_s or 0.0)
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
            except (asyncio.CancelledError, KeyboardInterrupt, RunCancelled):
                # Cancel: at the protocol's next await or pause, or (busy Python) the page's interrupt.
                status = "cancelled"
            except Exception as exc:  # noqa: BLE001 - a failing protocol is a result, not a crash
                if self._cancel_requested:  # it caught RunCancelled and failed on the way out
                    status = "cancelled"
                else:
                    status, error = "failed", self._failure(exc)
            finally:
                self._recheck_states()
                self._stopping = True
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

    def _failure(self, exc: BaseException) -> dict[str, Any]:
        return {
            "type": type(exc).__name__,
            "message": str(exc),
            "traceback": "".join(traceback.format_exception(exc)),
            "command": self._failed_call or plr_call(exc, self.filename) or self._current_command,
            "last_device_command": self._current_command,
            "line": user_line(exc, self.filename),
        }

    async def _stop_machines(self) -> None:
        for parameter, machine in self.machines.items():
            if not getattr(machine, "setup_finished", False):
                continue
            try:
                await machine.stop()
            except Exception as exc:  # noqa: BLE001 - stopping must not hide the run's outcome
                self.log.emit("log", source=parameter, level="warning", message=f"stop failed: {exc}")
