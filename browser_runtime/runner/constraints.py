"""A protocol's declared parameter limits (``param_metadata`` constraints and annotations), enforced.

``@protocol_function(param_metadata={"rpm": {"constraints": {"min": 100, "max": 2000}}})``
declares what a value may be; plans, runs and the page's form all check values here, so a
value outside its limits never reaches a machine.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["CONSTRAINT_KEYS", "coerce", "violations"]

#: What a ``constraints`` dict may say (other keys are reported by the analysis, not enforced).
CONSTRAINT_KEYS = ("min", "max", "choices", "min_length", "max_length")

_TYPES: dict[str, type] = {"int": int, "float": float, "str": str, "bool": bool}


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


def coerce(name: str, annotation: str | None, value: Any) -> tuple[Any, str | None]:
    """``value`` as the annotation's type (an int where a float is asked), or the problem."""
    expected = _TYPES.get((annotation or "").strip())
    if expected is None or value is None:
        return value, None
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value), None
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        return value, (f"parameter {name!r} must be {expected.__name__}, not "
                       f"{type(value).__name__} {_shown(value)}")
    if expected is float and not math.isfinite(value):
        return value, f"parameter {name!r} must be a finite number, not {value}"
    return value, None


def violations(name: str, value: Any, constraints: dict[str, Any] | None) -> list[str]:
    """Every declared limit ``value`` breaks, each naming the parameter, its value and the limit."""
    if not constraints or value is None:
        return []
    found = []
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    low, high = constraints.get("min"), constraints.get("max")
    if number and isinstance(low, (int, float)) and value < low:
        found.append(f"parameter {name!r} is {_shown(value)}, below its minimum {_shown(low)}")
    if number and isinstance(high, (int, float)) and value > high:
        found.append(f"parameter {name!r} is {_shown(value)}, above its maximum {_shown(high)}")
    choices = constraints.get("choices")
    if isinstance(choices, (list, tuple)) and choices and value not in choices:
        listed = ", ".join(_shown(choice) for choice in choices)
        found.append(f"parameter {name!r} is {_shown(value)}, not one of its choices ({listed})")
    if isinstance(value, (str, list, tuple)):
        shortest, longest = constraints.get("min_length"), constraints.get("max_length")
        if isinstance(shortest, int) and len(value) < shortest:
            found.append(f"parameter {name!r} has length {len(value)}, below its minimum length {shortest}")
        if isinstance(longest, int) and len(value) > longest:
            found.append(f"parameter {name!r} has length {len(value)}, above its maximum length {longest}")
    return found
