"""@protocol_function and DataViewDefinition: validated protocol metadata attached at import time."""

from __future__ import annotations

import dataclasses
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

DATA_VIEW_SOURCE_TYPES = ("function_output", "plr_state", "external")
TIME_LINK_FIELDS = ("after", "before", "min_s", "max_s", "description")
PARAM_METADATA_KEYS = ("description", "constraints", "ui_hint")
METADATA_ATTRIBUTE = "__protocol_metadata__"

# Versions are compared by the page and the scheduler, so they must at least look like semver.
_VERSION = re.compile(r"^\d+(\.\d+){0,2}([.+-][0-9A-Za-z.+-]+)?$")
# A step of a time link: a machine call as the protocol writes it, ``parameter.method``.
_STEP = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)$")


def time_link_problems(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for every invalid field of a time link given as keyword values."""
    problems: list[tuple[str, str]] = []
    for key in ("after", "before"):
        step = fields.get(key)
        if not isinstance(step, str) or not _STEP.match(step):
            problems.append((key, f"must name a machine call as 'parameter.method' (e.g. "
                                  f"'hs.unlock_plate'), got {step!r}"))
    numbers = {}
    for key in ("min_s", "max_s"):
        value = fields.get(key, 0.0 if key == "min_s" else None)
        if value is None and key == "max_s":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
                or value < 0 or value == float("inf"):
            problems.append((key, f"must be a number of seconds >= 0, got {value!r}"))
        else:
            numbers[key] = float(value)
    if "min_s" in numbers and "max_s" in numbers and numbers["max_s"] < numbers["min_s"]:
        problems.append(("max_s", f"{numbers['max_s']:g} is below min_s {numbers['min_s']:g}"))
    if not numbers.get("min_s") and fields.get("max_s") is None and not any(
            key in ("min_s", "max_s") for key, _ in problems):
        problems.append(("max_s", "a time link needs min_s above 0 or a max_s, else it says nothing"))
    if not isinstance(fields.get("description", ""), str):
        problems.append(("description", "must be a string"))
    return problems


def step_parameter(step: str) -> tuple[str, str]:
    """``"hs.unlock_plate"`` -> ``("hs", "unlock_plate")`` (the step must be valid)."""
    found = _STEP.match(step)
    if found is None:
        raise ValueError(f"{step!r} is not a machine call 'parameter.method'")
    return found.group(1), found.group(2)


def data_view_problems(fields: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for every invalid field of a data view given as keyword values."""
    problems: list[tuple[str, str]] = []
    name = fields.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(("name", f"must be a non-empty string, got {name!r}"))
    if not isinstance(fields.get("description", ""), str):
        problems.append(("description", "must be a string"))
    source_type = fields.get("source_type", "function_output")
    if source_type not in DATA_VIEW_SOURCE_TYPES:
        problems.append(("source_type", f"must be one of {', '.join(DATA_VIEW_SOURCE_TYPES)}, "
                                        f"got {source_type!r}"))
    source_filter = fields.get("source_filter")
    if source_filter is not None and not isinstance(source_filter, (str, dict)):
        problems.append(("source_filter", "must be a string, a dict or None"))
    schema = fields.get("schema")
    if schema is not None and not isinstance(schema, dict):
        problems.append(("schema", "must be a JSON-schema dict or None"))
    if not isinstance(fields.get("required", False), bool):
        problems.append(("required", "must be True or False"))
    return problems


@dataclasses.dataclass(frozen=True)
class DataViewDefinition:
    """A named view on data a protocol produces, reads from PLR state, or takes from outside."""

    name: str
    description: str = ""
    source_type: str = "function_output"
    source_filter: str | dict | None = None
    schema: dict | None = None
    required: bool = False
    default_value: Any = None

    def __post_init__(self) -> None:
        problems = data_view_problems(dataclasses.asdict(self))
        if problems:
            field, message = problems[0]
            raise ValueError(f"DataViewDefinition {self.name!r}: {field} {message}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class TimeLink:
    """One step of the protocol must follow another within a window, in seconds.

    Steps are the protocol's own machine calls, written ``"parameter.method"``: every call of
    ``before`` starts at least ``min_s`` and at most ``max_s`` after the end of the latest
    ``after`` call before it. ``TimeLink("hs.unlock_plate", "reader.read_absorbance", max_s=300)``:
    read within 5 min after the incubation ends. ``TimeLink("lh.dispense", "lh.dispense",
    min_s=1800)``: each dispense no sooner than 30 min after the one before. The runner waits
    out a ``min_s`` itself; the scheduler may add waits up to ``max_s``; a ``max_s`` missed at
    run time is reported as a ``time_link`` event.
    """

    after: str
    before: str
    min_s: float = 0.0
    max_s: float | None = None
    description: str = ""

    def __post_init__(self) -> None:
        problems = time_link_problems(dataclasses.asdict(self))
        if problems:
            field, message = problems[0]
            raise ValueError(f"TimeLink {self.after!r} -> {self.before!r}: {field} {message}")

    @property
    def label(self) -> str:
        window = (f"{self.min_s:g}-{self.max_s:g} s" if self.max_s is not None and self.min_s
                  else f"within {self.max_s:g} s" if self.max_s is not None else f"at least {self.min_s:g} s")
        return f"{self.before} {window} after {self.after}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class ProtocolMetadata:
    """What @protocol_function records on the function (``func.__protocol_metadata__``)."""

    function: str
    name: str
    version: str
    description: str | None
    data_views: tuple[DataViewDefinition, ...]
    deck_layout_path: str | None
    param_metadata: dict[str, dict[str, Any]]
    tags: tuple[str, ...]
    category: str | None
    time_links: tuple[TimeLink, ...] = ()


def metadata_problems(
    fields: Mapping[str, Any], parameter_names: Iterable[str] | None
) -> list[tuple[str, str]]:
    """(field, message) for every invalid decorator argument; shared by import time and analysis.

    ``data_views`` entries are either DataViewDefinition objects or dicts of their fields
    (the static analysis reads them as dicts). ``parameter_names`` None skips the
    unknown-parameter check.
    """
    problems: list[tuple[str, str]] = []
    name = fields.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        problems.append(("name", f"must be a non-empty string, got {name!r}"))
    version = fields.get("version", "0.1.0")
    if not isinstance(version, str) or not _VERSION.match(version):
        problems.append(("version", f"must be a version string like '1.2.0', got {version!r}"))
    description = fields.get("description")
    if description is not None and not isinstance(description, str):
        problems.append(("description", "must be a string or None"))
    views = fields.get("data_views", ())
    if not isinstance(views, (list, tuple)):
        problems.append(("data_views", "must be a list or tuple of DataViewDefinition"))
        views = ()
    seen: set[str] = set()
    for index, view in enumerate(views):
        view_fields = dataclasses.asdict(view) if isinstance(view, DataViewDefinition) else view
        if not isinstance(view_fields, dict):
            problems.append((f"data_views[{index}]", "must be a DataViewDefinition"))
            continue
        for field, message in data_view_problems(view_fields):
            problems.append((f"data_views[{index}].{field}", message))
        view_name = view_fields.get("name")
        if isinstance(view_name, str):
            if view_name in seen:
                problems.append((f"data_views[{index}].name", f"duplicate data view {view_name!r}"))
            seen.add(view_name)
    path = fields.get("deck_layout_path")
    if path is not None and (not isinstance(path, str) or not path.strip()):
        problems.append(("deck_layout_path", "must be a non-empty path string or None"))
    param_metadata = fields.get("param_metadata")
    if param_metadata is not None:
        if not isinstance(param_metadata, dict):
            problems.append(("param_metadata", "must be a dict of parameter name to metadata"))
        else:
            known = set(parameter_names) if parameter_names is not None else None
            for param, meta in param_metadata.items():
                where = f"param_metadata[{param!r}]"
                if known is not None and param not in known:
                    problems.append((where, f"names no parameter of the function "
                                            f"(parameters: {', '.join(sorted(known)) or 'none'})"))
                if not isinstance(meta, dict):
                    problems.append((where, "must be a dict with description, constraints, ui_hint"))
                    continue
                for key in meta:
                    if key not in PARAM_METADATA_KEYS:
                        problems.append((f"{where}.{key}", "unknown key; allowed: "
                                                           + ", ".join(PARAM_METADATA_KEYS)))
                if not isinstance(meta.get("description", ""), str):
                    problems.append((f"{where}.description", "must be a string"))
                if meta.get("constraints") is not None and not isinstance(meta["constraints"], dict):
                    problems.append((f"{where}.constraints", "must be a dict"))
                if meta.get("ui_hint") is not None and not isinstance(meta["ui_hint"], str):
                    problems.append((f"{where}.ui_hint", "must be a string"))
    tags = fields.get("tags", ())
    if not isinstance(tags, (list, tuple)) or not all(isinstance(t, str) for t in tags):
        problems.append(("tags", "must be a list or tuple of strings"))
    category = fields.get("category")
    if category is not None and not isinstance(category, str):
        problems.append(("category", "must be a string or None"))
    links = fields.get("time_links", ())
    if not isinstance(links, (list, tuple)):
        problems.append(("time_links", "must be a list or tuple of TimeLink"))
        links = ()
    known = set(parameter_names) if parameter_names is not None else None
    for index, link in enumerate(links):
        link_fields = dataclasses.asdict(link) if isinstance(link, TimeLink) else link
        if not isinstance(link_fields, dict):
            problems.append((f"time_links[{index}]", "must be a TimeLink"))
            continue
        for field, message in time_link_problems(link_fields):
            problems.append((f"time_links[{index}].{field}", message))
        for key in ("after", "before"):
            step = link_fields.get(key)
            if known is not None and isinstance(step, str) and _STEP.match(step) \
                    and step_parameter(step)[0] not in known:
                problems.append((f"time_links[{index}].{key}", f"{step!r} names no parameter of the "
                                 f"function (parameters: {', '.join(sorted(known)) or 'none'})"))
    return problems


def protocol_function(
    func: F | None = None,
    *,
    name: str | None = None,
    version: str = "0.1.0",
    description: str | None = None,
    data_views: Iterable[DataViewDefinition] = (),
    deck_layout_path: str | None = None,
    param_metadata: dict[str, dict[str, Any]] | None = None,
    tags: Iterable[str] = (),
    category: str | None = None,
    time_links: Iterable[TimeLink] = (),
) -> Any:
    """Mark a function as a Labwright protocol; usable bare (``@protocol_function``) or called.

    The function itself is returned unchanged apart from ``__protocol_metadata__``, so it stays
    callable (sync or async) exactly as before.
    """
    fields = {"name": name, "version": version, "description": description,
              "data_views": tuple(data_views) if not isinstance(data_views, (str, bytes)) else data_views,
              "deck_layout_path": deck_layout_path, "param_metadata": param_metadata,
              "tags": tuple(tags) if not isinstance(tags, (str, bytes)) else tags,
              "category": category,
              "time_links": tuple(time_links) if not isinstance(time_links, (str, bytes)) else time_links}

    def decorate(function: F) -> F:
        if not callable(function):
            raise ValueError(f"@protocol_function must decorate a function, got {function!r}")
        qualname = getattr(function, "__qualname__", repr(function))
        problems = metadata_problems(fields, inspect.signature(function).parameters)
        if problems:
            detail = "; ".join(f"{field} {message}" for field, message in problems)
            raise ValueError(f"@protocol_function on {qualname}: {detail}")
        metadata = ProtocolMetadata(
            function=qualname, name=name or function.__name__, version=version,
            description=description if description is not None else inspect.getdoc(function),
            data_views=tuple(fields["data_views"]), deck_layout_path=deck_layout_path,
            param_metadata=dict(param_metadata or {}), tags=tuple(fields["tags"]), category=category,
            time_links=tuple(fields["time_links"]))
        setattr(function, METADATA_ATTRIBUTE, metadata)
        return function

    return decorate(func) if func is not None else decorate


def get_protocol_metadata(function: Callable[..., Any]) -> ProtocolMetadata | None:
    """The metadata @protocol_function attached, or None for an undecorated function."""
    return getattr(function, METADATA_ATTRIBUTE, None)
