"""``labwright deck validate FILE.json [--json]``: report every problem of a deck layout."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .layout import DeckLayoutError, load_deck_layout
from .validate import validate_deck_layout


def _catalog(path: Path | None) -> Any:
    from browser_runtime.catalog import Catalog

    if path is not None:
        return Catalog(json.loads(path.read_text(encoding="utf-8")))
    from browser_runtime.protocols.analysis import default_catalog

    return default_catalog(geometry=True)


def main(argv: list[str] | None = None) -> int:
    """Exit 0 for a valid layout, 1 for an invalid one, 2 for bad usage or an unreadable catalog."""
    parser = argparse.ArgumentParser(prog="labwright deck", description="Deck layout tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    validate = commands.add_parser("validate", help="list every problem of a deck layout JSON file")
    validate.add_argument("file", type=Path)
    validate.add_argument("--json", action="store_true", help='print {"valid", "errors"} as JSON')
    validate.add_argument("--catalog", type=Path, help="a catalog JSON document (with geometry)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        catalog = _catalog(args.catalog)
    except (OSError, ValueError) as exc:
        print(f"labwright deck validate: cannot read catalog {args.catalog}: {exc}", file=sys.stderr)
        return 2
    try:
        problems = validate_deck_layout(load_deck_layout(args.file), catalog)
    except DeckLayoutError as exc:
        problems_out = [{"placement": None, "field": "file", "message": str(exc)}]
        return _report(args, problems_out)
    return _report(args, [p.to_dict() for p in problems])


def _report(args: argparse.Namespace, problems: list[dict]) -> int:
    if args.json:
        json.dump({"valid": not problems, "errors": problems}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif not problems:
        print(f"{args.file}: valid")
    else:
        print(f"{args.file}: {len(problems)} problem(s)")
        for problem in problems:
            where = f"placement {problem['placement']!r}" if problem["placement"] else "layout"
            print(f"  {where}, {problem['field']}: {problem['message']}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
