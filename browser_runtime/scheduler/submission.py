"""A run request from its JSON form; with ``source``, its needs and duration come from the protocol."""

from __future__ import annotations

import uuid
from typing import Any

from browser_runtime.scheduler.requests import RequestError, RunRequest

__all__ = ["request_from_document"]


async def request_from_document(document: Any, catalog: Any, where: str) -> RunRequest:
    """A ``RunRequest`` from its JSON form; with ``source``, needs and duration from the protocol.

    The estimate runs the protocol on a virtual clock with no hardware grant (a simulation)."""
    if not isinstance(document, dict):
        raise RequestError(f"{where}: must be an object")
    document = {"id": uuid.uuid4().hex[:12], **document}
    if document.get("source") is not None:
        from browser_runtime.protocols import analyze_source
        from browser_runtime.runner.planner import choose_protocol
        from browser_runtime.scheduler.requests import needs_from_analysis
        from browser_runtime.scheduler.simulation import estimate_protocol

        source = document["source"]
        if not isinstance(source, str):
            raise RequestError(f"{where}.source: must be a string")
        filename = document.get("filename") or "protocol.py"
        protocol = choose_protocol(analyze_source(source, filename, catalog), document.get("function"))
        machines, consumables = needs_from_analysis(protocol)
        document.setdefault("protocol", protocol.name)
        document.setdefault("function", protocol.function)
        if document.get("duration_s") is None:
            found = await estimate_protocol(source, catalog, function=protocol.function,
                                            parameters=document.get("parameters") or {}, filename=filename)
            if found.status != "completed":
                raise RequestError(f"{where}: the protocol fails in simulation, so it cannot be "
                                   f"scheduled: {found.error}")
            document["duration_s"] = found.duration_s
        document.setdefault("machines", [m.to_dict() for m in machines])
        document.setdefault("consumables", [
            {k: v for k, v in c.to_dict().items() if v is not None} for c in consumables])
    return RunRequest.from_dict(document, where)
