"""Hardware runs on each emulated instrument: what to plug in, the protocol, its backends.

Shared by the capture test (each run recorded, replayed, and checked against the shipped capture)
and the CPython replay of the shipped captures (tests/unit/webbridge/test_shipped_captures.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CAPTURES = Path(__file__).resolve().parents[1] / "fixtures" / "captures"

HHS = "pylabrobot.heating_shaking.hamilton_backend.HamiltonHeaterShakerBackend"
BOX = "pylabrobot.heating_shaking.hamilton_backend.HamiltonHeaterShakerBox"
STAR = "pylabrobot.liquid_handling.backends.hamilton.STAR_backend.STARBackend"


@dataclass(frozen=True)
class DeviceRun:
    name: str
    plugged: str  # JS run before the page loads: window.instrument, the emulated device
    source: str
    backends: dict[str, Any]
    expected_value: Any = None
    parameters: dict[str, Any] = field(default_factory=dict)


def _protocol(imports: str, signature: str, body: str) -> str:
    lines = "\n".join(f"    {line}" for line in body.strip().splitlines())
    return f"{imports.strip()}\nfrom browser_runtime.protocols import protocol_function\n\n\n@protocol_function\nasync def {signature}:\n{lines}\n"


RUNS = [
    DeviceRun(
        "mettler_scale",
        """window.instrument = new labwrightInstruments.MettlerToledoScale({serialNumber: "B555", grossGrams: 4.5});
           labwrightEmulators.addSerial(instrument, {usbVendorId: 0x0403, usbProductId: 0x6001});""",
        _protocol("from pylabrobot.scales import Scale", "weigh(scale: Scale) -> float",
                  "await scale.zero()\nreturn await scale.get_weight()"),
        {"scale": {"backend": "pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend",
                   "kwargs": {"port": "0403:6001"}}},
        0.0,
    ),
    DeviceRun(
        "masterflex_pump",
        """window.instrument = new labwrightInstruments.MasterflexPump();
           labwrightEmulators.addSerial(instrument, {usbVendorId: 0x067b, usbProductId: 0x2303});""",
        # PLR 0.2.2's Pump frontend does not await its backend: the protocol calls the backend.
        _protocol("from pylabrobot.pumps import Pump", "dose(pump: Pump) -> None",
                  "await pump.backend.run_revolutions(2.5)\nawait pump.backend.halt()"),
        {"pump": {"backend": "pylabrobot.pumps.cole_parmer.masterflex_backend.MasterflexBackend",
                  "kwargs": {"com_port": "067B:2303"}}},
    ),
    DeviceRun(
        "hepa_fan_web_serial",
        """window.instrument = new labwrightInstruments.HamiltonHepaFan();
           labwrightEmulators.addSerial(instrument, {usbVendorId: 0x0856, usbProductId: 0xac11});""",
        _protocol("from pylabrobot.only_fans import Fan", "ventilate(fan: Fan) -> None",
                  "await fan.turn_on(intensity=50)\nawait fan.turn_off()"),
        {"fan": {"backend": "pylabrobot.only_fans.hamilton_hepa_fan_backend.HamiltonHepaFanBackend", "kwargs": {}}},
    ),
    DeviceRun(
        "hepa_fan_ftdi_webusb",
        """window.instrument = new labwrightInstruments.HamiltonHepaFan();
           labwrightEmulators.addFtdiUSB(instrument, {vendorId: 0x0856, productId: 0xac11, productName: "HEPA fan", serialNumber: "FT0001"});""",
        _protocol("from pylabrobot.only_fans import Fan", "ventilate(fan: Fan) -> None",
                  "await fan.turn_on(intensity=80)\nawait fan.turn_off()"),
        {"fan": {"backend": "pylabrobot.only_fans.hamilton_hepa_fan_backend.HamiltonHepaFanBackend", "kwargs": {}}},
    ),
    DeviceRun(
        "inheco_control_box",
        """window.instrument = new labwrightInstruments.InhecoControlBox();
           labwrightEmulators.addHID(instrument, {vendorId: 0x03eb, productId: 0x2023});""",
        _protocol("from pylabrobot.temperature_controlling import TemperatureController",
                  "hold(tc: TemperatureController) -> float",
                  "await tc.set_temperature(37)\nreturn await tc.get_temperature()"),
        {"tc": {"backend": "pylabrobot.temperature_controlling.inheco.cpac_backend.InhecoCPACBackend",
                "kwargs": {"index": 1, "control_box": {
                    "backend": "pylabrobot.temperature_controlling.inheco.control_box.InhecoTECControlBox",
                    "kwargs": {}}}}},
        37.0,
    ),
    DeviceRun(
        "hamilton_star",
        """window.instrument = new labwrightInstruments.HamiltonSTAR();
           labwrightEmulators.addUSB(instrument, {vendorId: 0x08af, productId: 0x8000, productName: "ML STAR", serialNumber: "F123"});""",
        _protocol("from pylabrobot.liquid_handling import LiquidHandler\nfrom pylabrobot.resources import TipRack",
                  "tips_on_and_off(lh: LiquidHandler, tips: TipRack) -> int",
                  "await lh.pick_up_tips(tips['A1:D1'])\nawait lh.drop_tips(tips['A1:D1'])\nreturn lh.backend.num_channels"),
        {"lh": {"backend": STAR, "kwargs": {"read_timeout": 5, "packet_read_timeout": 1}}},
        8,
    ),
    DeviceRun(
        "heater_shaker_box",
        """window.instrument = new labwrightInstruments.HamiltonHeaterShakerBox({shakers: [1, 2]});
           labwrightEmulators.addUSB(instrument, {vendorId: 0x08af, productId: 0x8002, serialNumber: "HHSBOX1"});""",
        _protocol("from pylabrobot.heating_shaking import HeaterShaker",
                  "warm_and_shake(hs1: HeaterShaker, hs2: HeaterShaker) -> list",
                  "await hs1.set_temperature(37)\nawait hs2.set_temperature(42)\nawait hs1.shake(speed=800)\n"
                  "temperatures = [await hs1.get_temperature(), await hs2.get_temperature()]\n"
                  "await hs1.stop_shaking()\nreturn temperatures"),
        {name: {"backend": HHS, "kwargs": {"index": index, "interface": {"backend": BOX, "kwargs": {}}}}
         for name, index in (("hs1", 1), ("hs2", 2))},
        [37.0, 42.0],
    ),
    DeviceRun(
        "inheco_incubator_stack",
        """window.instrument = new labwrightInstruments.InhecoIncubatorStack({units: ["incubator_shaker_mp", "incubator_shaker_dwp"]});
           labwrightEmulators.addSerial(instrument, {usbVendorId: 0x0403, usbProductId: 0x6001});""",
        _protocol("from pylabrobot.storage.inheco import IncubatorShakerStack",
                  "incubate(stack: IncubatorShakerStack) -> list",
                  "await stack[0].start_temperature_control(37.0)\nawait stack[1].start_temperature_control(30.0)\n"
                  "await stack[0].shake(rpm=600)\n"
                  "temperatures = [await stack[0].get_temperature(), await stack[1].get_temperature()]\n"
                  "await stack[0].stop_shaking()\nreturn temperatures"),
        {"stack": {"backend": "pylabrobot.storage.inheco.incubator_shaker_backend.InhecoIncubatorShakerStackBackend",
                   "kwargs": {"port": "0403:6001"}}},
        [37.0, 30.0],
    ),
]


def host_commands(capture: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What the host sent (module, action, data): what a protocol decides. What the device sent
    back and when it was read depends on timing for backends that poll."""
    replies = {"read", "readline", "ctrl_transfer_response", "poll_modem_status"}
    return [(c["module"], c["action"], c["data"]) for c in capture["commands"] if c["action"] not in replies]
