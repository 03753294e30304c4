"""Trust inside the page: simulations never reach a device, one tab writes the data, runs stop, data survives."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import BOOT_TIMEOUT_MS, open_with_emulated_devices

DEMOS = Path(__file__).resolve().parents[2] / "web" / "protocols"

SNEAKY = '''
from pylabrobot.scales import Scale
from pylabrobot.scales.mettler_toledo_backend import MettlerToledoWXS205SDUBackend
from browser_runtime.protocols import protocol_function

@protocol_function
async def weigh(scale: Scale) -> float:
    real = MettlerToledoWXS205SDUBackend()  # finds the granted scale by its USB id
    await real.setup()
    return await real.get_weight()
'''

SPIN = '''
from pylabrobot.heating_shaking import HeaterShaker
from browser_runtime.protocols import protocol_function

@protocol_function(name="Spin forever")
async def spin(hs: HeaterShaker) -> None:
    await hs.set_temperature(37.0)
    while True:  # never awaits: only an interrupt stops it
        pass
'''

VANDAL = '''
import os, shutil
from browser_runtime.protocols import protocol_function

@protocol_function(name="Vandal")
async def vandal() -> list:
    for path in ("/data/labwright.sqlite", "/data"):
        try:
            os.remove(path)
        except OSError:
            shutil.rmtree(path, ignore_errors=True)
    import js
    return [str(js.indexedDB), str(js.caches), str(js.navigator.serial), str(js.navigator.usb)]
'''


def boot(page, url):
    page.set_default_timeout(BOOT_TIMEOUT_MS)
    page.goto(url)
    page.evaluate("window.labwright.ready")
    page.evaluate("window.labwright.catalog.loaded")


def run(page, source, options=None):
    return page.evaluate("([s, o]) => window.labwright.run(s, o)", [source, options or {}])


def test_a_simulated_protocol_cannot_read_a_granted_scale(context, server_url):
    page = open_with_emulated_devices(context, server_url)
    page.evaluate("""() => { window.scale = new labwrightInstruments.MettlerToledoScale({serialNumber: "B1"});
                             labwrightEmulators.addSerial(scale, {usbVendorId: 0x0403, usbProductId: 0x6001}); }""")
    page.evaluate("window.labwright.catalog.loaded")
    result = run(page, SNEAKY)
    assert result["status"] == "failed"
    assert result["error"]["type"] == "DeviceAccessDenied"
    assert "simulated run" in result["error"]["message"] and "never touches hardware" in result["error"]["message"]
    assert page.evaluate("() => scale.received") == []  # not one byte reached the instrument
    # The console (REPL, runPython) holds the scale: there the same backend reads it.
    weight = page.evaluate("""() => window.labwright.runPython(
        'from pylabrobot.scales.mettler_toledo_backend import MettlerToledoWXS205SDUBackend\\n'
        + 'b = MettlerToledoWXS205SDUBackend()\\nawait b.setup()\\nw = await b.get_weight()\\nawait b.stop()\\nw')""")
    assert weight == "0.0" and page.evaluate("() => scale.received").count("S") == 1
    # A message forged to the port manager without a grant is refused there too.
    forged = page.evaluate("""() => window.labwrightPorts.handle('serial.open', {port: 'webserial-0', baudRate: 9600,
        dataBits: 8, parity: 'none', stopBits: 1, flowControl: 'none'}, 1000).then(() => 'opened', (e) => e.type + ': ' + e.message)""")
    assert forged.startswith("AccessDenied: serial.open: webserial-0: access denied: the request carries no hardware grant")


def test_a_protocol_that_never_awaits_is_stopped_by_cancel(page, server_url):
    boot(page, server_url)
    started = page.evaluate("(s) => window.labwright.start(s, {})", SPIN)  # replies before the spin starts
    run_id = started["runId"]
    page.wait_for_timeout(500)
    page.evaluate("(id) => window.labwright.cancel(id)", run_id)
    result = page.evaluate("(id) => window.labwright.wait(id)", run_id)
    assert result["status"] == "cancelled"
    commands = [e["command"] for e in result["events"] if e["type"] == "command"]
    assert "set_temperature" in commands and commands[-1] == "stop"  # the machine was stopped
    assert page.evaluate("(id) => window.labwright.runs.get(id)", run_id)["status"] == "cancelled"
    held = page.evaluate("(id) => window.labwright.schedule.reservations({run_id: id})", run_id)
    assert held and {r["status"] for r in held} == {"released"}
    assert page.evaluate("window.labwright.runPython('6 * 7')") == "42"  # the worker goes on


def test_a_protocol_cannot_destroy_the_stored_data(page, server_url):
    boot(page, server_url)
    first = run(page, (DEMOS / "stamp_96.py").read_text(), {"filename": "stamp_96.py"})
    assert first["status"] == "completed"
    result = run(page, VANDAL)
    assert result["status"] == "completed", result["error"]
    assert result["value"] == ["None", "None", "None", "None"]  # none of it is in the protocol's reach
    page.reload()
    boot(page, server_url)
    kept = {run["run_id"] for run in page.evaluate("window.labwright.runs.history(10)")}
    assert {first["run_id"], result["run_id"]} <= kept


def test_one_tab_writes_the_data_and_another_can_take_it_over(context, server_url):
    first, second = context.new_page(), context.new_page()
    boot(first, server_url)
    acknowledged = []
    for index in range(4):
        acknowledged.append(first.evaluate("(i) => window.labwright.data.savePlan(`from the first tab ${i}`, 'x = 1')", index)["name"])
    second.set_default_timeout(BOOT_TIMEOUT_MS)
    second.goto(server_url)
    second.evaluate("window.labwright.ready")
    second.wait_for_function("window.labwright.data.state === 'elsewhere'")
    expect(second.locator("#data-elsewhere")).to_be_visible()
    expect(second.locator("#data-elsewhere")).to_contain_text("open in another tab")
    refused = second.evaluate("window.labwright.data.plans().then(() => 'answered', (e) => e.pythonType)")
    assert refused == "DataNotOpen"  # never a second writer
    second.click("#data-take-over")
    second.wait_for_function("window.labwright.data.state === 'open'")
    first.wait_for_function("window.labwright.data.state === 'released'")
    expect(first.locator("#data-elsewhere")).to_contain_text("moved to another tab")
    assert first.evaluate("window.labwright.data.savePlan('late', 'x = 1').then(() => 'written', (e) => e.pythonType)") \
        == "DataNotOpen"
    for index in range(4):
        acknowledged.append(second.evaluate("(i) => window.labwright.data.savePlan(`from the second tab ${i}`, 'x = 1')", index)["name"])
    second.reload()
    second.evaluate("window.labwright.ready")
    second.evaluate("window.labwright.dataOpen")
    names = {plan["name"] for plan in second.evaluate("window.labwright.data.plans()")}
    assert set(acknowledged) <= names  # all 8 acknowledged writes are there


def test_data_cleared_under_the_page_is_saved_again_whole(context, server_url):
    page = context.new_page()
    boot(page, server_url)
    page.evaluate("window.labwright.data.savePlan('before', 'x = 0')")
    # The user clears the site's data while the page is open: the browser drops the page's store
    # and closes its connection. What the open page holds (acknowledged writes) is saved again.
    session = context.new_cdp_session(page)
    session.send("Storage.clearDataForOrigin", {"origin": server_url.rstrip("/"), "storageTypes": "indexeddb"})
    page.wait_for_timeout(300)
    page.evaluate("window.labwright.data.savePlan('after', 'x = 2')")
    page.reload()
    boot(page, server_url)
    assert {"before", "after"} <= {p["name"] for p in page.evaluate("window.labwright.data.plans()")}


@pytest.mark.parametrize("value", [99999, 10])
def test_the_workbench_refuses_a_value_outside_its_limits_at_the_field(page, server_url, value):
    boot(page, server_url)
    page.click("button[data-file='incubation.py']")
    page.wait_for_selector("#parameter-form")
    field = page.locator("#parameter-form [name='rpm']")
    field.evaluate("(input) => { input.removeAttribute('min'); input.removeAttribute('max'); }")  # past the browser's own check
    field.fill(str(value))
    page.click("#plan-button")
    error = page.locator(".field-error[data-error-for='rpm']")
    expect(error).to_contain_text(f"parameter 'rpm' is {value}")
    expect(field).to_have_attribute("aria-invalid", "true")
    assert page.locator("#plan-panel").is_hidden()


def test_a_changed_value_makes_the_plan_stale_and_run_refuses_it(page, server_url):
    boot(page, server_url)
    page.click("button[data-file='serial_dilution.py']")
    page.wait_for_selector("#parameter-form")
    page.click("#plan-button")
    expect(page.locator("#plan-panel")).to_be_visible(timeout=60_000)
    plan_id = page.locator("#plan-id").text_content()
    page.locator("#parameter-form [name='volume']").fill("60")
    expect(page.locator("#plan-stale")).to_be_visible()
    expect(page.locator("#run-button")).to_be_disabled()
    # Through the API, the same stale plan is refused, naming what changed.
    source = (DEMOS / "serial_dilution.py").read_text()
    refused = page.evaluate("""([s, id]) => window.labwright.start(s, {planId: id, parameters: {volume: 500}})
        .then(() => 'ran', (e) => [e.pythonType, e.message])""", [source, plan_id.removeprefix("plan ")])
    assert refused[0] == "StalePlan" and "parameters.volume" in refused[1]
    refused = page.evaluate("""([s, id]) => window.labwright.start(s, {planId: id, parameters: {volume: 60}})
        .then(() => 'ran', (e) => [e.pythonType, e.message])""", [source, plan_id.removeprefix("plan ")])
    assert refused[0] == "StalePlan" and "parameters.volume" in refused[1]
    page.click("#replan-button")
    expect(page.locator("#plan-stale")).to_be_hidden(timeout=60_000)
    assert "60" in page.locator("#plan-table tr[data-parameter='volume']").text_content()
    page.click("#run-button")
    page.wait_for_function("document.querySelector('#workbench').dataset.runStatus === 'completed'")
