"""The scheduler as the page's worker offers it (area ``schedule``), all JSON in and out.

The schedule lives in the page's SQLite (the inventory database), so it survives a reload.
Times are ISO 8601 strings with a zone; durations are seconds. Every call that changes the
schedule takes an optional ``expected_revision``: when given and another tab or call wrote
first, it fails with ``ScheduleConflict`` (reload with ``schedule()`` and retry).

Functions (``window.labwright`` wiring is the lead's; names below are the worker API):

- ``schedule()`` -> the whole schedule: ``{revision, method, planned_at, workcells: [{name,
  deck, machines: [{id, name, kind, capabilities, available}]}], runs: [{id, protocol,
  priority, status, workcell, starts_at, ends_at, machines: {parameter: asset id},
  consumables: {parameter: asset id}, reason, created_at, started_at, ended_at,
  heartbeat_at, request}], queue: [run id in start order], infeasible: [{request, kind,
  subject, message}], window: {starts_at, ends_at}, reservations: [{id, asset_id, asset,
  run_id, starts_at, ends_at, status, released_at, release_reason}]}``. ``status`` is one of
  scheduled, infeasible, running, completed, failed, cancelled, stale; a Gantt row is a
  workcell's machine, a bar a run's ``starts_at``..``ends_at`` on every machine in its
  ``machines``. Stale runs (no heartbeat for ``HEARTBEAT_TTL`` s) are released first.
- ``workcells()`` -> ``[{name, deck, machines}]``; ``machines()`` -> registered machines
  ``[{id, name, kind, capabilities, available, workcell}]``.
- ``add_workcell(name, machine_ids, deck=None, expected_revision=None)`` -> the workcell.
- ``remove_workcell(name, expected_revision=None)`` -> ``{removed: name}``.
- ``estimate(source, function=None, parameters=None, filename="protocol.py", deck=None)`` ->
  the discrete-event estimate ``{protocol, function, status, duration_s, error, commands:
  [{machine, command, start_s, end_s}], busy: {machine: [[start_s, end_s]]}, machine_kinds}``.
- ``submit(requests, expected_revision=None)``: ``requests`` is a list of ``{id?, source,
  function?, filename?, parameters?, priority?, earliest_start?, deadline?, workcell?,
  duration_s?, machines?, consumables?}``. With ``source`` the machine and labware needs come
  from the protocol's analysis and ``duration_s`` from ``estimate``; without it, ``protocol``,
  ``duration_s`` and the needs (``machines: [{parameter, kind, capabilities}]``,
  ``consumables: [{parameter, asset_id | type | category}]``) are given. ``id`` defaults to a
  fresh one. Returns ``{placed: [{request, workcell, starts_at, ends_at, machines,
  consumables}], infeasible: [{request, kind, subject, message}], revision}``; ``kind`` is
  machine, capability, consumable, deadline or workcell.
- ``replan(method="heuristic" | "optimiser", seed=0, iterations=400, expected_revision=None)``
  -> ``{method, makespan_s, compute_s, placed, infeasible, revision}``: every run not yet
  started placed afresh.
- ``start(run_id)`` -> the run (reservations active); ``heartbeat(run_id)``;
  ``finish(run_id, status="completed" | "failed", reason=None)``;
  ``cancel(run_id, reason="cancelled")`` -> the run, reservations released.
- ``execute(run_id)`` -> starts a scheduled run and runs it in simulation now (heartbeats
  while it runs, finished or failed by its outcome) on exactly the machines and labware the
  schedule holds for it; ``{run: ..., result: {status, duration_ms, error, events}, plan}``.
- ``reservations(asset_id=None, run_id=None, starts_at=None, ends_at=None, status=None)`` ->
  ``[{id, asset_id, asset, run_id, starts_at, ends_at, status, released_at, release_reason}]``.
- ``clear_reservation(reservation_id, reason, expected_revision=None)`` -> that reservation.
"""

from __future__ import annotations

import asyncio
from typing import Any

from browser_runtime.scheduler.book import ScheduleBook
from browser_runtime.scheduler.requests import RequestError, parse_time
from browser_runtime.scheduler.submission import request_from_document

__all__ = ["schedule", "workcells", "machines", "add_workcell", "remove_workcell", "estimate",
           "submit", "replan", "start", "heartbeat", "finish", "cancel", "execute", "reservations",
           "clear_reservation"]

#: Seconds a running run may go without a heartbeat before it counts as abandoned.
HEARTBEAT_TTL = 120.0
#: How often a run executing in this page says it is alive.
HEARTBEAT_EVERY = 20.0

_book: ScheduleBook | None = None


def _catalog() -> Any:
    from browser_runtime.catalog import page_api

    return page_api._catalog()


def _the_book() -> ScheduleBook:
    global _book
    if _book is None:
        from browser_runtime.runner import page_api as runs

        _book = ScheduleBook(runs._inventory(), catalog=_catalog(), heartbeat_ttl=HEARTBEAT_TTL)
    return _book


def schedule() -> dict[str, Any]:
    book = _the_book()
    book.release_stale()
    return book.snapshot()


def workcells() -> list[dict[str, Any]]:
    return [w.to_dict() for w in _the_book().workcells()]


