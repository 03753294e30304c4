"""install() puts the bridge's IO classes where PLR's backends look them up, and nothing else."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import pylabrobot.io.ftdi
import pylabrobot.io.hid
import pylabrobot.io.serial
import pylabrobot.io.usb
import pylabrobot.io.validation
import pylabrobot.scales.mettler_toledo_backend as mettler
from browser_runtime import webbridge
from browser_runtime.webbridge.ftdi import FTDI
from browser_runtime.webbridge.hid import HID
from browser_runtime.webbridge.serial import Serial, web_serial_options
from browser_runtime.webbridge.transport import OPS
from browser_runtime.webbridge.usb import USB

ROOT = Path(__file__).resolve().parents[3]
ORIGINALS = {
    Serial: pylabrobot.io.serial.Serial,
    USB: pylabrobot.io.usb.USB,
    FTDI: pylabrobot.io.ftdi.FTDI,
    HID: pylabrobot.io.hid.HID,
}


@pytest.fixture
def installed():
    report = webbridge.install(transport=object())  # no IO happens in these tests
    yield report
    webbridge.uninstall()


@pytest.mark.parametrize("ours", list(ORIGINALS), ids=lambda c: c.__name__)
def test_same_constructor_and_methods_as_plr(ours) -> None:
    original = ORIGINALS[ours]
    def shape(cls):
        return [(p.name, p.kind, p.default) for p in inspect.signature(cls.__init__).parameters.values()]

    assert shape(ours) == shape(original)
    assert issubclass(ours, original)
    for name, member in vars(original).items():
        if inspect.iscoroutinefunction(member) or isinstance(member, property):
            assert name in vars(ours) or name in ("serialize", "deserialize", "device_id", "port", "get_serial"), name


def test_install_rebinds_defining_and_already_imported_modules(installed) -> None:
    assert pylabrobot.io.serial.Serial is Serial
    assert mettler.Serial is Serial  # imported before install()
    assert pylabrobot.io.validation.USB is USB  # so PLR's replay maps ours to its validators
    assert "pylabrobot.scales.mettler_toledo_backend.Serial" in installed.rebound
    assert any(name.endswith("HamiltonLiquidHandler._start_reading") for name in installed.threads)
    backend = mettler.MettlerToledoWXS205SDUBackend(port="webserial-0")
    assert type(backend.io) is Serial
    assert backend.io.serialize()["port"] == "webserial-0"  # PLR's own serialize, inherited


def test_uninstall_restores_plr(installed) -> None:
    webbridge.uninstall()
    assert mettler.Serial is ORIGINALS[Serial]
    assert pylabrobot.io.validation.HID is ORIGINALS[HID]
    webbridge.install(transport=object())  # the fixture uninstalls again


def test_line_settings_in_web_serial_terms() -> None:
    assert web_serial_options(4800, 7, "O", 1, False) == {
        "baudRate": 4800,
        "dataBits": 7,
        "parity": "odd",
        "stopBits": 1,
        "flowControl": "none",
    }
    with pytest.raises(ValueError, match="parity 'M'"):
        web_serial_options(9600, 8, "M", 1, False)
    with pytest.raises(ValueError, match="stopbits 1.5"):
        web_serial_options(9600, 8, "N", 1.5, False)


def test_operation_names_match_the_js_protocol() -> None:
    source = (ROOT / "web" / "io" / "io-protocol.js").read_text()
    block = source.split("export const IO_OPS = Object.freeze({", 1)[1].split("});", 1)[0]
    js_ops = set(re.findall(r':\s*"([\w.]+)"', block))
    assert js_ops == set(vars(OPS).values())


def test_error_types_match_the_js_protocol() -> None:
    from browser_runtime.webbridge.transport import _ERRORS, error_for

    source = (ROOT / "web" / "io" / "io-protocol.js").read_text()
    block = source.split("export const ERRORS = Object.freeze({", 1)[1].split("});", 1)[0]
    js_types = set(re.findall(r':\s*"(\w+)"', block))
    assert js_types == set(_ERRORS)
    assert isinstance(error_for("DriverBlocked", "could not open webusb-0"), webbridge.DeviceDriverError)


def test_io_before_any_transport_is_a_clear_error() -> None:
    webbridge.set_transport(None)
    from browser_runtime import IN_PYODIDE

    if IN_PYODIDE:
        pytest.skip("the page's transport exists in Pyodide")
    with pytest.raises(webbridge.WebBridgeError, match="set_transport"):
        webbridge.get_transport()


def test_an_ftdi_interface_other_than_a_is_refused_not_quietly_opened_as_a(run_async) -> None:
    with pytest.raises(RuntimeError, match="interface_select=2 .* interface A only"):
        run_async(FTDI("VSpin", vid=0x0403, pid=0x6011, interface_select=2).setup())
