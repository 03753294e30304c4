"""Static files with the cache policy the page's boot speed depends on."""

from __future__ import annotations

import mimetypes
import os

from starlette.responses import Response
from starlette.routing import Match, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

# Python's table may lack these; the page's module worker and WebAssembly need them exact.
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("application/json", ".json")
mimetypes.add_type("application/zip", ".zip")
mimetypes.add_type("application/zip", ".whl")

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class CachedStaticFiles(StaticFiles):
    """``StaticFiles`` that marks versioned content immutable and everything else no-cache.

    ``immutable`` is only safe where the URL changes whenever the bytes do: Pyodide's files
    live under their version, compiled archives carry their content hash in the name.
    Everything else (the page, the manifest) is revalidated with its ETag.
    """

    def __init__(self, *, directory: str | os.PathLike[str], immutable: bool, **kwargs: object):
        super().__init__(directory=directory, check_dir=False, **kwargs)  # type: ignore[arg-type]
        self._immutable = immutable

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        immutable = self._immutable and not path.endswith("manifest.json")
        response.headers["Cache-Control"] = IMMUTABLE if immutable else REVALIDATE
        return response


class PageMount(Mount):
    """The page's files at ``/``, which never answer for ``/api/``.

    A mount at ``/`` matches every path, so without this a wrong method on an API route (``GET``
    on a ``POST`` route) fell through to a file lookup and got 404; now the router answers the
    route's own 405 with ``Allow``, and an unknown API path a 404 problem.
    """

    api_prefix = "/api/"

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith(self.api_prefix):
            return Match.NONE, {}
        return super().matches(scope)
