"""The catalog loads in the background once the page's data is open; what needs it waits for it.

The page is usable before the catalog is loaded (web/main.js no longer waits for it), so a plan,
an analysis or a catalog search may reach the worker's door while the first load is still under
way: it must wait for that load and answer exactly as it would after it, never as if the
catalog were empty or missing. What does not need the catalog answers without it.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest

from browser_runtime import worker
from browser_runtime.page import door

ROOT = Path(__file__).resolve().parents[3]
CATALOG = ROOT / "build" / "catalog" / "catalog.json"
DEMO = (ROOT / "web" / "protocols" / "serial_dilution.py").read_text()


@pytest.fixture(scope="module")
def prebuilt():
    """Set-up's catalog served over real HTTP, as the page's own origin serves it."""
    if not CATALOG.exists():
        pytest.fail("build/catalog/catalog.json is missing: run `python3 scripts/setup.py`")
    handler = functools.partial(_Quiet, directory=str(CATALOG.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/catalog.json",
           "sha256": hashlib.sha256(CATALOG.read_bytes()).hexdigest()}
    server.shutdown()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def opened():
    worker.open_session(None)
    yield worker._session
    worker.close_session()


async def _ask(name: str, args: dict) -> dict:
    return json.loads(await worker.call(1, name, json.dumps(args)))


async def _answers() -> dict:
    """A search, an analysis, a plan and a size, all asked for at once."""
    replies = await asyncio.gather(
        _ask("catalog.search", {"text": "mettler", "section": "backends"}),
        _ask("protocols.analyze", {"source": DEMO, "filename": "serial_dilution.py"}),
        _ask("runs.plan", {"source": DEMO, "filename": "serial_dilution.py"}),
        _ask("catalog.dimensions", {"fqn": "pylabrobot.resources.Cor_96_wellplate_360ul_Fb"}),
    )
    for reply in replies:
        assert reply["ok"], reply.get("error")
    search, analysis, plan, dimensions = (reply["value"] for reply in replies)
    # What the catalog decides in a plan (its ids, times and the expiry-weighted scores of its
    # candidates differ from one plan to the next).
    plan = _without("score", {key: plan[key] for key in ("protocol", "function", "parameters", "deck_layout", "deck", "candidates")})
    return {"search": search, "analysis": analysis, "plan": plan, "dimensions": dimensions}


def _without(key: str, value: object) -> object:
    if isinstance(value, dict):
        return {k: _without(key, v) for k, v in value.items() if k != key}
    if isinstance(value, list):
        return [_without(key, v) for v in value]
    return value


# Each test runs in one event loop (the worker has one): the load is a task of that loop.
@pytest.mark.cpython  # a real HTTP server in a thread
def test_requests_made_while_the_catalog_loads_wait_and_answer_as_after_it(run_async, opened, prebuilt):
    loader = opened.catalog_loader

    async def scenario() -> tuple[dict, dict]:
        loader.start(prebuilt)
        assert loader.loading and loader.status()["loaded"] is False  # the requests come first
        early = await _answers()
        assert loader.status()["loaded"] is True
        return early, await _answers()

    early, later = run_async(scenario())
    assert [entry["name"] for entry in early["search"]] == ["MettlerToledoWXS205SDUBackend"]
    assert early["dimensions"]["x"] == pytest.approx(127.76)
    assert early["plan"]["deck_layout"]["deck"].endswith("STARLetDeck")
    assert later == early  # once loaded, the same questions get the same answers


@pytest.mark.cpython
def test_the_pages_load_joins_the_one_under_way(run_async, opened, prebuilt):
    loader = opened.catalog_loader

    async def scenario() -> None:
        loader.start(prebuilt)
        first = loader._loading
        status = (await _ask("catalog.load", {"prebuilt": prebuilt}))["value"]
        assert status["loaded"] is True and status["source"] == "prebuilt"
        assert loader._loading is first  # one load, not two
        # Once loaded, the page's load answers with it; refresh loads again.
        assert (await _ask("catalog.load", {}))["value"] == status
        assert (await _ask("catalog.load", {"refresh": True, "prebuilt": prebuilt}))["value"]["loaded"] is True
        assert loader._loading is not first

    run_async(scenario())


def test_a_failed_background_load_is_reported_by_what_needs_the_catalog(run_async, opened):
    async def scenario() -> list[dict]:
        opened.catalog_loader.start(None)  # no server, nothing cached, no prebuilt catalog
        return [await _ask("catalog.search", {"text": "plate"}), await _ask("runs.plan", {"source": DEMO})]

    for reply in run_async(scenario()):
        assert reply["ok"] is False and reply["error"]["type"] == "CatalogNotLoaded"
        assert "no bridge server, no cached catalog and no prebuilt catalog" in reply["error"]["message"]


@pytest.mark.parametrize("name,args", [
    ("library.files", {}), ("runs.history", {}), ("runs.active", {}), ("data.saved_plans", {}),
    ("data.can_undo_import", {}), ("catalog.status", {}), ("repl.scope", {}), ("inventory.items", {}),
])
def test_what_the_usable_page_asks_first_answers_without_a_catalog(run_async, opened, name, args):
    assert not door.needs_catalog(name)
    reply = run_async(_ask(name, args))  # no catalog loaded, none loading
    assert reply["ok"], reply.get("error")


def test_everything_else_waits_for_the_catalog():
    for name in door.functions():
        if name.split(".")[0] in ("catalog", "protocols", "deck", "inventory", "schedule", "devices"):
            assert door.needs_catalog(name) == (name not in ("catalog.load", "catalog.status", "inventory.items")), name
    for name in ("runs.plan", "runs.start", "runs.devices", "runs.inventory", "data.import_database"):
        assert door.needs_catalog(name), name
    # Every name the list holds is a real area or function (a typo would silently not wait).
    names = set(door.functions())
    for entry in door.WITHOUT_CATALOG:
        assert entry in door.AREAS or entry in names, entry
