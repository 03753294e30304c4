"""Devices as a lab uses them, in the real page with instruments emulated at the wire: a run takes
a device the picker holds and gives it back, a replugged or reloaded device keeps its identity and
its row, two devices with one USB id are two devices, an ambiguous id is asked about, a run's
capture is downloaded and replayed from the history, a device the OS keeps from Chrome says why,
and a failed run on devices raises a browser notification."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import open_with_emulated_devices
from tests.e2e.editing import paste_new_file

MT = "pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend"
STACK = "pylabrobot.storage.inheco.incubator_shaker_backend.InhecoIncubatorShakerStackBackend"
PICKER = "labwright.devicePicker"

SCALE = """
window.scale = new labwrightInstruments.MettlerToledoScale({serialNumber: "B111"});
window.scalePort = labwrightEmulators.addSerial(scale, {usbVendorId: 0x0403, usbProductId: 0x6001});
"""


def wait_ready(page) -> None:  # noqa: ANN001
    page.wait_for_function("() => document.querySelector('#device-picker')?.dataset.state === 'ready'")


def rows(page):  # noqa: ANN001, ANN201
    return page.locator("#device-picker li[data-kind]")


def row(page, name: str):  # noqa: ANN001, ANN201
    return page.locator(f"#device-picker li[data-name='{name}']")


def wait_state(page, name: str, state: str) -> None:  # noqa: ANN001
    page.wait_for_function(
        "([name, state]) => document.querySelector(`#device-picker li[data-name='${name}']`)?.dataset.state === state",
        arg=[name, state])


def choose_scale_backend(page, name: str = "webserial-0"):  # noqa: ANN001, ANN201
    scale = row(page, name)
    scale.locator("select.backend").select_option(MT)
    page.wait_for_function(
        "(name) => document.querySelector(`#device-picker li[data-name='${name}'] input[name=port]`)?.value === `'${name}'`",
        arg=name)
    return scale


def connect_scale(page, name: str = "webserial-0"):  # noqa: ANN001, ANN201
    scale = choose_scale_backend(page, name)
    scale.locator("button.connect").click()
    wait_state(page, name, "connected")
    return scale


def plan_on_scale(page, source: str, device: str = "webserial-0") -> None:  # noqa: ANN001
    paste_new_file(page, source)
    page.click("#plan-button")
    chooser = page.locator("#plan-table select.machine-device[data-parameter=scale]")
    chooser.wait_for()
    chooser.select_option(device)
    expect(page.locator("#run-button")).to_have_text("Run on devices")


def run_ended(page) -> str:  # noqa: ANN001
    page.wait_for_function(
        "() => ['completed', 'failed', 'cancelled'].includes(document.querySelector('#workbench').dataset.runStatus)")
    return page.get_attribute("#workbench", "data-run-id")


SLOW_WEIGH = '''
import asyncio
from pylabrobot.scales import Scale
from browser_runtime.protocols import protocol_function

@protocol_function
async def weigh_slowly(scale: Scale) -> float:
    """Let the sample settle for a minute, then weigh it."""
    await scale.zero()
    await asyncio.sleep(60)
    return await scale.get_weight()
'''

WEIGH = '''
from pylabrobot.scales import Scale
from browser_runtime.protocols import protocol_function

@protocol_function
async def weigh(scale: Scale) -> float:
    """Read what lies on the pan."""
    return await scale.get_weight()
'''


# ---- hand-over ----------------------------------------------------------------------------------


def test_a_run_takes_the_device_the_picker_holds_shows_it_and_take_over_gives_it_back(context, server_url) -> None:
    page = open_with_emulated_devices(context, server_url, SCALE)
    page.set_default_timeout(40_000)
    wait_ready(page)
    scale = connect_scale(page)
    assert scale.get_attribute("data-holder") == "console"
    plan_on_scale(page, SLOW_WEIGH)
    page.click("#run-button")
    page.wait_for_function("() => document.querySelector('#workbench').dataset.runId")
    run_id = page.get_attribute("#workbench", "data-run-id")
    # The run holds the scale now, and the row says so: who, and for how long
    expect(scale.locator(".holder")).to_have_text(re.compile(rf"^held by run {run_id} — (it ends in|running for) ~?\d"))
    expect(scale).to_have_attribute("data-state", "lent")
    expect(scale.locator(".state")).to_have_text(f"lent: to run {run_id}")
    take_over = scale.locator("button.take-over")
    expect(take_over).to_be_visible()
    expect(take_over).to_have_text(f"Take over (stops run {run_id})")
    expect(scale.locator("button.connect")).to_be_disabled()
    # The run zeroed the scale through its own backend: it drives the device
    page.wait_for_function("() => scale.received.includes('Z')")
    take_over.click()
    assert run_ended(page) == run_id
    assert page.evaluate("(id) => labwright.runs.get(id)", run_id)["status"] == "cancelled"
    # the run was stopped cleanly and gave the scale back: the console holds it, set up again
    wait_state(page, "webserial-0", "connected")
    expect(scale).to_have_attribute("data-holder", "console")
    expect(take_over).to_be_hidden()
    page.evaluate("() => scale.place(2.5)")
    assert page.evaluate("() => labwright.repl.execute('await scale_backend.get_weight()')")["result"] == "2.5"


def test_a_run_that_ends_gives_the_device_back_to_the_picker(context, server_url) -> None:
    page = open_with_emulated_devices(context, server_url, SCALE)
    wait_ready(page)
    scale = connect_scale(page)
    page.evaluate("() => scale.place(3.75)")
    plan_on_scale(page, WEIGH)
    page.click("#run-button")
    run_id = run_ended(page)
    record = page.evaluate("(id) => labwright.runs.get(id)", run_id)
    assert record["status"] == "completed", record["error"]
    assert record["value"] == 3.75
    wait_state(page, "webserial-0", "connected")
    expect(scale).to_have_attribute("data-holder", "console")
    expect(scale.locator(".holder")).to_have_text("")


# ---- identity: replug, reload, two devices with one USB id, an ambiguous id -------------------------


def stored_devices(page) -> dict:  # noqa: ANN001
    return json.loads(page.evaluate(f"() => localStorage.getItem('{PICKER}')"))["devices"]


def test_a_replugged_and_reloaded_device_keeps_its_identity_and_its_own_row(context, server_url) -> None:
    page = open_with_emulated_devices(context, server_url, SCALE)
    wait_ready(page)
    scale = connect_scale(page)
    scale.locator("input.device-label").fill("bench scale")
    scale.locator("input.device-label").dispatch_event("change")
    identity = scale.get_attribute("data-id")
    assert identity == "serial:0403:6001"  # a WebSerial port has no serial number: its USB id (and name)
    page.evaluate("() => scalePort.unplug()")
    wait_state(page, "webserial-0", "disconnected")
    page.evaluate("() => { window.scalePort = labwrightEmulators.replug(scalePort); }")
    # Chrome names the new port anew; the device takes its own row back and reconnects
    page.wait_for_function("() => document.querySelector(\"#device-picker li[data-label='bench scale']\")?.dataset.state === 'connected'")
    expect(rows(page)).to_have_count(1)
    again = page.locator("#device-picker li[data-label='bench scale']")
    assert again.get_attribute("data-id") == identity
    new_name = again.get_attribute("data-name")
    assert again.locator("select.backend").input_value() == MT
    assert again.locator("input[name=port]").input_value() == f"'{new_name}'"
    # what is stored names no port of this page load
    assert "webserial-" not in json.dumps(stored_devices(page))
    assert stored_devices(page)[identity][0]["label"] == "bench scale"
    page.reload()
    wait_ready(page)
    page.wait_for_function("() => document.querySelector(\"#device-picker li[data-label='bench scale']\")?.dataset.state === 'connected'")
    expect(rows(page)).to_have_count(1)  # no dead row beside it
    after = page.locator("#device-picker li[data-label='bench scale']")
    assert after.get_attribute("data-id") == identity
    assert after.locator("input.device-label").input_value() == "bench scale"
    assert after.locator("input[name=port]").input_value() == f"'{after.get_attribute('data-name')}'"
    page.evaluate("() => scale.place(1.5)")
    assert page.evaluate("() => labwright.repl.execute('await scale_backend.get_weight()')")["result"] == "1.5"


TWO_SCALES = """
window.left = new labwrightInstruments.MettlerToledoScale({serialNumber: "L1"});
window.leftPort = labwrightEmulators.addSerial(left, {usbVendorId: 0x0403, usbProductId: 0x6001, key: "left"});
window.right = new labwrightInstruments.MettlerToledoScale({serialNumber: "R2"});
window.rightPort = labwrightEmulators.addSerial(right, {usbVendorId: 0x0403, usbProductId: 0x6001, key: "right"});
"""


def test_two_devices_with_the_same_usb_id_are_two_rows_with_their_own_settings(context, server_url) -> None:
    page = open_with_emulated_devices(context, server_url, TWO_SCALES)
    wait_ready(page)
    expect(rows(page)).to_have_count(2)
    first, second = row(page, "webserial-0"), row(page, "webserial-1")
    assert first.get_attribute("data-id") == second.get_attribute("data-id") == "serial:0403:6001"
    # one is a balance, the other (same chip, same id) an incubator stack: each keeps its own
    first.locator("select.backend").select_option(MT)
    second.locator("select.backend").select_option(STACK)
    page.wait_for_function("() => document.querySelector(\"#device-picker li[data-name='webserial-1'] input[name=port]\")")
    for scale, label in ((first, "left"), (second, "right")):
        scale.locator("input.device-label").fill(label)
        scale.locator("input.device-label").dispatch_event("change")
    first.locator("button.connect").click()
    wait_state(page, "webserial-0", "connected")
    # each connected to its own instrument
    assert page.evaluate("() => [left.received, right.received]") == [["M21 0 0", "I4"], []]
    stored = stored_devices(page)["serial:0403:6001"]
    assert [(r["label"], r["backend"], r["connected"]) for r in stored] == [("left", MT, True), ("right", STACK, False)]
    page.reload()
    wait_ready(page)
    wait_state(page, "webserial-0", "connected")
    expect(rows(page)).to_have_count(2)
    shown = [(r.locator("input.device-label").input_value(), r.locator("select.backend").input_value(), r.get_attribute("data-state"))
             for r in (row(page, "webserial-0"), row(page, "webserial-1"))]
    assert shown == [("left", MT, "connected"), ("right", STACK, "available")]
    assert page.evaluate("() => right.received") == []


def test_an_ambiguous_generic_ftdi_id_preselects_nothing_and_remembers_the_choice(context, server_url) -> None:
    page = open_with_emulated_devices(context, server_url, SCALE)
    wait_ready(page)
    scale = row(page, "webserial-0")
    expect(scale).to_have_attribute("data-ambiguous", "true")
    # the candidates the catalog has for 0403:6001, and none chosen: Connect would send the wrong frames
    assert scale.get_attribute("data-backends").split() == ["InhecoIncubatorShakerStackBackend", "MettlerToledoWXS205SDUBackend"]
    assert scale.locator("select.backend").input_value() == ""
    note = scale.locator(".match-note").inner_text()
    assert "InhecoIncubatorShakerStackBackend" in note and "MettlerToledoWXS205SDUBackend" in note
    expect(scale.locator("button.connect")).to_be_disabled()
    scale.locator("button.connect").click(force=True)  # nothing happens without a choice
    assert page.evaluate("() => scale.received") == []
    choose_scale_backend(page)
    page.reload()
    wait_ready(page)
    scale = row(page, "webserial-0")
    page.wait_for_function("() => document.querySelector(\"#device-picker li[data-name='webserial-0'] input[name=port]\")")
    assert scale.locator("select.backend").input_value() == MT  # remembered for this device
    assert page.evaluate("() => scale.received") == []  # chosen, not connected: nothing was sent


# ---- capture download and replay from the run history ---------------------------------------------


def test_a_runs_capture_downloads_and_replays_from_the_history(context, server_url) -> None:
    page = open_with_emulated_devices(context, server_url, SCALE)
    wait_ready(page)
    connect_scale(page)
    page.evaluate("() => scale.place(6.5)")
    plan_on_scale(page, WEIGH)
    page.click("#run-button")
    run_id = run_ended(page)
    assert page.evaluate("(id) => labwright.runs.get(id)", run_id)["value"] == 6.5
    history = page.locator(f"#history-table tr[data-run='{run_id}']")
    history.wait_for()
    with page.expect_download() as downloading:
        history.locator("button.capture").click()
    download = downloading.value
    assert download.suggested_filename == f"capture-{run_id}.json"
    capture = json.loads(open(download.path(), encoding="utf-8").read())
    # PLR's capture format: the scale's bytes as they went over the wire
    assert set(capture) >= {"version", "commands"}
    writes = [c["data"] for c in capture["commands"] if c["action"] == "write"]
    assert writes == ["M21 0 0\r\n", "I4\r\n", "S\r\n"]
    assert capture["commands"][-1] == {"module": "serial", "device_id": "webserial-0", "action": "readline",
                                       "data": "S S 6.50000 g\r\n"}
    received = page.evaluate("() => scale.received.length")
    page.evaluate("() => scale.place(1.0)")  # a replay reads the capture, not the scale
    history.locator("button.replay").click()
    expect(page.locator("#run-status")).to_have_text(f"replay of run {run_id}: every command as captured")
    assert page.evaluate("() => scale.received.length") == received
    replay = page.evaluate("() => labwright.runs.history(1)")[0]
    assert replay["status"] == "completed" and replay["run_id"] != run_id
    assert page.evaluate("(id) => labwright.runs.get(id)", replay["run_id"])["value"] == 6.5


# ---- a device the OS keeps from Chrome ----------------------------------------------------------------

# the STAR's own USB connection (its backend's set-up needs a deck first; opening is the same)
STAR_BACKEND = "from pylabrobot.liquid_handling.backends.hamilton.STAR_backend import STARBackend\nbackend = STARBackend().io"
DRIVER_CASES = {
    "webusb_windows_needs_winusb": (
        "Windows",
        """window.star = new labwrightInstruments.HamiltonSTAR();
           window.starDevice = labwrightEmulators.addUSB(star, {vendorId: 0x08af, productId: 0x8000, productName: "ML STAR", serialNumber: "F123"});
           starDevice.failOpen = "access-denied";""",
        "webusb-0", STAR_BACKEND,
        ["Access denied", "WebUSB needs the WinUSB driver", "Zadig", "libusbK"]),
    "webusb_linux_needs_a_udev_rule": (
        "Linux",
        """window.star = new labwrightInstruments.HamiltonSTAR();
           window.starDevice = labwrightEmulators.addUSB(star, {vendorId: 0x08af, productId: 0x8000, productName: "ML STAR", serialNumber: "F123"});
           starDevice.failOpen = "access-denied";""",
        "webusb-0", STAR_BACKEND,
        ["may not open the USB device node of 08AF:8000", 'ATTRS{idVendor}=="08af", ATTRS{idProduct}=="8000"', "udevadm"]),
    "ftdi_held_by_the_vcp_driver": (
        "Windows",
        """window.fan = new labwrightInstruments.HamiltonHepaFan();
           window.fanDevice = labwrightEmulators.addFtdiUSB(fan, {vendorId: 0x0856, productId: 0xac11, productName: "HEPA fan", serialNumber: "FT0001"});
           fanDevice.failOpen = "claimed";""",
        "webusb-0",
        "from pylabrobot.only_fans.hamilton_hepa_fan_backend import HamiltonHepaFanBackend\nbackend = HamiltonHepaFanBackend()",
        ["FTDI virtual COM port driver has claimed this FTDI chip (0856:AC11)", "Serial port…", "Zadig"]),
    "serial_port_busy_on_linux": (
        "Linux",
        SCALE + "scalePort.failOpen = 'busy';",
        None,
        "from pylabrobot.scales.mettler_toledo_backend import MettlerToledoWXS205SDUBackend\nbackend = MettlerToledoWXS205SDUBackend(port='0403:6001')",
        ["another program has the port open", "dialout", 'SUBSYSTEM=="tty"']),
    "hid_on_linux_needs_a_hidraw_rule": (
        "Linux",
        """window.box = new labwrightInstruments.InhecoControlBox();
           labwrightEmulators.addHID(box, {vendorId: 0x03eb, productId: 0x2023}).failOpen = "not-allowed";""",
        None,
        "from pylabrobot.temperature_controlling.inheco.control_box import InhecoTECControlBox\nbackend = InhecoTECControlBox()",
        ["hidraw node", 'KERNEL=="hidraw*", ATTRS{idVendor}=="03eb"']),
}


@pytest.mark.parametrize("case", list(DRIVER_CASES))
def test_when_open_fails_the_error_names_the_likely_cause_and_the_fix(context, server_url, case: str) -> None:
    platform, plugged, picker_row, python, expected = DRIVER_CASES[case]
    page = open_with_emulated_devices(context, server_url, f"labwrightEmulators.setPlatform({platform!r});\n{plugged}")
    wait_ready(page)
    # the error the backend raises in Python (the REPL, runPython, a run)
    message = page.evaluate(
        "(code) => window.labwright.runPython(code).then(() => 'no error', (e) => e.message)",
        f"{python}\nawait backend.setup()")
    assert "DeviceDriverError" in message and "Likely cause:" in message and "Fix:" in message, message
    for text in expected:
        assert text in message, (text, message)
    if picker_row is None:
        return
    # and in the picker, on the device's row, apart from its state
    device = row(page, picker_row)
    page.wait_for_function(
        "(name) => document.querySelector(`#device-picker li[data-name='${name}'] select.backend`)?.value", arg=picker_row)
    device.locator("button.connect").click()
    wait_state(page, picker_row, "error")
    help_text = device.locator(".driver-help")
    expect(help_text).to_be_visible()
    assert help_text.inner_text().startswith("Likely cause:")
    for text in expected[1:]:
        assert text in help_text.inner_text(), (text, help_text.inner_text())


# ---- alerts: a browser notification for a failed run on devices ------------------------------------

NOTIFICATIONS_SEEN = """
window.shownNotifications = [];
const RealNotification = window.Notification;
window.Notification = class extends RealNotification {
  constructor(title, options = {}) {
    super(title, options);
    shownNotifications.push({title, body: options.body, tag: options.tag});
  }
};
"""

SPILL = '''
from pylabrobot.scales import Scale
from browser_runtime.protocols import protocol_function

@protocol_function
async def weigh_and_check(scale: Scale) -> float:
    """Weigh; more than 5 g means the sample spilled."""
    weight = await scale.get_weight()
    if weight > 5:
        raise RuntimeError(f"the sample spilled: {weight} g")
    return weight
'''


def test_a_failed_run_on_devices_shows_a_browser_notification(context, server_url) -> None:
    context.grant_permissions(["notifications"], origin=server_url.rstrip("/"))
    page = open_with_emulated_devices(context, server_url, NOTIFICATIONS_SEEN + SCALE)
    assert page.evaluate("() => Notification.permission") == "granted"
    wait_ready(page)
    connect_scale(page)
    page.evaluate("() => scale.place(7.25)")
    plan_on_scale(page, SPILL)
    page.click("#run-button")
    run_id = run_ended(page)
    assert page.evaluate("(id) => labwright.runs.get(id)", run_id)["status"] == "failed"
    page.wait_for_function("() => shownNotifications.length > 0")
    shown = page.evaluate("() => shownNotifications")
    assert shown == [{"title": f"Run {run_id} failed", "tag": f"labwright-run-{run_id}",
                      "body": "weigh_and_check: RuntimeError: the sample spilled: 7.25 g"}]
    sent = page.evaluate("() => labwrightAlerts.sent")
    assert [(a["event"], a["runId"], a["notified"]) for a in sent] == [("run.failed", run_id, True)]
    # a run that completes raises none
    page.evaluate("() => scale.place(2.0)")
    page.click("#run-button")
    page.wait_for_function("(id) => document.querySelector('#workbench').dataset.runId !== id", arg=run_id)
    second = run_ended(page)
    assert page.evaluate("(id) => labwright.runs.get(id)", second)["status"] == "completed"
    assert len(page.evaluate("() => shownNotifications")) == 1


WEBHOOK_TOKEN = "e2e-alerts-token-0123456789"


def test_a_failed_run_on_devices_is_posted_to_the_labs_webhook(browser) -> None:
    """The page came from `labwright serve` (its token in the URL), whose webhook is a real HTTP
    receiver on loopback: the failed run reaches it through the server."""
    from tests.serving import running_server
    from tests.webhook_receiver import WebhookReceiver

    env = {"LABWRIGHT_TOKEN": WEBHOOK_TOKEN, "LABWRIGHT_MDNS": "0"}
    with WebhookReceiver() as hook, running_server(env={**env, "LABWRIGHT_WEBHOOK_URL": hook.url}) as url:
        context = browser.new_context(service_workers="block")
        try:
            page = open_with_emulated_devices(context, f"{url}#token={WEBHOOK_TOKEN}", SCALE)
            wait_ready(page)
            connect_scale(page)
            page.evaluate("() => scale.place(9.5)")
            plan_on_scale(page, SPILL)
            page.click("#run-button")
            run_id = run_ended(page)
            [event] = hook.wait_for(1)
            body = event["body"]
            assert (body["event"], body["run_id"], body["protocol"]) == ("run.failed", run_id, "weigh_and_check")
            assert body["message"] == "weigh_and_check: RuntimeError: the sample spilled: 9.5 g"
            assert body["devices"] == ["webserial-0"] and body["source"] == "labwright"
            page.wait_for_function("() => labwrightAlerts.sent[0]?.posted")
            assert page.evaluate("() => labwrightAlerts.sent[0].posted") == {"delivered": True, "status": 204}
        finally:
            context.close()


def test_a_star_connects_in_the_picker(context, server_url) -> None:
    """A liquid handler's backend is set up on a deck: connected alone, the default one."""
    page = open_with_emulated_devices(context, server_url, """
        window.star = new labwrightInstruments.HamiltonSTAR();
        labwrightEmulators.addUSB(star, {vendorId: 0x08af, productId: 0x8000, productName: "ML STAR", serialNumber: "F123"});""")
    wait_ready(page)
    page.wait_for_function("() => document.querySelector(\"#device-picker li[data-name='webusb-0'] input[name=serial_number]\")")
    device = row(page, "webusb-0")
    assert device.locator("select.backend").input_value().endswith("STAR_backend.STARBackend")
    device.locator("button.connect").click()
    wait_state(page, "webusb-0", "connected")
    assert page.evaluate("() => star.received.length") > 0
    variable = device.get_attribute("data-variable")
    assert page.evaluate(f"() => labwright.repl.execute('{variable}.num_channels')")["result"] == "8"
