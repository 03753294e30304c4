"""Moving labware between carrier sites on the drawn deck, as a person drags it: a plate to the next
site of its carrier, then onto a site that holds tips (refused, the reason at the plate)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import drag_on_layout


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

    drag_on_layout(page, plate, 0, 96)  # the carrier's next site, 96 mm to the back
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
    drag_on_layout(page, page.locator("#deck-view g.placement.movable[data-placement='plate']"), dx, -96)
    error = page.locator("#layout-editor .move-error[data-error-for='plate']")
    expect(error).to_contain_text(f"site 0 of {tips['parent']} holds tips")
    expect(site).to_have_value("1")
    page.screenshot(path="/tmp/shots/site-refused.png")
