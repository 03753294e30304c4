"""Deck layout tests: one catalog (with geometry) per session and the fixture layouts."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from browser_runtime.catalog import Catalog
from tests.fixtures.catalog_fixture import test_catalog_document

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(test_catalog_document())


@pytest.fixture(scope="session")
def decks_dir() -> Path:
    return FIXTURES / "decks"


@pytest.fixture(autouse=True)
def _quiet_plr_deprecations():
    # Layouts name PLR's deprecated aliases on purpose (any export path must work).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        yield
