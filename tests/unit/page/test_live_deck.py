"""The deck in the console's scope is followed: what a REPL input changes on it (volumes, tips, a
plate moved off and back) reaches the page on channel ``deck`` in PLR's visualizer events, coalesced;
a deck built in the console is sent whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from browser_runtime.page import repl, runs
from browser_runtime.page.session import PageSession
from browser_runtime.storage import Database


@pytest.fixture
def session_and_events(plr_catalog):
    events: list[dict] = []

    def emit(channel, payload):  # as the worker posts it: JSON the page's JSON.parse reads (no inf)
        if channel == "deck":
            events.append(json.loads(json.dumps(payload, allow_nan=False)))
    session = PageSession.open(Database.in_memory(), emit=emit)
    session.catalog_loader.use(plr_catalog.document)
    yield session, events
    session.database.close()


def run_demo(session, run_async, name):
    source = (Path(__file__).resolve().parents[3] / "web" / "protocols" / name).read_text()

    async def scenario():
        started = runs.start(session, source=source, filename=name)
        return await runs.wait(session, started["runId"])
    assert run_async(scenario())["status"] == "completed"


def test_console_commands_on_a_runs_deck_are_sent_as_plrs_events(session_and_events, run_async):
    session, events = session_and_events
    run_demo(session, run_async, "serial_dilution.py")
    assert events == []  # the run's deck is on the page already: followed, not sent again
    result = run_async(repl.execute(session, "\n".join([
        "for well in plate.children[:12]:",
        "    well.tracker.set_volume(20.0)",
    ])))
    assert result["error"] is None
    [batch] = events  # twelve changes, one message at the end of the input
    assert batch["event"] == "set_state" and len(batch["data"]) == 12
    assert batch["data"]["plate_well_A1"]["volume"] == 20.0

    events.clear()
    result = run_async(repl.execute(session, "carrier = plate.parent.parent\nplate.unassign()\ncarrier[1] = plate"))
    assert result["error"] is None, result["error"]
    assert [e["event"] for e in events] == ["resource_unassigned", "resource_assigned"]
    assert events[0]["data"] == {"resource_name": "plate"}
    moved = events[1]["data"]
    assert moved["resource"]["name"] == "plate" and moved["parent_name"].startswith("plate_carrier")
    assert moved["state"]["plate_well_A1"]["volume"] == 20.0  # it keeps its liquid


def test_a_deck_built_in_the_console_is_sent_whole_then_followed(session_and_events, run_async):
    session, events = session_and_events
    result = run_async(repl.execute(session, "\n".join([
        "from pylabrobot.resources import STARLetDeck, TIP_CAR_480_A00, hamilton_96_tiprack_1000uL",
        "deck = STARLetDeck()  # its trash holds an infinite volume",
        "carrier = TIP_CAR_480_A00(name='tip_carrier')",
        "deck.assign_child_resource(carrier, rails=3)",
    ])))
    assert result["error"] is None, result["error"]
    [shown] = events
    assert shown["event"] == "show" and shown["data"]["resource"]["type"] == "HamiltonSTARDeck"
    assert any(c["name"] == "tip_carrier" for c in shown["data"]["resource"]["children"])
    events.clear()
    run_async(repl.execute(session, "carrier[0] = hamilton_96_tiprack_1000uL(name='tips')"))
    assert [e["event"] for e in events] == ["resource_assigned"]
    assert events[0]["data"]["parent_name"].startswith("tip_carrier")  # its site
    assert events[0]["data"]["state"]["tips_tipspot_A1"]["tip"] is not None
