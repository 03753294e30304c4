"""Time links at run time: when each linked step ran, a link's minimum waited out, a missed maximum reported.

A protocol declares ``TimeLink(after, before, min_s, max_s)`` between two of its machine
calls. :class:`TimeLinkWatch` wraps exactly those calls on the run's machine objects (the
frontends the protocol calls, so the step is what the protocol wrote): before a ``before``
call it waits until ``min_s`` has passed since the latest ``after`` call ended (and, given
a plan, until the step's planned start); when the call starts later than ``max_s`` it
records a violation and emits a ``time_link`` event. The estimate runs it on the virtual
clock, so the estimate holds the waits the run will hold; a runner runs it on the wall clock.

For the runner (``browser_runtime/runner``)::

    watch = TimeLinkWatch(metadata.time_links, emit=log.emit)  # get_protocol_metadata(function)
    undo = watch.install(machines)  # before calling the protocol; planned=planned_starts(run)
    try: ... run the protocol ...
    finally: undo()
    watch.violations  # also emitted as they happen: {"type": "time_link", ...}
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from browser_runtime.protocols.decorator import step_parameter

#: A start this much past the maximum still counts as on time (clock jitter, float sums).
TOLERANCE_S = 1e-6


class TimeLinkError(RuntimeError):
    """A time link was missed and the watch was told to stop the run for it (``strict``)."""


@dataclass
class StepSpan:
    """One call of a linked step: ``hs.unlock_plate`` #2 ran from ``start_s`` to ``end_s``."""

    step: str
    occurrence: int  # 1 for the first call of this step in the run
    start_s: float
    end_s: float | None = None

    @property
    def key(self) -> str:
        return f"{self.step}#{self.occurrence}"

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "occurrence": self.occurrence, "start_s": round(self.start_s, 3),
                "end_s": None if self.end_s is None else round(self.end_s, 3)}


@dataclass
class LinkCheck:
    """How one call of a ``before`` step stood against its link."""

    link: Any  # the TimeLink (or TimeLinkSpec)
    before: str  # "reader.read_absorbance#1"
    after: str  # the ``after`` call it is measured from
    reference_s: float  # when that call ended
    start_s: float
    waited_s: float  # how long the watch held the call back

    @property
    def gap_s(self) -> float:
        return self.start_s - self.reference_s

    @property
    def missed(self) -> bool:
        return self.link.max_s is not None and self.gap_s > self.link.max_s + TOLERANCE_S

    def to_dict(self) -> dict[str, Any]:
        return {"after": self.after, "before": self.before, "min_s": self.link.min_s,
                "max_s": self.link.max_s, "gap_s": round(self.gap_s, 3),
                "waited_s": round(self.waited_s, 3), "missed": self.missed,
                "message": self.message()}

    def message(self) -> str:
        bound = (f"within {self.link.max_s:g} s" if self.link.max_s is not None else
                 f"at least {self.link.min_s:g} s")
        verdict = "missed" if self.missed else "held"
        return (f"time link {verdict}: {self.before} started {self.gap_s:.1f} s after {self.after} "
                f"ended (must be {bound})")


