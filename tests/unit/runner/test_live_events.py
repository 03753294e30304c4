"""A run's events reach the page while it runs, in batches; a busy run can be cancelled between commands.

The protocol (tests/fixtures/busy_protocol.py) runs on PLR's chatterbox, whose commands return at
once: without the runner's pauses it would never let the event loop run until it ended.
"""

from __future__ import annotations

import asyncio

import pytest

from browser_runtime.page import runs
from browser_runtime.runner import replay_states
from tests.fixtures.busy_protocol import BUSY_PROTOCOL, busy_commands


class Sink:
    """The page's end of ``emit``: every batch, and whether the run was still going when it came."""

    def __init__(self, session) -> None:
        self.session = session
        self.batches: list[tuple[bool, dict]] = []

    def __call__(self, channel: str, payload: dict) -> None:
        assert channel == "run" and set(payload) == {"runId", "events"}, payload
        going = any(run["runId"] == payload["runId"] for run in self.session.runs.active())
        self.batches.append((going, payload))

    def events(self, going: bool | None = None) -> list[dict]:
        return [event for still, batch in self.batches for event in batch["events"] if going in (None, still)]


@pytest.fixture
def busy(page_session):
    """The page's session with a sink, pausing before every command and batching at every turn."""
    sink = Sink(page_session)
    page_session.runs.emit = sink
    page_session.runs.pause_every_s = 0.0
    page_session.runs.batch_s = 0.0
    finished: dict = {}
    page_session.runs.on_finished.append(finished.update)
    return page_session, sink, finished


async def _drive(session, rounds: int, until=lambda: False, then=lambda run_id: None) -> dict:
    """Start a run of the busy protocol, turn the event loop one step at a time while it goes on
    (``then(run_id)`` once ``until()``) and return its result."""
    run_id = runs.start(session, source=BUSY_PROTOCOL, function="transfers", parameters={"rounds": rounds})["runId"]
    done = False
    while any(run["runId"] == run_id for run in session.runs.active()):
        await asyncio.sleep(0)
        if not done and until():
            then(run_id)
            done = True
    return await session.runs.wait(run_id)


def test_events_reach_the_page_while_the_run_goes_on(busy, run_async):
    session, sink, _ = busy
    result = run_async(_drive(session, 2))
    assert result["status"] == "completed", result["error"]
    first_going, first = sink.batches[0]
    assert first_going and first["events"][0]["type"] == "status" and first["events"][0]["status"] == "running"
    live = sink.events(going=True)
    assert sum(1 for event in live if event["type"] == "command") > busy_commands(2) // 2, \
        "most commands reached the page before the run ended"
    assert len(sink.batches) > 10
    # The end comes at once, in the last batch; every command came, in order, each once.
    assert sink.batches[-1][1]["events"][-1] == {**result["events"][-1]}
    assert result["events"][-1]["status"] == "completed"
    sent = sink.events()
    assert [e["seq"] for e in sent] == sorted({e["seq"] for e in sent})
    recorded = [e for e in result["events"] if e["type"] != "state"]
    assert [e for e in sent if e["type"] != "state"] == recorded
    # Within a batch a resource's state is told once, at its newest: the page ends where the run did.
    for _, batch in sink.batches:
        resources = [e["resource"] for e in batch["events"] if e["type"] == "state"]
        assert len(resources) == len(set(resources))
    assert replay_states(sent) == replay_states(result["events"])


def test_a_busy_run_is_cancelled_between_commands(busy, run_async):
    session, sink, finished = busy
    seen = lambda: sum(1 for e in sink.events() if e["type"] == "command")  # noqa: E731
    result = run_async(_drive(session, 20, until=lambda: seen() >= 30,
                              then=lambda run_id: runs.cancel(session, run_id)))
    run_id = result["run_id"]
    assert result["status"] == "cancelled" and result["error"] is None
    commands = [e["command"] for e in result["events"] if e["type"] == "command"]
    assert 30 <= len(commands) < busy_commands(20) - 1
    assert commands[-1] == "stop"  # the machines were stopped, as at every ending
    assert {r.status for r in session.inventory.reservations(run_id=run_id)} == {"released"}
    # Cancelled between two commands: PLR rolled back what it had queued for the one never sent,
    # so no volume is left pending, and the record tells the same state as the deck.
    deck = finished["deck"]
    for well in [*finished["plate"].children, finished["diluent"]]:
        assert well.tracker.get_used_volume() == pytest.approx(well.tracker.volume), well.name
    _assert_record_replays_to(deck, session.history.get(run_id)["events"])
    assert runs.cancel(session, run_id) == {"runId": run_id, "cancelled": False, "status": "cancelled"}


def test_a_stored_record_replays_to_the_deck_the_run_left(busy, run_async):
    session, _, finished = busy
    result = run_async(_drive(session, 3))
    assert result["status"] == "completed", result["error"]
    record = session.history.get(result["run_id"])
    assert record["events"] == result["events"]
    _assert_record_replays_to(finished["deck"], record["events"])
    # Compact: a resource's state is told whole once, then only what changed (a well: its volumes).
    wells = [e for e in record["events"] if e["type"] == "state" and e["resource"] == "plate_well_A1"]
    assert set(wells[0]["state"]) >= {"volume", "pending_volume", "max_volume", "thing", "rotation"}
    assert len(wells) > 2 and all(set(e["state"]) <= {"volume", "pending_volume"} for e in wells[1:])


def _assert_record_replays_to(deck, events) -> None:
    from browser_runtime.runner.events import jsonable

    states = replay_states(events)
    assert states
    for name, state in states.items():
        assert state == jsonable(deck.get_resource(name).serialize_state()), name


def test_a_result_without_its_events_and_the_events_in_slices(busy, run_async):
    """What the workbench asks for: the result (``event_count``, no megabytes of events), then the
    events in slices, the same as the whole result's, live, just ended or reopened from history."""
    session, _, _ = busy
    started: dict = {}

    async def while_running() -> tuple[dict, dict, dict]:
        run_id = started["id"] = runs.start(session, source=BUSY_PROTOCOL, function="transfers",
                                            parameters={"rounds": 2})["runId"]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        early = runs.events(session, run_id, 0, 5)
        summary = await runs.wait(session, run_id, events=False)
        return early, summary, await runs.wait(session, run_id)

    early, summary, whole = run_async(while_running())
    run_id = started["id"]
    assert early["events"] == whole["events"][:len(early["events"])] and early["events"]
    assert "events" not in summary and summary["event_count"] == len(whole["events"])
    assert summary["status"] == "completed" and summary["value"] == 2
    sliced = [event for start in range(0, summary["event_count"], 40)
              for event in runs.events(session, run_id, start, start + 40)["events"]]
    assert sliced == whole["events"]
    # From history (a reload later): the same slices, and a record without its events.
    session.runs._ended.clear()
    assert runs.events(session, run_id, 10, 30) == {"events": whole["events"][10:30], "total": len(whole["events"])}
    record = runs.get(session, run_id, events=False)
    assert "events" not in record and record["event_count"] == len(whole["events"])
    with pytest.raises(Exception, match="no run"):
        runs.events(session, "nope", 0, 10)
