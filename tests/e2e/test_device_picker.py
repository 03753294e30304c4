"""The device picker in the real page: catalog filters, backends by USB id, states, reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import open_with_emulated_devices

# Plugged in before the page's own scripts run, on every load: the browser's permission store
# (emulated, kept in localStorage) decides what the page sees without asking.
PLUGGED = """
labwrightEmulators.requirePermission();
window.star = new labwrightInstruments.HamiltonSTAR();
window.starDevice = labwrightEmulators.addUSB(star, {vendorId: 0x08af, productId: 0x8000, productName: "ML STAR", serialNumber: "F123"});
window.scale = new labwrightInstruments.MettlerToledoScale({serialNumber: "B111"});
window.scalePort = labwrightEmulators.addSerial(scale, {usbVendorId: 0x0403, usbProductId: 0x6001});
window.pump = new labwrightInstruments.MasterflexPump();
window.pumpPort = labwrightEmulators.addSerial(pump, {usbVendorId: 0x067b, usbProductId: 0x2303});
window.box = new labwrightInstruments.InhecoControlBox();
labwrightEmulators.addHID(box, {vendorId: 0x16d0, productId: 0x1199, productName: "Byonoy A96A"});
"""


@pytest.fixture
def picker_page(context, server_url: str):
    page = open_with_emulated_devices(context, server_url, PLUGGED)
    wait_ready(page)
    yield page
    page.close()


def wait_ready(page) -> None:
    page.wait_for_function("() => document.querySelector('#device-picker')?.dataset.state === 'ready'")


def row(page, name: str):
    return page.locator(f"#device-picker li[data-name='{name}']")


def wait_state(page, name: str, state: str) -> None:
    page.wait_for_function(
        "([name, state]) => document.querySelector(`#device-picker li[data-name='${name}']`)?.dataset.state === state",
        arg=[name, state])


def catalog_ids(plr_catalog, io_kinds: tuple[str, ...]) -> set[tuple[int, int]]:
    return {(u["vid"], u["pid"]) for b in plr_catalog.entries("backends")
            if b.get("io") in io_kinds and not b.get("simulator") for u in b.get("usb_ids") or []}


def test_the_choosers_are_filtered_by_the_usb_ids_the_catalog_declares(picker_page, plr_catalog) -> None:
    page = picker_page
    assert page.evaluate("() => labwrightPorts.list()") == []  # nothing granted yet
    for kind in ("serial", "usb", "hid"):
        page.click(f"#device-picker button[data-kind={kind}]")
        page.wait_for_function(f"() => document.querySelectorAll('#device-picker li[data-kind={kind}]').length > 0")
    requests = page.evaluate("() => labwrightEmulators.permissions.requests")
    filters = {r["api"]: r["filters"] for r in requests}
    serial = {(f["usbVendorId"], f["usbProductId"]) for f in filters["serial"]}
    usb = {(f["vendorId"], f["productId"]) for f in filters["usb"]}
    hid = {(f["vendorId"], f["productId"]) for f in filters["hid"]}
    assert (0x0403, 0x6001) in serial and (0x0856, 0xAC11) in serial  # Mettler Toledo; HEPA fan (FTDI)
    assert {(0x08AF, 0x8000), (0x08AF, 0x8003), (0x0C47, 0x4000), (0x0403, 0xBB68)} <= usb
    assert (0x16D0, 0x1199) in hid
    assert serial == catalog_ids(plr_catalog, ("serial", "ftdi"))
    # and the boxes other machines talk through: Hamilton's heater-shaker box, Inheco's TEC control box
    assert usb == catalog_ids(plr_catalog, ("usb", "ftdi")) | {(0x08AF, 0x8002)}
    assert hid == catalog_ids(plr_catalog, ("hid",)) | {(0x03EB, 0x2023)}
    # the Prolific adapter (067B:2303) is no catalog id: the filtered chooser never offered it
    names = page.evaluate("() => labwrightPorts.list().then((ports) => ports.map((p) => [p.name, p.vendorId]))")
    assert [0x067B] not in [[vid] for _, vid in names]
    page.wait_for_function("() => document.querySelector('#device-picker .picker-message').textContent.startsWith('Granted')")


def test_a_plugged_star_is_named_by_its_backends(picker_page) -> None:
    page = picker_page
    page.click("#device-picker button[data-kind=usb]")
    star = row(page, "webusb-0")
    star.locator("input[name=serial_number]").wait_for()
    assert star.get_attribute("data-backends").split() == ["STARBackend", "STAR"]
    assert star.locator("select.backend").input_value() == "pylabrobot.liquid_handling.backends.hamilton.STAR_backend.STARBackend"
    assert star.locator(".usb-id").inner_text() == "08AF:8000"
    assert "08AF:8000 is declared by STARBackend, STAR" in star.locator(".match-note").inner_text()
    # the backend's own constructor parameters, the device's serial number filled in
    assert star.locator("input[name=serial_number]").input_value() == "'F123'"
    assert star.locator("input[name=read_timeout]").input_value() == "30"
    page.wait_for_function("() => document.querySelector('#device-picker .picker-message').textContent.startsWith('Granted')")
    assert page.locator("#device-picker .picker-message").inner_text() == "Granted webusb-0 (08AF:8000): STARBackend, STAR."


def test_a_port_no_backend_declares_offers_every_serial_backend(picker_page) -> None:
    page = picker_page
    page.check("#device-picker input.any-device")
    page.click("#device-picker button[data-kind=serial]")  # the chooser offers every port
    page.click("#device-picker button[data-kind=serial]")
    pump = page.locator("#device-picker li[data-kind=serial]").filter(has=page.locator("code", has_text="067B:2303"))
    pump.wait_for()
    assert page.evaluate("() => labwrightEmulators.permissions.requests.map((r) => r.filters)") == [[], []]
    assert "no backend in the catalog declares USB id 067B:2303" in pump.locator(".match-note").inner_text()
    backends = pump.get_attribute("data-backends").split()
    assert {"MasterflexBackend", "MettlerToledoWXS205SDUBackend", "CLARIOstarBackend"} <= set(backends)
    assert pump.locator("select.backend").input_value() == ""  # nothing is guessed
    pump.locator("select.backend").select_option(label="MasterflexBackend")
    pump.locator("input[name=com_port]").wait_for()
    name = pump.get_attribute("data-name")
    assert pump.locator("input[name=com_port]").input_value() == f"'{name}'"
    assert "baud 4800, data bits 7, parity O, stop bits 1" in pump.locator(".line-settings").inner_text()


def _grant_scale(page):
    page.click("#device-picker button[data-kind=serial]")
    scale = row(page, "webserial-0")
    scale.wait_for()
    assert scale.get_attribute("data-backends").split() == [
        "InhecoIncubatorShakerStackBackend", "MettlerToledoWXS205SDUBackend"]
    scale.locator("select.backend").select_option(label="MettlerToledoWXS205SDUBackend")
    page.wait_for_function("() => document.querySelector(\"#device-picker li[data-name='webserial-0'] input[name=port]\")?.value === \"'webserial-0'\"")
    return scale


def _connect_scale(page, grams: float):
    """The scale granted, `grams` on its pan, connected in the picker."""
    scale = _grant_scale(page)
    page.evaluate("(grams) => scale.place(grams)", grams)
    scale.locator("button.connect").click()
    wait_state(page, "webserial-0", "connected")
    return scale


def _distinct(states: list[str]) -> list[str]:
    """The states as they changed (a row is redrawn with the same state when its holder is)."""
    return [state for i, state in enumerate(states) if i == 0 or states[i - 1] != state]


def _record_states(page, name: str) -> None:
    page.evaluate(
        """(name) => { window.states = [];
           const row = document.querySelector(`#device-picker li[data-name='${name}']`);
           new MutationObserver(() => states.push(row.querySelector('.state').textContent))
             .observe(row, {attributes: true, attributeFilter: ['data-state']}); }""",
        name,
    )


def test_connection_states_connecting_connected_error_disconnected(picker_page) -> None:
    page = picker_page
    scale = _grant_scale(page)
    _record_states(page, "webserial-0")
    page.evaluate("() => { scale.mode = 'silent'; }")  # a scale that never answers
    scale.locator("button.connect").click()
    page.wait_for_function("() => states.some((s) => s.startsWith('error'))")
    error = scale.locator(".state").inner_text()
    assert error.startswith("error: ") and len(error) > len("error: ") + 5
    page.evaluate("() => { scale.mode = 'normal'; scale.place(7.5); }")
    scale.locator("button.connect").click()  # the failed attempt released the port
    page.wait_for_function("() => states.at(-1)?.startsWith('connected')")
    assert scale.locator(".state").inner_text() == (
        "connected: MettlerToledoWXS205SDUBackend set up; in the REPL as scale_backend")
    # the backend is the user's, in the REPL
    result = page.evaluate("() => labwright.repl.execute('await scale_backend.get_weight()')")
    assert result["result"] == "7.5"
    page.evaluate("() => scalePort.unplug()")
    page.wait_for_function("() => states.at(-1)?.startsWith('disconnected')")
    assert [s.split(":")[0] for s in page.evaluate("() => states")] == [
        "connecting", "error", "connecting", "connected", "disconnected"]
    assert scale.locator(".state").inner_text() == "disconnected: unplugged"


def test_reload_lists_granted_devices_and_reconnects_without_a_prompt(picker_page) -> None:
    page = picker_page
    _connect_scale(page, 2.5)
    page.reload()
    wait_ready(page)
    wait_state(page, "webserial-0", "connected")
    scale = row(page, "webserial-0")
    assert scale.locator("select.backend").input_value() == "pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend"
    assert page.evaluate("() => labwrightEmulators.permissions.requests") == []  # no prompt after the reload
    assert page.evaluate("() => scale.received") == ["M21 0 0", "I4"]  # the new page set the scale up
    page.evaluate("() => scale.place(1.25)")
    assert page.evaluate("() => labwright.repl.execute('await scale_backend.get_weight()')")["result"] == "1.25"
    # the USB device was never granted: still not listed
    assert [d["kind"] for d in page.evaluate("() => labwrightPorts.list()")] == ["serial"]
    scale.locator("button.disconnect").click()
    wait_state(page, "webserial-0", "disconnected")
    page.reload()
    wait_ready(page)
    assert row(page, "webserial-0").get_attribute("data-state") == "available"  # remembered as disconnected


WEIGH = '''
from pylabrobot.scales import Scale
from browser_runtime.protocols import protocol_function

@protocol_function
async def weigh(scale: Scale) -> float:
    """Read what lies on the pan."""
    return await scale.get_weight()
'''


def _paste_and_plan(page, source: str) -> None:
    from tests.e2e.editing import paste_new_file

    paste_new_file(page, source)
    page.click("#plan-button")


def test_the_workbench_runs_a_protocol_on_the_connected_scale(picker_page) -> None:
    page = picker_page
    _connect_scale(page, 3.25)
    _paste_and_plan(page, WEIGH)
    chooser = page.locator("#plan-table select.machine-device[data-parameter=scale]")
    chooser.wait_for()
    # only devices whose backend serves a scale are offered (not the pump, the STAR or the box)
    assert chooser.locator("option").all_inner_texts() == [
        "simulated", "webserial-0: MettlerToledoWXS205SDUBackend (connected)"]
    assert page.inner_text("#run-button") == "Run in simulation"
    chooser.select_option("webserial-0")
    assert page.inner_text("#run-button") == "Run on devices"
    _record_states(page, "webserial-0")
    page.click("#run-button")
    page.wait_for_function("() => ['completed', 'failed'].includes(document.querySelector('#workbench').dataset.runStatus)")
    run_id = page.get_attribute("#workbench", "data-run-id")
    record = page.evaluate("(id) => labwright.runs.get(id)", run_id)
    assert record["status"] == "completed", record["error"]
    assert record["simulate"] is False and record["value"] == 3.25
    assert record["plan"]["parameters"]["scale"]["backend"].endswith("MettlerToledoWXS205SDUBackend")
    assert page.inner_text("#run-log").split("\n") == [  # the backend's commands, as they ran
        "▶ scale.setup", "▶ scale.send_command", "▶ scale.request_serial_number", "▶ scale.send_command",
        "▶ scale.read_weight", "▶ scale.read_stable_weight", "▶ scale.send_command", "▶ scale.stop"]
    # the broker handed the scale over: the console stopped its backend, lent it to the run, got it
    # back when the run ended and set it up again
    page.wait_for_function("() => states.at(-1)?.startsWith('connected')")
    assert _distinct(page.evaluate("() => states")) == [
        "lent: to a hardware run", f"lent: to run {run_id}",
        "connected: MettlerToledoWXS205SDUBackend set up; in the REPL as scale_backend"]
    assert page.evaluate("() => scale.received") == [
        "M21 0 0", "I4",  # the picker's connect
        "M21 0 0", "I4", "S",  # the run's own backend: set up, read
        "M21 0 0", "I4",  # the picker's again
    ]
    assert page.locator(f"#history-table tr[data-run='{run_id}'] td").nth(2).inner_text() == "devices"


def test_a_run_on_devices_needs_a_device_for_every_machine(picker_page) -> None:
    page = picker_page
    _grant_scale(page)
    shaking = WEIGH.replace("scale: Scale)", "scale: Scale, shaker: HeaterShaker)").replace(
        "import Scale\n", "import Scale\nfrom pylabrobot.heating_shaking import HeaterShaker\n")
    _paste_and_plan(page, shaking)
    page.locator("#plan-table select.machine-device[data-parameter=shaker]").wait_for()
    page.select_option("#plan-table select.machine-device[data-parameter=scale]", "webserial-0")
    # Half on devices is no plan: it says why, and Run waits for a device for every machine (or none).
    expect(page.locator("#plan-stale")).to_contain_text("choose a device for every machine")
    expect(page.locator("#run-button")).to_be_disabled()
    assert page.evaluate("() => scale.received") == []  # nothing was opened
