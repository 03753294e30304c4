"""Main-thread long tasks during a simulated run in the workbench (issue 5, target: none > 100 ms).

    .venv/bin/python tests/bench/bench_longtasks.py [--runs 3] [--demo serial_dilution.py]

One real `labwright serve`, Debian's Chromium, one page; in the same run, N times each:
- idle: the booted page doing nothing for as long as a UI run takes (the floor);
- API run: `labwright.run(...)` with no UI listening (Python busy in the worker only);
- UI run: the demo picked, planned and run from the workbench's buttons, the deck redrawn
  live from the run's events (what a scientist sees);
- control: a 150 ms busy loop on the main thread, proving the observer reports long tasks.
Long tasks are the main thread's (PerformanceObserver 'longtask', tasks over 50 ms).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.e2e.longtasks import LongTasks, measure, run_demo_in_ui  # noqa: E402
from tests.serving import running_server  # noqa: E402

TARGET_MS = 100.0
BUSY_150_MS = ("() => new Promise((done) => setTimeout(() => {"
               " const t = performance.now(); while (performance.now() - t < 150) {} done(); }, 0))")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--demo", default="serial_dilution.py")
    args = parser.parse_args()
    source = (ROOT / "web" / "protocols" / args.demo).read_text()
    results: dict[str, list[LongTasks]] = {"idle": [], "API run": [], "UI run": [], "control": []}
    with running_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(url)
        page.evaluate("window.labwright.ready")
        page.evaluate("window.labwright.catalog.loaded")
        page.wait_for_timeout(1000)  # let the catalog view settle
        for _ in range(args.runs):
            started = time.perf_counter()
            ui = measure(page, lambda: run_demo_in_ui(page, args.demo))
            ui_seconds = time.perf_counter() - started
            results["UI run"].append(ui)
            results["API run"].append(measure(page, lambda: page.evaluate(
                "(s) => window.labwright.run(s, {simulate: true}).then(r => r.status)", source)))
            # Positive control: a 150 ms busy loop on the main thread must show as a long task.
            results["control"].append(measure(page, lambda: page.evaluate(BUSY_150_MS)))
            results["idle"].append(measure(page, lambda: page.wait_for_timeout(int(ui_seconds * 1000))))
            page.reload()
            page.evaluate("window.labwright.ready")
            page.evaluate("window.labwright.catalog.loaded")
            page.wait_for_timeout(1000)
        browser.close()

    print(f"main-thread long tasks, {args.demo}, {args.runs} runs each (median; longest of all)")
    print(f"{'condition':<10} {'window s':>9} {'tasks':>6} {'blocked ms':>11} {'longest ms':>11} "
          f"{'worst ms':>9} {'worst / 100 ms':>15}")
    for name, runs in results.items():
        worst = max(r.longest_ms for r in runs)
        print(f"{name:<10} {statistics.median(r.window_ms for r in runs) / 1000:>9.2f} "
              f"{statistics.median(len(r.durations_ms) for r in runs):>6.0f} "
              f"{statistics.median(r.blocked_ms for r in runs):>11.0f} "
              f"{statistics.median(r.longest_ms for r in runs):>11.0f} {worst:>9.0f} "
              f"{worst / TARGET_MS:>15.2f}")


if __name__ == "__main__":
    main()
