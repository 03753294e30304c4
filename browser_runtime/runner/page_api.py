"""Runs as the page's worker offers them: start, wait, cancel, history.

``start`` resolves every parameter (see ``plan``), records the run, and returns at once;
the run goes on as an asyncio task whose events are posted to the page as they happen
(channel ``run``). ``wait`` awaits the task; ``cancel`` cancels it, which stops the
protocol at its next ``await``. Whatever the ending, reservations are released and the
run is stored with its events.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

from browser_runtime import IN_PYODIDE
from browser_runtime.runner.events import EventLog
from browser_runtime.runner.history import RunHistory
from browser_runtime.runner.run import ProtocolRun

__all__ = ["plan", "start", "wait", "cancel", "history", "get", "active", "inventory"]

DATABASE = "/data/labwright.sqlite" if IN_PYODIDE else ".labwright-cache/page.sqlite"


@dataclass
class _ActiveRun:
    run_id: str
    task: asyncio.Task[dict[str, Any]]
    protocol: str


_active: dict[str, _ActiveRun] = {}
_history: RunHistory | None = None


def _runs() -> RunHistory:
    global _history
    if _history is None:
        _history = RunHistory(DATABASE)
        _history.mark_interrupted()  # runs left 'running' by an earlier page load
    return _history


def _catalog() -> Any:
    from browser_runtime.catalog import page_api

    return page_api._catalog()


_inventory_store: Any = None


def _inventory() -> Any:
    """The page's inventory (same database file), seeded with the demo stock when empty."""
    global _inventory_store
    if _inventory_store is None:
        from browser_runtime.inventory import InventoryStore
        from browser_runtime.inventory.demo import seed_demo_inventory

        _inventory_store = InventoryStore(DATABASE)
        seed_demo_inventory(_inventory_store)
    return _inventory_store


def inventory() -> list[dict[str, Any]]:
    """Every asset with its consumable attributes (what plans are assigned from)."""
    import dataclasses

    from browser_runtime.runner.events import jsonable

    return [jsonable(dataclasses.asdict(asset)) for asset in _inventory().assets()]


def plan(
    source: str,
    function: str | None = None,
    parameters: dict[str, Any] | None = None,
    deck: Any = None,
    filename: str = "protocol.py",
) -> dict[str, Any]:
    """How a run would be resolved (machines, deck, assignment), without reserving anything."""
    from browser_runtime.runner.plan import prepare_run

    prepared = prepare_run(source, function, parameters or {}, _catalog(), filename=filename,
                           deck=deck, inventory=_inventory(), reserve=False)
    return prepared.plan


async def start(
    source: str,
    function: str | None = None,
    parameters: dict[str, Any] | None = None,
    simulate: bool = True,
    filename: str = "protocol.py",
    deck: Any = None,
    backends: dict[str, Any] | None = None,
) -> dict[str, Any]:
    from browser_runtime.runner.plan import PlanError, prepare_run

    if not simulate and backends is None:
        raise PlanError(
            "a hardware run (simulate: false) needs `backends`: for each machine parameter "
            "{backend: 'pylabrobot...Backend', kwargs: {port: ...}}; the devices' settings are "
            "those of 'Connect a device' (disconnect a device there first: the run opens it itself)",
            [{"field": "backends", "message": "missing"}],
        )
    if simulate and backends:
        raise PlanError("backends are for hardware runs: pass simulate: false with them",
                        [{"field": "backends", "message": "given for a simulated run"}])
    run_id = uuid.uuid4().hex[:12]
    prepared = prepare_run(source, function, parameters or {}, _catalog(), filename=filename,
                           deck=deck, inventory=_inventory(), run_id=run_id,
                           backends=None if simulate else backends)
    history = _runs()
    history.started(
        run_id,
        protocol=prepared.protocol_name,
        function=prepared.function_name,
        filename=filename,
        source=source,
        parameters=parameters or {},
        plan=prepared.plan,
        simulate=simulate,
    )

    def forward(event: dict[str, Any]) -> None:
        from browser_runtime.worker import emit

        emit("run", {"runId": run_id, "event": event})

    run = ProtocolRun(
        prepared.function,
        prepared.arguments,
        machines=prepared.machines,
        deck=prepared.deck,
        log=EventLog(listener=forward),
    )

    async def execute() -> dict[str, Any]:
        try:
            result = (await run.execute()).as_dict()
        finally:
            prepared.release()
        result["run_id"] = run_id
        result["plan"] = prepared.plan
        # The run's machines, deck and labware are there to poke at in the REPL afterwards.
        from browser_runtime.repl.page_api import add_to_scope

        add_to_scope({**prepared.arguments, "deck": prepared.deck})
        history.finished(run_id, result)
        _active.pop(run_id, None)
        return result

    task = asyncio.ensure_future(execute())
    _active[run_id] = _ActiveRun(run_id, task, prepared.protocol_name)
    return {"runId": run_id, "protocol": prepared.protocol_name, "plan": prepared.plan}


async def wait(run_id: str) -> dict[str, Any]:
    active = _active.get(run_id)
    if active is not None:
        return await asyncio.shield(active.task)
    record = _runs().get(run_id)
    if record is None:
        raise LookupError(f"no run {run_id!r}")
    return {
        "run_id": run_id,
        "status": record["status"],
        "events": record["events"] or [],
        "duration_ms": record["duration_ms"],
        "error": record["error"],
        "value": record["value"],
        "plan": record["plan"],
    }


def cancel(run_id: str) -> dict[str, Any]:
    active = _active.get(run_id)
    if active is None:
        record = _runs().get(run_id)
        if record is None:
            raise LookupError(f"no run {run_id!r}")
        return {"runId": run_id, "cancelled": False, "status": record["status"]}
    active.task.cancel()  # the run's own handler turns this into status "cancelled"
    return {"runId": run_id, "cancelled": True}


def active() -> list[dict[str, Any]]:
    return [{"runId": run.run_id, "protocol": run.protocol} for run in _active.values()]


def history(limit: int = 50) -> list[dict[str, Any]]:
    return _runs().list(limit)


def get(run_id: str) -> dict[str, Any]:
    record = _runs().get(run_id)
    if record is None:
        raise LookupError(f"no run {run_id!r}")
    return record
