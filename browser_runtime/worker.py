"""The Python side of the page's worker: one session namespace, JSON in and out.

Only strings cross the JS boundary here, so nothing the worker keeps in Python holds a
JS object (that keeps Pyodide memory snapshots possible, and the protocol explicit).
"""

from __future__ import annotations

import json
from typing import Any

from browser_runtime.evaluate import CellError, new_namespace, run_cell

_namespace: dict[str, Any] = new_namespace()


async def run_python(code: str) -> str:
    """``{"ok": true, "value": repr}`` or ``{"ok": false, "error": {type, message, traceback}}``."""
    try:
        value = await run_cell(code, _namespace)
    except CellError as error:
        return json.dumps(
            {
                "ok": False,
                "error": {"type": error.type, "message": error.message, "traceback": error.traceback},
            }
        )
    return json.dumps({"ok": True, "value": value})


def versions_json() -> str:
    from browser_runtime.boot import versions_dict

    return json.dumps(versions_dict())
