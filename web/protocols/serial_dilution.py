"""Two-fold serial dilution of a standard across a 96-well plate with an 8-channel head."""

from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.resources import Plate, TipRack, Trough

from browser_runtime.protocols import protocol_function


@protocol_function(
    name="Serial dilution",
    version="1.0.0",
    description="Fill columns 2-N with diluent, then carry a two-fold series from column 1.",
    param_metadata={
        "volume": {"description": "Volume moved between columns (uL)", "constraints": {"min": 10, "max": 150},
                   "ui_hint": "slider"},
        "columns": {"description": "Columns in the series", "constraints": {"min": 2, "max": 12}},
    },
    tags=("dilution", "standard-curve"),
    category="sample-prep",
)
async def serial_dilution(
    lh: LiquidHandler,
    tips: TipRack,
    plate: Plate,
    diluent: Trough,
    volume: float = 50.0,
    columns: int = 6,
) -> list[float]:
    """Column 1 holds the standard; every next column gets half its concentration."""
    channels = list(range(8))
    await lh.pick_up_tips(tips["A1:H1"], use_channels=channels)
    for column in range(2, columns + 1):
        await lh.aspirate([diluent] * 8, vols=[volume] * 8, use_channels=channels)
        await lh.dispense(plate[f"A{column}:H{column}"], vols=[volume] * 8, use_channels=channels)
    await lh.drop_tips(tips["A1:H1"], use_channels=channels)

    factors = [1.0]
    await lh.pick_up_tips(tips["A2:H2"], use_channels=channels)
    for column in range(1, columns):
        await lh.aspirate(plate[f"A{column}:H{column}"], vols=[volume] * 8, use_channels=channels)
        await lh.dispense(plate[f"A{column + 1}:H{column + 1}"], vols=[volume] * 8, use_channels=channels)
        factors.append(factors[-1] * 2)
    await lh.drop_tips(tips["A2:H2"], use_channels=channels)
    return factors
