"""The catalog document: versioned dataclasses shared by the builder, the bridge server and the page."""

from __future__ import annotations

import dataclasses
from typing import Any

# Major bumps break readers; minor bumps only add optional fields.
# 1.1: backends carry their constructor's parameters.
SCHEMA_VERSION = "1.1"


@dataclasses.dataclass
class UsbId:
    vid: int
    pid: int


@dataclasses.dataclass
class SerialSettings:
    """Line settings as PLR's source states them; a key the source leaves open is null."""

    baudrate: int | None = None
    bytesize: int | None = None
    parity: str | None = None  # "N", "E", "O", "M", "S"
    stopbits: float | None = None
    rtscts: bool | None = None
    dsrdtr: bool | None = None


@dataclasses.dataclass
class MachineEntry:
    fqn: str
    name: str
    module: str
    kind: str
    bases: list[str]
    docstring: str | None
    async_methods: list[str]
    is_resource: bool
    source: str | None = None


@dataclasses.dataclass
class ConstructorParameter:
    """One keyword a backend's constructor takes, as its source states it.

    ``default`` and ``annotation`` are source text (``"None"``, ``"9600"``, ``"Optional[str]"``);
    ``default`` is None when the parameter is required.
    """

    name: str
    required: bool
    default: str | None = None
    annotation: str | None = None


@dataclasses.dataclass
class BackendEntry:
    fqn: str
    name: str
    module: str
    frontend_kind: str | None
    io: str  # serial | usb | ftdi | hid | socket | http | none | via_interface
    simulator: bool
    usb_ids: list[UsbId]
    serial: SerialSettings | None
    bases: list[str]
    docstring: str | None
    deprecated: str | None = None
    source: str | None = None
    #: The constructor's parameters (``self`` left out), including what ``**kwargs`` passes on
    #: to the next ``__init__`` in the MRO (never required there).
    parameters: list[ConstructorParameter] = dataclasses.field(default_factory=list)
    #: ``**kwargs`` reaches code the catalog cannot read: names besides ``parameters`` may work.
    open_keywords: bool = False


@dataclasses.dataclass
class Size:
    x: float
    y: float
    z: float


@dataclasses.dataclass
class ResourceEntry:
    fqn: str
    name: str
    module: str
    kind: str  # "factory" | "class"
    category: str | None
    resource_class: str | None
    manufacturer: str | None
    deprecated: str | None
    docstring: str | None
    size: Size | None = None
    geometry: dict[str, Any] | None = None
    serialized: str | None = None  # path relative to the catalog file, fetched lazily
    skipped: str | None = None  # why the factory was not called (network, needs arguments, ...)
    error: str | None = None  # why calling it failed
    source: str | None = None


@dataclasses.dataclass
class DeckEntry:
    fqn: str
    name: str
    module: str
    kind: str  # "factory" | "class"
    deck_class: str | None
    manufacturer: str | None
    size: Size | None = None
    rails: int | None = None
    slots: list[dict[str, float]] | None = None
    serialized: str | None = None
    skipped: str | None = None
    error: str | None = None
    source: str | None = None


@dataclasses.dataclass
class CatalogError:
    """A file that did not parse, or a definition that could not be evaluated."""

    file: str | None
    line: int | None
    column: int | None
    message: str
    fqn: str | None = None


@dataclasses.dataclass
class CatalogDocument:
    schema_version: str
    plr_version: str | None
    source_hash: str
    sources: list[str]
    machines: list[MachineEntry]
    backends: list[BackendEntry]
    resources: list[ResourceEntry]
    decks: list[DeckEntry]
    errors: list[CatalogError]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_SIZE = {"type": ["object", "null"], "properties": {k: {"type": "number"} for k in "xyz"}}
_ENTRY = {"fqn": {"type": "string"}, "name": {"type": "string"}, "module": {"type": "string"}}

# A JSON-Schema (draft 2020-12 subset) of the document, so other languages can validate it.
JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Labwright PLR catalog",
    "type": "object",
    "required": [
        "schema_version",
        "plr_version",
        "source_hash",
        "machines",
        "backends",
        "resources",
        "decks",
        "errors",
    ],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "plr_version": {"type": ["string", "null"]},
        "source_hash": {"type": "string"},
        "sources": {"type": "array", "items": {"type": "string"}},
        "machines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["fqn", "name", "kind"],
                "properties": {**_ENTRY, "kind": {"type": "string"}},
            },
        },
        "backends": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "fqn",
                    "name",
                    "frontend_kind",
                    "io",
                    "simulator",
                    "usb_ids",
                    "serial",
                ],
                "properties": {
                    **_ENTRY,
                    "frontend_kind": {"type": ["string", "null"]},
                    "io": {
                        "enum": [
                            "serial",
                            "usb",
                            "ftdi",
                            "hid",
                            "socket",
                            "http",
                            "none",
                            "via_interface",
                        ]
                    },
                    "simulator": {"type": "boolean"},
                    "usb_ids": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["vid", "pid"],
                            "properties": {"vid": {"type": "integer"}, "pid": {"type": "integer"}},
                        },
                    },
                    "serial": {"type": ["object", "null"]},
                    "parameters": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["name", "required"],
                            "properties": {
                                "name": {"type": "string"},
                                "required": {"type": "boolean"},
                                "default": {"type": ["string", "null"]},
                                "annotation": {"type": ["string", "null"]},
                            },
                        },
                    },
                    "open_keywords": {"type": "boolean"},
                },
            },
        },
        "resources": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["fqn", "name", "category"],
                "properties": {
                    **_ENTRY,
                    "category": {"type": ["string", "null"]},
                    "manufacturer": {"type": ["string", "null"]},
                    "size": _SIZE,
                    "geometry": {"type": ["object", "null"]},
                    "serialized": {"type": ["string", "null"]},
                },
            },
        },
        "decks": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["fqn", "name"],
                "properties": {**_ENTRY, "size": _SIZE},
            },
        },
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["message"],
                "properties": {
                    "file": {"type": ["string", "null"]},
                    "line": {"type": ["integer", "null"]},
                    "column": {"type": ["integer", "null"]},
                    "message": {"type": "string"},
                },
            },
        },
    },
}
