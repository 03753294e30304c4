"""The OpenAPI 3.1 document of the bridge API, built from the same schemas that validate bodies."""

from __future__ import annotations

from typing import Any

from bridge_server import schemas
from bridge_server.routes import alerts, lab, schedule

_HARDWARE = "/api/v1/hardware"
_CLIENT = {"name": "X-Labwright-Client", "in": "header", "required": True,
           "description": "the caller's client id (owner of its leases)",
           "schema": {"type": "string", "pattern": "^[A-Za-z0-9._:@-]{1,128}$"}}
_DEVICE_PATH = {"name": "device_id", "in": "path", "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 300}}
_NODE_QUERY = {"name": "node", "in": "query", "required": False,
               "description": "the lab PC the device is attached to (default: this server's)",
               "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
_TIMEOUT = {"name": "timeout", "in": "query", "required": False,
            "description": "seconds to let mDNS browse right after start-up (default 2)",
            "schema": {"type": "number", "minimum": 0, "maximum": 30}}


def _json(schema: schemas.JsonSchema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _op(summary: str, response: schemas.JsonSchema | None = None, *, body: schemas.JsonSchema | None = None,
        auth: bool = True, params: list[dict[str, Any]] | None = None, errors: tuple[int, ...] = (),
        status: int = 200) -> dict[str, Any]:
    responses: dict[str, Any] = {str(status): {"description": "OK"}}
    if response is not None:
        responses[str(status)]["content"] = _json(response)
    # Every request may name a foreign Host (421); every write may find the disk full (507).
    codes = set(errors) | {421} | ({401} if auth else set()) | ({400, 413, 422, 507} if body else set())
    for code in sorted(codes):
        responses[str(code)] = {"description": "problem details",
                                "content": {"application/problem+json": {"schema": schemas.PROBLEM}}}
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if auth:
        operation["security"] = [{"bearer": []}]
    if params:
        operation["parameters"] = params
    if body is not None:
        operation["requestBody"] = {"required": True, "content": _json(body)}
    return operation


_ANY = {"type": "object"}
_DEVICE_LIST = {"type": "object", "required": ["devices"],
                "properties": {"devices": {"type": "array", "items": schemas.PROFILE}}}

PATHS: dict[str, dict[str, Any]] = {
    "/api/v1/health": {"get": _op("versions of what runs", _ANY, auth=False)},
    "/api/v1/openapi.json": {"get": _op("this document", _ANY, auth=False)},
    "/api/v1/definitions": {"get": _op("the PLR catalog (strong ETag, gzip)", _ANY, auth=False,
                                       errors=(304,))},
    "/api/v1/definitions/sync": {"post": _op("rebuild the catalog; added/removed/changed fqns", {
        "type": "object", "required": ["added", "removed", "changed"],
        "properties": {k: {"type": "array", "items": {"type": "string"}}
                       for k in ("added", "removed", "changed")}})},
    f"{_HARDWARE}/discover": {"get": _op("serial, simulator and network devices", schemas.DEVICES,
                                         params=[_TIMEOUT], errors=(422,))},
    f"{_HARDWARE}/discover/serial": {"get": _op("serial ports", schemas.DEVICES)},
    f"{_HARDWARE}/discover/simulators": {"get": _op("simulator backends", schemas.DEVICES)},
    f"{_HARDWARE}/discover/network": {"get": _op("mDNS services", schemas.DEVICES, params=[_TIMEOUT],
                                                 errors=(422,))},
    f"{_HARDWARE}/connect": {"post": _op("take a lease on a device", schemas.CONNECTION,
                                         body=schemas.CONNECT, params=[_CLIENT], errors=(404, 409))},
    f"{_HARDWARE}/disconnect": {"post": _op("release a lease", schemas.CONNECTION,
                                            body=schemas.DEVICE_REF, params=[_CLIENT], errors=(404, 409))},
    f"{_HARDWARE}/heartbeat": {"post": _op("extend a lease by the TTL", schemas.CONNECTION,
                                           body=schemas.DEVICE_REF, params=[_CLIENT], errors=(404, 409))},
    f"{_HARDWARE}/connections": {"get": _op("live leases", {
        "type": "object", "properties": {"connections": {"type": "array", "items": schemas.CONNECTION}}})},
    f"{_HARDWARE}/connections/{{device_id}}": {"get": _op("one live lease", schemas.CONNECTION,
                                                          params=[_DEVICE_PATH, _NODE_QUERY], errors=(404, 422))},
    f"{_HARDWARE}/register": {"post": _op("save a device profile", schemas.PROFILE,
                                          body=schemas.REGISTER, errors=(409,), status=201)},
    f"{_HARDWARE}/devices": {"get": _op("saved device profiles", _DEVICE_LIST)},
    f"{_HARDWARE}/devices/{{device_id}}": {
        "get": _op("one device profile", schemas.PROFILE, params=[_DEVICE_PATH], errors=(404, 422)),
        "put": _op("replace a device profile", schemas.PROFILE, body=schemas.PROFILE_UPDATE,
                   params=[_DEVICE_PATH], errors=(404,)),
        "delete": _op("delete a device profile", schemas.PROFILE, params=[_DEVICE_PATH], errors=(404, 422)),
    },
    "/api/v1/inventory": {"get": _op("the lab's inventory (machines, labware) and open reservations "
                                     "(ETag: the schedule revision)", _ANY, auth=False)},
    "/api/v1/lab": {"get": _op("the lab's PCs (servers on this database): name, url, alive", _ANY)},
    f"{_HARDWARE}/io-tickets": {"post": _op(
        "a single-use ticket to open the serial port of a leased device on another lab PC", _ANY,
        body=lab.TICKET_REQUEST, params=[_CLIENT], errors=(404, 409), status=201)},
    f"{_HARDWARE}/repl": {"post": _op("run code in the session of a device the caller holds", schemas.REPL_RESULT,
                                      body=schemas.REPL, params=[_CLIENT], errors=(403, 404, 503))},
}

_SCHEDULE = schedule.PREFIX
_IF_MATCH = {"name": "If-Match", "in": "header", "required": False,
             "description": "the schedule revision the write is based on; 409 if it moved on",
             "schema": {"type": "string", "maxLength": 40}}
_RUN_PATH = {"name": "run_id", "in": "path", "required": True,
             "schema": {"type": "string", "minLength": 1, "maxLength": 128}}
_RUN = {"type": "object", "required": ["run", "revision"],
        "properties": {"run": _ANY, "revision": {"type": "integer"}}}
_WRITE_ERRORS = (409, 422)
PATHS.update({
    _SCHEDULE: {"get": _op("the schedule: workcells, runs, queue, held reservations (ETag: revision)",
                           schedule.SNAPSHOT, auth=False)},
    f"{_SCHEDULE}/requests": {"post": _op("queue run requests and place them", schedule.PLACED,
                                          body=schedule.SUBMIT, params=[_IF_MATCH], errors=_WRITE_ERRORS,
                                          status=201)},
    f"{_SCHEDULE}/plan": {"post": _op("place every run not yet started afresh (heuristic or optimiser)",
                                      schedule.PLACED, body=schedule.PLAN, params=[_IF_MATCH],
                                      errors=_WRITE_ERRORS)},
    f"{_SCHEDULE}/workcells": {"post": _op("register machines as a named workcell", _ANY,
                                           body=schedule.WORKCELL, params=[_IF_MATCH],
                                           errors=_WRITE_ERRORS, status=201)},
    f"{_SCHEDULE}/workcells/{{name}}": {"delete": _op(
        "remove a workcell without open runs", _ANY, errors=(404, 409, 422),
        params=[_IF_MATCH, {"name": "name", "in": "path", "required": True,
                            "schema": {"type": "string", "minLength": 1, "maxLength": 200}}])},
    f"{_SCHEDULE}/runs/{{run_id}}": {
        "get": _op("one run of the schedule", _RUN, auth=False, params=[_RUN_PATH], errors=(404,)),
        "delete": _op("cancel a run (its reservations released)", _RUN, params=[_RUN_PATH, _IF_MATCH],
                      errors=(404, 409, 422)),
    },
    f"{_SCHEDULE}/runs/{{run_id}}/{{action}}": {"post": _op(
        "start, heartbeat, finish, fail or cancel a run", _RUN, body=schedule.REASON,
        params=[_RUN_PATH, _IF_MATCH, {"name": "action", "in": "path", "required": True,
                                       "schema": {"enum": list(schedule.ACTIONS)}}],
        errors=(404, 409))},
    f"{_SCHEDULE}/reservations": {"get": _op(
        "reservations by asset, run and/or window", {"type": "object"}, auth=False, errors=(422,),
        params=[{"name": name, "in": "query", "required": False, "schema": schema} for name, schema in (
            ("asset_id", {"type": "integer", "minimum": 0}), ("run_id", {"type": "string"}),
            ("starts_at", {"type": "string"}), ("ends_at", {"type": "string"}),
            ("status", {"enum": ["held", "active", "released"]}))])},
    f"{_SCHEDULE}/labware": {
        "get": _op("the lab PC's labware stock the schedule assigns from", _ANY, auth=False),
        "post": _op("add labware to the stock, all or none (catalog fqns are checked)", _ANY,
                    body=schedule.LABWARE, errors=(422,), status=201),
    },
    f"{_SCHEDULE}/reservations/{{reservation_id}}/clear": {"post": _op(
        "release one reservation by hand, with a reason", _ANY, body=schedule.CLEAR,
        params=[_IF_MATCH, {"name": "reservation_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 0}}], errors=(404, 409))},
    f"{_SCHEDULE}/holds": {"post": _op(
        "hold machines or labware by hand for a window, with a reason; runs in the way move after it",
        _ANY, body=schedule.HOLD, params=[_IF_MATCH], errors=(404, 409, 422), status=201)},
})

#: WebSockets are not OpenAPI operations; listed here so the document names them anyway.
WEBSOCKETS = {
    f"{_HARDWARE}/ws/repl": "REPL session: auth by subprotocol 'bearer.<token>' or a first "
                            "{type:'auth', token, client} message; then execute/complete/signatures/interrupt",
    f"{_HARDWARE}/ws/devices": "live mDNS device list, pushed on every change (same auth)",
    f"{_HARDWARE}/ws/serial/{{port}}": "a serial port the server lists (port path URL-encoded), opened "
                                       "with real pyserial (same auth): first {type:'open', baudRate, "
                                       "dataBits, parity, stopBits, flowControl}; then bytes as binary "
                                       "frames both ways, JSON signals/get-signals/close, errors as "
                                       "{type:'error', code, message}; a page of another lab PC "
                                       "authenticates with subprotocol 'ticket.<t>' (POST io-tickets)",
    "/api/v1/ws/changes": "changes to the lab's shared state (schedule, inventory, leases, devices, "
                          "nodes) pushed as {type:'changed', topic, version, revision?} (same auth)",
}

PATHS[alerts.PREFIX] = {"post": _op("a hardware run failed or waits for the operator: posted to the webhook",
                                     alerts.DELIVERY, body=alerts.ALERT, errors=(502,))}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "Labwright bridge server", "version": "1"},
    "paths": PATHS,
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "x-websockets": WEBSOCKETS,
}

