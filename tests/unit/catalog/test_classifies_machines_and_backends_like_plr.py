"""The catalog's machines and backends are exactly PLR's, classified by inheritance."""

from __future__ import annotations

import inspect
import typing


def test_machines_are_exactly_plr_machine_subclasses(document, plr_classes):
    assert {m["fqn"] for m in document["machines"]} == set(plr_classes["machines"])
    # PLR 0.2.2 has 28 frontends outside its test modules (introspection agrees with the issue).
    assert len(document["machines"]) == 28


def test_backends_are_exactly_plr_concrete_backends(document, plr_classes):
    assert {b["fqn"] for b in document["backends"]} == set(plr_classes["backends"])
    assert len(document["backends"]) == 73


def _backend_type(frontend):
    hints = typing.get_type_hints(frontend.__init__)
    backend = hints.get("backend")
    args = [a for a in typing.get_args(backend) if a is not type(None)]
    return args[0] if args else backend


def test_machine_kinds(catalog, plr_classes):
    kinds = {m["name"]: m["kind"] for m in catalog.entries("machines")}
    assert kinds["ByonoyAbsorbance96Automate"] == "plate_reader"
    assert kinds["LiquidHandler"] == "liquid_handler"
    assert kinds["HeaterShaker"] == "heater_shaker"
    assert kinds["HamiltonTiltModule"] == "tilter"
    assert kinds["OpentronsThermocyclerModuleV2"] == "thermocycler"
    assert kinds["Scale"] == "scale"
    # A frontend always has the kind of a frontend it derives from (or itself).
    for entry in catalog.entries("machines"):
        cls = plr_classes["machines"][entry["fqn"]]
        names = {_snake(c.__name__) for c in cls.__mro__}
        assert entry["kind"] in names, entry


def _snake(name):
    from browser_runtime.catalog.classify import snake_case

    return snake_case(name)


def test_backend_frontend_kind_follows_inheritance(catalog, plr_classes):
    """Each backend serves the generic frontend whose __init__ declares a base of the backend."""
    machine_classes = plr_classes["machines"]
    for entry in catalog.entries("backends"):
        backend = plr_classes["backends"][entry["fqn"]]
        if entry["frontend_kind"] is None:
            # No frontend declares any of its bases: check that is really so.
            for frontend in machine_classes.values():
                declared = _backend_type(frontend)
                assert not (
                    inspect.isclass(declared)
                    and issubclass(backend, declared)
                    and declared.__name__ != backend.__name__
                    and inspect.isabstract(declared)
                ), (entry["fqn"], frontend)
            continue
        matching = [
            f
            for f in machine_classes.values()
            if inspect.isclass(_backend_type(f)) and issubclass(backend, _backend_type(f))
        ]
        kinds = {
            m["kind"]
            for m in catalog.entries("machines")
            if m["fqn"] in {f"{f.__module__}.{f.__qualname__}" for f in matching}
        }
        assert entry["frontend_kind"] in kinds, (entry["fqn"], entry["frontend_kind"], kinds)


def test_backends_named_in_the_issue(catalog):
    star = catalog.get("pylabrobot.liquid_handling.backends.hamilton.STAR_backend.STARBackend")
    assert star["io"] == "usb" and star["usb_ids"] == [{"vid": 0x08AF, "pid": 0x8000}]
    assert star["frontend_kind"] == "liquid_handler" and not star["simulator"]

    clario = catalog.get(
        "pylabrobot.plate_reading.bmg_labtech.clario_star_backend.CLARIOstarBackend"
    )
    assert clario["io"] == "ftdi" and clario["usb_ids"] == [{"vid": 0x0403, "pid": 0xBB68}]
    assert clario["serial"]["baudrate"] == 125000
    assert (
        clario["serial"]["bytesize"],
        clario["serial"]["parity"],
        clario["serial"]["stopbits"],
    ) == (8, "N", 1)

    byonoy = catalog.get(
        "pylabrobot.plate_reading.byonoy.byonoy_backend.ByonoyAbsorbance96AutomateBackend"
    )
    assert byonoy["io"] == "hid" and byonoy["usb_ids"] == [{"vid": 0x16D0, "pid": 0x1199}]

    masterflex = catalog.get("pylabrobot.pumps.cole_parmer.masterflex_backend.MasterflexBackend")
    assert masterflex["io"] == "serial"
    serial = masterflex["serial"]
    assert (serial["baudrate"], serial["bytesize"], serial["parity"], serial["stopbits"]) == (
        4800,
        7,
        "O",
        1,
    )

    mettler = catalog.get("pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend")
    assert mettler["io"] == "serial" and mettler["serial"]["baudrate"] == 9600
    assert mettler["usb_ids"] == [{"vid": 0x0403, "pid": 0x6001}]


def test_simulators_need_no_hardware(catalog, plr_classes):
    """PLR names its hardware-free backends Chatterbox/Simulator; the catalog finds them by code."""
    for entry in catalog.entries("backends"):
        named = "Chatterbox" in entry["name"] or "Simulator" in entry["name"]
        assert entry["simulator"] == named, entry["fqn"]
        if entry["simulator"]:
            assert entry["io"] == "none" and entry["usb_ids"] == []
    assert catalog.get(
        "pylabrobot.liquid_handling.backends.hamilton.STAR_chatterbox.STARChatterboxBackend"
    )["simulator"]


def test_io_kinds_are_known(catalog):
    allowed = {"serial", "usb", "ftdi", "hid", "socket", "http", "none", "via_interface"}
    assert {b["io"] for b in catalog.entries("backends")} <= allowed
    hhs = catalog.get("pylabrobot.heating_shaking.hamilton_backend.HamiltonHeaterShakerBackend")
    assert hhs["io"] == "via_interface"
    ot2 = catalog.get("pylabrobot.liquid_handling.backends.opentrons_backend.OpentronsOT2Backend")
    assert ot2["io"] == "http"
