"""``GET /api/v1/inventory``: the lab's inventory (machines and labware) with its open reservations.

The same stock the shared schedule assigns from and reserves (``/api/v1/schedule/labware`` adds
to it), in the shape the page's own ``labwright.inventory()`` gives, so a page connected to a
bridge server shows the lab's inventory rather than its own demo one. ``revision`` is the
schedule's: a ``schedule`` or ``inventory`` change on the change feed means reload.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bridge_server.routes.common import bridge_of

PATH = "/api/v1/inventory"


def _inventory(book: Any) -> dict[str, Any]:
    from browser_runtime.runner.events import jsonable

    return {
        "revision": book.revision,
        "assets": [jsonable(dataclasses.asdict(asset)) for asset in book.inventory.assets()],
        "reservations": [r for r in book.reservations() if r["status"] != "released"],
    }


async def inventory(request: Request) -> JSONResponse:
    document = await bridge_of(request).with_book(_inventory)
    return JSONResponse(document, headers={"ETag": f'"{document["revision"]}"'})


ROUTES = [
    Route(PATH, inventory, methods=["GET"]),
]
