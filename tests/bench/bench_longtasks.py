"""The main thread's longest task while a person uses the workbench (issue 14, goal: none > 50 ms).

    .venv/bin/python tests/bench/bench_longtasks.py [--runs 2] [--rounds 20]

One real `labwright serve`, Debian's Chromium; in the same run, N times each (a fresh browser
context each time, so the first boot is cold):

- boot (cold, then warm by a reload): from navigation until the workbench is usable;
- plan: the busy protocol (tests/fixtures/busy_protocol.py, 1,002 commands by default) planned
  from the Plan button;
- API run: the same run by ``labwright.run`` (no UI following it);
- UI run: the Run button until the run's status shows, the deck, log and timeline live; then
  until the timeline holds every step of the run exactly (``#timeline`` loses ``data-loading``);
- scrub: the timeline's slider dragged from end to start, then an arrow key held through 150 steps;
- catalog search: typing a query into the PLR catalog dock's search as a person types;
- control: a 150 ms busy loop on the main thread (proves the observer sees long tasks);
- idle: the page doing nothing for 2 s (the floor).

Long tasks are PerformanceObserver 'longtask' entries (tasks over 50 ms) of the page and its
same-origin frames (PLR's visualizer). Printed: each condition's longest task (max over the
runs) and its ratio to the 50 ms goal and to the control's (150 ms) of the same run; the run
times and the UI / API ratio.
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

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, open_dock  # noqa: E402
from tests.e2e.editing import paste_new_file  # noqa: E402
from tests.e2e.longtasks import LongTasks, measure  # noqa: E402
from tests.fixtures.busy_protocol import BUSY_PROTOCOL, busy_commands  # noqa: E402
from tests.serving import running_server  # noqa: E402

GOAL_MS = 50.0
BUSY_150_MS = ("() => new Promise((done) => setTimeout(() => {"
               " const t = performance.now(); while (performance.now() - t < 150) {} done(); }, 0))")
# Long tasks from the document's first script on (boot): installed before the page's own scripts.
OBSERVE_FROM_START = """
if (window.top === window) {
  window.__bootLongtasks = [];
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__bootLongtasks.push(entry.duration);
  }).observe({ type: "longtask" });
}"""
API_RUN = """async ([source, rounds]) => {
  const started = performance.now();
  const result = await window.labwright.run(source, { function: "transfers", parameters: { rounds } });
  return [performance.now() - started, result.status];
}"""


def boot(page, url: str | None) -> LongTasks:  # noqa: ANN001 - Playwright page
    """Navigate (or reload) until the workbench is usable; the long tasks of that."""
    started = time.perf_counter()
    if url is None:
        page.reload()
    else:
        page.goto(url)
    page.wait_for_selector("body[data-workbench=ready]", timeout=300_000)
    window = (time.perf_counter() - started) * 1000
    return LongTasks(page.evaluate("window.__bootLongtasks"), window)


def scrub(page) -> None:  # noqa: ANN001
    """Drag the timeline's slider from its end to its start, then hold ← through 150 steps."""
    slider = page.locator("#step-slider")
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] - 2, y)
    page.mouse.down()
    for i in range(60):  # about a second of dragging at 60 moves/s
        page.mouse.move(box["x"] + box["width"] * (1 - (i + 1) / 60), y)
        page.wait_for_timeout(16)
    page.mouse.up()
    page.keyboard.press("End")
    for _ in range(150):  # a held key repeats about every 30 ms
        page.keyboard.down("ArrowLeft")
        page.wait_for_timeout(30)
    page.keyboard.up("ArrowLeft")
    page.wait_for_timeout(200)  # the last step drawn


