"""A hardware run on each emulated instrument, recorded in the page (PLR's capture format),
replayed in the page, and checked against the capture shipped for it (tests/fixtures/captures).

The shipped captures are replayed again in CPython by tests/unit/webbridge/test_shipped_captures.py:
together they are the issue's "a capture recorded in the page replays green in CI". To record
them afresh (after a deliberate change of what a backend sends): LABWRIGHT_RECORD_CAPTURES=1.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.e2e.conftest import open_with_emulated_devices
from tests.e2e.device_runs import CAPTURES, RUNS, DeviceRun, host_commands

RECORD = os.environ.get("LABWRIGHT_RECORD_CAPTURES") == "1"


def hardware_run(page, device_run: DeviceRun) -> dict:  # noqa: ANN001
    page.evaluate("window.labwright.catalog.loaded")
    return page.evaluate(
        "([source, backends, parameters]) => window.labwright.run(source, {simulate: false, backends, parameters})",
        [device_run.source, device_run.backends, device_run.parameters])


@pytest.mark.parametrize("device_run", RUNS, ids=[r.name for r in RUNS])
def test_a_hardware_run_is_captured_replays_in_the_page_and_matches_the_shipped_capture(
        context, server_url: str, device_run: DeviceRun) -> None:
    page = open_with_emulated_devices(context, server_url, device_run.plugged)
    result = hardware_run(page, device_run)
    assert result["status"] == "completed", result["error"]
    if device_run.expected_value is not None:
        assert result["value"] == device_run.expected_value
    capture = page.evaluate("(id) => window.labwright.runs.capture(id)", result["run_id"])
    assert capture["version"] and capture["commands"], capture
    assert all({"module", "device_id", "action", "data"} <= set(c) for c in capture["commands"]), capture["commands"][:3]
    assert capture["labwright"]["run_id"] == result["run_id"]
    # the same run's capture replays in the page: real backends, no device touched
    received = page.evaluate("() => JSON.stringify(window.instrument.received ?? null)")
    replayed = page.evaluate("(id) => window.labwright.runs.replay(id)", result["run_id"])
    assert replayed["status"] == "completed", replayed["error"]
    assert replayed["replay"] == {"commands": len(capture["commands"]), "replayed": len(capture["commands"]),
                                  "divergence": None}
    assert page.evaluate("() => JSON.stringify(window.instrument.received ?? null)") == received
    shipped = CAPTURES / f"{device_run.name}.json"
    if RECORD:
        CAPTURES.mkdir(parents=True, exist_ok=True)
        shipped.write_text(json.dumps(capture, indent=2) + "\n")
    assert shipped.exists(), f"no shipped capture {shipped}: record it with LABWRIGHT_RECORD_CAPTURES=1"
    # what the host sent is what the protocol decides: the same as when the shipped one was recorded
    assert host_commands(capture) == host_commands(json.loads(shipped.read_text()))
    page.close()


def test_an_altered_protocol_replayed_in_the_page_reports_the_first_divergent_command(context, server_url: str) -> None:
    """The shipped heater-shaker capture (two shakers through one box) against a protocol that
    heats the second shaker to 45 °C, not 42 °C: the run fails at that command, naming it."""
    shipped = json.loads((CAPTURES / "heater_shaker_box.json").read_text())
    source = shipped["labwright"]["replay_inputs"]["source"].replace("hs2.set_temperature(42)", "hs2.set_temperature(45)")
    page = open_with_emulated_devices(context, server_url)  # nothing plugged: a replay needs no device
    page.evaluate("window.labwright.catalog.loaded")
    result = page.evaluate("([capture, source]) => window.labwright.runs.replay(capture, {source})", [shipped, source])
    assert result["status"] == "failed"
    assert result["error"]["type"] == "ReplayDivergence"
    divergence = result["replay"]["divergence"]
    index = divergence["index"]
    assert divergence["expected"] == shipped["commands"][index]
    assert "420" in divergence["expected"]["data"] and "450" in divergence["actual"]["data"]
    assert f"replay diverged at command {index + 1} of {len(shipped['commands'])}" in result["error"]["message"]
    assert result["replay"]["replayed"] == index  # every command before it replayed as captured
    page.close()
