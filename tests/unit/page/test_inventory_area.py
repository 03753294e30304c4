"""The page's inventory area: items with lots, expiry, contents and reservations; add, edit, retire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from browser_runtime.inventory import TimeWindow
from browser_runtime.inventory.store import InventoryError
from browser_runtime.page import door

PLATE = "pylabrobot.resources.corning.plates.cor_96_wellplate_360uL_Fb"


def call(session, run_async, api, **args):
    return run_async(door.call(session, api, args))


def test_an_item_is_added_edited_and_retired_through_the_door(page_session, run_async):
    added = call(page_session, run_async, "inventory.add_labware", name="ELISA plate", catalog_fqn=PLATE,
                 lot="L7", expires_at="2027-01-31", remaining_volume_ul=100)
    assert added["lot"] == "L7" and added["expires_at"].startswith("2027-01-31T23:59:59")
    assert added["status"] == "available" and added["remaining_volume_ul"] == 100
    edited = call(page_session, run_async, "inventory.update", asset_id=added["id"],
                  changes={"lot": "L8", "location": "fridge 2", "remaining_volume_ul": 50})
    assert (edited["lot"], edited["location"], edited["remaining_volume_ul"]) == ("L8", "fridge 2", 50)
    listed = {item["id"]: item for item in call(page_session, run_async, "inventory.items")}
    assert listed[added["id"]]["lot"] == "L8" and listed[added["id"]]["reservations"] == []
    call(page_session, run_async, "inventory.retire", asset_id=added["id"])
    assert added["id"] not in {item["id"] for item in call(page_session, run_async, "inventory.items")}
    retired = {item["id"]: item for item in call(page_session, run_async, "inventory.items", include_retired=True)}
    assert retired[added["id"]]["status"] == "retired"


def test_bad_edits_say_what_and_change_nothing(page_session, run_async):
    item = call(page_session, run_async, "inventory.add_labware", name="plate", catalog_fqn=PLATE, lot="L1")
    for changes, message in [({"lot": "L2", "remaining_tips": -1}, "remaining_tips"),
                             ({"kind": "machine"}, "cannot change kind"),
                             ({"expires_at": "soon"}, "not a date"),
                             ({"name": " "}, "name")]:
        with pytest.raises(InventoryError, match=message):
            call(page_session, run_async, "inventory.update", asset_id=item["id"], changes=changes)
    assert page_session.inventory.asset(item["id"]).lot == "L1"  # the good field of a bad edit was not written
    with pytest.raises(InventoryError, match="not labware in the catalog"):
        call(page_session, run_async, "inventory.add_labware", name="x", catalog_fqn="pylabrobot.nothing.Here")
    with pytest.raises(InventoryError, match="no asset"):
        call(page_session, run_async, "inventory.update", asset_id=99999, changes={"lot": "x"})


def test_an_item_a_run_holds_shows_the_run_and_cannot_be_retired(page_session, run_async):
    item = call(page_session, run_async, "inventory.add_labware", name="plate", catalog_fqn=PLATE)
    now = datetime.now(UTC)
    page_session.inventory.reserve("run-7", [item["id"]], TimeWindow(now, now + timedelta(hours=1)))
    listed = {i["id"]: i for i in call(page_session, run_async, "inventory.items")}
    assert [r["run_id"] for r in listed[item["id"]]["reservations"]] == ["run-7"]
    with pytest.raises(InventoryError, match="reserved by run run-7"):
        call(page_session, run_async, "inventory.retire", asset_id=item["id"])
    assert page_session.inventory.asset(item["id"]).status == "available"
