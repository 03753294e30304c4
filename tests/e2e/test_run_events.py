"""A run's events reach the page while it runs, in batches, and a busy run is cancelled from the page.

The protocol (tests/fixtures/busy_protocol.py) runs on PLR's chatterbox, whose commands return at
once: the worker's Python never awaits anything real, yet posts its events and serves the cancel.
"""

from __future__ import annotations

from tests.fixtures.busy_protocol import BUSY_PROTOCOL, busy_commands

WATCH = """async ([source, rounds]) => {
  const batches = [], events = [];
  const offBatches = labwright.onEvent("run", (batch) => batches.push(batch));
  const offEvents = labwright.onRunEvent(({ runId, event }) => events.push({ runId, event }));
  const { runId } = await labwright.start(source, { function: "transfers", parameters: { rounds } });
  const result = await labwright.wait(runId);
  const record = await labwright.runs.get(runId);
  offBatches();
  offEvents();
  return { result, record, batches: batches.filter((b) => b.runId === runId),
           events: events.filter((e) => e.runId === runId).map((e) => e.event) };
}"""

CANCEL = """async ([source, after]) => {
  let runId = null, cancelled = null, seen = 0;
  const off = labwright.onRunEvent(({ event }) => {
    if (event.type === "command" && ++seen === after && runId) cancelled = labwright.cancel(runId);
  });
  ({ runId } = await labwright.start(source, { function: "transfers", parameters: { rounds: 20 } }));
  const result = await labwright.wait(runId);
  off();
  return { result, cancel: await cancelled, seen };
}"""


def boot(page, server_url):
    page.goto(server_url)
    page.evaluate("window.labwright.ready")
    page.evaluate("window.labwright.catalog.loaded")


def test_run_events_come_in_batches_while_the_run_goes_on(page, server_url):
    boot(page, server_url)
    watched = page.evaluate(WATCH, [BUSY_PROTOCOL, 10])
    result, batches, events = watched["result"], watched["batches"], watched["events"]
    assert result["status"] == "completed", result["error"]
    # The start at once, then batches as the run goes on, the end in the last one.
    assert batches[0]["events"][0]["type"] == "status" and batches[0]["events"][0]["status"] == "running"
    before_end = [e for batch in batches[:-1] for e in batch["events"] if e["type"] == "command"]
    assert len(batches) >= 4 and len(before_end) > busy_commands(10) // 4
    assert batches[-1]["events"][-1] == result["events"][-1] and result["events"][-1]["status"] == "completed"
    # onRunEvent: one call per event, in order; every command and log exactly as the record has it.
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})
    assert [e for e in events if e["type"] != "state"] == [e for e in result["events"] if e["type"] != "state"]
    # States: whole for the page's code (the worker sends what changed), ending where the record ends.
    live, stored = {}, {}
    for event in events:
        if event["type"] == "state":
            live[event["resource"]] = event["state"]
    for event in result["events"]:
        if event["type"] == "state":
            stored[event["resource"]] = event["state"]
    assert live == stored and live["plate_well_A1"].keys() >= {"volume", "pending_volume", "max_volume"}
    assert watched["record"]["events"] == result["events"]


def test_a_busy_run_is_cancelled_from_the_page_while_it_runs(page, server_url):
    boot(page, server_url)
    outcome = page.evaluate(CANCEL, [BUSY_PROTOCOL, 40])
    result = outcome["result"]
    assert outcome["cancel"]["cancelled"] is True, outcome["cancel"]  # answered while the run went on
    assert result["status"] == "cancelled" and result["error"] is None
    commands = [e["command"] for e in result["events"] if e["type"] == "command"]
    assert 40 <= len(commands) < busy_commands(20) and commands[-1] == "stop"
