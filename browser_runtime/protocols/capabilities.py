"""Which machine capability each PLR frontend method needs (the calls a protocol makes)."""

from __future__ import annotations

# Per machine kind (as the catalog names it), then methods that mean the same on every kind.
# Kinds are matched exactly; a method not listed adds no capability (setup, stop, ...).
_BY_KIND: dict[str, dict[str, str]] = {
    "liquid_handler": {
        **dict.fromkeys(("pick_up_tips96", "drop_tips96", "return_tips96", "discard_tips96",
                         "aspirate96", "dispense96", "stamp"), "head96"),
        **dict.fromkeys(("move_plate", "move_lid", "move_resource", "pick_up_resource",
                         "drop_resource", "move_picked_up_resource"), "gripper"),
        **dict.fromkeys(("aspirate", "dispense", "transfer"), "pipetting"),
        **dict.fromkeys(("pick_up_tips", "drop_tips", "return_tips", "discard_tips", "use_tips",
                         "move_tips"), "tip_handling"),
        **dict.fromkeys(("probe_tip_inventory", "probe_tip_presence_via_pickup"), "tip_presence_probing"),
        **dict.fromkeys(("move_channel_x", "move_channel_y", "move_channel_z",
                         "prepare_for_manual_channel_operation"), "manual_channel_moves"),
    },
    "powder_dispenser": {"dispense": "powder_dispensing"},
    "thermocycler": {
        **dict.fromkeys(("run_pcr_profile", "run_protocol", "wait_for_profile_completion"),
                        "thermal_cycling"),
        **dict.fromkeys(("set_block_temperature", "deactivate_block", "wait_for_block",
                         "get_block_current_temperature"), "temperature"),
        **dict.fromkeys(("open_lid", "close_lid"), "lid"),
        **dict.fromkeys(("set_lid_temperature", "deactivate_lid", "wait_for_lid"), "heated_lid"),
    },
    "experimental_scara": {**dict.fromkeys(("pick_up_resource", "drop_resource", "open_gripper",
                                            "close_gripper"), "gripper"),
                           "move_to": "arm_motion", "approach": "arm_motion"},
    "incubator": {"start_shaking": "shaking", "stop_shaking": "shaking",
                  "fetch_plate_to_loading_tray": "plate_storage", "take_in_plate": "plate_storage"},
}

_ANY_KIND: dict[str, str] = {
    "read_absorbance": "absorbance",
    "read_fluorescence": "fluorescence",
    "read_luminescence": "luminescence",
    "capture": "imaging",
    "shake": "shaking",
    "stop_shaking": "shaking",
    "lock_plate": "plate_lock",
    "unlock_plate": "plate_lock",
    "set_temperature": "temperature",
    "wait_for_temperature": "temperature",
    "get_temperature": "temperature",
    "deactivate": "temperature",
    "spin": "centrifugation",
    "start_spin_cycle": "centrifugation",
    "open_door": "door",
    "close_door": "door",
    "lock_door": "door",
    "unlock_door": "door",
    "seal": "sealing",
    "peel": "peeling",
    "tilt": "tilting",
    "set_angle": "tilting",
    "get_weight": "weighing",
    "read_weight": "weighing",
    "tare": "weighing",
    "zero": "weighing",
    "pump_volume": "pumping",
    "run_continuously": "pumping",
    "run_for_duration": "pumping",
    "run_revolutions": "pumping",
    "scan": "barcode_reading",
    "load": "loading",
    "unload": "loading",
    "turn_on": "airflow",
    "open": "door",
    "close": "door",
}


def capability_for(machine_kind: str | None, method: str) -> str | None:
    """The capability a call of ``method`` on a machine of ``machine_kind`` needs, if any."""
    specific = _BY_KIND.get(machine_kind or "", {})
    if method in specific:
        return specific[method]
    return _ANY_KIND.get(method)


def capabilities_for(machine_kind: str | None, methods: set[str] | list[str]) -> list[str]:
    return sorted({c for m in methods if (c := capability_for(machine_kind, m)) is not None})
