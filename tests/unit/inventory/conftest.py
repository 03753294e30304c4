"""Inventory tests: a fresh SQLite store per test and one catalog per session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from browser_runtime.catalog import Catalog
from browser_runtime.inventory import InventoryStore, TimeWindow
from tests.fixtures.catalog_fixture import test_catalog_document

NOW = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
PLATE = "pylabrobot.resources.corning.plates.cor_96_wellplate_360uL_Fb"  # 360 uL wells
DEEP_WELL = "pylabrobot.resources.corning.plates.cor_96_wellplate_2mL_Vb"
TIPS_1000 = "pylabrobot.resources.hamilton.tip_racks.hamilton_96_tiprack_1000uL_filter"
TIPS_300 = "pylabrobot.resources.hamilton.tip_racks.hamilton_96_tiprack_300uL_filter"


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog(test_catalog_document())


@pytest.fixture
def store():
    store = InventoryStore(":memory:")
    yield store
    store.close()


@pytest.fixture
def window() -> TimeWindow:
    return TimeWindow(NOW + timedelta(hours=1), NOW + timedelta(hours=3))


def days(n: float) -> datetime:
    return NOW + timedelta(days=n)
