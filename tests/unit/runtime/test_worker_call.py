"""The page's one API door: allow-listed functions, JSON in and out, errors as data."""

from __future__ import annotations

import json

from browser_runtime import worker


def _call(run_async, name: str, args: object) -> dict:
    return json.loads(run_async(worker.call(name, json.dumps(args))))


def test_unknown_area_or_function_is_an_error_naming_it(run_async):
    reply = _call(run_async, "nowhere.thing", {})
    assert reply["ok"] is False and "unknown API 'nowhere.thing'" in reply["error"]["message"]
    reply = _call(run_async, "catalog.CatalogStore", {})  # exists in the module, not offered
    assert reply["ok"] is False and "offers" in reply["error"]["message"]


def test_bad_arguments_are_reported_before_the_call(run_async):
    reply = _call(run_async, "catalog.dimensions", {"nope": 1})
    assert reply["ok"] is False
    assert reply["error"]["type"] == "PageApiError"
    assert "catalog.dimensions" in reply["error"]["message"]
    reply = _call(run_async, "catalog.status", [1, 2])
    assert reply["ok"] is False and "JSON object" in reply["error"]["message"]


def test_queries_before_load_say_so(run_async):
    reply = _call(run_async, "catalog.search", {"text": "plate"})
    assert reply["ok"] is False
    assert reply["error"]["type"] == "CatalogNotLoaded"
    assert _call(run_async, "catalog.status", {})["value"]["loaded"] is False
