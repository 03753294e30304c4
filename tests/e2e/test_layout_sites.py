"""Moving labware between carrier sites on the drawn deck, as a person drags it: a plate to the next
site of its carrier, then onto a site that holds tips (refused, the reason at the plate)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect


def drag(page, group, dx_mm, dy_mm):
    """Drag ``group`` by so many mm on the layout drawing (PLR's frame: y to the back)."""
    page.locator("#deck-view").scroll_into_view_if_needed()
    box = group.bounding_box()
    scale = page.evaluate("document.querySelector('#deck-view svg').getScreenCTM().a")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx_mm * scale / 2, y - dy_mm * scale / 2, steps=5)
    page.mouse.move(x + dx_mm * scale, y - dy_mm * scale, steps=5)
    page.mouse.up()


def test_a_plate_is_dragged_to_another_site_and_a_taken_site_is_refused_at_the_plate(page, server_url):
    page.goto(server_url)
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    page.click("#protocol-list button[data-file='serial_dilution.py']")
    page.click("#plan-button")
    page.click("#deck-tab-layout")
    plate = page.locator("#deck-view g.placement.movable[data-placement='plate']")
    expect(plate).to_be_visible(timeout=60_000)
    site = page.locator("#layout-editor input[data-placement='plate']")
    expect(site).to_have_value("0")
    y_before = float(plate.locator("rect").first.get_attribute("y"))
    carrier = next(p for p in page.evaluate("window.labwrightWorkbench.state.plan.deck_layout.placements")
                   if p["name"] == "plate")["parent"]

    drag(page, plate, 0, 96)  # the carrier's next site, 96 mm to the back
    expect(site).to_have_value("1", timeout=60_000)
    page.wait_for_function(
        "(y) => Number(document.querySelector(`#deck-view g[data-placement='plate'] rect`)?.getAttribute('y')) !== y",
        arg=y_before)
    y_after = float(page.locator("#deck-view g[data-placement='plate'] rect").first.get_attribute("y"))
    assert y_before - y_after == pytest.approx(96, abs=0.5)  # SVG's y grows downwards
    placement = next(p for p in page.evaluate("window.labwrightWorkbench.state.plan.deck_layout.placements")
                     if p["name"] == "plate")
    assert (placement["parent"], placement["slot"]) == (carrier, 1)
    page.screenshot(path="/tmp/shots/site-moved.png")

    # Onto the tip carrier's site that holds the tips: refused, the reason next to the plate's site.
    tips = next(p for p in page.evaluate("window.labwrightWorkbench.state.plan.deck_layout.placements")
                if p["name"] == "tips")
    rails = {p["name"]: p.get("rails") for p in page.evaluate("window.labwrightWorkbench.state.plan.deck_layout.placements")}
    dx = (rails[tips["parent"]] - rails[carrier]) * 22.5
    drag(page, page.locator("#deck-view g.placement.movable[data-placement='plate']"), dx, -96)
    error = page.locator("#layout-editor .move-error[data-error-for='plate']")
    expect(error).to_contain_text(f"site 0 of {tips['parent']} holds tips")
    expect(site).to_have_value("1")
    page.screenshot(path="/tmp/shots/site-refused.png")
