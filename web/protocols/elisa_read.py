"""Carry an assay plate to the plate reader with the gripper, read OD450, bring it back."""

import pylabrobot.liquid_handling as plh
from pylabrobot.plate_reading import PlateReader
from pylabrobot.resources import Plate

from browser_runtime.protocols import DataViewDefinition, protocol_function


@protocol_function(
    name="ELISA read",
    version="1.0.0",
    description="Move the assay plate into the reader, read absorbance, move it back.",
    data_views=[DataViewDefinition("absorbance", "Absorbance per well", "function_output", required=True)],
    tags=("elisa", "absorbance"),
    category="readout",
)
async def elisa_read(lh: plh.LiquidHandler, reader: PlateReader, assay_plate: Plate, wavelength: int = 450):
    home = assay_plate.parent
    await lh.move_plate(assay_plate, reader)
    await reader.close()
    readings = await reader.read_absorbance(wavelength=wavelength)
    await reader.open()
    await lh.move_plate(assay_plate, home)
    return readings
