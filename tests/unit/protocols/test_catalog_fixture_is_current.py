"""The catalog JSON the in-Pyodide runs classify with must match a fresh build of installed PLR."""

from __future__ import annotations

import pytest

from tests.fixtures.catalog_fixture import committed_document, fresh_document, slim


@pytest.mark.cpython
def test_committed_catalog_matches_a_fresh_build():
    fresh, committed = slim(fresh_document()), committed_document()
    assert committed["source_hash"] == fresh["source_hash"], (
        "tests/fixtures/catalog/plr-catalog.json is stale: run python -m tests.fixtures.catalog_fixture")
    for section in ("machines", "resources", "decks"):
        assert committed[section] == fresh[section], section
