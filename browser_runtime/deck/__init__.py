"""Deck layouts: load and validate layout JSON, auto-layout labware, build the real PLR deck."""

from .autolayout import AutoLayout, auto_layout, deck_models, default_labware, labware_definitions, plan_deck
from .build import build_deck
from .layout import DeckLayout, DeckLayoutError, Placement, Problem, load_deck_layout
from .validate import FIT_TOLERANCE, validate_deck_layout

__all__ = [
    "FIT_TOLERANCE",
    "AutoLayout",
    "DeckLayout",
    "DeckLayoutError",
    "Placement",
    "Problem",
    "auto_layout",
    "deck_models",
    "default_labware",
    "labware_definitions",
    "build_deck",
    "load_deck_layout",
    "plan_deck",
    "validate_deck_layout",
]
