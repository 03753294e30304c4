"""Main-thread long tasks (PerformanceObserver 'longtask') while the page does something.

Shared by the workbench e2e test (which checks the observer sees the page and that Python is
not on the main thread) and tests/bench/bench_longtasks.py (which reports the figures).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

OBSERVE = """() => {
  window.__longtasks = [];
  window.__longtaskObserver?.disconnect();
  window.__longtaskObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) window.__longtasks.push({start: entry.startTime, duration: entry.duration});
  });
  window.__longtaskObserver.observe({type: "longtask"});
  return PerformanceObserver.supportedEntryTypes.includes("longtask");
}"""

COLLECT = """() => new Promise((resolve) => {
  // Entries are delivered after the task ends: let one more frame pass before reading.
  setTimeout(() => {
    const entries = window.__longtaskObserver.takeRecords().map(e => ({start: e.startTime, duration: e.duration}));
    window.__longtaskObserver.disconnect();
    resolve([...window.__longtasks, ...entries]);
  }, 100);
})"""


@dataclass
class LongTasks:
    durations_ms: list[float]
    window_ms: float

    @property
    def longest_ms(self) -> float:
        return max(self.durations_ms, default=0.0)

    @property
    def blocked_ms(self) -> float:
        return sum(self.durations_ms)


def measure(page, action: Callable[[], None]) -> LongTasks:  # noqa: ANN001 - Playwright page
    """Long tasks on the page's main thread while ``action()`` runs."""
    assert page.evaluate(OBSERVE), "this Chromium does not report long tasks"
    started = page.evaluate("performance.now()")
    action()
    ended = page.evaluate("performance.now()")
    entries = page.evaluate(COLLECT)
    return LongTasks([e["duration"] for e in entries], ended - started)


def run_demo_in_ui(page, file: str = "serial_dilution.py", timeout_ms: int = 120_000) -> None:  # noqa: ANN001
    """Pick a demo, plan it and run it from the workbench's buttons, until it completes."""
    from playwright.sync_api import expect

    page.click(f"#protocol-list button[data-file='{file}']")
    page.click("#plan-button")
    expect(page.locator("#plan-table tr[data-parameter]").first).to_be_visible(timeout=timeout_ms)
    page.click("#run-button")
    expect(page.locator("#workbench")).to_have_attribute("data-run-status", "completed", timeout=timeout_ms)