def machines() -> list[dict[str, Any]]:
    book = _the_book()
    member = {m.id: w.name for w in book.workcells() for m in w.machines}
    return [{"id": a.id, "name": a.name, "kind": a.machine_kind, "capabilities": a.capabilities,
             "available": a.status == "available", "workcell": member.get(a.id)}
            for a in book.inventory.assets(kind="machine")]


def add_workcell(name: str, machine_ids: list[int], deck: str | None = None,
                 expected_revision: int | None = None) -> dict[str, Any]:
    return _the_book().add_workcell(name, machine_ids, deck, expected_revision=expected_revision).to_dict()


def remove_workcell(name: str, expected_revision: int | None = None) -> dict[str, Any]:
    _the_book().remove_workcell(name, expected_revision=expected_revision)
    return {"removed": name}


async def estimate(source: str, function: str | None = None, parameters: dict[str, Any] | None = None,
                   filename: str = "protocol.py", deck: Any = None) -> dict[str, Any]:
    from browser_runtime.scheduler.simulation import estimate_protocol

    result = await estimate_protocol(source, _catalog(), function=function, parameters=parameters,
                                     filename=filename, deck=deck)
    return result.to_dict()


def _placed(book: ScheduleBook, result: Any) -> dict[str, Any]:
    document = result.to_dict()
    return {"method": document["method"], "makespan_s": document["makespan_s"],
            "compute_s": document["compute_s"],
            "placed": [{k: p[k] for k in ("request", "workcell", "starts_at", "ends_at", "machines",
                                           "consumables")} for p in document["placements"]],
            "infeasible": document["infeasible"], "revision": book.revision}


async def submit(requests: list[dict[str, Any]], expected_revision: int | None = None) -> dict[str, Any]:
    if not isinstance(requests, list) or not requests:
        raise RequestError("requests: must be a non-empty list of run requests")
    catalog = _catalog()
    built = [await request_from_document(item, catalog, f"requests[{index}]")
             for index, item in enumerate(requests)]
    book = _the_book()
    return _placed(book, book.submit(built, expected_revision=expected_revision))


def replan(method: str = "heuristic", seed: int = 0, iterations: int = 400,
           expected_revision: int | None = None) -> dict[str, Any]:
    book = _the_book()
    return _placed(book, book.replan(method=method, seed=seed, iterations=iterations,
                                     expected_revision=expected_revision))


def start(run_id: str) -> dict[str, Any]:
    return _the_book().start(run_id)


def heartbeat(run_id: str) -> dict[str, Any]:
    return _the_book().heartbeat(run_id)


def finish(run_id: str, status: str = "completed", reason: str | None = None) -> dict[str, Any]:
    return _the_book().finish(run_id, status, reason)


def cancel(run_id: str, reason: str = "cancelled") -> dict[str, Any]:
    return _the_book().cancel(run_id, reason)


async def execute(run_id: str) -> dict[str, Any]:
    """Start a scheduled run and run it in simulation here, heartbeating until it ends."""
    from browser_runtime.runner import ProtocolRun
    from browser_runtime.runner.plan import prepare_run

    book = _the_book()
    run = book.run(run_id)
    request = run["request"]
    if not request.get("source"):
        raise RequestError(f"run {run_id!r} was submitted without its protocol source; it can only be "
                           "started and finished by hand")
    book.start(run_id)
    beating = True

    async def beat() -> None:
        while beating:
            await asyncio.sleep(HEARTBEAT_EVERY)
            if beating:
                book.heartbeat(run_id)

    heart = asyncio.ensure_future(beat())
    try:
        # The schedule already holds this run's machines and labware: the run uses exactly
        # those (labware with its inventory contents) and reserves nothing more.
        prepared = prepare_run(request["source"], request.get("function"), request.get("parameters") or {},
                               _catalog(), filename=request.get("filename") or "protocol.py", run_id=run_id,
                               inventory=book.inventory, reserve=False,
                               assigned={**(run.get("machines") or {}), **(run.get("consumables") or {})})
        result = (await ProtocolRun(prepared.function, prepared.arguments, machines=prepared.machines,
                                    deck=prepared.deck).execute()).as_dict()
    except BaseException as error:
        beating = False
        heart.cancel()
        book.finish(run_id, "failed", f"{type(error).__name__}: {error}")
        raise
    beating = False
    heart.cancel()
    if result["status"] == "completed":
        run = book.finish(run_id, "completed")
    elif result["status"] == "cancelled":
        run = book.cancel(run_id, "the run was cancelled")
    else:
        run = book.finish(run_id, "failed", (result["error"] or {}).get("message") or "run failed")
    return {"run": run, "result": {k: result[k] for k in ("status", "duration_ms", "error", "events")},
            "plan": prepared.plan}


def reservations(asset_id: int | None = None, run_id: str | None = None, starts_at: str | None = None,
                 ends_at: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    return _the_book().reservations(asset_id=asset_id, run_id=run_id,
                                    starts_at=parse_time(starts_at, "starts_at"),
                                    ends_at=parse_time(ends_at, "ends_at"), status=status)


def clear_reservation(reservation_id: int, reason: str,
                      expected_revision: int | None = None) -> dict[str, Any]:
    return _the_book().clear_reservation(reservation_id, reason, expected_revision=expected_revision)
