"""The page's schedule area: requests from protocol source, placement, execution in simulation."""

from __future__ import annotations

import pytest

from browser_runtime.page import schedule as page_api
from browser_runtime.scheduler import RequestError

from .conftest import DEMOS


class _Area:
    """The area's functions with the session bound, as the page's door calls them."""

    def __init__(self, session):
        self.session = session

    def __getattr__(self, name):
        function = getattr(page_api, name)
        return lambda *args, **kwargs: function(self.session, *args, **kwargs)


@pytest.fixture
def open_book(page_session):
    def open_book() -> _Area:
        machines = {a.name: a.id for a in page_session.inventory.assets(kind="machine")}
        page_session.book.add_workcell("Alpha", [machines["STARlet (simulated)"], machines["Plate reader (simulated)"]])
        page_session.book.add_workcell("Bravo", [machines["STARlet 2 (simulated)"]])
        return _Area(page_session)

    return open_book


def test_a_request_from_source_gets_its_needs_and_estimate(run_async, open_book):
    source = (DEMOS / "elisa_read.py").read_text()

    async def scenario():
        page_api = open_book()
        placed = await page_api.submit([{"id": "elisa", "source": source, "filename": "elisa_read.py", "priority": 2},
                                   {"id": "stamp", "source": (DEMOS / "stamp_96.py").read_text()}])
        return placed, page_api.schedule()["runs"], await page_api.estimate(source, filename="elisa_read.py")

    placed, runs, estimate = run_async(scenario())
    assert {p["request"] for p in placed["placed"]} == {"elisa", "stamp"}
    elisa = next(r for r in runs if r["id"] == "elisa")
    assert elisa["workcell"] == "Alpha"  # the only workcell with a plate reader
    assert set(elisa["machines"]) == {"lh", "reader"} and set(elisa["consumables"]) == {"assay_plate"}
    assert elisa["request"]["duration_s"] == pytest.approx(estimate["duration_s"])
    assert [c["command"] for c in estimate["commands"]][:2] == ["setup", "setup"]


def test_execute_runs_a_scheduled_run_and_releases_its_reservations(run_async, open_book):
    async def scenario():
        page_api = open_book()
        await page_api.submit([{"id": "stamp", "source": (DEMOS / "stamp_96.py").read_text()}])
        outcome = await page_api.execute("stamp")
        released = page_api.reservations(run_id="stamp")
        with pytest.raises(Exception, match="completed; only a scheduled run can start"):
            await page_api.execute("stamp")
        return outcome, released

    outcome, released = run_async(scenario())
    assert outcome["result"]["status"] == "completed", outcome["result"]["error"]
    assert outcome["run"]["status"] == "completed"
    assert released and {r["status"] for r in released} == {"released"}
    # The run used exactly what the schedule held for it: machines and labware by asset.
    assert outcome["run"]["machines"] and outcome["run"]["consumables"]
    parameters = outcome["plan"]["parameters"]
    for parameter, asset_id in outcome["run"]["consumables"].items():
        assert parameters[parameter]["asset_id"] == asset_id
        assert parameters[parameter]["contents"] is not None  # contents from that inventory item
    for parameter in outcome["run"]["machines"]:
        assert parameters[parameter]["reasons"] == ["held for this run by the schedule"]


def test_bad_requests_name_the_request_and_write_nothing(run_async, open_book):
    async def scenario():
        page_api = open_book()
        with pytest.raises(RequestError, match=r"requests\[1\]\.duration_s: is required"):
            await page_api.submit([{"id": "ok", "protocol": "p", "duration_s": 5}, {"id": "x", "protocol": "p"}])
        with pytest.raises(RequestError, match="non-empty list"):
            await page_api.submit([])
        return page_api.schedule()["runs"]

    assert run_async(scenario()) == []


def test_workcells_and_machines_listing(run_async, open_book):
    async def scenario():
        page_api = open_book()
        return page_api.machines(), page_api.workcells(), page_api.remove_workcell("Bravo"), page_api.workcells()

    machines, before, removed, after = run_async(scenario())
    assert {m["workcell"] for m in machines} == {"Alpha", "Bravo", None}
    assert [w["name"] for w in before] == ["Alpha", "Bravo"]
    assert removed == {"removed": "Bravo"} and [w["name"] for w in after] == ["Alpha"]
