"""Runs: the one way a protocol run is planned, started, watched, cancelled and remembered.

Used by the page (a run from the workbench or the API), by scheduled runs (on exactly the
assets the schedule holds) and by runs of the lab's shared schedule. ``start`` takes a plan
the user saw (by id; a stale or unknown one is refused) or plans at once; it reserves the
plan's items and records the run in one transaction, and returns before any of the
protocol's code runs. The run goes on as an asyncio task whose events are handed to
``emit("run", {"runId", "events"})`` in batches as they happen (about every ``batch_s``, at once
at its start and end); it pauses at the event loop every ``pause_every_s`` (a run on chatterbox
backends never awaits anything real), so a cancel is served while it goes on. Whatever the
ending, reservations are released and the run is stored with its events. A simulated run holds
no hardware grant, so its code can't reach a device.
A hardware run's device IO is recorded (PLR's capture format) and stored with it; a replay runs
the same real backends against such a capture instead of devices (webbridge/replay.py).
"""

from __future__ import annotations

import asyncio
import contextvars
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from browser_runtime.errors import NotFound

from browser_runtime.protocols.cache import AnalysisCache
from browser_runtime.runner.events import EventBatches, EventLog
from browser_runtime.runner.history import RunHistory
from browser_runtime.runner.plans import Plan, PlanError, PlanInputs, StalePlan
from browser_runtime.runner.run import ProtocolRun, ProtocolSource
from browser_runtime.runner.scripts import ScriptSource
from browser_runtime.webbridge import capture, grants, interfaces
from browser_runtime.webbridge import replay as replays

__all__ = ["ActiveRun", "Runs"]

#: ``emit(channel, payload)``: where run events go (the page's worker posts them to the page).
EventSink = Callable[[str, Any], None]
_KEPT_PLANS = 64
_ENDED_KEPT = 32  # results of ended runs kept whole for late waiters


@dataclass
class ActiveRun:
    run_id: str
    task: asyncio.Task[dict[str, Any]]
    protocol: str
    plan: Plan
    simulate: bool
    log: EventLog | None = None