def catalog_search(page) -> None:  # noqa: ANN001
    box = page.locator("#catalog-search")
    box.click()
    box.fill("")
    box.press_sequentially("corning 96 well plate", delay=90)  # a person typing
    page.wait_for_timeout(500)  # the last search answered and drawn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=20, help="50 commands each")
    args = parser.parse_args()
    source = BUSY_PROTOCOL.replace("rounds: int = 20", f"rounds: int = {args.rounds}")
    names = ("boot (cold)", "boot (warm)", "plan", "API run", "UI run", "UI run, timeline exact", "scrub",
             "catalog search", "control", "idle")
    results: dict[str, list[LongTasks]] = {name: [] for name in names}
    with running_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(args.runs):
            context = browser.new_context(viewport={"width": 1600, "height": 1000})
            context.add_init_script(OBSERVE_FROM_START)
            page = context.new_page()
            page.set_default_timeout(300_000)
            results["boot (cold)"].append(boot(page, url))
            page.wait_for_timeout(2000)  # the snapshot saved, the catalog loaded
            results["boot (warm)"].append(boot(page, None))
            page.evaluate("window.labwright.catalog.loaded")
            page.wait_for_timeout(1000)
            paste_new_file(page, source)

            # Waits are plain selector waits: Playwright's `expect` builds an aria snapshot of the
            # page on the page's main thread while it polls, which showed as the longest tasks.
            def plan() -> None:
                page.click("#plan-button")
                page.wait_for_selector("#plan-table tr[data-parameter]")

            results["plan"].append(measure(page, plan))
            page.evaluate(API_RUN, [source, args.rounds])  # a warm-up of the run itself
            api = measure(page, lambda: page.evaluate(API_RUN, [source, args.rounds]))
            results["API run"].append(api)

            exact: dict[str, float] = {}

            def ui_run() -> None:
                page.click("#run-button")
                page.wait_for_selector("#workbench[data-run-status=completed]", state="attached")

            def ui_exact() -> None:
                started = time.perf_counter()
                ui_run()
                exact["status"] = (time.perf_counter() - started) * 1000
                # The timeline says it is still fetching the run's events exactly (data-loading, set
                # before the status shows) until it has them all (a page that loads them with the
                # result never says so).
                page.wait_for_selector("#timeline:not([data-loading])", state="attached")
                exact["complete"] = (time.perf_counter() - started) * 1000

            page.evaluate("document.querySelector('#workbench').removeAttribute('data-run-status')")
            run = measure(page, ui_exact)
            run.status_ms, run.complete_ms = exact["status"], exact["complete"]
            results["UI run"].append(run)
            results["UI run, timeline exact"].append(run)
            assert page.locator("#step-slider").get_attribute("max") == str(busy_commands(args.rounds))
            results["scrub"].append(measure(page, lambda: scrub(page)))
            open_dock(page, "catalog")
            page.wait_for_selector("#catalog[data-state=loaded]")
            page.wait_for_timeout(500)
            results["catalog search"].append(measure(page, lambda: catalog_search(page)))
            results["control"].append(measure(page, lambda: page.evaluate(BUSY_150_MS)))
            results["idle"].append(measure(page, lambda: page.wait_for_timeout(2000)))
            context.close()
        browser.close()

    control = max(r.longest_ms for r in results["control"]) or 1.0
    print(f"main-thread long tasks (> 50 ms), busy protocol ({busy_commands(args.rounds)} commands), "
          f"{args.runs} runs each")
    print(f"{'condition':<24} {'window s':>9} {'tasks':>6} {'blocked ms':>11} {'longest ms':>11} "
          f"{'x 50 ms goal':>13} {'x control':>10}")
    for name, runs in results.items():
        if name == "UI run, timeline exact":
            continue
        worst = max(r.longest_ms for r in runs)
        print(f"{name:<24} {statistics.median(r.window_ms for r in runs) / 1000:>9.2f} "
              f"{statistics.median(len(r.durations_ms) for r in runs):>6.0f} "
              f"{statistics.median(r.blocked_ms for r in runs):>11.0f} {worst:>11.0f} "
              f"{worst / GOAL_MS:>13.2f} {worst / control:>10.2f}")
    api_ms = statistics.median(r.window_ms for r in results["API run"])
    status_ms = statistics.median(r.status_ms for r in results["UI run"])
    complete_ms = statistics.median(r.complete_ms for r in results["UI run"])
    print(f"\nrun wall ms (median): API {api_ms:.0f}; UI to its status {status_ms:.0f} "
          f"({status_ms / api_ms:.2f}x API); UI to an exact timeline {complete_ms:.0f} ({complete_ms / api_ms:.2f}x API)")


if __name__ == "__main__":
    main()
