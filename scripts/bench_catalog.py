"""Benchmark the catalog build against its floor: bare libcst.parse_module over the same files."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import libcst  # noqa: E402

from browser_runtime.catalog.build import build, installed_plr_root  # noqa: E402
from browser_runtime.catalog.parser import discover_files  # noqa: E402


def _timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--skip-geometry", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        # Work on a copy of the installed PLR so one file can be changed without touching the venv.
        root = Path(tmp) / "src" / "pylabrobot"
        shutil.copytree(installed_plr_root(), root, ignore=shutil.ignore_patterns("__pycache__"))
        files = discover_files(root)
        sources = [f.source for f in files]
        floor, _ = _timed(lambda: [libcst.parse_module(s) for s in sources])

        cache = Path(tmp) / "cache"
        cold, cold_result = _timed(lambda: build([root], cache, geometry=False, jobs=args.jobs))
        warm, warm_result = _timed(lambda: build([root], cache, geometry=False, jobs=args.jobs))
        changed_file = root / "scales" / "scale.py"
        changed_file.write_text(changed_file.read_text() + "\n# touched by bench_catalog\n")
        one, one_result = _timed(lambda: build([root], cache, geometry=False, jobs=args.jobs))
        assert warm_result.report.parsed == [], warm_result.report.parsed
        assert one_result.report.parsed == ["pylabrobot/scales/scale.py"], one_result.report.parsed

        geometry = None
        if not args.skip_geometry:
            geometry_result = build([root], cache, geometry=True, jobs=args.jobs)
            geometry = geometry_result.report.geometry_seconds
            measured = sum(1 for r in geometry_result.document["resources"] if r.get("size"))

    rows = [
        ("bare libcst.parse_module (floor)", floor, None, f"{len(files)} files"),
        (
            "cold full build (parse + classify)",
            cold,
            "<= 1.3x floor",
            f"parse {cold_result.report.parse_seconds:.2f} s, classify {cold_result.report.classify_seconds:.2f} s",
        ),
        (
            "warm rebuild, no change",
            warm,
            "<= 0.5 s",
            f"{len(warm_result.report.cached)} from cache",
        ),
        ("rebuild, one changed file", one, "<= 1 s", f"parsed {len(one_result.report.parsed)}"),
    ]
    print(f"{'step':38} {'seconds':>8} {'x floor':>8}  {'target':14} note")
    for name, seconds, target, note in rows:
        print(f"{name:38} {seconds:8.3f} {seconds / floor:8.2f}  {target or '':14} {note}")
    if geometry is not None:
        print(
            f"{'geometry (factories in child processes)':38} {geometry:8.3f} {'':8}  {'(separate)':14} "
            f"{measured} factories measured"
        )
    ok = cold <= 1.3 * floor and warm <= 0.5 and one <= 1.0
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
