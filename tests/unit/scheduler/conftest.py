"""Scheduler tests: real SQLite files, the demo inventory, small workcells built from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from browser_runtime.inventory import InventoryStore
from browser_runtime.inventory.demo import seed_demo_inventory
from browser_runtime.scheduler import (
    ConsumableNeed,
    Labware,
    Machine,
    MachineNeed,
    RunRequest,
    ScheduleBook,
    Workcell,
)

NOW = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
DEMOS = Path(__file__).resolve().parents[3] / "web" / "protocols"
LH = frozenset({"head96", "gripper", "pipetting", "tip_handling"})


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


class Clock:
    """The book's notion of now, moved by the test (never the wall clock)."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def inventory(tmp_path: Path):
    store = InventoryStore(tmp_path / "inventory.sqlite")
    seed_demo_inventory(store)
    yield store
    store.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def book(inventory, plr_catalog, clock) -> ScheduleBook:
    """Two workcells from the demo machines: each with a liquid handler; reader and
    heater-shaker in the first only."""
    machines = {asset.name: asset.id for asset in inventory.assets(kind="machine")}
    book = ScheduleBook(inventory, catalog=plr_catalog, heartbeat_ttl=60, clock=clock)
    book.add_workcell("Alpha", [machines["STARlet (simulated)"], machines["Plate reader (simulated)"],
                                machines["Heater-shaker (simulated)"]])
    book.add_workcell("Bravo", [machines["STARlet 2 (simulated)"]])
    return book


def lh_request(run_id: str, minutes: float = 10, **extra) -> RunRequest:
    return RunRequest(run_id, "Serial dilution", minutes * 60,
                      machines=(MachineNeed("lh", "liquid_handler", frozenset({"pipetting"})),),
                      consumables=(ConsumableNeed("plate", category="plate"),), **extra)


def small_workcells() -> list[Workcell]:
    return [
        Workcell("A", (Machine(1, "LH A", "liquid_handler", LH), Machine(2, "Reader A", "plate_reader",
                                                                          frozenset({"absorbance"})))),
        Workcell("B", (Machine(3, "LH B", "liquid_handler", frozenset({"pipetting", "tip_handling"})),)),
    ]


def plates(count: int = 3) -> list[Labware]:
    return [Labware(100 + i, f"plate {i + 1}", None, "plate") for i in range(count)]
