"""Stamp a whole plate into another with the 96-channel head."""

from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.resources import Plate, TipRack

from browser_runtime.protocols import protocol_function


@protocol_function(
    name="96-head stamp",
    version="1.0.0",
    description="Copy every well of the source plate into the destination plate in one move.",
    param_metadata={"volume": {"description": "Volume per well (uL)", "constraints": {"min": 1, "max": 200}}},
    tags=("replication",),
    category="plate-prep",
)
async def stamp(lh: LiquidHandler, tips: TipRack, source: Plate, destination: Plate, volume: float = 25.0):
    await lh.pick_up_tips96(tips)
    await lh.aspirate96(source, volume=volume)
    await lh.dispense96(destination, volume=volume)
    await lh.drop_tips96(tips)
