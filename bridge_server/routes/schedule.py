"""The lab's one authoritative schedule under ``/api/v1/schedule``, shared by every page.

The same ``browser_runtime.scheduler.ScheduleBook`` the page uses, kept in the lab's database
(SQLite or PostgreSQL, one for every server of the lab). Reads are open; every write needs the
token. A write may carry ``If-Match: <revision>`` (the revision from ``GET /api/v1/schedule`` or
its ETag); when another page wrote first it is refused with 409 and nothing is written. Every
write is one transaction that takes the database's write lock, checks and bumps the revision,
so concurrent writers, of one server or several, never lose each other's updates.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bridge_server import schemas
from bridge_server.errors import ApiError
from bridge_server.security import require_token
from browser_runtime.errors import NotFound

PREFIX = "/api/v1/schedule"

_NAME = {"type": "string", "minLength": 1, "maxLength": 200}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 500}
_TIME = {"type": ["string", "null"], "maxLength": 64, "description": "ISO 8601 with a zone"}
_MACHINE_NEED = {"type": "object", "required": ["parameter", "kind"], "additionalProperties": False,
                 "properties": {"parameter": _NAME, "kind": _NAME,
                                "capabilities": {"type": "array", "items": _NAME}}}
_CONSUMABLE_NEED = {"type": "object", "required": ["parameter"], "additionalProperties": False,
                    "properties": {"parameter": _NAME, "asset_id": {"type": ["integer", "null"]},
                                   "type": {"type": ["string", "null"], "maxLength": 300},
                                   "category": {"type": ["string", "null"], "maxLength": 100}}}
RUN_REQUEST: schemas.JsonSchema = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 128},
        "protocol": _NAME, "function": {"type": ["string", "null"], "maxLength": 200},
        "filename": {"type": ["string", "null"], "maxLength": 300},
        "source": {"type": ["string", "null"], "maxLength": 60000,
                   "description": "protocol source: needs and duration come from its analysis and estimate"},
        "parameters": {"type": "object"}, "priority": {"type": "integer"},
        "earliest_start": _TIME, "deadline": _TIME,
        "workcell": {"type": ["string", "null"], "maxLength": 200},
        "duration_s": {"type": ["number", "null"]},
        "machines": {"type": "array", "items": _MACHINE_NEED},
        "consumables": {"type": "array", "items": _CONSUMABLE_NEED},
    },
}
SUBMIT: schemas.JsonSchema = {"type": "object", "required": ["requests"], "additionalProperties": False,
                              "properties": {"requests": {"type": "array", "items": RUN_REQUEST}}}
PLAN: schemas.JsonSchema = {
    "type": "object", "additionalProperties": False,
    "properties": {"method": {"enum": ["heuristic", "optimiser"]}, "seed": {"type": "integer"},
                   "iterations": {"type": "integer"}},
}
WORKCELL: schemas.JsonSchema = {
    "type": "object", "required": ["name", "machines"], "additionalProperties": False,
    "properties": {
        "name": _NAME, "deck": {"type": ["string", "null"], "maxLength": 300},
        "machines": {"type": "array", "items": {
            "type": "object", "required": ["name", "machine_kind"], "additionalProperties": False,
            "properties": {"name": _NAME, "machine_kind": _NAME,
                           "catalog_fqn": {"type": "string", "maxLength": 300},
                           "capabilities": {"type": "array", "items": _NAME}}}},
    },
}
LABWARE: schemas.JsonSchema = {
    "type": "object", "required": ["labware"], "additionalProperties": False,
    "properties": {"labware": {"type": "array", "minItems": 1, "maxItems": 500, "items": {
        "type": "object", "required": ["name", "catalog_fqn"], "additionalProperties": False,
        "properties": {"name": _NAME, "catalog_fqn": {"type": "string", "minLength": 1, "maxLength": 300},
                       "barcode": {"type": ["string", "null"], "maxLength": 200},
                       "location": {"type": ["string", "null"], "maxLength": 200},
                       "lot": {"type": ["string", "null"], "maxLength": 200},
                       "received_at": _TIME, "expires_at": _TIME,
                       "remaining_volume_ul": {"type": ["number", "null"], "minimum": 0},
                       "remaining_tips": {"type": ["integer", "null"], "minimum": 0}}}}},
}
REASON: schemas.JsonSchema = {"type": "object", "additionalProperties": False,
                              "properties": {"reason": _TEXT}}
CLEAR: schemas.JsonSchema = {"type": "object", "required": ["reason"], "additionalProperties": False,
                             "properties": {"reason": _TEXT}}
HOLD: schemas.JsonSchema = {
    "type": "object", "required": ["asset_ids", "starts_at", "ends_at", "reason"], "additionalProperties": False,
    "properties": {"asset_ids": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "integer"}},
                   "starts_at": _TEXT, "ends_at": _TEXT, "reason": _TEXT}}
SNAPSHOT: schemas.JsonSchema = {
    "type": "object", "required": ["revision", "workcells", "runs", "queue", "reservations"],
    "properties": {"revision": {"type": "integer"}, "workcells": {"type": "array"},
                   "runs": {"type": "array"}, "queue": {"type": "array"},
                   "reservations": {"type": "array"}},
}
PLACED: schemas.JsonSchema = {
    "type": "object", "required": ["placed", "infeasible", "revision"],
    "properties": {"placed": {"type": "array"}, "infeasible": {"type": "array"},
                   "revision": {"type": "integer"}},
}
ACTIONS = ("start", "heartbeat", "finish", "fail", "cancel")


async def _with_book(request: Request, work: Any) -> Any:
    """``work(book)`` on the lab's schedule book (see ``Bridge.with_book``)."""
    return await request.app.state.bridge.with_book(work)


