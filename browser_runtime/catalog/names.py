"""How the catalog spells names: class names to snake_case kinds and categories.

The one place this rule lives: the catalog builder names machine kinds and resource categories
with it, and lookups (``Catalog.frontend_for``) match kinds back to classes with it.
"""

from __future__ import annotations

import re

_ACRONYM_THEN_WORD = re.compile(r"([A-Z]+)([A-Z][a-z])")
_WORD_BOUNDARY = re.compile(r"([a-z0-9])([A-Z])")


def snake_case(name: str) -> str:
    """``LiquidHandler`` -> ``liquid_handler``; acronyms stay whole: ``ExperimentalSCARA`` ->
    ``experimental_scara``, ``HTTPBackend`` -> ``http_backend``."""
    return _WORD_BOUNDARY.sub(r"\1_\2", _ACRONYM_THEN_WORD.sub(r"\1_\2", name)).lower()
