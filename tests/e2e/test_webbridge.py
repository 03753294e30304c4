"""Real PLR backends in the page's worker drive instruments emulated at their wire protocol."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.e2e.conftest import open_with_emulated_devices


@pytest.fixture
def bridge_page(context, server_url: str):
    """The real page with emulated navigator.serial / usb / hid injected before it loads."""
    page = open_with_emulated_devices(context, server_url)
    yield page
    page.close()


def run(page, code: str) -> str:
    return page.evaluate("(code) => window.labwright.runPython(code)", textwrap.dedent(code))


def run_error(page, code: str) -> str:
    return page.evaluate(
        "(code) => window.labwright.runPython(code).then(() => 'no error', (e) => e.message)",
        textwrap.dedent(code),
    )


def test_install_rebinds_backends_already_in_the_snapshot(bridge_page) -> None:
    result = run(
        bridge_page,
        """
        import pylabrobot.io.serial, pylabrobot.scales.mettler_toledo_backend as mt
        import pylabrobot.io.validation as v
        from browser_runtime import webbridge
        (webbridge.installed(), mt.Serial.__module__, pylabrobot.io.serial.Serial.__module__, v.USB.__module__)
        """,
    )
    assert result == (
        "(True, 'browser_runtime.webbridge.serial', 'browser_runtime.webbridge.serial', "
        "'browser_runtime.webbridge.usb')"
    )


def test_mettler_toledo_scale_zero_tare_and_weight(bridge_page) -> None:
    bridge_page.evaluate(
        """() => { window.scale = new labwrightInstruments.MettlerToledoScale({serialNumber: "B987654321"});
                   window.scalePort = labwrightEmulators.addSerial(scale, {usbVendorId: 0x0403, usbProductId: 0x6001}); }"""
    )
    result = run(
        bridge_page,
        """
        from pylabrobot.scales import Scale
        from pylabrobot.scales.mettler_toledo_backend import MettlerToledoWXS205SDUBackend
        backend = MettlerToledoWXS205SDUBackend()  # found by its USB id, as on a lab PC
        scale = Scale(name="scale", backend=backend, size_x=1, size_y=1, size_z=1)
        await scale.setup()
        """,
    )
    bridge_page.evaluate("() => scale.place(12.5)")
    result = run(
        bridge_page,
        """
        await scale.zero()
        """,
    )
    bridge_page.evaluate("() => scale.place(20.25)")
    result = run(
        bridge_page,
        """
        await scale.tare()
        """,
    )
    bridge_page.evaluate("() => scale.place(21.0)")
    result = run(bridge_page, "(backend.serial_number, await scale.get_weight(), backend.io.port)")
    assert result == "('B987654321', 0.75, 'webserial-0')"
    options = bridge_page.evaluate("() => scalePort.openOptions")
    assert (options["baudRate"], options["dataBits"], options["parity"], options["stopBits"]) == (9600, 8, "none", 1)
    assert bridge_page.evaluate("() => scale.received") == ["M21 0 0", "I4", "Z", "T", "S"]
    run(bridge_page, "await scale.stop()")


def test_masterflex_pump_line_settings_arrive_as_configured(bridge_page) -> None:
    bridge_page.evaluate(
        """() => { window.pump = new labwrightInstruments.MasterflexPump();
                   window.pumpPort = labwrightEmulators.addSerial(pump, {usbVendorId: 0x067b, usbProductId: 0x2303}); }"""
    )
    ports = bridge_page.evaluate("() => labwrightPorts.list()")
    name = next(p["name"] for p in ports if p["vendorId"] == 0x067B)
    run(
        bridge_page,
        f"""
        from pylabrobot.pumps import Pump
        from pylabrobot.pumps.cole_parmer.masterflex_backend import MasterflexBackend
        pump = Pump(backend=MasterflexBackend(com_port={name!r}))
        await pump.setup()
        # PLR 0.2.2's Pump frontend calls these backend coroutines without awaiting them (its
        # bug: nothing would be sent), so the commands go through the backend itself.
        await pump.backend.run_revolutions(2.5)
        await pump.backend.run_continuously(30)
        await pump.backend.halt()
        await pump.stop()
        """,
    )
    options = bridge_page.evaluate("() => pumpPort.openOptions")
    assert (options["baudRate"], options["dataBits"], options["parity"], options["stopBits"]) == (4800, 7, "odd", 1)
    state = bridge_page.evaluate("() => ({received: pump.received, enquiries: pump.enquiries, revolutions: pump.revolutions, running: pump.running})")
    assert state == {
        "received": ["\x05P02", "\x02P02V2.5G", "\x02P02S+30G0", "\x02P02H"],
        "enquiries": 1,
        "revolutions": 2.5,
        "running": False,
    }


STAR_DECK = """
from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.liquid_handling.backends.hamilton.STAR_backend import STARBackend
from pylabrobot.resources.hamilton import STARLetDeck
from pylabrobot.resources import TIP_CAR_480_A00, PLT_CAR_L5AC_A00, hamilton_96_tiprack_1000uL_filter, Cor_96_wellplate_360ul_Fb
backend = STARBackend(read_timeout=5, packet_read_timeout=1)
lh = LiquidHandler(backend=backend, deck=STARLetDeck())
tip_carrier = TIP_CAR_480_A00(name="tip_carrier"); tip_carrier[0] = tips = hamilton_96_tiprack_1000uL_filter(name="tips")
lh.deck.assign_child_resource(tip_carrier, rails=15)
plate_carrier = PLT_CAR_L5AC_A00(name="plate_carrier"); plate_carrier[0] = plate = Cor_96_wellplate_360ul_Fb(name="plate")
lh.deck.assign_child_resource(plate_carrier, rails=9)
"""


def test_hamilton_star_setup_and_tip_liquid_cycle_over_usb(bridge_page) -> None:
    bridge_page.evaluate(
        """() => { window.star = new labwrightInstruments.HamiltonSTAR();
                   labwrightEmulators.addUSB(star, {vendorId: 0x08af, productId: 0x8000, productName: "ML STAR"}); }"""
    )
    result = run(
        bridge_page,
        STAR_DECK
        + """
