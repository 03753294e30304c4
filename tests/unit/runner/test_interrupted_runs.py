"""A run a reload or crash cut short is marked interrupted and its reservations are released at start."""

from __future__ import annotations

from pathlib import Path

from browser_runtime.page import runs
from browser_runtime.page.session import PageSession
from browser_runtime.storage import Database

DEMOS = Path(__file__).resolve().parents[3] / "web" / "protocols"


def test_the_next_start_releases_what_an_interrupted_run_held(plr_catalog):
    source = (DEMOS / "incubation.py").read_text()
    first = PageSession.open(Database.in_memory())
    first.catalog_loader.use(plr_catalog.document)
    started = runs.start(first, source=source, filename="incubation.py")  # the page closes before it runs
    run_id = started["runId"]
    held = first.inventory.reservations(run_id=run_id)
    assert held and all(r.status == "held" for r in held)
    image = first.database.image()  # what the page had saved when it went away
    first.runs._active[run_id].task.cancel()  # the page is gone: its run never gets to run

    again = PageSession.open(Database.in_memory(image))
    again.catalog_loader.use(plr_catalog.document)
    assert again.recovered == [run_id]
    record = again.history.get(run_id)
    assert record["status"] == "interrupted" and "closed or reloaded" in record["error"]["message"]
    assert {r.status for r in again.inventory.reservations(run_id=run_id)} == {"released"}
    # The machines are free again: the same protocol plans (it used to fail with "no registered
    # heater_shaker", the heater-shaker being held by the lost run).
    plan = runs.plan(again, source, filename="incubation.py")
    assert plan["parameters"]["hs"]["asset"]
