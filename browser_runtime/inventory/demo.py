"""The demo inventory browser-only mode ships with: enough stocked labware for the demo protocols.

Sample plates and reservoirs hold liquid, tip racks are full, lots and expiry dates are
set, and simulated machines with their capabilities are registered. Seeded once, into an
empty inventory only; a lab's own inventory is never touched.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from browser_runtime.inventory.store import InventoryStore, utcnow

# (name prefix, catalog fqn, count, per-item contents)
_LABWARE: list[tuple[str, str, int, dict[str, Any]]] = [
    ("sample plate", "pylabrobot.resources.corning.plates.cor_96_wellplate_360uL_Fb", 6,
     {"remaining_volume_ul": 96 * 200.0}),
    ("tips 1000 uL", "pylabrobot.resources.hamilton.tip_racks.hamilton_96_tiprack_1000uL_filter", 6,
     {"remaining_tips": 96}),
    ("tips 300 uL", "pylabrobot.resources.hamilton.tip_racks.hamilton_96_tiprack_300uL_filter", 4,
     {"remaining_tips": 96}),
    ("reservoir", "pylabrobot.resources.hamilton.troughs.hamilton_1_trough_200mL_Vb", 3,
     {"remaining_volume_ul": 150_000.0}),
]

# Simulated machines: capabilities are what PLR's chatterbox backends accept.
_MACHINES: list[tuple[str, str, str, list[str]]] = [
    ("STARlet (simulated)", "pylabrobot.liquid_handling.liquid_handler.LiquidHandler", "liquid_handler",
     ["head96", "gripper", "pipetting", "tip_handling"]),
    ("STARlet 2 (simulated)", "pylabrobot.liquid_handling.liquid_handler.LiquidHandler", "liquid_handler",
     ["head96", "gripper", "pipetting", "tip_handling"]),
    ("Plate reader (simulated)", "pylabrobot.plate_reading.plate_reader.PlateReader", "plate_reader",
     ["absorbance", "fluorescence", "luminescence", "door"]),
    ("Heater-shaker (simulated)", "pylabrobot.heating_shaking.heater_shaker.HeaterShaker", "heater_shaker",
     ["shaking", "temperature", "plate_lock"]),
    ("Scale (simulated)", "pylabrobot.scales.scale.Scale", "scale", ["weighing"]),
]


def seed_demo_inventory(store: InventoryStore) -> bool:
    """Fill an empty inventory with the demo stock; returns whether it seeded anything."""
    if store.assets():
        return False
    now = utcnow()
    items = []
    for prefix, fqn, count, contents in _LABWARE:
        for index in range(count):
            items.append(dict(
                name=f"{prefix} {index + 1}",
                catalog_fqn=fqn,
                barcode=f"DEMO-{abs(hash((prefix, index))) % 10**8:08d}",
                location=f"demo shelf {index // 3 + 1}",
                lot=f"LOT-{prefix.split()[0].upper()}-{index % 2 + 1}",
                received_at=now - timedelta(days=30 - index),
                expires_at=now + timedelta(days=90 + 15 * index),
                **contents,
            ))
    store.add_labware_many(items)
    for name, fqn, kind, capabilities in _MACHINES:
        store.add_machine(name, fqn, kind, capabilities=capabilities, location="simulation")
    return True
