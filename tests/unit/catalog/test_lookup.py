"""Catalog lookups: any re-export path, by category, text search, dimensions."""

from __future__ import annotations


def test_lookup_by_any_export_path(catalog):
    defined = "pylabrobot.resources.corning.plates.Cor_96_wellplate_360ul_Fb"
    assert catalog.canonical("pylabrobot.resources.Cor_96_wellplate_360ul_Fb") == defined
    assert catalog.get("pylabrobot.resources.corning.Cor_96_wellplate_360ul_Fb")["fqn"] == defined
    assert catalog.get(defined)["name"] == "Cor_96_wellplate_360ul_Fb"
    star = catalog.get("pylabrobot.liquid_handling.backends.STARBackend")
    assert star["fqn"] == "pylabrobot.liquid_handling.backends.hamilton.STAR_backend.STARBackend"
    assert catalog.get("pylabrobot.resources.no_such_thing") is None


def test_by_category_search_and_dimensions(catalog):
    plates = catalog.by_category("plate")
    assert plates and all(p["category"] == "plate" for p in plates)
    assert any(m["name"] == "PlateReader" for m in catalog.by_category("plate_reader"))
    hits = catalog.search("corning 96 360")
    assert hits and all("corning" in h["fqn"] for h in hits)
    from pylabrobot.resources.corning.plates import cor_96_wellplate_360uL_Fb

    plate = cor_96_wellplate_360uL_Fb("p")
    size = catalog.dimensions("pylabrobot.resources.cor_96_wellplate_360uL_Fb")
    assert abs(size["x"] - plate.get_size_x()) < 1e-6 and abs(size["z"] - plate.get_size_z()) < 1e-6
    assert {b["name"] for b in catalog.backends_for("scale")} >= {"ScaleChatterboxBackend"}
