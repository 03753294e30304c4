"""Request and response bodies: JSON Schemas defined once, used to validate and for OpenAPI."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.requests import Request

from bridge_server.errors import ApiError

JsonSchema = dict[str, Any]

_DEVICE_ID = {"type": "string", "minLength": 1, "maxLength": 300}
_NODE = {"type": "string", "minLength": 1, "maxLength": 200,
         "description": "the lab PC the device is attached to (default: this server's)"}
_CONFIG = {"type": "object", "description": "constructor arguments of the backend",
           "additionalProperties": True}

CONNECT: JsonSchema = {
    "type": "object",
    "required": ["device_id"],
    "additionalProperties": False,
    "properties": {
        "device_id": _DEVICE_ID,
        "node": _NODE,
        "backend": {"type": "string", "minLength": 1, "maxLength": 300,
                    "description": "fqn of a PLR backend; implied for simulators and profiles"},
        "config": _CONFIG,
        "force": {"type": "boolean", "description": "take the lease from another client"},
    },
}
DEVICE_REF: JsonSchema = {
    "type": "object", "required": ["device_id"], "additionalProperties": False,
    "properties": {"device_id": _DEVICE_ID, "node": _NODE},
}
_PROFILE_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "minLength": 1, "maxLength": 200},
    "backend": {"type": "string", "minLength": 1, "maxLength": 300},
    "connection_type": {"enum": ["serial", "usb", "network", "simulator"]},
    "port": {"type": ["string", "null"], "maxLength": 500},
    "ip_address": {"type": ["string", "null"], "maxLength": 200},
    "configuration": _CONFIG,
}
REGISTER: JsonSchema = {
    "type": "object",
    "required": ["device_id", "name", "backend", "connection_type"],
    "additionalProperties": False,
    "properties": {"device_id": _DEVICE_ID, **_PROFILE_FIELDS},
}
PROFILE_UPDATE: JsonSchema = {
    "type": "object",
    "required": ["name", "backend", "connection_type"],
    "additionalProperties": False,
    "properties": _PROFILE_FIELDS,
}
REPL: JsonSchema = {
    "type": "object", "required": ["device_id", "code"], "additionalProperties": False,
    "properties": {"device_id": _DEVICE_ID, "code": {"type": "string", "maxLength": 60000}},
}

DEVICE: JsonSchema = {
    "type": "object",
    "required": ["id", "name", "connection_type", "machine_kind", "status", "plr_backends"],
    "properties": {
        "id": {"type": "string"}, "name": {"type": "string"},
        "connection_type": {"enum": ["serial", "usb", "network", "simulator"]},
        "machine_kind": {"type": ["string", "null"]}, "status": {"type": "string"},
        "port": {"type": ["string", "null"]}, "ip_address": {"type": ["string", "null"]},
        "manufacturer": {"type": ["string", "null"]}, "model": {"type": ["string", "null"]},
        "serial_number": {"type": ["string", "null"]},
        "plr_backends": {"type": "array", "items": {"type": "string"}},
        "properties": {"type": "object"},
    },
}
DEVICES: JsonSchema = {"type": "object", "required": ["devices"],
                       "properties": {"devices": {"type": "array", "items": DEVICE}}}
CONNECTION: JsonSchema = {
    "type": "object",
    "required": ["device_id", "client_id", "status", "expires_at", "expires_in"],
    "properties": {
        "device_id": {"type": "string"}, "node": {"type": "string"}, "client_id": {"type": "string"},
        "backend": {"type": ["string", "null"]}, "config": {"type": "object"},
        "status": {"enum": ["connected", "released"]},
        "connected_at": {"type": "number"}, "last_heartbeat": {"type": "number"},
        "expires_at": {"type": "number"}, "expires_in": {"type": "number"},
        "heartbeats": {"type": "integer"},
    },
}
PROFILE: JsonSchema = {
    "type": "object", "required": ["device_id", "name", "backend", "connection_type"],
    "properties": {"device_id": {"type": "string"}, **_PROFILE_FIELDS,
                   "created_at": {"type": "number"}, "updated_at": {"type": "number"}},
}
REPL_RESULT: JsonSchema = {
    "type": "object", "required": ["output", "result", "error"],
    "properties": {"output": {"type": "string"}, "result": {"type": ["string", "null"]},
                   "error": {"type": ["object", "null"]}},
}
PROBLEM: JsonSchema = {
    "type": "object", "required": ["type", "title", "status", "detail"],
    "properties": {"type": {"type": "string"}, "title": {"type": "string"},
                   "status": {"type": "integer"}, "detail": {"type": "string"}},
}

_TYPES: dict[str, Any] = {
    "string": str, "integer": int, "number": (int, float), "boolean": bool,
    "object": dict, "array": list, "null": type(None),
}


def _type_ok(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "number" and isinstance(value, float) and not math.isfinite(value):
        return False
    return isinstance(value, _TYPES[name])


def validate(schema: JsonSchema, value: Any, where: str = "body") -> list[dict[str, str]]:
    """Every way ``value`` breaks ``schema`` (the subset of JSON Schema used above)."""
    errors: list[dict[str, str]] = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append({"loc": where, "message": f"must be one of {schema['enum']}"})
        return errors
    types = schema.get("type")
    if types is not None:
        names = [types] if isinstance(types, str) else list(types)
        if not any(_type_ok(value, name) for name in names):
            errors.append({"loc": where, "message": f"must be of type {' or '.join(names)}"})
            return errors
    if isinstance(value, str):
        if "\x00" in value:  # PostgreSQL's text cannot hold it: refused alike on both engines
            errors.append({"loc": where, "message": "must not contain NUL characters"})
        if len(value) < schema.get("minLength", 0):
            errors.append({"loc": where, "message": f"must have at least {schema['minLength']} characters"})
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append({"loc": where, "message": f"must have at most {schema['maxLength']} characters"})
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63:
        errors.append({"loc": where, "message": "must fit in 64 bits"})  # what both databases store
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append({"loc": where, "message": f"must be at least {schema['minimum']}"})
        if "maximum" in schema and value > schema["maximum"]:
            errors.append({"loc": where, "message": f"must be at most {schema['maximum']}"})
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            errors.append({"loc": where, "message": f"must have at least {schema['minItems']} items"})
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append({"loc": where, "message": f"must have at most {schema['maxItems']} items"})
        if "items" in schema:
            for index, item in enumerate(value):
                errors.extend(validate(schema["items"], item, f"{where}[{index}]"))
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append({"loc": f"{where}.{name}", "message": "is required"})
        for name, item in value.items():
            if name in properties:
                errors.extend(validate(properties[name], item, f"{where}.{name}"))
            elif schema.get("additionalProperties", True) is False:
                errors.append({"loc": f"{where}.{name}", "message": "unknown field"})
    return errors


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_json(request: Request, schema: JsonSchema, max_bytes: int) -> dict[str, Any]:
    """The request's JSON body, bounded in size and validated; 413/400/422 otherwise."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "Content-Length is not a number")
        if int(declared) > max_bytes:
            raise ApiError(413, f"request body is {declared} bytes; the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, f"request body exceeds the limit of {max_bytes} bytes")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw.strip():
        raise ApiError(400, "a JSON body is required", kind="malformed-json")
    try:
        body = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ApiError(400, f"body is not valid JSON: {exc}", kind="malformed-json") from None
    errors = validate(schema, body)
    if errors:
        unknown = [e["loc"].removeprefix("body.") for e in errors if e["message"] == "unknown field"]
        detail = "; ".join(f"{e['loc']} {e['message']}" for e in errors)
        if unknown:
            detail = f"unknown field(s): {', '.join(unknown)}. " + detail
        raise ApiError(422, detail, kind="validation", errors=errors, unknown_fields=unknown)
    return body
