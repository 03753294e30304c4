"""Heat and shake a plate on a heater-shaker for a while, then let it rest."""

import asyncio

from pylabrobot.heating_shaking import HeaterShaker

from browser_runtime.protocols import protocol_function


@protocol_function(
    name="Heater-shaker incubation",
    version="1.0.0",
    description="Lock, heat to temperature, shake, hold, then stop and unlock.",
    param_metadata={
        "temperature": {"description": "Target temperature (C)", "constraints": {"min": 20, "max": 95}},
        "rpm": {"description": "Shaking speed", "constraints": {"min": 200, "max": 2000}},
        "seconds": {"description": "Hold time (s)", "constraints": {"min": 0, "max": 3600}},
    },
    tags=("incubation",),
    category="incubation",
)
async def incubate(hs: HeaterShaker, temperature: float = 37.0, rpm: int = 800, seconds: float = 2.0):
    await hs.lock_plate()
    await hs.set_temperature(temperature)
    await hs.shake(speed=rpm)
    await asyncio.sleep(seconds)
    await hs.stop_shaking()
    await hs.deactivate()
    await hs.unlock_plate()
    return {"temperature": temperature, "rpm": rpm, "seconds": seconds}
