"""Area ``runs``: plans the user sees, runs of exactly those plans, their events and history."""

from __future__ import annotations

import dataclasses
from typing import Any

from browser_runtime.errors import NotFound

from browser_runtime.page.session import PageSession
from browser_runtime.runner.events import jsonable
from browser_runtime.runner.plans import PlanError, PlanInputs
from browser_runtime.runner.service import without_events

__all__ = ["plan", "start", "wait", "events", "cancel", "active", "history", "get", "inventory", "devices"]


def _inputs(source: str, function: str | None, parameters: dict[str, Any] | None, deck: Any,
            filename: str, simulate: bool, backends: dict[str, Any] | None,
            chosen: dict[str, Any] | None = None) -> PlanInputs:
    if not isinstance(source, str):
        raise PlanError("source: the protocol's source text is required", [{"field": "source", "message": "missing"}])
    if parameters is not None and not isinstance(parameters, dict):
        raise PlanError("parameters: must be an object of parameter values",
                        [{"field": "parameters", "message": "not an object"}])
    if not simulate and backends is None:
        raise PlanError(
            "a hardware run (simulate: false) needs `backends`: for each machine parameter "
            "{backend: 'pylabrobot...Backend', kwargs: {port: ...}}; the devices' settings are "
            "those of 'Connect a device' (disconnect a device there first: the run opens it itself)",
            [{"field": "backends", "message": "missing"}])
    if simulate and backends:
        raise PlanError("backends are for hardware runs: pass simulate: false with them",
                        [{"field": "backends", "message": "given for a simulated run"}])
    if chosen is not None and (not isinstance(chosen, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, str)) and not isinstance(v, bool) for k, v in chosen.items())):
        raise PlanError("chosen: must map parameter names to inventory item ids or labware definitions (fqn)",
                        [{"field": "chosen", "message": "not an object of parameter: item id or definition"}])
    return PlanInputs(source=source, filename=filename, function=function, parameters=parameters or {},
                      deck=deck, simulate=simulate, backends=backends if not simulate else None,
                      chosen=chosen or None)


def plan(session: PageSession, source: str, function: str | None = None,
         parameters: dict[str, Any] | None = None, deck: Any = None, filename: str = "protocol.py",
         simulate: bool = True, backends: dict[str, Any] | None = None,
         chosen: dict[str, Any] | None = None) -> dict[str, Any]:
    """How a run would be resolved (machines, deck, assignment, values), with a ``plan_id`` to run it by;
    ``chosen``: inventory items (ids) or labware definitions (catalog fqns) the user picked."""
    return session.runs.plan(_inputs(source, function, parameters, deck, filename, simulate, backends,
                                     chosen)).to_dict()


def start(session: PageSession, plan_id: str | None = None, source: str | None = None,
          function: str | None = None, parameters: dict[str, Any] | None = None, deck: Any = None,
          filename: str = "protocol.py", simulate: bool = True,
          backends: dict[str, Any] | None = None, chosen: dict[str, Any] | None = None) -> dict[str, Any]:
    """Start a run of the plan ``plan_id`` (refused if the inputs given differ from the plan's), or
    plan and start at once from the inputs. Replies before any of the protocol's code runs."""
    inputs = None if source is None else _inputs(source, function, parameters, deck, filename, simulate, backends,
                                                 chosen)
    return session.runs.start(plan_id=plan_id, inputs=inputs, gate=session.reply_sent)


async def wait(session: PageSession, run_id: str, events: bool = True) -> dict[str, Any]:
    """The run's result when it ends; ``events=False``: with ``event_count`` instead of its events
    (the workbench fetches them in slices with ``events``, no message of megabytes)."""
    return await session.runs.wait(run_id, events)


def events(session: PageSession, run_id: str, start: int = 0, stop: int | None = None) -> dict[str, Any]:
    """``{events, total}``: the run's events ``start:stop`` (as stored: states as changes)."""
    if not isinstance(start, int) or (stop is not None and not isinstance(stop, int)):
        raise ValueError("start, stop: event indexes (integers) are required")
    return session.runs.events(run_id, start, stop)


def cancel(session: PageSession, run_id: str) -> dict[str, Any]:
    return session.runs.cancel(run_id)


def active(session: PageSession) -> list[dict[str, Any]]:
    return session.runs.active()


def history(session: PageSession, limit: int = 50) -> list[dict[str, Any]]:
    return session.history.list(limit)


def get(session: PageSession, run_id: str, events: bool = True) -> dict[str, Any]:
    """A stored run; ``events=False``: with ``event_count`` instead of its events."""
    record = session.history.get(run_id)
    if record is None:
        raise NotFound(f"no run {run_id!r}")
    return record if events else without_events(record)


def inventory(session: PageSession) -> list[dict[str, Any]]:
    """Every asset with its consumable attributes (what plans are assigned from)."""
    return [jsonable(dataclasses.asdict(asset)) for asset in session.inventory.assets()]


def devices(session: PageSession, backends: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The devices a hardware run's backends will open, per machine parameter, for the page to grant:
    ``[{port}]`` when the settings name a port (a granted port's name or a ``VVVV:PPPP`` id), else
    the backend's USB ids from the catalog ``[{vid, pid}]``."""
    from browser_runtime.runner.devices import device_selectors

    return device_selectors(session.catalog, backends)
