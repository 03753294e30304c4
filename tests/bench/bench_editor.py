"""The editor in the page: Jedi completion latency on a 300-line protocol, and the main thread while typing.

    .venv/bin/python tests/bench/bench_editor.py [--trials 30]

One real `labwright serve`, Debian's Chromium, one page with a 300-line protocol open in the
workbench's editor. In the same run:
- baseline: a worker round trip that does no work (``runPython("None")``), the floor;
- completion (API): ``labwright.protocols.complete`` at the end of a fresh ``handler.`` line;
- completion (UI): a person types ``handler.asp`` at the end of the file; from the last key to
  the popup offering ``aspirate`` (what the user waits for);
- typing: a 47-character line typed at 12 keys/s with completion, signatures and diagnostics
  running; the main thread's long tasks (PerformanceObserver, tasks over 50 ms) meanwhile.
Goals (issue 13): completion p95 <= 150 ms in the page; no stale result inserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.e2e.editing import paste_new_file  # noqa: E402
from tests.e2e.longtasks import measure  # noqa: E402
from tests.fixtures.long_protocol import long_protocol_source  # noqa: E402
from tests.serving import running_server  # noqa: E402

GOAL_MS = 150.0
TIMED = """async ([source, line, column]) => {
  const t = performance.now();
  const found = await window.labwright.protocols.complete(source, line, column);
  return [performance.now() - t, found.map((c) => c.name)];
}"""
ROUND_TRIP = """async () => { const t = performance.now(); await window.labwright.runPython("None"); return performance.now() - t; }"""


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summary(name: str, values: list[float], baseline: float | None = None) -> str:
    ratio = f"  ({statistics.median(values) / baseline:.1f}x the round trip)" if baseline else ""
    return f"{name:<22} median {statistics.median(values):7.1f} ms   p95 {p95(values):7.1f} ms   n={len(values)}{ratio}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    # The file ends inside its last step's body with a bare `handler`: the trials type after it.
    source = long_protocol_source(300).rstrip("\n") + "\n    handler"
    lines = source.count("\n") + 1
    with running_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url)
        page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
        paste_new_file(page, source)

        baseline = [page.evaluate(ROUND_TRIP) for _ in range(args.trials)]
        # The first completion of a page loads Jedi's view of PLR: reported, then warm trials.
        probe = source + "."
        probe_line, probe_column = lines, len("    handler.")
        first, names = page.evaluate(TIMED, [probe, probe_line, probe_column])
        assert "aspirate" in names, names[:20]
        api = [page.evaluate(TIMED, [probe, probe_line, probe_column])[0] for _ in range(args.trials)]

        # As a person: type after the last line's `handler`, wait for the popup to offer aspirate.
        page.click("#editor .cm-content")
        ui: list[float] = []
        for _ in range(max(5, args.trials // 3)):
            page.keyboard.press("ControlOrMeta+End")
            page.keyboard.type(".as", delay=80)
            started = page.evaluate("performance.now()")
            page.keyboard.type("p")
            expect(page.locator(".cm-tooltip-autocomplete li .cm-completionLabel", has_text="aspirate").first).to_be_visible()
            ui.append(page.evaluate("performance.now()") - started)
            page.keyboard.press("Escape")
            for _ in range(len(".asp")):
                page.keyboard.press("Backspace")
        page.keyboard.press("ControlOrMeta+End")
        line = ".aspirate(plate['A1:H1'], vols=[volume] * 8)  # typed by hand"
        typing = measure(page, lambda: page.keyboard.type(line[:48], delay=83))
        browser.close()

    print(f"editor in the page, a {lines}-line protocol ({len(source)} characters)")
    print(summary("worker round trip", baseline))
    print(f"{'first completion':<22} {first:7.1f} ms (Jedi loads PLR's modules once per page)")
    print(summary("completion (API)", api, statistics.median(baseline)))
    print(summary("completion (UI popup)", ui, statistics.median(baseline)))
    print(f"typing {len(line[:48])} characters at 12/s: {len(typing.durations_ms)} long tasks, "
          f"longest {typing.longest_ms:.0f} ms on the main thread")
    verdict = "meets" if p95(api) <= GOAL_MS and p95(ui) <= GOAL_MS else "misses"
    print(f"goal: completion p95 <= {GOAL_MS:.0f} ms -> {verdict} (API p95 {p95(api):.0f} ms, UI p95 {p95(ui):.0f} ms)")


if __name__ == "__main__":
    main()