await lh.setup()
plate.get_well("A1").tracker.set_volume(200)
await lh.pick_up_tips(tips["A1"])
await lh.aspirate(plate["A1"], vols=[100])
await lh.dispense(plate["A2"], vols=[100])
await lh.drop_tips(tips["A1"])
import asyncio, threading
(backend.num_channels, isinstance(backend._reading_thread, asyncio.Task), threading.active_count())
""",
    )
    assert result == "(8, True, 1)"
    commands = [c[:4] for c in bridge_page.evaluate("() => star.received")]
    assert commands[:5] == ["C0RM", "C0QM", "C0RU", "C0UA", "C0QW"]
    assert commands[-5:] == ["C0TT", "C0TP", "C0AS", "C0DS", "C0TR"]
    run(bridge_page, "await lh.stop()")


def test_ftdi_hepa_fan_through_web_serial(bridge_page) -> None:
    bridge_page.evaluate(
        """() => { window.fan = new labwrightInstruments.HamiltonHepaFan();
                   window.fanPort = labwrightEmulators.addSerial(fan, {usbVendorId: 0x0856, usbProductId: 0xac11}); }"""
    )
    run(
        bridge_page,
        """
        from pylabrobot.only_fans import Fan
        from pylabrobot.only_fans.hamilton_hepa_fan_backend import HamiltonHepaFanBackend
        fan = Fan(backend=HamiltonHepaFanBackend())
        await fan.setup()
        await fan.turn_on(intensity=50)
        """,
    )
    state = bridge_page.evaluate("() => ({on: fan.on, frames: fan.received.length, options: fanPort.openOptions, signals: fanPort.signals})")
    assert state["on"] is True
    assert state["frames"] == 7
    assert (state["options"]["baudRate"], state["options"]["dataBits"], state["options"]["parity"]) == (9600, 8, "none")
    assert state["signals"]["dataTerminalReady"] is True and state["signals"]["requestToSend"] is True
    run(bridge_page, "await fan.stop()")


def test_hid_inheco_control_box(bridge_page) -> None:
    bridge_page.evaluate(
        """() => { window.box = new labwrightInstruments.InhecoControlBox();
                   labwrightEmulators.addHID(box, {vendorId: 0x03eb, productId: 0x2023}); }"""
    )
    run(
        bridge_page,
        """
        from pylabrobot.temperature_controlling.inheco.control_box import InhecoTECControlBox
        box = InhecoTECControlBox()
        await box.setup()
        await box.set_touchscreen(True)
        await box.stop()
        """,
    )
    assert bridge_page.evaluate("() => [box.touchscreen, box.received]") == [True, ["0ADD1", "0ASD"]]


# -- failures: unplug, silence, garbage -------------------------------------------------------


def _scale_setup(page, mode: str = "normal") -> None:
    page.evaluate(
        """(mode) => { window.scale = new labwrightInstruments.MettlerToledoScale();
                   window.scalePort = labwrightEmulators.addSerial(scale, {usbVendorId: 0x0403, usbProductId: 0x6001});
                   scale.mode = mode; }""",
        mode,
    )
    run(
        page,
        """
        from pylabrobot.scales.mettler_toledo_backend import MettlerToledoWXS205SDUBackend
        backend = MettlerToledoWXS205SDUBackend()
        await backend.setup()
        """,
    )


def test_unplug_mid_command_is_a_clear_error(bridge_page) -> None:
    _scale_setup(bridge_page)
    bridge_page.evaluate("() => { scale.delayMs = 800; setTimeout(() => scalePort.unplug(), 200); }")
    message = run_error(bridge_page, "await backend.send_command('S', timeout=10)")
    assert "DeviceDisconnectedError" in message and "unplugged" in message
    later = run_error(bridge_page, "await backend.send_command('S', timeout=10)")
    assert "DeviceDisconnectedError" in later
    states = bridge_page.evaluate("() => [...labwrightPorts.states.values()].map((s) => s.state)")
    assert "disconnected" in states


def test_unplugged_usb_device_fails_pending_reads(bridge_page) -> None:
    bridge_page.evaluate(
        """() => { window.star = new labwrightInstruments.HamiltonSTAR();
                   window.starDevice = labwrightEmulators.addUSB(star, {vendorId: 0x08af, productId: 0x8000}); }"""
    )
    run(bridge_page, STAR_DECK + "await lh.setup()\n")
    bridge_page.evaluate("() => { star.mode = 'silent'; setTimeout(() => starDevice.unplug(), 300); }")
    message = run_error(bridge_page, "await backend.io.read()")
    assert "DeviceDisconnectedError" in message


def test_device_that_never_answers_times_out(bridge_page) -> None:
    _scale_setup(bridge_page)
    bridge_page.evaluate("() => { scale.mode = 'silent'; }")
    started = bridge_page.evaluate("() => performance.now()")
    message = run_error(bridge_page, "await backend.send_command('S', timeout=2)")
    elapsed = bridge_page.evaluate("() => performance.now()") - started
    assert "TimeoutError" in message
    assert 1500 < elapsed < 8000
    bridge_page.evaluate("() => { scale.mode = 'normal'; scale.place(3); }")
    assert run(bridge_page, "await backend.get_weight()") == "3.0"


def test_garbage_from_the_device_surfaces_the_backends_error(bridge_page) -> None:
    _scale_setup(bridge_page)
    bridge_page.evaluate("() => { scale.mode = 'garbage'; }")
    message = run_error(bridge_page, "await backend.get_weight()")
    assert "UnicodeDecodeError" in message
    bridge_page.evaluate("() => { scale.mode = 'normal'; scale.place(1.5); }")
    assert run(bridge_page, "await backend.get_weight()") == "1.5"


def test_capture_through_the_bridge_replays_with_plr_validation(bridge_page) -> None:
    bridge_page.evaluate(
        """() => { window.scale = new labwrightInstruments.MettlerToledoScale();
                   labwrightEmulators.addSerial(scale, {usbVendorId: 0x0403, usbProductId: 0x6001}); scale.place(4.25); }"""
    )
    capture = run(
        bridge_page,
        """
        import json
        from pylabrobot.io import start_capture, stop_capture, validate, end_validation
        from pylabrobot.scales.mettler_toledo_backend import MettlerToledoWXS205SDUBackend
        backend = MettlerToledoWXS205SDUBackend()
        start_capture("/tmp/scale_capture.json")
        await backend.setup()
        weight = await backend.get_weight()
        stop_capture()
        open("/tmp/scale_capture.json").read()
        """,
    )
    commands = json.loads(eval(capture))["commands"]
    assert [c["action"] for c in commands] == ["write", "readline", "write", "readline", "write", "readline"]
    assert commands[-1]["data"] == "S S 4.25000 g\r\n"
    replayed = run(
        bridge_page,
        """
        validate("/tmp/scale_capture.json")
        await backend.setup()
        replayed = await backend.get_weight()
        end_validation()
        (type(backend.io).__name__, replayed)
        """,
    )
    assert replayed == "('SerialValidator', 4.25)"


WEIGH = '''
from pylabrobot.scales import Scale
from browser_runtime.protocols import protocol_function

@protocol_function(name="Weigh a sample")
async def weigh(scale: Scale) -> float:
    await scale.zero()
    return await scale.get_weight()
'''


def test_a_protocol_runs_on_the_emulated_scale_as_a_hardware_run(bridge_page) -> None:
    """labwright.run(..., {simulate: false, backends}) drives the instrument, not a simulator."""
    bridge_page.evaluate(
        """() => { window.scale = new labwrightInstruments.MettlerToledoScale({serialNumber: "B555"});
                   labwrightEmulators.addSerial(scale, {usbVendorId: 0x0403, usbProductId: 0x6001});
                   scale.place(4.5); }"""
    )
    bridge_page.evaluate("window.labwright.catalog.loaded")
    result = bridge_page.evaluate(
        """(source) => window.labwright.run(source, {simulate: false, backends: {scale: {
             backend: "pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend",
             kwargs: {port: "0403:6001"}}}})""",
        WEIGH,
    )
    assert result["status"] == "completed", result["error"]
    assert result["plan"]["parameters"]["scale"]["hardware"] is True
    commands = [e["command"] for e in result["events"] if e["type"] == "command"]
    assert commands[0] == "setup" and "zero" in commands and commands[-1] == "stop"
    # The bytes reached the instrument: zero, then a stable weight read (0 after zeroing).
    received = bridge_page.evaluate("() => scale.received")
    assert received[-2:] == ["Z", "S"] and result["value"] == 0.0
    history = bridge_page.evaluate("(id) => window.labwright.runs.get(id)", result["run_id"])
    assert history["simulate"] in (False, 0)
    # Without the instrument's backend named, nothing runs.
    refused = bridge_page.evaluate(
        "(source) => window.labwright.run(source, {simulate: false}).then(() => 'ran', e => e.message)", WEIGH)
    assert "needs `backends`" in refused
