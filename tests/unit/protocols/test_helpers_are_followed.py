"""What a protocol's own helper functions do with the machines it hands them counts as the protocol's."""

from __future__ import annotations

from browser_runtime.protocols import analyze_source

WITH_HELPERS = '''
from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.resources import Plate, TipRack
from browser_runtime.protocols import protocol_function


async def transfer(handler, source, target, volume):
    await handler.aspirate(source, vols=[volume])
    await mix(handler, target)


async def mix(h, well):
    await h.dispense(well, vols=[10])
    await mix(h, well)  # recursion is followed once


def unrelated(x):
    x.aspirate()  # never handed a machine: not the protocol's


@protocol_function
async def dilute(lh: LiquidHandler, tips: TipRack, plate: Plate):
    await lh.pick_up_tips(tips["A1"])
    await transfer(lh, plate["A1"], plate["A2"], volume=10)
    await transfer(handler=lh, source=plate["A2"], target=plate["A3"], volume=10)
    await lh.drop_tips(tips["A1"])
'''


def test_calls_inside_helpers_give_the_protocol_its_capabilities(catalog):
    protocol = analyze_source(WITH_HELPERS, "helpers.py", catalog).protocols[0]
    lh = protocol.requirements.machines[0]
    assert lh.methods == ["aspirate", "dispense", "drop_tips", "pick_up_tips"]
    assert "pipetting" in lh.capabilities and "tip_handling" in lh.capabilities


def test_a_long_protocol_with_its_pipetting_in_helpers_needs_pipetting(catalog):
    helpers = "\n\n".join(
        f"async def step_{i}(lh, plate):\n    await lh.aspirate(plate['A{i % 12 + 1}'], vols=[5])\n"
        f"    await lh.dispense(plate['B{i % 12 + 1}'], vols=[5])\n    await step_{i + 1}(lh, plate)\n"
        for i in range(60))
    source = WITH_HELPERS.split("@protocol_function")[0] + helpers + '''
async def step_60(lh, plate):
    pass


@protocol_function
async def long_one(lh: LiquidHandler, tips: TipRack, plate: Plate):
    await lh.pick_up_tips(tips["A1"])
    await step_0(lh, plate)
'''
    assert source.count("\n") > 300
    protocol = analyze_source(source, "long.py", catalog).protocols[-1]
    assert protocol.function == "long_one"
    assert {"aspirate", "dispense", "pick_up_tips"} <= set(protocol.requirements.machines[0].methods)
    assert "pipetting" in protocol.requirements.machines[0].capabilities
