"""A run's outcome, return value included, is the same whether it is awaited live or after it ended."""

from __future__ import annotations

import asyncio
import sqlite3

from browser_runtime.page import runs
from browser_runtime.runner.history import RunHistory

WEIGH_TWICE = '''
from pylabrobot.scales import Scale
from browser_runtime.protocols import protocol_function

@protocol_function
async def weigh(scale: Scale, times: int = 2) -> dict:
    await scale.zero()
    return {"weights": [await scale.get_weight() for _ in range(times)], "times": times}
'''


def test_waiting_on_a_run_that_already_ended_returns_its_value(page_session, run_async):
    async def scenario():
        started = runs.start(page_session, source=WEIGH_TWICE, parameters={"times": 3})
        live = await runs.wait(page_session, started["runId"])
        await asyncio.sleep(0)
        assert runs.active(page_session) == []  # ended: the next wait reads the stored run
        return live, await runs.wait(page_session, started["runId"])

    live, stored = run_async(scenario())
    assert live["status"] == "completed", live["error"]
    assert live["value"] == {"weights": [0.0, 0.0, 0.0], "times": 3}
    for key in ("status", "value", "error", "events", "plan", "run_id"):
        assert stored[key] == live[key], key
    assert runs.get(page_session, live["run_id"])["value"] == live["value"]


def test_a_history_written_before_values_were_kept_gains_the_column(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, protocol TEXT NOT NULL, function TEXT NOT NULL,"
            " filename TEXT NOT NULL, source TEXT NOT NULL, parameters TEXT NOT NULL, plan TEXT NOT NULL,"
            " simulate INTEGER NOT NULL, status TEXT NOT NULL, started_at TEXT NOT NULL,"
            " duration_ms REAL, error TEXT, events TEXT)"
        )
        connection.execute(
            "INSERT INTO runs VALUES ('old1', 'p', 'f', 'p.py', '', '{}', '{}', 1, 'completed',"
            " '2026-01-01T00:00:00.000+00:00', 12.5, 'null', '[]')"
        )
    connection.close()
    history = RunHistory(path)
    assert history.get("old1")["value"] is None and history.get("old1")["duration_ms"] == 12.5
    history.started("new1", protocol="p", function="f", filename="p.py", source="", parameters={},
                    plan={}, simulate=True)
    history.finished("new1", {"status": "completed", "duration_ms": 1.0, "error": None, "events": [],
                              "value": [1, "two"]})
    assert history.get("new1")["value"] == [1, "two"]


def test_plan_and_events_are_stored_compressed_and_records_written_before_still_read(tmp_path):
    import json

    from browser_runtime.runner import replay_states

    history = RunHistory(tmp_path / "runs.sqlite")
    whole = {"rotation": {"x": 0, "y": 0, "z": 0, "type": "Rotation"}, "volume": 0.0, "pending_volume": 0.0,
             "thing": "well_0_0_volume_tracker", "max_volume": 360}
    # A record as runs were stored before: JSON text, a whole state in every state event.
    before = [{"seq": i, "type": "state", "t_ms": float(i), "resource": "plate_well_A1",
               "state": {**whole, "volume": 10.0 * i, "pending_volume": 10.0 * i}} for i in range(200)]
    history.database.connection.execute(
        "INSERT INTO runs (run_id, protocol, function, filename, source, parameters, plan, simulate, status,"
        " started_at, duration_ms, error, events, value) VALUES ('old', 'p', 'f', 'p.py', '', '{}', ?, 1,"
        " 'completed', '2026-01-01T00:00:00.000+00:00', 3.0, 'null', ?, 'null')",
        (json.dumps({"deck": {"name": "deck"}}), json.dumps(before)))
    old = history.get("old")
    assert old["events"] == before and old["plan"] == {"deck": {"name": "deck"}}
    assert replay_states(old["events"])["plate_well_A1"]["volume"] == 1990.0
    # The same run stored now: the state as what changed, plan and events compressed.
    now = [{**before[0], "state": whole}] + [
        {**event, "state": {"volume": event["state"]["volume"], "pending_volume": event["state"]["volume"]}}
        for event in before[1:]]
    history.started("new", protocol="p", function="f", filename="p.py", source="", parameters={},
                    plan={"deck": {"name": "deck"}}, simulate=True)
    history.finished("new", {"status": "completed", "duration_ms": 3.0, "error": None, "events": now})
    record = history.get("new")
    assert record["events"] == now and record["plan"] == {"deck": {"name": "deck"}}
    assert replay_states(record["events"]) == replay_states(old["events"])
    sizes = dict(history.database.connection.execute(
        "SELECT run_id, length(events) FROM runs WHERE run_id IN ('old', 'new')").fetchall())
    assert sizes["new"] * 10 < sizes["old"]
    kinds = dict(history.database.connection.execute(
        "SELECT run_id, typeof(events) FROM runs WHERE run_id IN ('old', 'new')").fetchall())
    assert kinds == {"old": "text", "new": "blob"}
