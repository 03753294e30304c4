"""Shared test set-up: the same test functions run on CPython and inside Pyodide."""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

IN_PYODIDE = sys.platform == "emscripten"
T = TypeVar("T")

# Inside Pyodide only browser_runtime's tests make sense: no processes, sockets or browser.
collect_ignore_glob = (
    ["unit/server/*", "unit/setup/*", "e2e/*", "pyodide/*", "bench/*"] if IN_PYODIDE else []
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if IN_PYODIDE and item.get_closest_marker("cpython"):
            item.add_marker(pytest.mark.skip(reason="needs CPython (processes or native code)"))
        if not IN_PYODIDE and item.get_closest_marker("pyodide"):
            item.add_marker(pytest.mark.skip(reason="only meaningful inside Pyodide"))


def _run(coro: Awaitable[T]) -> T:
    if IN_PYODIDE:
        # Pyodide's event loop is the browser's (or Node's); run_until_complete blocks on
        # it through JS promise integration (stack switching).
        return asyncio.get_event_loop().run_until_complete(coro)
    # A thread of its own: Playwright's sync API keeps an event loop running on the main
    # thread for the rest of the session once the e2e tests have started a browser.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]


@pytest.fixture
def run_async() -> Callable[[Awaitable[Any]], Any]:
    """Run a coroutine to completion the way the current interpreter can."""
    return _run


@pytest.fixture(scope="session")
def plr_catalog():
    """The catalog set-up built for the installed PLR (build/catalog/catalog.json)."""
    import json
    from pathlib import Path

    from browser_runtime.catalog import Catalog

    path = Path(__file__).resolve().parent.parent / "build" / "catalog" / "catalog.json"
    if not path.exists():
        pytest.fail("build/catalog/catalog.json is missing: run `python3 scripts/setup.py`")
    return Catalog(json.loads(path.read_text()))


@pytest.fixture
def page_session(plr_catalog):
    """A page session as the worker builds one (database in memory), with the prebuilt catalog."""
    from browser_runtime.page.session import PageSession
    from browser_runtime.storage import Database

    session = PageSession.open(Database.in_memory())
    session.catalog_loader.use(plr_catalog.document)
    yield session
    session.database.close()


@pytest.fixture(scope="session")
def postgres_cluster():
    """The suite's PostgreSQL URL (tests/postgres.py), or ``"unavailable: <why>"`` (never under CI)."""
    import os

    from tests.postgres import NoPostgres, cluster

    try:
        with cluster() as url:
            yield url
    except NoPostgres as error:
        if os.environ.get("CI"):
            raise
        yield f"unavailable: {error}"
