"""Deck layout documents: the JSON a user edits and saves, read into dataclasses and written back."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from browser_runtime.errors import LabwrightError

LAYOUT_FIELDS = ("deck", "deck_kwargs", "placements")
PLACEMENT_FIELDS = ("name", "resource", "parent", "slot", "rails", "location", "rotation")


class DeckLayoutError(LabwrightError, ValueError):
    """A layout that cannot be read or built; ``problems`` lists every reason."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


@dataclasses.dataclass
class Problem:
    """One thing wrong with a layout: which placement (None for the deck itself), which field, why."""

    placement: str | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"placement {self.placement!r}" if self.placement is not None else "layout"
        return f"{where}, {self.field}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Placement:
    """Where one resource goes. Values are kept as read so validation can say what is wrong."""

    name: Any
    resource: Any
    parent: Any = None
    slot: Any = None
    rails: Any = None
    location: Any = None
    rotation: Any = None
    index: int = 0  # position in the file, for placements without a usable name

    @property
    def label(self) -> str:
        return self.name if isinstance(self.name, str) and self.name else f"#{self.index}"

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"name": self.name, "resource": self.resource}
        for key in ("parent", "slot", "rails", "location", "rotation"):
            value = getattr(self, key)
            if value is not None:
                document[key] = value
        return document


@dataclasses.dataclass
class DeckLayout:
    deck: Any
    deck_kwargs: Any = dataclasses.field(default_factory=dict)
    placements: list[Placement] = dataclasses.field(default_factory=list)
    # Fields and placements that were not even objects; validation reports them.
    shape_problems: list[Problem] = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"deck": self.deck, "deck_kwargs": self.deck_kwargs,
                "placements": [p.to_dict() for p in self.placements]}

    def placement(self, name: str) -> Placement | None:
        return next((p for p in self.placements if p.name == name), None)


def load_deck_layout(source: str | Path | dict[str, Any]) -> DeckLayout:
    """Read a layout from a path, a JSON string or a dict.

    Raises DeckLayoutError only when the document is not JSON or not an object; everything else
    (bad field types, unknown keys) is kept for ``validate_deck_layout`` to report all at once.
    """
    if isinstance(source, dict):
        document: Any = source
    else:
        text, where = _read(source)
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DeckLayoutError(f"{where}: not valid JSON at line {exc.lineno}, "
                                  f"column {exc.colno}: {exc.msg}") from None
    if not isinstance(document, dict):
        raise DeckLayoutError(f"a deck layout must be a JSON object, got {type(document).__name__}")
    problems = [Problem(None, key, "unknown field; allowed: " + ", ".join(LAYOUT_FIELDS))
                for key in document if key not in LAYOUT_FIELDS]
    raw_placements = document.get("placements", [])
    if not isinstance(raw_placements, list):
        problems.append(Problem(None, "placements", "must be a list of placements"))
        raw_placements = []
    placements = []
    for index, raw in enumerate(raw_placements):
        if not isinstance(raw, dict):
            problems.append(Problem(f"#{index}", "placement", "must be an object"))
            continue
        placement = Placement(**{k: raw.get(k) for k in PLACEMENT_FIELDS}, index=index)
        problems += [Problem(placement.label, key, "unknown field; allowed: "
                             + ", ".join(PLACEMENT_FIELDS)) for key in raw if key not in PLACEMENT_FIELDS]
        placements.append(placement)
    return DeckLayout(deck=document.get("deck"), deck_kwargs=document.get("deck_kwargs", {}),
                      placements=placements, shape_problems=problems)


def _read(source: str | Path) -> tuple[str, str]:
    if isinstance(source, Path) or (isinstance(source, str) and not source.lstrip().startswith("{")):
        path = Path(source)
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as exc:
            raise DeckLayoutError(f"cannot read deck layout {path}: {exc}") from None
    return source, "<layout>"
