"""PLR's Opentrons labware factories work offline, from the definitions set-up fetched."""

from __future__ import annotations

import inspect
import json

import pytest

from browser_runtime import plr_offline

#: Factories of PLR 0.2.2 naming a definition that no Opentrons release has (PLR writes
#: ``1_5ml`` / ``0_5ml`` where Opentrons names them ``1.5ml`` / ``0.5ml``): they fail online too.
MISSPELLED = {
    "opentrons_24_tuberack_nest_0_5ml_screwcap": "opentrons_24_tuberack_nest_0_5ml_screwcap",
    "opentrons_24_aluminumblock_nest_1_5ml_screwcap": "opentrons_24_aluminumblock_nest_1_5ml_screwcap",
}


@pytest.fixture
def offline():
    was_installed = plr_offline.installed()
    assert plr_offline.install(), "labwright_opentrons_labware is missing: run scripts/setup.py"
    yield
    if not was_installed:
        plr_offline.uninstall()


def opentrons_factories():
    from pylabrobot.resources.opentrons import adapters, tip_racks, tube_racks

    for module in (tip_racks, tube_racks, adapters):
        for name, function in vars(module).items():
            if inspect.isfunction(function) and function.__module__ == module.__name__:
                yield name, function


def test_a_tip_rack_is_built_from_the_offline_definition_and_cached_as_plr_caches(offline):
    from pylabrobot.resources.opentrons.load import load_ot_tip_rack

    definition = json.loads(plr_offline.definition_bytes("opentrons_96_tiprack_300ul"))
    rack = load_ot_tip_rack("opentrons_96_tiprack_300ul", "tips", force_download=True)
    assert rack.num_items == 96
    assert rack.get_size_x() == definition["dimensions"]["xDimension"]
    assert rack.get_tip("A1").total_tip_length == definition["parameters"]["tipLength"]
    assert not rack.get_tip("A1").has_filter
    with open("/tmp/opentrons_96_tiprack_300ul.json", "rb") as cache:
        assert cache.read() == plr_offline.definition_bytes("opentrons_96_tiprack_300ul")


def test_every_opentrons_factory_of_plr_builds_offline(offline):
    built = []
    for name, factory in opentrons_factories():
        if name in MISSPELLED:
            continue
        resource = factory(name="x")
        assert resource.get_size_x() > 0, name
        built.append(name)
    assert len(built) >= 36


def test_misspelled_names_have_no_definition_to_answer():
    for ot_name in MISSPELLED.values():
        assert plr_offline.definition_bytes(ot_name) is None
        # Their spelling with a dot is what Opentrons ships.
        assert plr_offline.definition_bytes(ot_name.replace("_5ml", ".5ml")) is not None


def test_only_plrs_pinned_commit_and_real_names_are_answered():
    good = (
        "https://raw.githubusercontent.com/Opentrons/opentrons/"
        f"{plr_offline.PLR_OPENTRONS_COMMIT}/shared-data/labware/definitions/2/opentrons_96_tiprack_20ul/1.json"
    )
    assert plr_offline._answer(good) == plr_offline.definition_bytes("opentrons_96_tiprack_20ul")
    assert plr_offline._answer(good.replace(plr_offline.PLR_OPENTRONS_COMMIT, "0" * 40)) is None
    assert plr_offline._answer(good.replace("opentrons_96_tiprack_20ul", "..")) is None
    assert plr_offline.definition_bytes("../2/opentrons_96_tiprack_20ul") is None
    assert plr_offline.source() == "opentrons-shared-data 8.0.0"


def test_install_is_idempotent_and_uninstall_gives_plr_its_download_back():
    import pylabrobot.resources.opentrons.load as load

    was_installed = plr_offline.installed()
    plr_offline.uninstall()
    original = load._download_file
    assert not getattr(original, "__plr_offline__", False)
    plr_offline.install()
    plr_offline.install()
    assert load._download_file.__wrapped__ is original
    plr_offline.uninstall()
    assert load._download_file is original
    if was_installed:
        plr_offline.install()


def test_the_page_boot_installs_it():
    from browser_runtime import boot

    was_installed = plr_offline.installed()
    plr_offline.uninstall()
    boot.import_ready_modules()
    assert plr_offline.installed()
    if not was_installed:
        plr_offline.uninstall()
