"""``labwright analyze FILE.py``: print a protocol file's analysis as JSON."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .analysis import analyze_file


def main(argv: list[str] | None = None) -> int:
    """Exit 0 when the file analysed cleanly, 1 when it has errors, 2 for bad usage."""
    parser = argparse.ArgumentParser(prog="labwright", description="Analyse PLR protocol files.")
    commands = parser.add_subparsers(dest="command", required=True)
    analyze = commands.add_parser("analyze", help="print FILE's protocols and requirements as JSON")
    analyze.add_argument("file", type=Path)
    analyze.add_argument("--catalog", type=Path, help="a catalog JSON document to classify with")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    catalog = None
    if args.catalog is not None:
        from browser_runtime.catalog import Catalog

        try:
            catalog = Catalog(json.loads(args.catalog.read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            print(f"labwright analyze: cannot read catalog {args.catalog}: {exc}", file=sys.stderr)
            return 2
    if not args.file.is_file():
        print(f"labwright analyze: no such file: {args.file}", file=sys.stderr)
        return 2
    result = analyze_file(args.file, catalog)
    json.dump(result.to_dict(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
