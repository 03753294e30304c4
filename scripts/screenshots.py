"""Take the README's screenshots: boot, the editor, a plan, a run on its timeline, results, the schedule.

    .venv/bin/python scripts/screenshots.py      # writes docs/screenshot-{boot,editor,plan,run,results,schedule}.png
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
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(url)
        page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
        page.evaluate("window.labwright.catalog.loaded")
        page.screenshot(path=str(docs / "screenshot-boot.png"))
        # The editor: a demo opened as the user's own copy, a problem underlined and listed.
        page.click("#protocol-list button[data-file='serial_dilution.py']")
        page.click("#editor .cm-content")
        page.keyboard.press("ControlOrMeta+End")
        page.keyboard.type("\nprint(undefined_name)")
        expect(page.locator("#problem-list li").first).to_be_visible(timeout=60_000)
        page.screenshot(path=str(docs / "screenshot-editor.png"))
        page.keyboard.press("ControlOrMeta+z")
        page.keyboard.press("ControlOrMeta+z")
        expect(page.locator("#problem-list li")).to_have_count(0, timeout=60_000)
        page.click("#plan-button")
        expect(page.locator("#plan-table tr[data-parameter]").first).to_be_visible(timeout=60_000)
        expect(page.locator("#plan-estimate")).to_contain_text("Estimated", timeout=60_000)
        page.wait_for_timeout(1500)  # PLR's visualizer draws the deck
        page.screenshot(path=str(docs / "screenshot-plan.png"))
        page.click("#run-button")
        expect(page.locator("#workbench")).to_have_attribute("data-run-status", "completed", timeout=120_000)
        # Stepped back through the run's timeline to an aspirate: deck, log entry and line at that step.
        page.focus("#step-slider")
        page.keyboard.press("Home")
        for _ in range(40):
            if ".aspirate(" in (page.locator("#step-label").text_content() or ""):
                break
            page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(800)
        page.screenshot(path=str(docs / "screenshot-run.png"))
        # An ELISA read's results: the plate reading as a heatmap.
        page.click("#protocol-list button[data-file='elisa_read.py']")
        page.click("#plan-button")
        expect(page.locator("#plan-table tr[data-parameter]").first).to_be_visible(timeout=60_000)
        page.click("#run-button")
        expect(page.locator("#results figure.heatmap").first).to_be_visible(timeout=120_000)
        page.locator("#results").scroll_into_view_if_needed()
        page.locator("#run-column").screenshot(path=str(docs / "screenshot-results.png"))
        # The schedule: two workcells, the demo protocols queued, optimised, one run done.
        page.click(".dock-tabs [data-dock='schedule']")
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
    print("wrote docs/screenshot-{boot,editor,plan,run,results,schedule}.png")


if __name__ == "__main__":
    main()
