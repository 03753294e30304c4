"""Writing protocols in the page as a PLR user does: the editor driven by the keyboard, diagnostics at
their lines, plain PLR scripts run in simulation and made protocols, drafts that survive a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.editing import paste_new_file

PLAIN_SCRIPT = '''from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.liquid_handling.backends import STARBackend
from pylabrobot.resources.hamilton import STARLetDeck
from pylabrobot.resources import TIP_CAR_480_A00, PLT_CAR_L5AC_A00, cor_96_wellplate_360uL_Fb, hamilton_96_tiprack_1000uL_filter

lh = LiquidHandler(backend=STARBackend(), deck=STARLetDeck())
await lh.setup()

tip_car = TIP_CAR_480_A00(name="tip carrier")
tip_car[0] = tip_rack = hamilton_96_tiprack_1000uL_filter(name="tips_01")
lh.deck.assign_child_resource(tip_car, rails=3)

plt_car = PLT_CAR_L5AC_A00(name="plate carrier")
plt_car[0] = plate = cor_96_wellplate_360uL_Fb(name="plate_01")
lh.deck.assign_child_resource(plt_car, rails=15)

await lh.pick_up_tips(tip_rack["A1:C1"])
await lh.aspirate(plate["A1:C1"], vols=[10.0, 20.0, 30.0])
await lh.dispense(plate["D1:F1"], vols=[10.0, 20.0, 30.0])
await lh.drop_tips(tip_rack["A1:C1"])
await lh.stop()
'''

MISTAKES = '''import os
from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.resources import Plate, TipRack, Cos_96_wellplate
from browser_runtime.protocols import protocol_function


@protocol_function(name="Mistakes", version="1.0.0")
async def mistakes(lh: LiquidHandler, tips: TipRack, plate: Plate):
    await lh.pick_up_tips(tips["A1"])
    print(undefined_thing)
'''

FAILS_AT_LINE_12 = '''from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.resources import Plate, TipRack
from browser_runtime.protocols import protocol_function


async def empty_a_well(lh, plate):
    await lh.aspirate(plate["A1"], vols=[1.0])


@protocol_function(name="Fails", version="1.0.0")
async def fails(lh: LiquidHandler, tips: TipRack, plate: Plate):
    await lh.aspirate(plate["A1"], vols=[10.0])  # no tip picked up: PLR refuses
'''


@pytest.fixture
def workbench(page, server_url):
    page.goto(server_url)
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    return page


def _doc(page) -> str:
    return page.evaluate("window.labwrightWorkbench.editor.text")


def test_the_editor_is_driven_by_the_keyboard_with_jedi_completion(workbench):
    page = workbench
    paste_new_file(page, "from pylabrobot.liquid_handling import LiquidHandler\n\n\nasync def step(lh: LiquidHandler):\n")
    page.keyboard.press("ControlOrMeta+End")
    page.keyboard.press("Tab")  # Tab indents; it does not leave the editor
    page.keyboard.type("lh.aspi", delay=40)
    popup = page.locator(".cm-tooltip-autocomplete")
    expect(popup).to_be_visible()
    expect(popup.locator("li")).to_have_count(2)  # aspirate, aspirate96
    page.wait_for_timeout(300)  # a person reads the popup first; CodeMirror ignores keys in its first 75 ms
    page.keyboard.press("ArrowDown")
    expect(popup.locator("li[aria-selected]")).to_contain_text("aspirate96")
    page.keyboard.press("Enter")
    assert _doc(page).endswith("    lh.aspirate96")
    page.keyboard.type("(", delay=40)
    expect(page.locator(".cm-signature")).to_contain_text("aspirate96(")  # signature help
    page.keyboard.press("ControlOrMeta+z")  # undo
    assert not _doc(page).endswith("(")


def test_mistakes_are_shown_at_their_lines_before_anything_runs(workbench):
    page = workbench
    paste_new_file(page, MISTAKES)
    problems = page.locator("#problem-list li")
    expect(problems).to_have_count(4, timeout=30_000)
    lines: dict[str, str] = {}
    for item in problems.all():
        lines[item.get_attribute("data-line")] = lines.get(item.get_attribute("data-line"), "") + item.inner_text()
    assert "imported but unused" in lines["1"]
    assert "has no 'Cos_96_wellplate'" in lines["3"] and "did you mean" in lines["3"]
    assert "undefined name 'undefined_thing'" in lines["10"]
    expect(page.locator("#editor .cm-lintRange-error")).to_have_count(2)
    page.locator("#problem-list li[data-line='10']").click()  # jumps to the line
    assert page.evaluate("window.labwrightWorkbench.editor.editor.view.state.doc.lineAt("
                         "window.labwrightWorkbench.editor.editor.view.state.selection.main.head).number") == 10


def test_a_plain_plr_script_runs_in_simulation_with_its_backend_swapped(workbench):
    page = workbench
    paste_new_file(page, PLAIN_SCRIPT)
    expect(page.locator("#script-note")).to_contain_text("plain PLR script")
    expect(page.locator("#analysis")).to_contain_text("STARBackend → simulated")
    page.click("#plan-button")
    row = page.locator("#plan-table tr[data-parameter='lh']")
    expect(row).to_contain_text("LiquidHandlerChatterboxBackend")
    expect(row).to_contain_text("the script builds STARBackend")
    page.click("#run-button")
    expect(page.locator("#workbench")).to_have_attribute("data-run-status", "completed", timeout=60_000)
    expect(page.locator("#run-log")).to_contain_text("lh: simulated with LiquidHandlerChatterboxBackend in place of STARBackend")
    expect(page.locator("#run-log .command")).to_have_count(6)  # setup, tips, aspirate, dispense, drop, stop
    expect(page.locator("#history-table tr[data-run]").first).to_contain_text("simulation")


def test_a_script_becomes_a_protocol_after_its_diff_is_shown(workbench):
    page = workbench
    paste_new_file(page, PLAIN_SCRIPT)
    page.click("#to-protocol")
    dialog = page.locator("dialog.codemod")
    expect(dialog).to_be_visible()
    expect(dialog.locator("pre.diff .del").first).to_be_visible()
    expect(dialog).to_contain_text("lh: LiquidHandler, tip_rack: TipRack, plate: Plate")
    page.click("#to-protocol-apply")
    page.wait_for_function("() => window.labwrightWorkbench.editor.text.includes('@protocol_function(')")
    expect(page.locator("#protocol-function")).to_be_visible()
    expect(page.locator("#script-note")).to_be_hidden()
    page.click("#plan-button")
    expect(page.locator("#plan-table tr[data-parameter='plate']")).to_be_visible()
    page.keyboard.press("ControlOrMeta+z")  # the change is an edit: undo brings the script back


def test_a_reload_right_after_typing_loses_nothing(workbench):
    page = workbench
    paste_new_file(page, "x = 1\n")
    page.keyboard.press("ControlOrMeta+End")
    page.keyboard.type("y = 2  # typed just before the reload", delay=10)
    page.reload()  # no time to wait for the database save
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    expect(page.locator("#protocol-name")).to_have_text("untitled.py")
    page.wait_for_function("() => window.labwrightWorkbench.editor.text.includes('typed just before the reload')")
    # ...and it reached the database too (a second reload has no browser-only copy to fall back on).
    page.wait_for_function("() => !document.querySelector('#save-state').textContent.startsWith('editing')")
    files = page.evaluate("window.labwright.library.files()")
    saved = page.evaluate("(id) => window.labwright.library.open(id)", files[0]["id"])
    assert "typed just before the reload" in saved["source"]


def test_a_run_time_error_points_at_the_protocols_own_line(workbench):
    page = workbench
    paste_new_file(page, FAILS_AT_LINE_12)
    page.click("#plan-button")
    page.click("#run-button")
    expect(page.locator("#workbench")).to_have_attribute("data-run-status", "failed", timeout=60_000)
    expect(page.locator("#run-log .entry.error").last).to_contain_text("at line 12")
    expect(page.locator("#run-log .entry.error").last).to_contain_text("lh.aspirate")
    marked = page.locator("#editor .cm-run-error-line")
    expect(marked).to_have_count(1)
    expect(marked).to_contain_text('await lh.aspirate(plate["A1"], vols=[10.0])')


def test_versions_are_kept_and_compared(workbench):
    page = workbench
    paste_new_file(page, "a = 1\n")
    page.on("dialog", lambda dialog: dialog.accept("first"))
    page.click("#save-version")
    expect(page.locator("#save-state")).to_contain_text("version 1")
    page.click("#editor .cm-content")
    page.keyboard.press("ControlOrMeta+End")
    page.keyboard.type("b = 2\n")
    page.click("#show-versions")
    page.locator("#versions-box li[data-version='1'] button.diff-button").click()
    expect(page.locator("#versions-box pre.diff .add")).to_contain_text("+b = 2")
