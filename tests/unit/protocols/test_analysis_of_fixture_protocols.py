"""analyze_source on realistic protocol files: parameters, requirements, capabilities, data views."""

from __future__ import annotations

import json

import pytest

from browser_runtime.protocols import SCHEMA_VERSION, ProtocolFile, analyze_file

LH = "pylabrobot.liquid_handling.liquid_handler.LiquidHandler"
READER = "pylabrobot.plate_reading.plate_reader.PlateReader"


def _analyze(protocols_dir, name, catalog):
    result = analyze_file(protocols_dir / f"{name}.py", catalog)
    assert result.errors == []
    assert len(result.protocols) == 1
    protocol = result.protocols[0]
    return protocol, {p.name: p for p in protocol.parameters}


def test_serial_dilution(protocols_dir, catalog):
    protocol, params = _analyze(protocols_dir, "serial_dilution", catalog)
    assert (protocol.function, protocol.name, protocol.version) == (
        "serial_dilution", "Serial dilution", "1.2.0")
    assert protocol.is_async and protocol.category == "sample-prep"
    assert protocol.tags == ["dilution", "standard-curve"]
    assert params["lh"].kind == "machine" and params["lh"].machine_kind == "liquid_handler"
    assert params["lh"].type == LH
    assert [(p.kind, p.category) for p in (params["tips"], params["plate"], params["diluent"])] == [
        ("resource", "tip_rack"), ("resource", "plate"), ("resource", "trough")]
    assert (params["transfer_volume"].kind, params["transfer_volume"].default) == ("value", 100.0)
    assert params["columns"].type == "builtins.int"
    [machine] = protocol.requirements.machines
    assert machine.capabilities == ["pipetting", "tip_handling"]
    assert [r.parameter for r in protocol.requirements.resources] == ["tips", "plate", "diluent"]
    [view] = protocol.data_views
    assert view.name == "dilution_factors" and view.required is True
    assert view.schema == {"type": "array", "items": {"type": "number"}}
    assert protocol.param_metadata["transfer_volume"]["constraints"] == {"min": 10, "max": 200}


def test_plate_read_with_gripper_move(protocols_dir, catalog):
    protocol, params = _analyze(protocols_dir, "plate_read_gripper", catalog)
    # PlateReader is a Resource and a Machine: a machine, never a plate.
    assert params["plate_reader"].kind == "machine"
    assert params["plate_reader"].machine_kind == "plate_reader"
    assert params["plate_reader"].type == READER
    assert params["lh"].type == LH  # through `import pylabrobot.liquid_handling as plh`
    assert params["parking"].optional and params["parking"].kind == "resource"
    machines = {m.parameter: m for m in protocol.requirements.machines}
    assert machines["lh"].capabilities == ["gripper"]
    # Calls made through the local alias `reader = plate_reader` count.
    assert machines["plate_reader"].capabilities == ["absorbance", "door"]
    assert protocol.deck_layout_path == "elisa_read_deck.json"
    assert [v.name for v in protocol.data_views] == ["absorbance_450", "reader_state"]
    assert protocol.data_views[0].description == "OD450 per well"  # positional arguments
    assert protocol.data_views[1].source_filter == "plate_reader"


def test_96_head_stamp(protocols_dir, catalog):
    protocol, params = _analyze(protocols_dir, "stamp_96_head", catalog)
    assert protocol.name == "stamp" and protocol.version == "0.1.0"  # bare `@protocols.protocol_function`
    assert protocol.description.startswith("Stamp `volume` uL")
    [machine] = protocol.requirements.machines
    assert machine.capabilities == ["head96"]
    assert machine.methods == ["aspirate96", "dispense96", "drop_tips96", "pick_up_tips96"]
    assert [r.category for r in protocol.requirements.resources] == ["tip_rack", "plate", "plate"]


def test_heater_shaker_incubation(protocols_dir, catalog):
    protocol, params = _analyze(protocols_dir, "heater_shaker_incubation", catalog)
    assert protocol.name == "Incubate 37C"  # imported as `protocol`
    assert params["hs"].machine_kind == "heater_shaker"
    assert params["plate_count"].kind == "value"  # never by substring
    [machine] = protocol.requirements.machines
    assert machine.capabilities == ["plate_lock", "shaking", "temperature"]
    [created] = protocol.requirements.resources
    assert created.parameter is None and created.name == "culture_plate"
    assert created.category == "plate"
    assert created.type == "pylabrobot.resources.corning.plates.Cor_96_wellplate_360ul_Fb"
    assert created.line == 14


def test_aliased_imports_and_string_annotations(protocols_dir, catalog):
    protocol, params = _analyze(protocols_dir, "aliased_imports", catalog)
    assert params["handler"].type == LH  # "LH" string of an `as` import
    assert params["balance"].machine_kind == "scale" and params["balance"].optional  # "X | None"
    # A dotted string whose root is not bound in the file is a fully qualified name.
    assert params["reader"].type == READER and params["reader"].kind == "machine"
    assert params["tips"].category == "tip_rack" and params["tips"].optional
    assert params["reservoir"].category == "trough" and params["reservoir"].optional
    assert params["plates"].multiple and params["plates"].category == "plate"
    assert params["plate_count"].kind == "value" and params["note"].kind == "value"
    machines = {m.parameter: m.capabilities for m in protocol.requirements.machines}
    assert machines == {"handler": ["pipetting", "tip_handling"], "balance": ["weighing"],
                        "reader": ["fluorescence"]}
    # `helper` is not a protocol.
    assert [p.function for p in analyze_file(protocols_dir / "aliased_imports.py", catalog).protocols] == [
        "gravimetric"]


@pytest.mark.parametrize("name", ["serial_dilution", "plate_read_gripper", "stamp_96_head",
                                  "heater_shaker_incubation", "aliased_imports"])
def test_json_document_round_trips(protocols_dir, catalog, name):
    result = analyze_file(protocols_dir / f"{name}.py", catalog)
    document = json.loads(json.dumps(result.to_dict()))
    assert list(document)[0] == "schema_version" and document["schema_version"] == SCHEMA_VERSION
    protocol = document["protocols"][0]
    for key in ("function", "name", "version", "description", "parameters", "requirements",
                "data_views", "deck_layout_path"):
        assert key in protocol
    for parameter in protocol["parameters"]:
        assert {"name", "annotation", "type", "kind", "machine_kind", "category", "default",
                "optional"} <= set(parameter)
    assert set(protocol["requirements"]) == {"machines", "resources"}
    assert ProtocolFile.from_dict(document).to_dict() == document