def _if_match(request: Request) -> int | None:
    raw = request.headers.get("if-match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not value.isdigit() or len(value) > 18:
        raise ApiError(422, f"If-Match must be a schedule revision (a number), not {raw!r}",
                       kind="validation", errors=[{"loc": "header.If-Match", "message": "not a revision"}])
    return int(value)


def _problem(error: Exception) -> ApiError:
    from browser_runtime.scheduler import ScheduleConflict

    if isinstance(error, ScheduleConflict):
        return ApiError(409, str(error), kind="schedule-conflict", revision=error.revision)
    if isinstance(error, NotFound):  # a run, workcell or reservation the schedule does not have
        return ApiError(404, str(error), kind="not-found")
    return ApiError(422, str(error), kind="validation")


def _errors() -> tuple[type[Exception], ...]:
    from browser_runtime.inventory import InventoryError
    from browser_runtime.runner.plans import PlanError
    from browser_runtime.scheduler import RequestError, ScheduleError

    return (ScheduleError, RequestError, PlanError, InventoryError, ValueError, LookupError)


def _with_etag(document: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(document, status_code=status, headers={"ETag": f'"{document["revision"]}"'})


def _fresh_snapshot(book: Any) -> dict[str, Any]:
    from bridge_server.bridge import _release_stale

    _release_stale(book)
    return book.snapshot()  # type: ignore[no-any-return]


async def schedule(request: Request) -> JSONResponse:
    return _with_etag(await _with_book(request, _fresh_snapshot))


async def submit(request: Request) -> JSONResponse:
    require_token(request)
    body = await schemas.read_json(request, SUBMIT, request.app.state.settings.max_body_bytes)
    expected = _if_match(request)
    try:
        built = [await _request(request, item, f"requests[{index}]")
                 for index, item in enumerate(body["requests"])]
        return _placed(*await _with_book(request, lambda book: (
            book.submit(built, expected_revision=expected), book.revision)), 201)
    except _errors() as error:
        raise _problem(error) from None


async def _request(request: Request, item: dict[str, Any], where: str) -> Any:
    """A run request; with ``source``, filled by an estimate in a process of its own (the
    protocol's code never runs on this event loop)."""
    from bridge_server.estimates import EstimateAborted, EstimateRejected
    from browser_runtime.scheduler import RunRequest
    from browser_runtime.scheduler.submission import with_id

    bridge = request.app.state.bridge
    document = with_id(item, where)
    if document.get("source") is not None:
        catalog = await bridge.catalog.file() if bridge.settings.load_catalog or bridge.catalog.ready else None
        try:
            document = await bridge.estimates.complete(document, str(catalog) if catalog else None, where)
        except EstimateAborted as error:
            raise ApiError(422, str(error), kind="estimate-limit" if error.limit else "estimate-aborted",
                           limit=error.limit, limit_value=error.value) from None
        except EstimateRejected as error:
            raise ApiError(422, str(error), kind="validation") from None
    return RunRequest.from_dict(document, where)


async def plan(request: Request) -> JSONResponse:
    require_token(request)
    body = await schemas.read_json(request, PLAN, request.app.state.settings.max_body_bytes)
    iterations = body.get("iterations", 400)
    if not 0 <= iterations <= 20000:
        raise ApiError(422, "body.iterations must be between 0 and 20000", kind="validation")
    expected = _if_match(request)
    try:
        return _placed(*await _with_book(request, lambda book: (book.replan(
            method=body.get("method", "heuristic"), seed=body.get("seed", 0), iterations=iterations,
            expected_revision=expected), book.revision)), 200)
    except _errors() as error:
        raise _problem(error) from None


def _placed(result: Any, revision: int, status: int) -> JSONResponse:
    document = result.to_dict()
    return _with_etag({
        "method": document["method"], "makespan_s": document["makespan_s"],
        "compute_s": document["compute_s"],
        "placed": [{k: p[k] for k in ("request", "workcell", "starts_at", "ends_at", "machines",
                                       "consumables")} for p in document["placements"]],
        "infeasible": document["infeasible"], "revision": revision}, status)


async def add_workcell(request: Request) -> JSONResponse:
    require_token(request)
    body = await schemas.read_json(request, WORKCELL, request.app.state.settings.max_body_bytes)
    expected = _if_match(request)
    if not body["machines"]:
        raise ApiError(422, "body.machines: a workcell needs at least one machine", kind="validation")

    def add(book: Any) -> Any:
        inventory = book.inventory
        with inventory.transaction():  # the machines and the workcell, or nothing
            ids = [inventory.add_machine(m["name"], m.get("catalog_fqn") or m["machine_kind"], m["machine_kind"],
                                         capabilities=m.get("capabilities") or [], location=body["name"])
                   for m in body["machines"]]
            return book.add_workcell(body["name"], ids, body.get("deck"), expected_revision=expected)

    try:
        workcell = await _with_book(request, add)
    except _errors() as error:
        raise _problem(error) from None
    return JSONResponse(workcell.to_dict(), status_code=201)


async def workcell(request: Request) -> JSONResponse:
    require_token(request)
    name = request.path_params["name"]
    expected = _if_match(request)

    def remove(book: Any) -> int:
        book.remove_workcell(name, expected_revision=expected)
        return book.revision  # type: ignore[no-any-return]

    try:
        revision = await _with_book(request, remove)
    except _errors() as error:
        raise _problem(error) from None
    return JSONResponse({"removed": name, "revision": revision})


async def run_action(request: Request) -> JSONResponse:
    require_token(request)
    run_id, action = request.path_params["run_id"], request.path_params["action"]
    if action not in ACTIONS:
        raise ApiError(404, f"no action {action!r}: one of {', '.join(ACTIONS)}", kind="not-found")
    body = {}
    if request.headers.get("content-length") not in (None, "0"):
        body = await schemas.read_json(request, REASON, request.app.state.settings.max_body_bytes)
    expected = _if_match(request)
    reason = body.get("reason")

    def act(book: Any) -> tuple[Any, int]:
        if action == "start":
            run = book.start(run_id, expected_revision=expected)
        elif action == "heartbeat":
            run = book.heartbeat(run_id)
        elif action == "finish":
            run = book.finish(run_id, "completed", reason, expected_revision=expected)
        elif action == "fail":
            run = book.finish(run_id, "failed", reason or "run failed", expected_revision=expected)
        else:
            run = book.cancel(run_id, reason or "cancelled", expected_revision=expected)
        return run, book.revision

    try:
        run, revision = await _with_book(request, act)
    except _errors() as error:
        raise _problem(error) from None
    return JSONResponse({"run": run, "revision": revision})


async def run(request: Request) -> JSONResponse:
    run_id = request.path_params["run_id"]
    expected = None
    if request.method == "DELETE":
        require_token(request)
        expected = _if_match(request)

    def find(book: Any) -> tuple[Any, int]:
        if request.method == "DELETE":
            found = book.cancel(run_id, "deleted from the schedule", expected_revision=expected)
        else:
            found = book.run(run_id)
        return found, book.revision

    try:
        found, revision = await _with_book(request, find)
    except _errors() as error:
        raise _problem(error) from None
    return JSONResponse({"run": found, "revision": revision})


def _query_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(422, f"{name} must be a whole number, not {raw!r}", kind="validation")
    return int(raw)


async def reservations(request: Request) -> JSONResponse:
    from browser_runtime.scheduler.requests import parse_time

    query = request.query_params
    try:
        asset_id = _query_int(request, "asset_id")
        starts_at = parse_time(query.get("starts_at"), "query.starts_at")
        ends_at = parse_time(query.get("ends_at"), "query.ends_at")
        found = await _with_book(request, lambda book: book.reservations(
            asset_id=asset_id, run_id=query.get("run_id"), starts_at=starts_at, ends_at=ends_at,
            status=query.get("status")))
    except _errors() as error:
        raise _problem(error) from None
    return JSONResponse({"reservations": found})


def _asset_json(asset: Any) -> dict[str, Any]:
    import dataclasses

    from browser_runtime.runner.events import jsonable

    return jsonable(dataclasses.asdict(asset))  # the same form the page's inventory() gives


async def labware(request: Request) -> JSONResponse:
    """The lab PC's labware stock the schedule assigns from: list it, or add to it (all or none)."""
    if request.method == "GET":
        return JSONResponse({"labware": await _with_book(request, lambda book: [
            _asset_json(a) for a in book.inventory.assets(kind="labware")])})
    require_token(request)
    catalog = await request.app.state.bridge.catalog_or_none()
    body = await schemas.read_json(request, LABWARE, request.app.state.settings.max_body_bytes)
    from browser_runtime.scheduler.requests import parse_time

    items = []
    for index, item in enumerate(body["labware"]):
        where = f"body.labware[{index}]"
        if catalog is not None and catalog.get(item["catalog_fqn"]) is None:
            raise ApiError(422, f"{where}.catalog_fqn: {item['catalog_fqn']!r} is not in the PLR catalog",
                           kind="validation")
        try:
            items.append({**item, "received_at": parse_time(item.get("received_at"), f"{where}.received_at"),
                          "expires_at": parse_time(item.get("expires_at"), f"{where}.expires_at")})
        except _errors() as error:
            raise _problem(error) from None
    def add(book: Any) -> list[dict[str, Any]]:
        ids = book.inventory.add_labware_many(items)
        return [_asset_json(book.inventory.asset(i)) for i in ids]

    try:
        added = await _with_book(request, add)
    except _errors() as error:
        raise _problem(error) from None
    return JSONResponse({"labware": added}, status_code=201)


async def hold(request: Request) -> JSONResponse:
    """Hold machines or labware by hand (a service visit): scheduled runs in the way move after it."""
    from browser_runtime.scheduler.requests import parse_time

    require_token(request)
    body = await schemas.read_json(request, HOLD, request.app.state.settings.max_body_bytes)
    expected = _if_match(request)
    try:
        starts_at = parse_time(body["starts_at"], "body.starts_at")
        ends_at = parse_time(body["ends_at"], "body.ends_at")
        held, revision = await _with_book(request, lambda book: (
            book.hold(body["asset_ids"], starts_at, ends_at, body["reason"], expected_revision=expected),
            book.revision))
    except _errors() as error:
        raise _problem(error) from None
    return JSONResponse({**held, "revision": revision}, status_code=201)


async def clear_reservation(request: Request) -> JSONResponse:
    require_token(request)
    raw = request.path_params["reservation_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise ApiError(422, f"reservation id must be a whole number, not {raw!r}", kind="validation")
    body = await schemas.read_json(request, CLEAR, request.app.state.settings.max_body_bytes)
    expected = _if_match(request)
    try:
        cleared, revision = await _with_book(request, lambda book: (
            book.clear_reservation(int(raw), body["reason"], expected_revision=expected), book.revision))
    except _errors() as error:
        raise _problem(error) from None
    return JSONResponse({"reservation": cleared, "revision": revision})


ROUTES = [
    Route(PREFIX, schedule, methods=["GET"]),
    Route(f"{PREFIX}/requests", submit, methods=["POST"]),
    Route(f"{PREFIX}/plan", plan, methods=["POST"]),
    Route(f"{PREFIX}/workcells", add_workcell, methods=["POST"]),
    Route(f"{PREFIX}/workcells/{{name}}", workcell, methods=["DELETE"]),
    Route(f"{PREFIX}/runs/{{run_id}}", run, methods=["GET", "DELETE"]),
    Route(f"{PREFIX}/runs/{{run_id}}/{{action}}", run_action, methods=["POST"]),
    Route(f"{PREFIX}/reservations", reservations, methods=["GET"]),
    Route(f"{PREFIX}/holds", hold, methods=["POST"]),
    Route(f"{PREFIX}/labware", labware, methods=["GET", "POST"]),
    Route(f"{PREFIX}/reservations/{{reservation_id}}/clear", clear_reservation, methods=["POST"]),
]
