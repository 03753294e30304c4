"""Rules the catalog owns: how class names become kinds (snake_case), which class is a kind's
generic frontend, and what a backend's constructor takes (stored at build time, as Python sees it)."""

from __future__ import annotations

import inspect

import pytest

from browser_runtime.catalog import snake_case


@pytest.mark.parametrize(("name", "snake"), [
    ("ExperimentalSCARA", "experimental_scara"),
    ("LiquidHandler", "liquid_handler"),
    ("HeaterShaker", "heater_shaker"),
    ("STARBackend", "star_backend"),
    ("HTTPBackend", "http_backend"),
    ("PlateReader", "plate_reader"),
    ("Cor_96_wellplate_360ul_Fb", "cor_96_wellplate_360ul_fb"),
])
def test_snake_case_keeps_acronyms_whole(name: str, snake: str):
    assert snake_case(name) == snake


def test_every_kind_has_its_generic_frontend(catalog):
    assert catalog.frontend_for("scale")["fqn"] == "pylabrobot.scales.scale.Scale"
    assert catalog.frontend_for("experimental_scara")["name"] == "ExperimentalSCARA"
    assert catalog.frontend_for("plate_reader")["fqn"] == "pylabrobot.plate_reading.plate_reader.PlateReader"
    assert catalog.frontend_for("no_such_kind") is None and catalog.frontend_for(None) is None
    for kind in {m["kind"] for m in catalog.entries("machines")}:
        frontend = catalog.frontend_for(kind)
        assert frontend["kind"] == kind
        named = [m for m in catalog.entries("machines") if m["kind"] == kind and snake_case(m["name"]) == kind]
        assert not named or frontend in named, kind  # the class the kind is named after, when there is one


def test_constructor_parameters_are_stored_as_source_text(catalog):
    mettler = catalog.get("pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend")
    assert mettler["parameters"] == [
        {"name": "port", "required": False, "default": "None", "annotation": "Optional[str]"},
        {"name": "vid", "required": False, "default": "0x0403", "annotation": "int"},
        {"name": "pid", "required": False, "default": "0x6001", "annotation": "int"},
    ]
    assert mettler["open_keywords"] is False
    # No __init__ of its own: Python runs the one found along the MRO, and so does the catalog.
    heater = catalog.get("pylabrobot.heating_shaking.chatterbox.HeaterShakerChatterboxBackend")
    assert [(p["name"], p["default"]) for p in heater["parameters"]] == [("dummy_temperature", "0.0")]


@pytest.mark.cpython
def test_constructor_parameters_are_what_python_binds(catalog, plr_classes):
    """For every importable backend: the catalog's own parameters are ``inspect.signature``'s
    (names, order, required), and a ``**kwargs`` Python shows is followed, never dropped."""
    checked = 0
    for fqn, cls in plr_classes["backends"].items():
        entry = catalog.get(fqn)
        if entry is None:
            continue
        signature = inspect.signature(cls)
        named = [p for p in signature.parameters.values() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        stored = entry["parameters"][:len(named)]
        assert [(p["name"], p["required"]) for p in stored] == [
            (p.name, p.default is inspect.Parameter.empty) for p in named], fqn
        if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
            assert len(entry["parameters"]) == len(named) and not entry["open_keywords"], fqn
        checked += 1
    assert checked > 50
