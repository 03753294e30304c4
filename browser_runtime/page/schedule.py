"""Area ``schedule``: the page's own schedule (all JSON in and out), kept in the page's database.

The schedule lives in the page's SQLite (the inventory database), so it survives a reload.
Times are ISO 8601 strings with a zone; durations are seconds. Every call that changes the
schedule takes an optional ``expected_revision``: when given and another tab or call wrote
first, it fails with ``ScheduleConflict`` (reload with ``schedule()`` and retry).

Functions (each takes the page session first):

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
- ``execute(run_id)`` -> starts a scheduled run and runs it in simulation now through the page's
  ``Runs`` (so it is in the run history with its events; heartbeats while it runs, finished or
  failed by its outcome) on exactly the machines and labware the schedule holds for it;
  ``{run: ..., result: {status, duration_ms, error, events}, plan}``.
- ``reservations(asset_id=None, run_id=None, starts_at=None, ends_at=None, status=None)`` ->
  ``[{id, asset_id, asset, run_id, starts_at, ends_at, status, released_at, release_reason}]``.
- ``clear_reservation(reservation_id, reason, expected_revision=None)`` -> that reservation.
"""

from __future__ import annotations

import asyncio
from typing import Any

from browser_runtime.page.session import PageSession
from browser_runtime.runner.plans import PlanInputs
from browser_runtime.scheduler.requests import RequestError, parse_time
from browser_runtime.scheduler.submission import request_from_document

__all__ = ["schedule", "workcells", "machines", "add_workcell", "remove_workcell", "estimate",
           "submit", "replan", "start", "heartbeat", "finish", "cancel", "execute", "reservations",
           "clear_reservation"]

#: How often a run executing in this page says it is alive.
HEARTBEAT_EVERY = 20.0


def schedule(session: PageSession) -> dict[str, Any]:
    book = session.book
    book.release_stale()
    return book.snapshot()


def workcells(session: PageSession) -> list[dict[str, Any]]:
    return [w.to_dict() for w in session.book.workcells()]


def machines(session: PageSession) -> list[dict[str, Any]]:
    book = session.book
    member = {m.id: w.name for w in book.workcells() for m in w.machines}
    return [{"id": a.id, "name": a.name, "kind": a.machine_kind, "capabilities": a.capabilities,
             "available": a.status == "available", "workcell": member.get(a.id)}
            for a in book.inventory.assets(kind="machine")]


def add_workcell(session: PageSession, name: str, machine_ids: list[int], deck: str | None = None,
                 expected_revision: int | None = None) -> dict[str, Any]:
    return session.book.add_workcell(name, machine_ids, deck, expected_revision=expected_revision).to_dict()


def remove_workcell(session: PageSession, name: str, expected_revision: int | None = None) -> dict[str, Any]:
    session.book.remove_workcell(name, expected_revision=expected_revision)
    return {"removed": name}


async def estimate(session: PageSession, source: str, function: str | None = None,
                   parameters: dict[str, Any] | None = None, filename: str = "protocol.py",
                   deck: Any = None) -> dict[str, Any]:
    from browser_runtime.scheduler.simulation import estimate_protocol

    result = await estimate_protocol(source, session.catalog, function=function, parameters=parameters,
                                     filename=filename, deck=deck)
    return result.to_dict()


def _placed(book: Any, result: Any) -> dict[str, Any]:
    document = result.to_dict()
    return {"method": document["method"], "makespan_s": document["makespan_s"],
            "compute_s": document["compute_s"],
            "placed": [{k: p[k] for k in ("request", "workcell", "starts_at", "ends_at", "machines",
                                           "consumables")} for p in document["placements"]],
            "infeasible": document["infeasible"], "revision": book.revision}


async def submit(session: PageSession, requests: list[dict[str, Any]],
                 expected_revision: int | None = None) -> dict[str, Any]:
    if not isinstance(requests, list) or not requests:
        raise RequestError("requests: must be a non-empty list of run requests")
    catalog = session.catalog
    built = [await request_from_document(item, catalog, f"requests[{index}]")
             for index, item in enumerate(requests)]
    book = session.book
    return _placed(book, book.submit(built, expected_revision=expected_revision))


def replan(session: PageSession, method: str = "heuristic", seed: int = 0, iterations: int = 400,
           expected_revision: int | None = None) -> dict[str, Any]:
    book = session.book
    return _placed(book, book.replan(method=method, seed=seed, iterations=iterations,
                                     expected_revision=expected_revision))


def start(session: PageSession, run_id: str) -> dict[str, Any]:
    return session.book.start(run_id)


def heartbeat(session: PageSession, run_id: str) -> dict[str, Any]:
    return session.book.heartbeat(run_id)


def finish(session: PageSession, run_id: str, status: str = "completed", reason: str | None = None) -> dict[str, Any]:
    return session.book.finish(run_id, status, reason)


def cancel(session: PageSession, run_id: str, reason: str = "cancelled") -> dict[str, Any]:
    return session.book.cancel(run_id, reason)


async def execute(session: PageSession, run_id: str) -> dict[str, Any]:
    """Start a scheduled run and run it in simulation here (through ``Runs``: it is in the run
    history with its events), heartbeating until it ends, on exactly what the schedule holds."""
    book = session.book
    run = book.run(run_id)
    request = run["request"]
    if not request.get("source"):
        raise RequestError(f"run {run_id!r} was submitted without its protocol source; it can only be "
                           "started and finished by hand")
    book.start(run_id)
    inputs = PlanInputs(source=request["source"], filename=request.get("filename") or "protocol.py",
                        function=request.get("function"), parameters=request.get("parameters") or {},
                        assigned={**(run.get("machines") or {}), **(run.get("consumables") or {})})
    try:
        # The schedule already holds this run's machines and labware: the run uses exactly those
        # (labware with its inventory contents) and reserves nothing more.
        started = session.runs.start(inputs=inputs, run_id=run_id, reserve=False)
    except BaseException as error:
        book.finish(run_id, "failed", f"{type(error).__name__}: {error}")
        raise

    async def beat() -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_EVERY)
            book.heartbeat(run_id)

    heart = asyncio.ensure_future(beat())
    try:
        result = await session.runs.wait(run_id)
    except BaseException as error:
        book.finish(run_id, "failed", f"{type(error).__name__}: {error}")
        raise
    finally:
        heart.cancel()
    if result["status"] == "completed":
        run = book.finish(run_id, "completed")
    elif result["status"] == "cancelled":
        run = book.cancel(run_id, "the run was cancelled")
    else:
        run = book.finish(run_id, "failed", (result["error"] or {}).get("message") or "run failed")
    return {"run": run, "result": {k: result[k] for k in ("status", "duration_ms", "error", "events")},
            "plan": started["plan"]}


def reservations(session: PageSession, asset_id: int | None = None, run_id: str | None = None,
                 starts_at: str | None = None, ends_at: str | None = None,
                 status: str | None = None) -> list[dict[str, Any]]:
    return session.book.reservations(asset_id=asset_id, run_id=run_id,
                                     starts_at=parse_time(starts_at, "starts_at"),
                                     ends_at=parse_time(ends_at, "ends_at"), status=status)


def clear_reservation(session: PageSession, reservation_id: int, reason: str,
                      expected_revision: int | None = None) -> dict[str, Any]:
    return session.book.clear_reservation(reservation_id, reason, expected_revision=expected_revision)
