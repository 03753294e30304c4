"""How the server joins the rest: it imports domain packages, never the page layer; every route
module exports ROUTES and the app lists them; errors share one root and not-found is a type."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import bridge_server
from bridge_server import routes

pytestmark = pytest.mark.cpython

SERVER = Path(bridge_server.__file__).parent
#: The page layer: what the page's worker offers (the lead is moving it to browser_runtime/page/).
PAGE_LAYER = ("browser_runtime.page", "browser_runtime.worker", "browser_runtime.data_api")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_the_server_never_imports_the_page_layer():
    for path in SERVER.rglob("*.py"):
        for name in _imports(path):
            assert not name.startswith(PAGE_LAYER) and not name.endswith("page_api"), (path.name, name)


def test_every_route_module_exports_routes_that_the_app_lists():
    from bridge_server import Settings, create_app

    app = create_app(Settings(load_catalog=False, mdns=False))
    listed = {id(route) for route in app.routes}
    modules = [importlib.import_module(f"bridge_server.routes.{m.name}")
               for m in pkgutil.iter_modules(routes.__path__) if m.name != "common"]
    assert {m.__name__.rpartition(".")[2] for m in modules} >= {
        "definitions", "discovery", "leases", "devices", "repl", "schedule", "remote_serial", "service"}
    for module in modules:
        assert module.ROUTES, module.__name__
        assert all(id(route) in listed for route in module.ROUTES), module.__name__


def test_domain_errors_share_one_root_and_keep_their_bases():
    from bridge_server.errors import ApiError
    from bridge_server.routes.remote_serial import RemoteSerialError
    from browser_runtime.catalog.loader import CatalogNotLoaded
    from browser_runtime.deck.layout import DeckLayoutError
    from browser_runtime.errors import LabwrightError, NotFound
    from browser_runtime.inventory.store import InventoryError, InventoryNotFound
    from browser_runtime.machines import SimulationError
    from browser_runtime.runner.plans import PlanError
    from browser_runtime.scheduler import EstimateError, RequestError, ScheduleConflict, ScheduleError
    from browser_runtime.scheduler.book import ScheduleNotFound
    from browser_runtime.webbridge.transport import DeviceTimeoutError, WebBridgeError

    kept = {ScheduleError: ValueError, RequestError: ValueError, PlanError: ValueError,
            InventoryError: ValueError, DeckLayoutError: ValueError, CatalogNotLoaded: RuntimeError,
            EstimateError: RuntimeError, WebBridgeError: OSError, DeviceTimeoutError: TimeoutError,
            RemoteSerialError: ValueError, ScheduleConflict: ScheduleError}
    for error, base in kept.items():
        assert issubclass(error, LabwrightError) and issubclass(error, base), error
    assert issubclass(SimulationError, LabwrightError) and issubclass(ApiError, LabwrightError)
    for missing in (ScheduleNotFound, InventoryNotFound):
        assert issubclass(missing, NotFound) and issubclass(missing, LookupError)


def test_not_found_is_decided_by_type_not_by_wording():
    from bridge_server.routes.schedule import _problem
    from browser_runtime.scheduler import RequestError
    from browser_runtime.scheduler.book import ScheduleNotFound

    assert _problem(ScheduleNotFound("run 'x' was never scheduled")).status == 404
    assert _problem(RequestError("no time zone in requests[0].deadline")).status == 422
