"""Protocol analysis tests: one catalog per session, the fixture protocol files."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_runtime.catalog import Catalog
from tests.fixtures.catalog_fixture import test_catalog_document

PROTOCOLS = Path(__file__).resolve().parents[2] / "fixtures" / "protocols"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(test_catalog_document())


@pytest.fixture(scope="session")
def protocols_dir() -> Path:
    return PROTOCOLS
