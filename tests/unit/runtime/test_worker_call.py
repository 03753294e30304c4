"""The page's one API door: allow-listed functions, JSON in and out, errors as data."""

from __future__ import annotations

import json

import pytest

from browser_runtime import worker
from browser_runtime.page.session import PageSession
from browser_runtime.storage import Database


@pytest.fixture
def opened():
    """The worker's session as the page opens it (no catalog loaded yet)."""
    worker.open_session(None)
    yield worker._session
    worker.close_session()


def _call(run_async, name: str, args: object) -> dict:
    return json.loads(run_async(worker.call(1, name, json.dumps(args))))


def test_unknown_area_or_function_is_an_error_naming_it(run_async, opened):
    reply = _call(run_async, "nowhere.thing", {})
    assert reply["ok"] is False and "unknown API 'nowhere.thing'" in reply["error"]["message"]
    reply = _call(run_async, "catalog.CatalogLoader", {})  # exists in the module, not offered
    assert reply["ok"] is False and "offers" in reply["error"]["message"]


def test_bad_arguments_are_reported_before_the_call(run_async, opened):
    reply = _call(run_async, "catalog.dimensions", {"nope": 1})
    assert reply["ok"] is False
    assert reply["error"]["type"] == "PageApiError"
    assert "catalog.dimensions" in reply["error"]["message"]
    reply = _call(run_async, "catalog.status", [1, 2])
    assert reply["ok"] is False and "JSON object" in reply["error"]["message"]
    # the session is the door's to give: a caller cannot pass one
    reply = _call(run_async, "catalog.status", {"session": 1})
    assert reply["ok"] is False and reply["error"]["type"] == "PageApiError"


def test_queries_before_load_say_so(run_async, opened):
    reply = _call(run_async, "catalog.search", {"text": "plate"})
    assert reply["ok"] is False
    assert reply["error"]["type"] == "CatalogNotLoaded"
    assert _call(run_async, "catalog.status", {})["value"]["loaded"] is False


def test_without_the_data_every_call_says_where_it_is(run_async):
    worker.close_session()
    reply = _call(run_async, "runs.history", {})
    assert reply["ok"] is False and reply["error"]["type"] == "DataNotOpen"
    assert "another tab" in reply["error"]["message"]


def test_plan_errors_carry_their_problems_to_the_page(run_async, opened, plr_catalog):
    opened.catalog_loader.use(plr_catalog.document)
    reply = _call(run_async, "runs.plan", {"source": "x = 1\n"})
    assert reply["ok"] is False and reply["error"]["type"] == "PlanError"
    assert "no @protocol_function" in reply["error"]["message"]


def test_every_session_is_its_own(plr_catalog):
    # Two sessions over two databases share nothing (no module state in the page layer).
    first, second = PageSession.open(Database.in_memory()), PageSession.open(Database.in_memory())
    first.saved_plans.save("mine", "x = 1", {})
    assert [p["name"] for p in first.saved_plans.list()] == ["mine"] and second.saved_plans.list() == []
