"""Where the liquid went, as a person would rather look than read: after a run, the volume of each
plate and container over the run's commands as lines; a click on the chart goes to that command."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.longtasks import run_demo_in_ui


def test_the_volume_over_the_run_is_drawn_and_a_click_goes_to_that_step(page, server_url):
    page.goto(server_url)
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    run_demo_in_ui(page, "serial_dilution.py")
    figure = page.locator("#results figure.volume-over-run")
    expect(figure).to_be_visible(timeout=30_000)
    legend = figure.locator(".legend").inner_text()
    assert "diluent" in legend and "plate" in legend  # the trough emptied into the plate
    lines = {name: page.evaluate(
        "(n) => document.querySelector(`#results polyline[data-series='${n}']`).getAttribute('points')"
        ".split(' ').map(p => Number(p.split(',')[1]))", name) for name in ("plate", "diluent")}
    # SVG y grows downwards: the plate's line rises (smaller y at the end), the diluent's falls
    assert lines["plate"][-1] < lines["plate"][0] and lines["diluent"][-1] > lines["diluent"][0]
    steps = int(page.locator("#step-slider").get_attribute("max"))
    assert len(lines["plate"]) == steps + 1  # the start, then after each command
    figure.scroll_into_view_if_needed()
    box = figure.locator("svg").bounding_box()
    # the middle of the plotted area (80 px of 640 are the y axis' labels, 12 the right margin)
    page.mouse.click(box["x"] + box["width"] * (80 + (640 - 92) / 2) / 640, box["y"] + box["height"] / 2)
    expect(page.locator("#step-slider")).to_have_value(str(round(steps / 2)))
    page.screenshot(path="/tmp/shots/curves.png", full_page=True)

    # Another protocol opened: nothing of that run stays on show as if it were this one's.
    page.click("#protocol-list button[data-file='stamp_96.py']")
    expect(page.locator("#protocol-name")).to_contain_text("stamp_96")
    expect(page.locator("#results")).to_be_empty()
    expect(page.locator("#run-log")).to_be_empty()
    expect(page.locator("#timeline")).to_be_hidden()
    expect(page.locator("#run-status")).to_have_text("")
    expect(page.locator("#history-table tr[data-run]").first).to_contain_text("Serial dilution")  # kept there
