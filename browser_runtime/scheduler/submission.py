"""Run requests from their JSON form; with a protocol's source, needs from its analysis and its
timeline, duration and the stock it draws from an estimate on the virtual clock.

The page's schedule area and the bridge server's shared schedule both submit through here. Filling
a request from source runs the protocol's code (the estimate executes it), so the server calls
:func:`complete_from_source` in a process of its own, never on its event loop.
"""

from __future__ import annotations

import uuid
from typing import Any

from browser_runtime.scheduler.requests import RequestError, RunRequest


class EstimateFailed(RequestError):
    """The protocol failed while it was estimated; ``error`` is the run's error (type, message)."""

    def __init__(self, message: str, error: dict[str, Any] | None) -> None:
        super().__init__(message)
        self.error = error or {}


def with_id(document: Any, where: str) -> dict[str, Any]:
    """The document with a fresh ``id`` when it has none; an object, or a ``RequestError``."""
    if not isinstance(document, dict):
        raise RequestError(f"{where}: must be an object")
    return {"id": uuid.uuid4().hex[:12], **document}


async def complete_from_source(document: dict[str, Any], catalog: Any, where: str) -> dict[str, Any]:
    """``document`` with protocol, function, machines and consumables filled from its ``source``
    (the analysis says what the protocol needs), and, unless given, its duration, its timeline
    (each machine held from its first to its last use, pause points at its time links) and the
    tips and volume each labware parameter draws (an estimate says how long and how much).
    Fields given win; a protocol with time links takes its timeline from the estimate."""
    from browser_runtime.protocols import analyze_source
    from browser_runtime.runner.planner import choose_protocol
    from browser_runtime.scheduler.requests import needs_from_analysis
    from browser_runtime.scheduler.simulation import estimate_protocol

    document = dict(document)
    source = document["source"]
    if not isinstance(source, str):
        raise RequestError(f"{where}.source: must be a string")
    filename = document.get("filename") or "protocol.py"
    protocol = choose_protocol(analyze_source(source, filename, catalog), document.get("function"))
    machines, consumables = needs_from_analysis(protocol)
    document.setdefault("protocol", protocol.name)
    document.setdefault("function", protocol.function)
    drawn: dict[str, dict[str, float]] = {}
    if document.get("duration_s") is None or (document.get("timeline") is None and protocol.time_links):
        if document.get("duration_s") is not None:
            raise RequestError(f"{where}.duration_s: the protocol has time links, so its timeline comes "
                               "from the estimate: leave duration_s out")
        found = await estimate_protocol(source, catalog, function=protocol.function,
                                        parameters=document.get("parameters") or {}, filename=filename)
        if found.status != "completed":
            raise EstimateFailed(f"{where}: the protocol fails in simulation, so it cannot be "
                                 f"scheduled: {found.error}", found.error)
        try:
            timeline = found.timeline()
        except RequestError as error:
            raise RequestError(f"{where}: {error}") from None
        document["duration_s"] = timeline.duration_s
        document.setdefault("timeline", timeline.to_dict())
        drawn = found.consumption
    document.setdefault("machines", [m.to_dict() for m in machines])
    document.setdefault("consumables", [
        {**{k: v for k, v in c.to_dict().items() if v is not None},
         "tips": round((drawn.get(c.parameter) or {}).get("tips", 0)),
         "volume_ul": round(float((drawn.get(c.parameter) or {}).get("volume_ul", 0.0)), 3)}
        for c in consumables])
    return document


async def request_from_document(document: Any, catalog: Any, where: str = "request") -> RunRequest:
    """A ``RunRequest`` from its JSON form; with ``source``, filled in by :func:`complete_from_source`."""
    document = with_id(document, where)
    if document.get("source") is not None:
        document = await complete_from_source(document, catalog, where)
    return RunRequest.from_dict(document, where)
