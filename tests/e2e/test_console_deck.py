"""PLR's deck drawing follows what a person types in the REPL: volumes set on the last run's plate
and the plate moved to another carrier site are drawn as they happen, and a deck built in the
console is drawn whole."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import open_dock
from tests.e2e.longtasks import run_demo_in_ui


def visualizer(page):
    return next(frame for frame in page.frames if frame.url.endswith("plr-visualizer/index.html"))


def type_in_repl(page, line):
    page.click("#repl-editor .cm-content")
    page.keyboard.type(line)
    page.keyboard.press("Control+Enter")
    expect(page.locator("#repl-interrupt")).to_be_disabled(timeout=30_000)  # the input has run


def test_the_drawing_follows_repl_commands_on_the_runs_deck(page, server_url):
    page.goto(server_url)
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    run_demo_in_ui(page, "serial_dilution.py")
    frame = visualizer(page)
    before = frame.evaluate("() => resources['plate_well_H12'].volume")
    assert before != 123

    open_dock(page, "repl-panel")
    type_in_repl(page, "[w.tracker.set_volume(123.0) for w in plate.children][:0]")
    frame.wait_for_function("() => resources['plate_well_H12'].volume === 123", timeout=10_000)
    # Hovering the well says its volume (PLR's own hover handler, our label); a tip spot its tip.
    label = frame.evaluate("() => { resources['plate_well_H12'].mainShape.fire('mouseover');"
                           " return tooltip.getText().text(); }")
    assert label == "plate_well_H12: 123 of 360 µL"
    assert frame.evaluate("() => { resources['tips_tipspot_A1'].mainShape.fire('mouseover');"
                          " return tooltip.getText().text(); }") in ("tips_tipspot_A1: tip", "tips_tipspot_A1: no tip")

    site = frame.evaluate("() => resources['plate'].parent.name")
    type_in_repl(page, "carrier = plate.parent.parent; plate.unassign(); carrier[4] = plate")
    frame.wait_for_function("(site) => resources['plate'] && resources['plate'].parent.name !== site",
                            arg=site, timeout=10_000)
    assert frame.evaluate("() => resources['plate'].parent.name").endswith("4")
    assert frame.evaluate("() => resources['plate_well_H12'].volume") == 123  # its liquid moved with it
    page.screenshot(path="/tmp/shots/console-deck.png")


def test_a_deck_built_in_the_repl_is_drawn(page, server_url):
    page.goto(server_url)
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    open_dock(page, "repl-panel")
    type_in_repl(page, "from pylabrobot.resources import OTDeck, Cor_96_wellplate_360ul_Fb as plate96")
    type_in_repl(page, "deck = OTDeck(); deck.assign_child_at_slot(plate96(name='samples'), 5)")
    expect(page.locator("#deck-panel")).to_be_visible()
    frame = visualizer(page)
    frame.wait_for_function("() => typeof resources !== 'undefined' && resources['samples'] !== undefined",
                            timeout=10_000)  # the frame may still be loading PLR's scripts
    assert frame.evaluate("() => resources['ot2_deck'] !== undefined")  # PLR's OT-2 deck, drawn whole
    page.screenshot(path="/tmp/shots/console-built-deck.png")