@dataclass
class TimeLinkWatch:
    """Watches a run's linked steps. ``now`` and ``sleep`` are the clock (wall clock by
    default); ``planned`` maps ``"step#occurrence"`` to seconds after ``install`` at which that
    call may start at the earliest (the schedule's waits); ``emit(type, **fields)`` reports."""

    links: Iterable[Any]
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep
    emit: Callable[..., Any] | None = None
    planned: Mapping[str, float] | None = None
    strict: bool = False
    steps: list[StepSpan] = field(default_factory=list)
    checks: list[LinkCheck] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.links = list(self.links)
        self._origin = 0.0
        self._counts: dict[str, int] = {}
        self._last_end: dict[str, StepSpan] = {}

    @property
    def violations(self) -> list[LinkCheck]:
        return [check for check in self.checks if check.missed]

    def watched(self) -> dict[str, set[str]]:
        """Machine parameter -> the methods of it the links name."""
        methods: dict[str, set[str]] = {}
        for link in self.links:
            for step in (link.after, link.before):
                parameter, method = step_parameter(step)
                methods.setdefault(parameter, set()).add(method)
        return methods

    def install(self, machines: Mapping[str, Any]) -> Callable[[], None]:
        """Wrap the linked calls on the machine objects; returns the undo."""
        self._origin = self.now()
        undo: list[Callable[[], None]] = []
        for parameter, methods in self.watched().items():
            machine = machines.get(parameter)
            if machine is None:
                continue
            for method in sorted(methods):
                original = getattr(machine, method, None)
                if original is None or not callable(original):
                    continue
                previous = machine.__dict__.get(method, _MISSING)
                wrapper = self._wrap(f"{parameter}.{method}", original)
                setattr(machine, method, wrapper)

                def restore(machine: Any = machine, method: str = method, previous: Any = previous,
                            wrapper: Any = wrapper) -> None:
                    if machine.__dict__.get(method) is not wrapper:
                        return  # someone wrapped over it and restored already
                    if previous is _MISSING:
                        delattr(machine, method)
                    else:
                        setattr(machine, method, previous)

                undo.append(restore)

        def undo_all() -> None:
            for step in reversed(undo):
                step()

        return undo_all

    def _elapsed(self) -> float:
        return self.now() - self._origin

    def _wrap(self, step: str, original: Callable[..., Any]) -> Callable[..., Any]:
        async def linked(*args: Any, **kwargs: Any) -> Any:
            occurrence = self._counts.get(step, 0) + 1
            self._counts[step] = occurrence
            pending = await self._before(step, occurrence)
            span = StepSpan(step, occurrence, self._elapsed())
            self.steps.append(span)
            for check in pending:
                check.start_s = span.start_s
                self._judge(check)
            try:
                return await original(*args, **kwargs)
            finally:
                span.end_s = self._elapsed()
                self._last_end[step] = span

        return linked

    async def _before(self, step: str, occurrence: int) -> list[LinkCheck]:
        """Wait as the links into this call (and the plan) say; the checks to judge at its start."""
        pending, earliest = [], 0.0
        for link in self.links:
            if link.before != step:
                continue
            reference = self._last_end.get(link.after)
            if reference is None or reference.end_s is None:
                continue  # no earlier call of ``after``: the link does not bind this call
            earliest = max(earliest, reference.end_s + link.min_s)
            pending.append(LinkCheck(link, f"{step}#{occurrence}", reference.key, reference.end_s, 0.0, 0.0))
        if self.planned is not None:
            earliest = max(earliest, float(self.planned.get(f"{step}#{occurrence}", 0.0)))
        waited = 0.0
        if earliest > self._elapsed():
            waited = earliest - self._elapsed()
            await self.sleep(waited)
        for check in pending:
            check.waited_s = waited
        return pending

    def _judge(self, check: LinkCheck) -> None:
        self.checks.append(check)
        if check.missed:
            if self.emit is not None:
                self.emit("time_link", **check.to_dict())
            if self.strict:
                raise TimeLinkError(check.message())


_MISSING = object()


def planned_starts(run: Mapping[str, Any], started_at: datetime | None = None) -> dict[str, float]:
    """``"step#occurrence"`` -> seconds after the protocol starts, from a scheduled run
    (``book.run``): where the schedule put the linked steps after a wait, for
    ``TimeLinkWatch(planned=...)``. ``started_at``: when the protocol actually started (a run
    started late keeps the planned waits relative to its start)."""
    runs = [segment for segment in run.get("segments") or [] if segment.get("kind") == "run"]
    if not runs:
        return {}
    origin = started_at or datetime.fromisoformat(runs[0]["starts_at"])
    return {segment["label"]: (datetime.fromisoformat(segment["starts_at"]) - origin).total_seconds()
            for segment in runs[1:] if "#" in (segment.get("label") or "")}
