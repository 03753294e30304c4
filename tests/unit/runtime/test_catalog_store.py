"""The page's catalog cache in SQLite: round trip, schema guard, custom definitions."""

from __future__ import annotations

import sqlite3

import pytest

from browser_runtime.catalog.schema import SCHEMA_VERSION
from browser_runtime.catalog.store import CatalogStore


def _document(marker: str) -> dict:
    return {
        "schema_version": SCHEMA_VERSION,
        "plr_version": "0.2.2",
        "machines": [],
        "backends": [],
        "resources": [{"fqn": f"lab.{marker}", "name": marker, "category": "plate"}],
        "decks": [],
        "errors": [],
    }


def test_saved_catalog_comes_back_with_source_and_etag(tmp_path):
    store = CatalogStore(tmp_path / "page.sqlite")
    assert store.load() is None
    store.save(_document("first"), source="server", etag='"abc"')
    cached = CatalogStore(tmp_path / "page.sqlite").load()
    assert cached is not None
    assert (cached.source, cached.etag) == ("server", '"abc"')
    assert cached.document["resources"][0]["name"] == "first"


def test_a_document_of_another_schema_is_refused_and_the_old_copy_kept(tmp_path):
    store = CatalogStore(tmp_path / "page.sqlite")
    store.save(_document("kept"), source="prebuilt", etag=None)
    bad = _document("bad")
    bad["schema_version"] = "0.1"
    with pytest.raises(ValueError, match="schema_version"):
        store.save(bad, source="server", etag='"x"')
    assert store.load().document["resources"][0]["name"] == "kept"


def test_a_cached_copy_of_an_old_schema_is_not_used(tmp_path):
    path = tmp_path / "page.sqlite"
    CatalogStore(path).save(_document("old"), source="prebuilt", etag=None)
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE catalog_cache SET schema_version = '0.9'")
    assert CatalogStore(path).load() is None


def test_custom_definitions_persist(tmp_path):
    store = CatalogStore(tmp_path / "page.sqlite")
    entry = {"fqn": "custom.my_plate", "name": "my_plate", "category": "plate"}
    store.add_custom_definition(entry, {"name": "my_plate", "type": "Plate"})
    again = CatalogStore(tmp_path / "page.sqlite")
    assert again.custom_definitions() == [entry]
    assert again.custom_serialized("custom.my_plate") == {"name": "my_plate", "type": "Plate"}
    assert again.custom_serialized("custom.other") is None
