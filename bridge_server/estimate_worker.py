"""One scheduler estimate in a process of its own: a run request's document in, filled out.

Run as ``python -m bridge_server.estimate_worker [CATALOG]`` by :mod:`bridge_server.estimates`.
It imports the runtime (and, given the catalog, estimates a small built-in protocol) first and
says ``ready`` (so a spare worker is warm), then reads exactly
one job line ``{document, where, catalog, memory_limit, cpu_limit}``, limits its own memory
and CPU time, runs the protocol's analysis and estimate (the protocol's code runs here), answers
one line ``{event: "done", document}`` or ``{event: "failed", error: {type, message, limit}}``
and exits. The server kills the whole process group afterwards, whatever the code started.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

from bridge_server.sandbox import limit_cpu, limit_memory, private_channel


#: Estimated once while a spare worker waits, so the first request does not pay for what every
#: estimate needs (PLR's liquid handling, a deck, labware, the planner's and runner's imports).
_WARM_UP = '''
from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.resources import Plate, TipRack
from browser_runtime.protocols import protocol_function

@protocol_function(name="warm-up", version="1")
async def warm_up(lh: LiquidHandler, tips: TipRack, plate: Plate):
    await lh.pick_up_tips(tips["A1"])
    await lh.aspirate(plate["A1"], vols=[10])
    await lh.dispense(plate["A2"], vols=[10])
    await lh.drop_tips(tips["A1"])
'''
_catalogs: dict[str, Any] = {}


def _load_catalog(path: str | None) -> Any:
    from browser_runtime.catalog import Catalog

    if not path:
        return None
    if path not in _catalogs:
        with open(path, encoding="utf-8") as file:
            _catalogs[path] = Catalog(json.load(file))
    return _catalogs[path]


def _warm_up(catalog_path: str | None) -> None:
    from browser_runtime.scheduler.submission import complete_from_source

    try:
        asyncio.run(complete_from_source({"id": "warm-up", "source": _WARM_UP}, _load_catalog(catalog_path),
                                         "warm-up"))
    except Exception:  # noqa: BLE001 - only a head start; a real estimate reports its own errors
        pass


def _caused_by_memory(error: BaseException) -> bool:
    """Did the memory limit end this? A MemoryError anywhere in the chain, or reported by the
    estimate (the runner records a failed protocol's error by type)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, MemoryError):
            return True
        if (getattr(seen, "error", None) or {}).get("type") == "MemoryError":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _failure(error: BaseException) -> dict[str, Any]:
    from browser_runtime.inventory import InventoryError
    from browser_runtime.runner.plans import PlanError
    from browser_runtime.scheduler.requests import RequestError

    if _caused_by_memory(error):
        return {"type": "MemoryError", "message": "the estimate ran out of memory", "limit": "memory"}
    if isinstance(error, SystemExit):
        return {"type": "SystemExit", "message": f"the protocol called sys.exit({error.code!r})"}
    message = str(error)
    if not isinstance(error, (RequestError, PlanError, InventoryError)):
        message = f"the protocol could not be estimated: {type(error).__name__}: {error}"
    return {"type": type(error).__name__, "message": message[:4000]}


def run(job: dict[str, Any]) -> dict[str, Any]:
    from browser_runtime.scheduler.submission import complete_from_source

    catalog = _load_catalog(job.get("catalog"))
    limit_memory(int(job.get("memory_limit") or 0))
    limit_cpu(float(job["cpu_limit"]))
    try:
        document = asyncio.run(complete_from_source(job["document"], catalog, job["where"]))
    except BaseException as error:  # noqa: BLE001 - whatever the protocol raised is the answer
        return {"event": "failed", "error": _failure(error)}
    return {"event": "done", "document": document}


def main() -> int:
    channel = private_channel()
    # Imported before 'ready': a spare worker waits warm, so an estimate pays only for itself.
    import browser_runtime.protocols  # noqa: F401
    import browser_runtime.runner.planner  # noqa: F401
    import browser_runtime.scheduler.simulation  # noqa: F401
    import browser_runtime.scheduler.submission  # noqa: F401

    if len(sys.argv) > 1:
        _warm_up(sys.argv[1])
    channel.write(json.dumps({"event": "ready", "pid": os.getpid()}) + "\n")
    line = sys.stdin.readline()
    if not line:
        return 0
    answer = run(json.loads(line))
    try:
        text = json.dumps(answer, default=repr)
    except (TypeError, ValueError) as error:
        text = json.dumps({"event": "failed", "error": {"type": type(error).__name__,
                                                        "message": f"the estimate's answer is not JSON: {error}"}})
    channel.write(text + "\n")
    channel.flush()
    # No interpreter shutdown: atexit handlers and threads the protocol left behind never run.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
