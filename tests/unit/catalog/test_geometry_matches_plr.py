"""Every instantiable factory's geometry in the catalog equals PLR's own numbers."""

from __future__ import annotations

import importlib
import json
import warnings


from browser_runtime.catalog.classify import snake_case

TOL = 1e-6


def _category_of(resource):
    for cls in type(resource).__mro__:
        module = cls.__module__
        if module.startswith("pylabrobot.resources.") and module.count(".") == 2:
            return snake_case(cls.__name__)
    return None


def test_every_measured_factory_matches_plr(document):
    measured = [r for r in document["resources"] if r["kind"] == "factory" and r["size"]]
    assert len(measured) > 300
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for entry in measured:
            factory = getattr(importlib.import_module(entry["module"]), entry["name"])
            resource = factory(name=entry["name"])
            size = entry["size"]
            assert abs(size["x"] - resource.get_size_x()) < TOL, entry["fqn"]
            assert abs(size["y"] - resource.get_size_y()) < TOL, entry["fqn"]
            assert abs(size["z"] - resource.get_size_z()) < TOL, entry["fqn"]
            assert entry["category"] == _category_of(resource), entry["fqn"]
            geometry = entry["geometry"]
            if hasattr(resource, "num_items_x"):
                assert (geometry["num_items_x"], geometry["num_items_y"]) == (
                    resource.num_items_x,
                    resource.num_items_y,
                )
                if resource.num_items:
                    item = resource.get_item(0)
                    if hasattr(item, "max_volume"):
                        assert abs(geometry["max_volume"] - item.max_volume) < TOL, entry["fqn"]
                    assert abs(geometry["item_size"]["x"] - item.get_size_x()) < TOL


def test_well_and_tip_details(catalog):
    plate = catalog.get("pylabrobot.resources.corning.plates.cor_96_wellplate_360uL_Fb")
    assert plate["category"] == "plate" and plate["manufacturer"] == "corning"
    assert plate["geometry"]["max_volume"] == 360 and plate["geometry"]["bottom_type"] == "flat"
    rack = catalog.get("pylabrobot.resources.hamilton.tip_racks.hamilton_96_tiprack_1000uL")
    assert rack["category"] == "tip_rack"
    from pylabrobot.resources.hamilton import hamilton_96_tiprack_1000uL

    tip = hamilton_96_tiprack_1000uL("t").get_item(0).make_tip()
    assert rack["geometry"]["tip_max_volume"] == tip.maximal_volume
    assert rack["geometry"]["tip_length"] == tip.total_tip_length


def test_failures_are_listed_with_reasons(document):
    failed = {r["fqn"]: r["error"] for r in document["resources"] if r["error"]}
    assert any("pedestal_size_z" in e for e in failed.values())
    assert any("lid is not currently defined" in e for e in failed.values())
    assert any("deprecated" in e for e in failed.values())
    assert {e["fqn"] for e in document["errors"] if e.get("fqn")} >= set(failed)


def test_network_loaders_are_skipped_not_called(document, built):
    skipped = {r["fqn"]: r["skipped"] for r in document["resources"] if r["skipped"]}
    assert (
        "fetches from the network"
        in skipped["pylabrobot.resources.opentrons.tip_racks.opentrons_96_tiprack_300ul"]
    )
    assert (
        "fetches from the network"
        in skipped["pylabrobot.resources.opentrons.load.load_ot_tip_rack"]
    )
    assert built[0].report.socket_attempts == []


def test_serialized_documents_are_separate_files(document, built):
    out_dir = built[1]
    entry = next(r for r in document["resources"] if r["name"] == "cor_96_wellplate_360uL_Fb")
    assert entry["serialized"] == f"serialized/{entry['fqn']}.json"
    data = json.loads((out_dir / entry["serialized"]).read_text())
    assert data["name"] == entry["name"] and len(data["children"]) == 96
    assert "children" not in json.dumps(document["resources"][:5])


def test_decks_have_size_rails_and_slots(catalog):
    star = catalog.get("pylabrobot.resources.hamilton.hamilton_decks.STARLetDeck")
    from pylabrobot.resources.hamilton import STARLetDeck

    deck = STARLetDeck()
    assert abs(star["size"]["x"] - deck.get_size_x()) < TOL and star["rails"] == deck.num_rails
    ot = [d for d in catalog.entries("decks") if d["name"] == "OTDeck"]
    from pylabrobot.resources.opentrons import OTDeck

    slots = [(c.x, c.y, c.z) for c in OTDeck().slot_locations]
    assert ot and [(s["x"], s["y"], s["z"]) for s in ot[0]["slots"]] == slots
