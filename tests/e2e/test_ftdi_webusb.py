"""An FTDI instrument granted as a USB device: FTDI's vendor protocol over WebUSB, real PLR backend."""

from __future__ import annotations

import textwrap

import pytest

from tests.e2e.conftest import open_with_emulated_devices


@pytest.fixture
def ftdi_page(context, server_url: str):
    page = open_with_emulated_devices(context, server_url)
    # the picker makes the catalog's FTDI instruments with their own USB ids known
    page.wait_for_function("() => document.querySelector('#device-picker')?.dataset.state === 'ready'")
    yield page
    page.close()


def run(page, code: str) -> str:
    return page.evaluate("(code) => window.labwright.runPython(code)", textwrap.dedent(code))


def test_baud_divisors_are_ftdis(ftdi_page) -> None:
    divisors = ftdi_page.evaluate(
        "() => import('./io/ftdi.js').then((m) => [9600, 19200, 115200, 125000, 3000000].map(m.ftdiBaudDivisor))")
    # FT232R divisors as libftdi and Linux's ftdi_sio compute them
    assert divisors == [0x4138, 0x809C, 0x001A, 0x0018, 0]


def test_hepa_fan_through_the_ftdi_vendor_protocol(ftdi_page) -> None:
    page = ftdi_page
    page.evaluate(
        """() => { window.fan = new labwrightInstruments.HamiltonHepaFan();
                   window.fanChip = labwrightEmulators.addFtdiUSB(fan, {vendorId: 0x0856, productId: 0xac11, productName: "HEPA fan"}); }"""
    )
    result = run(
        page,
        """
        from pylabrobot.only_fans import Fan
        from pylabrobot.only_fans.hamilton_hepa_fan_backend import HamiltonHepaFanBackend
        fan = Fan(backend=HamiltonHepaFanBackend())
        await fan.setup()
        await fan.turn_on(intensity=50)
        fan.backend.io.device_id
        """,
    )
    assert result == "'webusb-0'"
    state = page.evaluate("() => ({on: fan.on, frames: fan.received.length, chip: fanChip.ftdi})")
    assert state["on"] is True and state["frames"] == 7
    chip = state["chip"]
    assert chip["baudDivisor"] == 0x4138 and chip["data"] == 8  # 9600 baud, 8N1
    assert chip["dtr"] is True and chip["rts"] is True
    assert 0 in chip["resets"]  # the chip was reset before use
    # every reply came back without the two modem status bytes of each packet
    replies = run(page, "await fan.backend.io.read(64)")
    assert replies == "b''"
    run(page, "await fan.stop()")
    assert page.evaluate("() => fanChip.opened") is False
