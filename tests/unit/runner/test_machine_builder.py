"""The one machine builder (browser_runtime.machines): generic frontends from the catalog,
simulated or hardware backends, keywords checked against the catalog's stored parameters."""

from __future__ import annotations

import pytest

from browser_runtime.errors import LabwrightError
from browser_runtime.machines import (
    SimulationError,
    backend_problems,
    build_device_machine,
    build_simulated_machine,
    frontend_for,
    hardware_backend,
    simulator_backend_for,
)

METTLER = "pylabrobot.scales.mettler_toledo_backend.MettlerToledoWXS205SDUBackend"


def test_kinds_resolve_to_generic_frontends_and_chatterboxes(plr_catalog):
    assert frontend_for(plr_catalog, "heater_shaker")["name"] == "HeaterShaker"
    assert simulator_backend_for(plr_catalog, "scale")["name"] == "ScaleChatterboxBackend"
    with pytest.raises(SimulationError, match="no machine of kind 'toaster'"):
        frontend_for(plr_catalog, "toaster")
    assert issubclass(SimulationError, LabwrightError)


def test_backend_keywords_are_checked_against_the_catalog(plr_catalog):
    entry = plr_catalog.get(METTLER)
    assert backend_problems(entry, {"port": "COM3", "vid": 0x0403}) == []
    problems = backend_problems(entry, {"baud": 9600, "vid": "0403", "port": 5}, where="config")
    assert problems == [
        {"loc": "config.baud", "message": "unknown field: MettlerToledoWXS205SDUBackend takes no 'baud'"},
        {"loc": "config.port", "message": "must be Optional[str]"},
        {"loc": "config.vid", "message": "must be int"},
    ]
    ot2 = plr_catalog.get("pylabrobot.liquid_handling.backends.opentrons_backend.OpentronsOT2Backend")
    assert backend_problems(ot2, {}) == [{"loc": "kwargs.host", "message": "is required by the backend"}]
    assert backend_problems(ot2, {}, implied={"host"}) == []


def test_a_hardware_backend_is_refused_before_it_is_built(plr_catalog):
    with pytest.raises(SimulationError, match=r"backends\.scale\.kwargs: baud: unknown field"):
        hardware_backend(plr_catalog, "scale", {"backend": METTLER, "kwargs": {"baud": 1}}, "backends.scale")
    backend = hardware_backend(plr_catalog, "scale", {"backend": METTLER, "kwargs": {"port": "COM9"}},
                               "backends.scale")
    assert type(backend).__name__ == "MettlerToledoWXS205SDUBackend"


def test_a_held_device_becomes_its_kinds_frontend(plr_catalog):
    scale = build_device_machine(plr_catalog, "pylabrobot.scales.chatterbox.ScaleChatterboxBackend",
                                 {"dummy_weight": 2.5}, "bench_scale", simulated=True)
    assert type(scale).__name__ == "Scale" and scale.name == "bench_scale"
    with pytest.raises(SimulationError, match="dummy_weight: must be float"):
        build_device_machine(plr_catalog, "pylabrobot.scales.chatterbox.ScaleChatterboxBackend",
                             {"dummy_weight": "heavy"}, "s", simulated=True)


def test_a_machine_that_needs_another_gets_a_simulated_one(plr_catalog):
    loader = build_simulated_machine(plr_catalog, "loader", "loader")
    assert type(loader).__name__ == "Loader" and type(loader.centrifuge).__name__ == "Centrifuge"
