"""A run as a person watches it: its estimate before, the timeline to step through after (the deck,
the log entry and the editor line at each command), its results (a plate reading as a heatmap,
final volumes), and the same for a run reopened from history."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def boot(page, server_url):
    page.goto(server_url)
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)


def plan_and_run(page, file):
    page.click(f"#protocol-list button[data-file='{file}']")
    page.click("#plan-button")
    expect(page.locator("#plan-table tr[data-parameter]").first).to_be_visible(timeout=60_000)
    # The scheduler's discrete-event estimate comes with the plan.
    expect(page.locator("#plan-estimate")).to_contain_text("Estimated duration", timeout=60_000)
    page.click("#run-button")
    expect(page.locator("#workbench")).to_have_attribute("data-run-status", "completed", timeout=120_000)


def visualizer(page):
    return next(frame for frame in page.frames if frame.url.endswith("plr-visualizer/index.html"))


def filled_wells(page):
    return visualizer(page).evaluate(
        "() => Object.values(resources).filter((r) => r instanceof Well && r.volume > 0).length")


def test_the_timeline_steps_through_a_run_on_the_deck_the_log_and_the_editor(page, server_url):
    boot(page, server_url)
    plan_and_run(page, "stamp_96.py")
    expect(page.locator("#run-duration")).to_contain_text("took")
    expect(page.locator("#run-duration")).to_contain_text("estimated")
    timeline = page.locator("#timeline")
    expect(timeline).to_be_visible()
    steps = int(page.locator("#step-slider").get_attribute("max"))
    assert steps >= 4  # setup, pick up, aspirate, dispense, ...
    expect(page.locator("#step-label")).to_contain_text(f"{steps} ·")
    well = "() => resources['destination_well_A1'].volume"
    # The live drawing is at most 10 updates a second: wait until it shows the stamp's end.
    visualizer(page).wait_for_function(f"() => ({well})() > 0")
    end_volume = visualizer(page).evaluate(well)

    # Back to the start: the destination plate as it was before the first command.
    page.click("#step-first")
    expect(page.locator("#step-label")).to_contain_text("0 · before the first command")
    visualizer(page).wait_for_function(f"() => ({well})() < {end_volume}")
    start_volume = visualizer(page).evaluate(well)

    # Step forward with the keyboard on the slider, as a person would, to the aspirate.
    page.focus("#step-slider")
    for _ in range(steps):
        label = page.locator("#step-label").text_content()
        if ".aspirate96(" in label or ".aspirate(" in label:
            break
        page.keyboard.press("ArrowRight")
    label = page.locator("#step-label").text_content()
    assert "aspirate" in label, label
    step = int(label.split(" ·")[0])
    # Its log entry is highlighted and its line of the protocol is marked in the editor.
    expect(page.locator(f"#run-log .entry.current[data-step='{step}']")).to_have_count(1)
    expect(page.locator("#editor .cm-run-step-line")).to_contain_text("aspirate")

    # Play to the end: the destination plate fills again.
    page.select_option("#step-speed", "60")
    page.click("#step-play")
    expect(page.locator("#step-label")).to_contain_text(f"{steps} ·", timeout=30_000)
    visualizer(page).wait_for_function(f"() => ({well})() === {end_volume}")
    assert start_volume < end_volume
    # Final volumes per well, as a heatmap of the destination plate.
    expect(page.locator("#results figure.heatmap").first).to_be_visible()


def test_a_plate_reading_is_shown_as_a_heatmap_and_downloads_as_csv(page, server_url):
    boot(page, server_url)
    plan_and_run(page, "elisa_read.py")
    heatmap = page.locator("#results figure.heatmap", has_text="Absorbance")
    expect(heatmap).to_be_visible()
    expect(heatmap.locator("td[data-well]")).to_have_count(96)
    expect(heatmap.locator("td[data-well='H12']")).to_have_attribute("title", re.compile(r"^H12: -?\d"))
    with page.expect_download() as download:
        heatmap.locator("button.csv").click()
    csv = download.value.path().read_text().splitlines()
    assert csv[0] == "," + ",".join(str(c) for c in range(1, 13))
    assert [line.split(",")[0] for line in csv[1:]] == list("ABCDEFGH")
    assert all(len(line.split(",")) == 13 for line in csv[1:])
    with page.expect_download() as download:
        page.click("#results-json")
    assert '"value"' in download.value.path().read_text()


def test_a_run_reopened_from_history_has_its_timeline_and_results(page, server_url):
    boot(page, server_url)
    plan_and_run(page, "elisa_read.py")
    run_id = page.get_attribute("#workbench", "data-run-id")
    page.reload()
    boot(page, server_url)
    expect(page.locator("#results figure")).to_have_count(0)
    page.click(f"#history-table tr[data-run='{run_id}'] button:has-text('open')")
    expect(page.locator("#results figure.heatmap", has_text="Absorbance")).to_be_visible()
    expect(page.locator("#timeline")).to_be_visible()
    steps = int(page.locator("#step-slider").get_attribute("max"))
    assert steps >= 5
    page.click("#step-back")
    expect(page.locator("#step-label")).to_contain_text(f"{steps - 1} ·")


def test_the_deck_setup_sheet_prints_what_goes_where_and_the_deck_downloads(page, server_url):
    boot(page, server_url)
    page.click("#protocol-list button[data-file='serial_dilution.py']")
    page.click("#plan-button")
    expect(page.locator("#plan-table tr[data-parameter]").first).to_be_visible(timeout=60_000)
    page.click("#deck-tab-layout")  # the layout drawing (rails and slots) is what the sheet shows
    expect(page.locator("#deck-view svg.deck-view")).to_be_visible()
    with page.expect_popup() as popup:
        page.click("#setup-sheet-button")
    sheet = popup.value
    expect(sheet.locator("h1")).to_contain_text("Deck setup")
    rows = sheet.locator("#setup-sheet table").first.locator("tr")
    expect(rows.first).to_contain_text("where")
    assert rows.count() >= 3  # a header and the protocol's labware
    text = sheet.locator("#setup-sheet").inner_text()
    assert "rails" in text and "lot" in text
    expect(sheet.locator("#setup-sheet svg")).to_have_count(1)
    expect(sheet.locator(".tools button", has_text="Print")).to_be_visible()
    sheet.emulate_media(media="print")
    expect(sheet.locator(".tools")).to_be_hidden()  # the sheet prints without its buttons
    with page.expect_download() as download:
        page.click("#deck-svg")
    assert download.value.path().read_text().startswith("<svg")
    with page.expect_download() as download:
        page.click("#deck-png")
    assert download.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_user_chooses_the_inventory_items_and_the_run_uses_them(page, server_url):
    boot(page, server_url)
    page.click("#protocol-list button[data-file='serial_dilution.py']")
    page.click("#plan-button")
    plate = page.locator("#plan-table tr[data-parameter='plate'] select.item-choice")
    expect(plate).to_be_visible(timeout=60_000)
    # The automatic choice and its reason first, then every plate that fits with lot and expiry.
    first = plate.locator("option").first
    expect(first).to_contain_text("automatic: sample plate")
    assert plate.locator("option").count() >= 3
    expect(plate.locator("option").nth(2)).to_contain_text("lot ")
    automatic = page.evaluate("window.labwrightWorkbench.state.plan.parameters.plate.asset_id")
    option = plate.locator("option").nth(2)
    wanted = int(option.get_attribute("value"))
    assert wanted != automatic
    plate.select_option(str(wanted))
    # Planned again on that item, said so; the machine is chosen the same way.
    expect(page.locator("#plan-table tr[data-parameter='plate'] .reasons")).to_have_text("chosen by you", timeout=60_000)
    lh = page.locator("#plan-table tr[data-parameter='lh'] select.item-choice")
    lh.select_option(label="STARlet 2 (simulated)")
    expect(page.locator("#plan-table tr[data-parameter='lh'] .reasons")).to_have_text("chosen by you", timeout=60_000)
    expect(page.locator("#plan-table tr[data-parameter='plate'] select.item-choice")).to_have_value(str(wanted))
    page.click("#run-button")
    expect(page.locator("#workbench")).to_have_attribute("data-run-status", "completed", timeout=120_000)
    run_id = page.get_attribute("#workbench", "data-run-id")
    record = page.evaluate("(id) => window.labwright.runs.get(id)", run_id)
    assert record["plan"]["parameters"]["plate"]["asset_id"] == wanted
    assert record["plan"]["parameters"]["lh"]["asset"] == "STARlet 2 (simulated)"
