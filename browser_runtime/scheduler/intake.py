"""Run requests from their JSON form: with protocol source, the needs, timeline and stock drawn come
from its analysis and its discrete-event estimate. One function for the page and the bridge server.

``request_from_document`` supersedes ``scheduler.page_api.request_from_document`` (which fills
only the duration): the page's worker API and ``bridge_server/schedule.py`` call this one.
"""

from __future__ import annotations

import uuid
from typing import Any

from browser_runtime.scheduler.requests import RequestError, RunRequest, needs_from_analysis


async def request_from_document(document: Any, catalog: Any, where: str = "request") -> RunRequest:
    """A ``RunRequest`` from ``{id?, source?, function?, filename?, parameters?, priority?,
    earliest_start?, deadline?, workcell?, duration_s?, machines?, consumables?, timeline?,
    load_s?, unload_s?}``. With ``source``: machine and labware needs from the analysis, the
    timeline (machine holds, pause points of its time links), the duration and the tips and
    volume each labware parameter gives from the estimate; fields given win over derived ones.
    Every problem names its field."""
    if not isinstance(document, dict):
        raise RequestError(f"{where}: must be an object")
    document = {"id": uuid.uuid4().hex[:12], **document}
    if document.get("source") is None:
        return RunRequest.from_dict(document, where)
    from browser_runtime.protocols import analyze_source
    from browser_runtime.runner.plan import _choose_protocol
    from browser_runtime.scheduler.simulation import estimate_protocol

    source = document["source"]
    if not isinstance(source, str):
        raise RequestError(f"{where}.source: must be a string")
    filename = document.get("filename") or "protocol.py"
    protocol = _choose_protocol(analyze_source(source, filename, catalog), document.get("function"))
    machines, consumables = needs_from_analysis(protocol)
    document.setdefault("protocol", protocol.name)
    document.setdefault("function", protocol.function)
    if document.get("duration_s") is None or (document.get("timeline") is None and protocol.time_links):
        estimate = await estimate_protocol(source, catalog, function=protocol.function,
                                           parameters=document.get("parameters") or {}, filename=filename)
        if estimate.status != "completed":
            raise RequestError(f"{where}: the protocol fails in simulation, so it cannot be "
                               f"scheduled: {estimate.error}")
        try:
            timeline = estimate.timeline()
        except RequestError as error:
            raise RequestError(f"{where}: {error}") from None
        if document.get("duration_s") is None:
            document["duration_s"] = timeline.duration_s
            document.setdefault("timeline", timeline.to_dict())
        elif document.get("timeline") is None:
            raise RequestError(f"{where}.duration_s: the protocol has time links, so its timeline comes "
                               "from the estimate: leave duration_s out")
        drawn = estimate.consumption
    else:
        drawn = {}
    document.setdefault("machines", [m.to_dict() for m in machines])
    document.setdefault("consumables", [
        {**{k: v for k, v in c.to_dict().items() if v is not None},
         "tips": int(round((drawn.get(c.parameter) or {}).get("tips", 0))),
         "volume_ul": round(float((drawn.get(c.parameter) or {}).get("volume_ul", 0.0)), 3)}
        for c in consumables])
    return RunRequest.from_dict(document, where)