@dataclass
class Runs:
    """Plans and runs against one catalog, inventory and history."""

    catalog: Callable[[], Any]
    inventory: Any
    history: RunHistory
    emit: EventSink = lambda channel, payload: None
    #: Called with a finished run's objects (machines, deck, labware), e.g. to put them in the REPL.
    on_finished: list[Callable[[dict[str, Any]], None]] = field(default_factory=list)
    #: Analyses by source, shared with the editor's diagnostics: a file is analysed once.
    analyses: AnalysisCache = field(default_factory=AnalysisCache)
    #: Longest a run goes without letting the event loop run (None: it pauses only where it awaits).
    #: A pause costs the page's worker about a millisecond (a turn of the browser's event loop).
    pause_every_s: float | None = 0.1
    #: A run's events go to ``emit`` about this often (each resource's state once per batch).
    batch_s: float = 0.05
    #: Where hardware runs' captures are kept (webbridge.capture_store.CaptureStore), if anywhere.
    captures: Any = None
    _plans: OrderedDict[str, Plan] = field(default_factory=OrderedDict)
    _active: dict[str, ActiveRun] = field(default_factory=dict)
    #: The whole results of the runs that ended lately (a replay's summary is in no table): a
    #: waiter that comes after the run ended gets what one that waited got.
    _ended: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)
    #: The events of the stored runs read last (their slices are asked for one after another).
    _stored_events: OrderedDict[str, list[dict[str, Any]]] = field(default_factory=OrderedDict)

    # ---- plans ------------------------------------------------------------------------------

    def plan(self, inputs: PlanInputs, *, keep: bool = True) -> Plan:
        """A plan the user can look at and then run by its id (nothing is reserved yet);
        ``keep=False`` only tries (the editor's diagnostics): no id to run it by."""
        from browser_runtime.runner.planner import Planner, choose_protocol
        from browser_runtime.webbridge.grants import sandboxed

        catalog = self.catalog()
        analysis = self.analyses.analyze(inputs.source, inputs.filename, catalog)
        planner = Planner(catalog, self.inventory)
        with sandboxed("planning"):
            if not analysis.protocols and analysis.script is not None and inputs.function is None:
                plan = planner.plan_script(inputs, analysis)
            else:
                plan = planner.plan(inputs, protocol=choose_protocol(analysis, inputs.function))
        if not keep:
            return plan
        self._plans[plan.plan_id] = plan
        while len(self._plans) > _KEPT_PLANS:
            self._plans.popitem(last=False)
        return plan

    def forget_plans(self) -> None:
        """Plans made against a database that was replaced are no plans any more."""
        self._plans.clear()

    def planned(self, plan_id: str, inputs: PlanInputs | None = None) -> Plan:
        """The plan ``plan_id`` names, if it is still what ``inputs`` would give; else ``StalePlan``."""
        from browser_runtime.inventory.store import utcnow
        from browser_runtime.runner.planner import DEFAULT_WINDOW

        plan = self._plans.get(plan_id)
        if plan is None:
            raise StalePlan(f"no plan {plan_id!r} (plans live until the page reloads): plan again",
                            [{"field": "plan_id", "message": "unknown"}])
        if utcnow() - plan.created_at > DEFAULT_WINDOW:
            raise StalePlan(f"plan {plan_id} was made at {plan.created_at:%H:%M}, over an hour ago: plan again",
                            [{"field": "plan_id", "message": "expired"}])
        if inputs is not None and inputs.digest() != plan.digest:
            changed = inputs.differences(plan.inputs)
            raise StalePlan(f"plan {plan_id} is stale: changed since it was made: {'; '.join(changed)}; "
                            "plan again to see what would run", [{"field": c, "message": "changed"} for c in changed])
        return plan

    # ---- runs -------------------------------------------------------------------------------

    def start(self, *, plan_id: str | None = None, inputs: PlanInputs | None = None,
              run_id: str | None = None, reserve: bool = True,
              on_end: Callable[[dict[str, Any]], None] | None = None,
              gate: Callable[[], Awaitable[None]] | None = None,
              replay: replays.Replay | None = None) -> dict[str, Any]:
        """Start a run of a plan (``plan_id``, checked against ``inputs`` when given) or of a plan
        made now from ``inputs``. Returns ``{runId, protocol, plan}`` before the protocol runs;
        ``gate`` is awaited before it does (the page: until the reply to ``start`` is sent).
        ``replay``: run a hardware plan's backends against that capture, touching no device."""
        from browser_runtime.inventory import TimeWindow
        from browser_runtime.inventory.store import ReservationConflict, utcnow
        from browser_runtime.runner.materialize import materialize
        from browser_runtime.runner.planner import DEFAULT_WINDOW

        if plan_id is not None:
            plan = self.planned(plan_id, inputs)
        elif inputs is not None:
            plan = self.plan(inputs)
        else:
            raise PlanError("start needs a plan id or the run's inputs")
        simulate = plan.inputs.simulate
        if not simulate and not plan.machines:
            raise PlanError("a hardware run needs machines on devices; this protocol has none")
        if replay is not None and simulate:
            raise PlanError("a replay runs a hardware run's real backends: plan it with simulate: false and its backends")
        grant = None if simulate or replay is not None else self._hardware_grant()
        run_id = run_id or uuid.uuid4().hex[:12]
        if run_id in self._active:
            raise PlanError(f"run {run_id} is running already")
        # Backends that talk through another's connection share it (one box for several shakers).
        routes = interfaces.Routes()
        with interfaces.routing(routes):
            built = materialize(plan, self.catalog(), self.inventory) if not plan.is_script else None
        changed = [f"{name}: planned with {plan.labware[name].contents}, now {contents}"
                   for name, contents in (built.contents.items() if built else ())
                   if plan.labware[name].asset_id is not None and contents != plan.labware[name].contents]
        if changed:
            raise StalePlan("the plan is stale: its labware changed since it was made: " + "; ".join(changed)
                            + "; plan again", [{"field": c.split(":")[0], "message": "changed"} for c in changed])
        document = {**plan.to_dict(), "run_id": run_id}
        window = TimeWindow(utcnow(), utcnow() + DEFAULT_WINDOW)
        # The record and the reservations are written together: a reload can never leave a
        # hold without the run that explains it (recover() releases the holds of cut-short runs).
        try:
            with self.history.database.transaction():
                self.history.started(run_id, protocol=plan.protocol, function=plan.function,
                                     filename=plan.inputs.filename, source=plan.inputs.source,
                                     parameters=plan.inputs.parameters, plan=document,
                                     simulate=simulate or replay is not None)
                asset_ids = plan.asset_ids() if reserve and self.inventory is not None else []
                if asset_ids:
                    self.inventory.reserve(run_id, asset_ids, window)
        except ReservationConflict as conflict:
            raise StalePlan(f"the plan is stale: {conflict}; plan again", [
                {"field": "reservation", "message": message} for message in conflict.conflicts]) from None

        batches = EventBatches(lambda events: self.emit("run", {"runId": run_id, "events": events}), self.batch_s)
        log = EventLog(listener=batches)
        if plan.is_script:
            simulators = {m.machine_kind: m.backend for m in plan.machines.values()}
            run = ProtocolRun(ScriptSource(plan.script_source or "", plan.inputs.filename, simulators), {},
                              log=log, filename=plan.inputs.filename, pause_every_s=self.pause_every_s)
        else:
            # Interfaces set up first (as the run's first 'machines'), machines others talk through next.
            machines = {f"{type(shared).__name__} (shared)": interfaces.SharedInterface(shared) for shared in routes.owned}
            machines.update(routes.machines_first(built.machines))
            run = ProtocolRun(ProtocolSource(plan.inputs.source, plan.inputs.filename, plan.function),
                              built.arguments, machines=machines, deck=built.deck, log=log,
                              filename=plan.inputs.filename, pause_every_s=self.pause_every_s)

        async def execute() -> dict[str, Any]:
            recording = capture.start_recording(grant.token, f"run {run_id}") if grant is not None else None
            try:
                if gate is not None:
                    await gate()
                result = (await run.execute()).as_dict()
            finally:
                batches.flush()
                await routes.stop()
                if grant is not None:
                    capture.stop_recording(grant.token)
                if reserve and self.inventory is not None:
                    self.inventory.release(run_id, "run ended")
            if replay is not None:
                _fold_replay(result, replay)
            result.update(run_id=run_id, plan=document)
            if recording is not None and self.captures is not None:
                self.captures.save(run_id, {**recording.document(), "labwright": {
                    "replay_inputs": _replay_inputs(plan), "run_id": run_id}})
            self.history.finished(run_id, result)
            self._ended[run_id] = result
            while len(self._ended) > _ENDED_KEPT:
                self._ended.popitem(last=False)
            self._active.pop(run_id, None)
            for listener in self.on_finished:
                listener({**built.arguments, "deck": built.deck} if built else dict(run.machines))
            if on_end is not None:
                on_end(result)
            return result

        # The task runs in a context of its own: a simulation with no grant at all, a hardware
        # run with the grant of the caller that named its devices.
        context = contextvars.copy_context()
        if simulate:
            context.run(grants.enter, None, f"a simulated run (run {run_id})")
        elif replay is not None:  # no grant: IO is served from the capture, never a device
            context.run(grants.enter, None, f"a replay (run {run_id})")
            context.run(replays.enter, replay)
        else:
            context.run(grants.enter, grant, None)
        task = context.run(asyncio.ensure_future, execute())
        self._active[run_id] = ActiveRun(run_id, task, plan.protocol, plan, simulate, log)
        return {"runId": run_id, "protocol": plan.protocol, "plan": document}

    def capture_of(self, run_id: str) -> dict[str, Any]:
        """The capture of a hardware run (PLR's JSON), or NotFound saying why there is none."""
        document = self.captures.get(run_id) if self.captures is not None else None
        if document is None:
            record = self.history.get(run_id)
            if record is None:
                raise NotFound(f"no run {run_id!r}")
            raise NotFound(f"run {run_id} has no capture: only runs on devices record one"
                           + (" (it is still running)" if record["status"] == "running" else ""))
        return document

    @staticmethod
    def _hardware_grant() -> Any:
        grant = grants.current()
        if grant is None:
            raise PlanError("a hardware run needs its devices granted: start it through the page "
                            "(labwright.start with simulate: false), which grants the devices it names")
        return grant

    async def wait(self, run_id: str, events: bool = True) -> dict[str, Any]:
        """The run's result once it ends; ``events=False``: without its events (a long run's are
        megabytes), with ``event_count`` instead: ``events()`` gives them in slices."""
        active = self._active.get(run_id)
        if active is not None:
            result = await asyncio.shield(active.task)
        elif run_id in self._ended:
            result = self._ended[run_id]
        else:
            record = self.history.get(run_id)
            if record is None:
                raise NotFound(f"no run {run_id!r}")
            result = {key: record[key] for key in ("run_id", "status", "duration_ms", "error", "value", "plan")} | {
                "events": record["events"] or []}
        return result if events else without_events(result)

    def events(self, run_id: str, start: int = 0, stop: int | None = None) -> dict[str, Any]:
        """Events ``start:stop`` of a run (running, ended or from history): ``{events, total}``;
        a running run's total grows. A stored run's events are read once for all its slices."""
        active = self._active.get(run_id)
        if active is not None:
            every = active.log.events
        elif run_id in self._ended:
            every = self._ended[run_id]["events"]
        else:
            every = self._stored_events.get(run_id)
            if every is None:
                record = self.history.get(run_id)
                if record is None:
                    raise NotFound(f"no run {run_id!r}")
                every = self._stored_events[run_id] = record["events"] or []
                while len(self._stored_events) > 2:
                    self._stored_events.popitem(last=False)
        return {"events": every[start:stop], "total": len(every)}

    def cancel(self, run_id: str) -> dict[str, Any]:
        active = self._active.get(run_id)
        if active is None:
            record = self.history.get(run_id)
            if record is None:
                raise NotFound(f"no run {run_id!r}")
            return {"runId": run_id, "cancelled": False, "status": record["status"]}
        active.task.cancel()  # the run's own handler turns this into status "cancelled"
        return {"runId": run_id, "cancelled": True}

    def active(self) -> list[dict[str, Any]]:
        return [{"runId": run.run_id, "protocol": run.protocol, "simulate": run.simulate}
                for run in self._active.values()]

    def recover(self) -> list[str]:
        """Runs a reload or crash cut short: marked interrupted, their reservations released."""
        run_ids = self.history.mark_interrupted()
        if self.inventory is not None:
            for run_id in run_ids:
                self.inventory.release(run_id, "interrupted: the page closed or reloaded while it ran")
        return run_ids


def without_events(result: dict[str, Any]) -> dict[str, Any]:
    """A run's result or record without its events, with how many there are (``event_count``)."""
    summary = {key: value for key, value in result.items() if key != "events"}
    summary["event_count"] = len(result.get("events") or [])
    return summary


def _replay_inputs(plan: Plan) -> dict[str, Any]:
    """What a replay of this run plans from: the same protocol, values, backends and deck layout
    (the laid-out deck, so positions in the commands come out the same)."""
    return {"source": plan.inputs.source, "function": plan.function, "filename": plan.inputs.filename,
            "parameters": plan.inputs.parameters, "backends": plan.inputs.backends,
            "deck": plan.deck_layout or plan.inputs.deck}


def _fold_replay(result: dict[str, Any], replay: replays.Replay) -> None:
    """A replay fails at its first divergence, even one a backend caught and turned into another error."""
    try:
        replay.finish()
    except replays.ReplayDivergence as divergence:
        if result["status"] != "failed" or (result.get("error") or {}).get("type") != "ReplayDivergence":
            result["status"] = "failed"
            result["error"] = {"type": "ReplayDivergence", "message": str(divergence), "traceback": "",
                               "command": (result.get("error") or {}).get("command"), "line": None}
    result["replay"] = replay.summary()
