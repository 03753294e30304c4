"""Take the README's screenshots of the workbench: the plan view and a finished run.

    .venv/bin/python scripts/screenshots.py      # writes docs/screenshot-{plan,run,schedule}.png
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.serving import running_server  # noqa: E402


def main() -> None:
    docs = ROOT / "docs"
    with running_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.evaluate("window.labwright.ready")
        page.evaluate("window.labwright.catalog.loaded")
        page.click("#protocol-list button[data-file='serial_dilution.py']")
        page.click("#plan-button")
        expect(page.locator("#deck-view svg.deck-view")).to_be_visible(timeout=60_000)
        workbench = page.locator("#workbench")
        workbench.scroll_into_view_if_needed()
        workbench.screenshot(path=str(docs / "screenshot-plan.png"))
        page.click("#run-button")
        expect(workbench).to_have_attribute("data-run-status", "completed", timeout=120_000)
        workbench.screenshot(path=str(docs / "screenshot-run.png"))
        # The schedule: two workcells, the demo protocols queued, optimised, one run done.
        for name, machines in (("cell A", ["STARlet (simulated)", "Plate reader", "Heater-shaker"]),
                               ("cell B", ["STARlet 2"])):
            for machine in machines:
                page.locator("#workcell-machines label", has_text=machine).locator("input").check()
            page.fill("#workcell-name", name)
            page.click("#workcell-add")
            expect(page.locator(f"#workcell-list li[data-workcell='{name}']")).to_be_visible()
        page.click("#schedule-demos")
        expect(page.locator("#schedule-message")).to_contain_text("placed", timeout=120_000)
        page.click("#schedule-optimiser")
        expect(page.locator("#schedule-message")).to_contain_text("makespan")
        row = page.locator("#schedule-queue tr[data-status='scheduled']", has_text="Serial dilution")
        row.locator("button.execute").click()
        expect(page.locator("#schedule-queue tr[data-status='completed']")).to_have_count(1, timeout=120_000)
        page.locator("#schedule").screenshot(path=str(docs / "screenshot-schedule.png"))
        browser.close()
    print("wrote docs/screenshot-plan.png, docs/screenshot-run.png and docs/screenshot-schedule.png")


if __name__ == "__main__":
    main()
