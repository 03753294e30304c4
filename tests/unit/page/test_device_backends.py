"""Area ``devices``: which backends can drive a granted device (best first, with why), the choosers'
USB ids and a backend's settings filled in for the device, all from the catalog."""

from __future__ import annotations

import pytest

from browser_runtime.page import devices

STAR = "pylabrobot.liquid_handling.backends.hamilton.STAR_backend.STARBackend"
SCALE = "pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend"
STAR_ID = (0x08AF, 0x8000)
BOX = "pylabrobot.heating_shaking.hamilton_backend.HamiltonHeaterShakerBox"
BOX_ID = (0x08AF, 0x8002)
HHS = "pylabrobot.heating_shaking.hamilton_backend.HamiltonHeaterShakerBackend"


def _names(found: dict) -> list[str]:
    return [entry["name"] for entry in found["backends"]]


def test_a_usb_id_some_backends_declare_offers_only_those_alias_after_its_base(page_session):
    found = devices.backends_for(page_session, "usb", *STAR_ID)
    assert found["matched"] is True and found["io_kinds"] == ["usb", "ftdi"]
    assert _names(found) == ["STARBackend", "STAR"]  # STAR(STARBackend) is PLR's renamed alias
    star, alias = found["backends"]
    assert star["fqn"] == STAR and star["frontend_kind"] == "liquid_handler" and star["why"] == ["declares USB id 08AF:8000"]
    assert alias["why"] == ["declares USB id 08AF:8000", "a subclass of STARBackend, listed after it"]


def test_an_id_declared_by_two_serial_backends_lists_them_by_name(page_session):
    found = devices.backends_for(page_session, "serial", 0x0403, 0x6001)
    assert _names(found) == ["InhecoIncubatorShakerStackBackend", "MettlerToledoWXS205SDUBackend"]
    scale = found["backends"][1]
    assert scale["serial"]["baudrate"] == 9600 and scale["io"] == "serial"


def test_an_unknown_id_offers_every_backend_of_the_kind_deprecated_last(page_session, plr_catalog):
    found = devices.backends_for(page_session, "serial", 0x067B, 0x2303)
    assert found["matched"] is False
    names = _names(found)
    expected = {e["name"] for e in plr_catalog.entries("backends")
                if e.get("io") in ("serial", "ftdi") and not e.get("simulator")}
    assert set(names) == expected and {"MasterflexBackend", "CLARIOstarBackend"} <= set(names)
    assert "none declares USB id 067B:2303" in found["backends"][0]["why"][0]
    ranks = [(e["deprecated"], any("subclass" in why for why in e["why"])) for e in found["backends"]]
    assert ranks == sorted(ranks, key=lambda r: 2 * r[0] + r[1])  # deprecated last, aliases before them
    usb = devices.backends_for(page_session, "usb")
    assert usb["matched"] is False and _names(usb)[-1] == "EVO"  # the one deprecated USB backend
    assert usb["backends"][-1]["why"][-1].startswith("deprecated: `EVO` is deprecated")


def test_an_unknown_device_kind_is_refused(page_session):
    with pytest.raises(ValueError, match="'bluetooth'"):
        devices.backends_for(page_session, "bluetooth")


def test_the_choosers_filter_by_every_id_a_fitting_backend_declares(page_session, plr_catalog):
    ids = devices.usb_ids(page_session)
    hardware = [e for e in plr_catalog.entries("backends")
                if e.get("io") not in (None, "none", "via_interface") and not e.get("simulator")]
    assert ids["backends"] == len(hardware)
    # the boxes heater-shakers and Inheco TEC devices talk through are devices of their own
    interfaces = {"usb": {BOX_ID}, "serial": set(), "hid": {(0x03EB, 0x2023)}}
    for kind, io_kinds in {"serial": ("serial", "ftdi"), "usb": ("usb", "ftdi"), "hid": ("hid",)}.items():
        declared = {(u["vid"], u["pid"]) for e in hardware if e["io"] in io_kinds for u in e.get("usb_ids") or []}
        listed = [(u["vid"], u["pid"]) for u in ids["choosers"][kind]]
        assert set(listed) == declared | interfaces[kind] and len(listed) == len(set(listed))  # each once
    assert {"vid": 0x0856, "pid": 0xAC11} in ids["ftdi"]  # the HEPA fan's FTDI chip, with Hamilton's ids
    assert STAR_ID not in [(u["vid"], u["pid"]) for u in ids["ftdi"]]


