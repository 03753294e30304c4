"""Annotations resolve through the file's imports and are classified by the catalog, not by spelling."""

from __future__ import annotations

import pytest

from browser_runtime.protocols import analyze_source

HEADER = """
from typing import Optional, Union
import typing as t
import pylabrobot.liquid_handling as plh
from pylabrobot.resources import Plate as P, TipRack
from pylabrobot.resources import *
from browser_runtime.protocols import protocol_function
"""


def _param(catalog, annotation: str, default: str | None = None):
    source = HEADER + f"\n@protocol_function\ndef p(x: {annotation}{' = ' + default if default else ''}):\n    pass\n"
    result = analyze_source(source, "t.py", catalog)
    assert result.errors == []
    return result.protocols[0].parameters[0]


@pytest.mark.parametrize(
    ("annotation", "kind", "detail", "optional"),
    [
        ("plh.LiquidHandler", "machine", "liquid_handler", False),
        ('"plh.LiquidHandler"', "machine", "liquid_handler", False),
        ("Optional[P]", "resource", "plate", True),
        ("P | None", "resource", "plate", True),
        ("None | TipRack", "resource", "tip_rack", True),
        ("Union[TipRack, None]", "resource", "tip_rack", True),
        ("t.Optional['TipRack']", "resource", "tip_rack", True),
        ('"pylabrobot.plate_reading.PlateReader"', "machine", "plate_reader", False),
        ("pylabrobot.heating_shaking.HeaterShaker", "machine", "heater_shaker", False),
        ("Cor_96_wellplate_360ul_Fb", "resource", "plate", False),  # via the star import
        ("pylabrobot.resources.corning.plates.Cor_96_wellplate_360ul_Fb", "resource", "plate", False),
        ("int", "value", None, False),
        ("Optional[int]", "value", None, True),
        ("str", "value", None, False),
        ('"PlateReaderSettings"', "value", None, False),  # a name containing PlateReader
        ("pylabrobot.resources.NoSuchPlate", "value", None, False),
    ],
)
def test_annotation_classification(catalog, annotation, kind, detail, optional):
    param = _param(catalog, annotation)
    assert param.kind == kind
    assert (param.machine_kind if kind == "machine" else param.category) == detail
    assert param.optional is optional


def test_none_default_makes_a_parameter_optional(catalog):
    param = _param(catalog, "P", "None")
    assert param.optional and param.has_default and param.default is None
    assert param.default_source == "None"


def test_computed_default_keeps_its_source(catalog):
    param = _param(catalog, "int", "len('abc')")
    assert param.default is None and param.default_source == "len('abc')"


def test_plate_count_is_a_value_and_plate_reader_a_machine(catalog):
    source = HEADER + """
from pylabrobot.plate_reading import PlateReader

@protocol_function(name="read")
async def read(plate_reader: PlateReader, plate_count: int = 2, plates: list[P] = ()):
    await plate_reader.read_luminescence(focal_height=4.5)
"""
    [protocol] = analyze_source(source, "t.py", catalog).protocols
    kinds = {p.name: (p.kind, p.machine_kind, p.category) for p in protocol.parameters}
    assert kinds == {"plate_reader": ("machine", "plate_reader", None),
                     "plate_count": ("value", None, None), "plates": ("resource", None, "plate")}
    assert protocol.requirements.machines[0].capabilities == ["luminescence"]


def test_decorator_forms(catalog):
    source = """
import browser_runtime.protocols
import browser_runtime.protocols as bp
from browser_runtime.protocols import protocol_function as pf
from browser_runtime import protocols

@browser_runtime.protocols.protocol_function
def a(): pass

@bp.protocol_function(name="b")
def b(): pass

@pf
def c(): pass

@protocols.protocol_function()
async def d(): pass

@some_other_decorator
def e(): pass

class Protocols:
    @pf(name="method")
    def f(self, lh: "pylabrobot.liquid_handling.LiquidHandler"): pass
"""
    result = analyze_source(source, "forms.py", catalog)
    assert [p.function for p in result.protocols] == ["a", "b", "c", "d", "Protocols.f"]
    method = result.protocols[-1]
    assert [p.name for p in method.parameters] == ["lh"]  # self is not a parameter
    assert method.parameters[0].kind == "machine"


def test_a_locally_rebound_name_is_not_the_decorator(catalog):
    source = """
from mylib import protocol_function

@protocol_function
def not_ours(): pass
"""
    assert analyze_source(source, "t.py", catalog).protocols == []


def test_gripper_and_head96_capabilities_through_aliases(catalog):
    source = """
from pylabrobot.liquid_handling import LiquidHandler
from browser_runtime.protocols import protocol_function

@protocol_function
async def move(lh: LiquidHandler, other: LiquidHandler):
    arm = lh
    a, b = arm, other
    await a.move_lid(None, None)
    await b.stamp(None, None, volume=10)
    await lh.pick_up_resource(None)
"""
    [protocol] = analyze_source(source, "t.py", catalog).protocols
    caps = {m.parameter: m.capabilities for m in protocol.requirements.machines}
    assert caps == {"lh": ["gripper"], "other": ["head96"]}
