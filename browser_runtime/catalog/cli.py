"""Command line: ``labwright catalog build [--source PATH]... [--out FILE] [--cache-dir DIR]``."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="labwright catalog", description="PLR definitions catalog"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build the catalog JSON from PLR sources")
    build.add_argument(
        "--source",
        action="append",
        type=Path,
        default=[],
        metavar="PATH",
        help="extra source root (a package directory); repeatable",
    )
    build.add_argument(
        "--out",
        type=Path,
        help="write the catalog here (default: stdout); "
        "serialize() documents go to serialized/ next to it",
    )
    build.add_argument("--cache-dir", type=Path, help="per-file parse cache directory")
    build.add_argument("--no-geometry", action="store_true", help="skip calling factories")
    build.add_argument("--jobs", type=int, default=None, help="worker processes (default: cores)")
    build.add_argument("--timeout", type=float, default=10.0, help="seconds per factory call")
    return parser


def main(argv: list[str]) -> int:
    """Entry point; ``argv`` excludes the program name (``["build", "--out", "catalog.json"]``)."""
    from .build import build

    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    for source in args.source:
        if not source.is_dir():
            print(f"error: --source {source}: no such directory", file=sys.stderr)
            return 2
    out_dir = args.out.resolve().parent if args.out else None
    try:
        result = build(
            args.source,
            args.cache_dir,
            geometry=not args.no_geometry,
            out_dir=out_dir,
            jobs=args.jobs,
            timeout=args.timeout,
        )
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    document, report = result.document, result.report
    text = json.dumps(document, indent=None, separators=(",", ":"))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_suffix(args.out.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(args.out)  # never leave a half-written catalog behind
    else:
        sys.stdout.write(text + "\n")
    _summary(document, report)
    return 0


def _summary(document: dict, report) -> None:
    err = sys.stderr
    print(
        f"catalog {document['schema_version']} for PLR {document['plr_version']} "
        f"({document['source_hash'][:12]})",
        file=err,
    )
    print(
        f"  parsed {len(report.parsed)} files, {len(report.cached)} from cache, "
        f"{report.parse_seconds:.2f} s; geometry {report.geometry_seconds:.2f} s",
        file=err,
    )
    print(
        f"  machines: {len(document['machines'])} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(Counter(m['kind'] for m in document['machines']).items()))})",
        file=err,
    )
    backends = document["backends"]
    print(
        f"  backends: {len(backends)} (simulators {sum(b['simulator'] for b in backends)}; io "
        f"{', '.join(f'{k} {v}' for k, v in sorted(Counter(b['io'] for b in backends).items()))})",
        file=err,
    )
    resources = document["resources"]
    measured = sum(1 for r in resources if r.get("size"))
    print(
        f"  resources: {len(resources)} ({measured} measured, "
        f"{sum(1 for r in resources if r.get('skipped'))} skipped, "
        f"{sum(1 for r in resources if r.get('error'))} failed)",
        file=err,
    )
    print(f"  decks: {len(document['decks'])}", file=err)
    print(f"  errors: {len(document['errors'])}", file=err)
    for error in document["errors"][:10]:
        where = (
            f"{error['file']}:{error['line']}:{error['column']}"
            if error.get("file")
            else error.get("fqn")
        )
        print(f"    {where}: {error['message'][:120]}", file=err)
    if report.socket_attempts:
        print(f"  WARNING: {len(report.socket_attempts)} blocked socket attempts", file=err)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
