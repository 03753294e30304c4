"""Discrete-event estimates of the demo protocols: in the page (Pyodide) against CPython.

    .venv/bin/python tests/bench/bench_estimates.py [--runs 5]

Each demo is estimated by browser_runtime.scheduler (the real planner and runner on a virtual
clock): on CPython here, and through `labwright.schedule.estimate` in the page's worker in
Chromium, in the same run; median of N after one warm-up. Target (issue 8): well under a
second for a typical protocol.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.serving import running_server  # noqa: E402

DEMOS = ["serial_dilution.py", "stamp_96.py", "elisa_read.py", "incubation.py"]
PAGE = """async (source) => {
  const started = performance.now();
  const estimate = await window.labwright.schedule.estimate(source);
  return [performance.now() - started, estimate.duration_s, estimate.commands.length];
}"""


def cpython(runs: int) -> dict[str, tuple[float, float, int]]:
    from browser_runtime.catalog import Catalog
    from browser_runtime.scheduler.simulation import estimate_protocol

    catalog = Catalog(json.loads((ROOT / "build" / "catalog" / "catalog.json").read_text()))
    results = {}
    for demo in DEMOS:
        source = (ROOT / "web" / "protocols" / demo).read_text()
        times = []
        for _ in range(runs + 1):
            started = time.perf_counter()
            estimate = asyncio.run(estimate_protocol(source, catalog, filename=demo))
            times.append((time.perf_counter() - started) * 1000)
        results[demo] = (statistics.median(times[1:]), estimate.duration_s, len(estimate.commands))
    return results


def page(runs: int) -> dict[str, tuple[float, float, int]]:
    results = {}
    with running_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page()
        tab.goto(url)
        tab.evaluate("window.labwright.ready")
        tab.evaluate("window.labwright.catalog.loaded")
        for demo in DEMOS:
            source = (ROOT / "web" / "protocols" / demo).read_text()
            measured = [tab.evaluate(PAGE, source) for _ in range(runs + 1)][1:]
            results[demo] = (statistics.median(m[0] for m in measured), measured[-1][1], measured[-1][2])
        browser.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    native, browser = cpython(args.runs), page(args.runs)
    print(f"{'protocol':<20} {'estimate s':>10} {'commands':>9} {'CPython ms':>11} {'page ms':>8} {'page/CPython':>13}")
    for demo in DEMOS:
        ms, duration, commands = native[demo]
        page_ms, page_duration, page_commands = browser[demo]
        assert (round(duration, 3), commands) == (round(page_duration, 3), page_commands), demo
        print(f"{demo:<20} {duration:>10.0f} {commands:>9} {ms:>11.1f} {page_ms:>8.1f} {page_ms / ms:>13.2f}")


if __name__ == "__main__":
    main()