def test_a_general_purpose_chip_or_an_id_of_several_machine_kinds_preselects_nothing(page_session):
    ftdi = devices.backends_for(page_session, "serial", 0x0403, 0x6001)  # a balance or an incubator stack
    assert ftdi["preselect"] is None and "general-purpose USB-serial chip (FTDI FT232R)" in ftdi["ambiguous"]
    star = devices.backends_for(page_session, "usb", *STAR_ID)  # both candidates drive a liquid handler
    assert star["preselect"] == STAR and star["ambiguous"] is None
    fan = devices.backends_for(page_session, "serial", 0x0856, 0xAC11)  # an FTDI chip with Hamilton's own ids
    assert fan["preselect"].endswith("HamiltonHepaFanBackend")
    unknown = devices.backends_for(page_session, "serial", 0x067B, 0x2303)
    assert unknown["preselect"] is None and unknown["ambiguous"] is None  # nothing declares it: nothing to guess


def test_a_box_is_offered_with_the_machines_that_talk_through_it(page_session):
    found = devices.backends_for(page_session, "usb", *BOX_ID)
    assert _names(found) == ["HamiltonHeaterShakerBox"] and found["preselect"] == BOX
    box = found["backends"][0]
    assert box["interface"] is True and "carries other machines' commands" in box["why"][1]
    assert [(r["name"], r["parameter"]) for r in box["routes"]] == [("HamiltonHeaterShakerBackend", "interface")]
    star = devices.backends_for(page_session, "usb", *STAR_ID)["backends"][0]  # a STAR's TCC ports too
    assert [r["name"] for r in star["routes"]] == ["HamiltonHeaterShakerBackend"]
    control_box = devices.backends_for(page_session, "hid", 0x03EB, 0x2023)["backends"][0]
    assert {r["name"] for r in control_box["routes"]} == {
        "InhecoThermoshakeBackend", "InhecoCPACBackend", "InhecoTemperatureControllerBackend"}


def test_a_routed_machines_run_spec_names_the_interface_it_talks_through(page_session):
    spec = devices.run_spec(page_session, HHS, {"index": "2"}, "webusb-0/1",
                            interface={"backend": BOX, "settings": {"serial_number": "'HHS1'"}})
    assert spec == {"backend": HHS, "kwargs": {"index": 2, "interface": {"backend": BOX, "kwargs": {"serial_number": "HHS1"}}}}
    with pytest.raises(ValueError, match="cannot talk through a MettlerToledoWXS205SDUBackend"):
        devices.run_spec(page_session, HHS, {"index": "2"}, "x", interface={"backend": SCALE, "settings": {}})
    parameters = {p["name"]: p for p in devices.backend_parameters(page_session, HHS)}
    assert parameters["interface"]["interface"] is True and parameters["index"]["interface"] is False


def test_settings_are_filled_in_for_the_device(page_session):
    star = {p["name"]: p for p in devices.backend_parameters(
        page_session, STAR, {"name": "webusb-0", "kind": "usb", "serial_number": "F123"})}
    assert star["serial_number"]["value"] == "'F123'"
    assert star["read_timeout"]["value"] == star["read_timeout"]["default"] == "30"
    scale = {p["name"]: p for p in devices.backend_parameters(page_session, SCALE, {"name": "webserial-0", "kind": "serial"})}
    assert scale["port"]["value"] == "'webserial-0'"
    # the parameters that name the device are filled in anew on every load, never remembered
    assert scale["port"]["device"] is True and star["serial_number"]["device"] is True
    assert star["read_timeout"]["device"] is False
    # without a device the defaults are what is filled in
    plain = {p["name"]: p for p in devices.backend_parameters(page_session, SCALE)}
    assert plain["port"]["value"] == (plain["port"]["default"] or "")


def test_a_line_setting_the_constructor_leaves_open_comes_from_the_catalog():
    # No PLR 0.2.2 backend takes a line setting in its constructor; a lab's own backend may.
    serial = {"baudrate": 4800, "parity": "O", "stopbits": 1.5, "rtscts": True}
    device = {"name": "webserial-3", "kind": "serial"}
    assert devices._suggested("baudrate", "None", "serial", device, serial) == "4800"
    assert devices._suggested("parity", None, "serial", device, serial) == "'O'"
    assert devices._suggested("stopbits", None, "serial", device, serial) == "1.5"
    assert devices._suggested("rtscts", None, "serial", device, serial) == "True"
    assert devices._suggested("baudrate", "9600", "serial", device, serial) == "9600"  # its own default wins
    assert devices._suggested("com_port", None, "serial", device, serial) == "'webserial-3'"
    assert devices._suggested("port", None, "usb", device, serial) == ""  # a USB device is no serial port
