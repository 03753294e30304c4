"""Choosing from PLR's catalog what a plan is made for, as a person does in the plan table: the
liquid handler's model (its deck: a STARlet, a STAR, an OT-2) and each labware's definition. A
choice that cannot be planned is undone with the reason next to the control."""

from __future__ import annotations

from playwright.sync_api import expect

STAR = "pylabrobot.resources.hamilton.hamilton_decks.STARDeck"
OT2 = "pylabrobot.resources.opentrons.deck.OTDeck"
AXYGEN = "pylabrobot.resources.corning.axygen.plates.cor_axy_96_wellplate_500uL_Ub"


def plan_serial_dilution(page, server_url):
    page.goto(server_url)
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    page.click("#protocol-list button[data-file='serial_dilution.py']")
    page.click("#plan-button")
    expect(page.locator("#plan-table tr[data-parameter='lh'] select.model-choice")).to_be_visible(timeout=60_000)


def planned(page, path):
    return page.evaluate(f"window.labwrightWorkbench.state.plan.{path}")


def replanned(page, before):
    """Waits for the plan shown to be another than ``before`` (a choice plans again)."""
    page.wait_for_function("(id) => window.labwrightWorkbench.state.plan?.plan_id !== id && "
                           "!document.querySelector('#plan-message').textContent.includes('planning')",
                           arg=before, timeout=60_000)


def test_the_liquid_handler_model_is_chosen_and_the_deck_follows(page, server_url):
    plan_serial_dilution(page, server_url)
    model = page.locator("#plan-table tr[data-parameter='lh'] select.model-choice")
    expect(model).to_have_value("pylabrobot.resources.hamilton.hamilton_decks.STARLetDeck")
    labels = model.locator("option").all_inner_texts()
    assert any("STARDeck · 56 rails" in t for t in labels) and any("OTDeck · 12 slots" in t for t in labels)
    assert not any("EVO" in t for t in labels)  # decks auto-layout cannot fill are not offered

    before = planned(page, "plan_id")
    model.select_option(STAR)
    replanned(page, before)
    expect(page.locator("#plan-table tr[data-parameter='lh'] select.model-choice")).to_have_value(STAR, timeout=60_000)
    assert planned(page, "deck_layout.deck") == STAR
    assert planned(page, "deck.size_x") == 1545  # PLR's own STAR deck is what is drawn
    page.screenshot(path="/tmp/shots/model-star.png")

    # An OT-2 has no slot a 200 mL trough fits: the choice is undone, the reason next to it.
    page.locator("#plan-table tr[data-parameter='lh'] select.model-choice").select_option(OT2)
    error = page.locator("#plan-table .choice-error[data-error-for='lh']")
    expect(error).to_contain_text("trough", timeout=60_000)
    expect(page.locator("#plan-table tr[data-parameter='lh'] select.model-choice")).to_have_value(STAR)
    assert planned(page, "deck_layout.deck") == STAR
    page.screenshot(path="/tmp/shots/model-refused.png")

    page.click("#run-button")
    expect(page.locator("#workbench")).to_have_attribute("data-run-status", "completed", timeout=120_000)
    record = page.evaluate("(id) => window.labwright.runs.get(id)", page.get_attribute("#workbench", "data-run-id"))
    assert record["plan"]["deck_layout"]["deck"] == STAR


def test_a_labware_definition_from_the_catalog_is_laid_out_and_run(page, server_url):
    plan_serial_dilution(page, server_url)
    definition = page.locator("#plan-table tr[data-parameter='plate'] select.definition-choice")
    expect(definition.locator("option").first).to_have_text("automatic: cor_96_wellplate_360uL_Fb")
    expect(definition.locator("optgroup[label='corning'] option", has_text="cor_axy_96_wellplate_500uL_Ub")).to_have_count(1)
    # Only plates: no tip rack or trough is offered for a plate parameter.
    assert not any("tiprack" in t for t in definition.locator("option").all_inner_texts())
    before = planned(page, "plan_id")
    definition.select_option(AXYGEN)
    replanned(page, before)
    expect(page.locator("#plan-table tr[data-parameter='plate'] select.definition-choice")).to_have_value(AXYGEN, timeout=60_000)
    assert planned(page, "parameters.plate.type") == AXYGEN
    placement = next(p for p in planned(page, "deck_layout.placements") if p["name"] == "plate")
    assert placement["resource"] == AXYGEN
    expect(page.locator("#plan-table tr[data-parameter='plate'] .reasons")).to_contain_text("the inventory holds no")
    page.screenshot(path="/tmp/shots/definition.png")
    page.click("#run-button")
    expect(page.locator("#workbench")).to_have_attribute("data-run-status", "completed", timeout=120_000)
    record = page.evaluate("(id) => window.labwright.runs.get(id)", page.get_attribute("#workbench", "data-run-id"))
    assert record["plan"]["parameters"]["plate"]["type"] == AXYGEN
    assert record["plan"]["chosen"] == {"plate": AXYGEN}
    # Back to automatic: the planner's own plate again.
    before = planned(page, "plan_id")
    page.locator("#plan-table tr[data-parameter='plate'] select.definition-choice").select_option("")
    replanned(page, before)
    expect(page.locator("#plan-table tr[data-parameter='plate'] select.definition-choice")).to_have_value("", timeout=60_000)
    assert planned(page, "parameters.plate.type").endswith("cor_96_wellplate_360uL_Fb")


READ = '''
from pylabrobot.plate_reading import PlateReader
from pylabrobot.resources import Plate

from browser_runtime.protocols import protocol_function


@protocol_function(name="Read a plate", version="1.0.0")
async def read_plate(reader: PlateReader, plate: Plate, wavelength: int = 450):
    await reader.open()
    await reader.close()
    return await reader.read_absorbance(wavelength=wavelength)
'''


def test_a_plate_only_the_reader_reads_starts_in_the_reader(page, server_url):
    from tests.e2e.editing import paste_new_file

    page.goto(server_url)
    paste_new_file(page, READ)
    page.click("#plan-button")
    row = page.locator("#plan-table tr[data-parameter='plate']")
    expect(row).to_contain_text("in reader", timeout=60_000)
    expect(row.locator(".reasons")).to_contain_text("starts in reader")
    page.screenshot(path="/tmp/shots/in-reader.png")
    with page.expect_popup() as popup:
        page.click("#setup-sheet-button")
    expect(popup.value.locator("#setup-sheet")).to_contain_text("in reader (it starts inside the machine)")
    popup.value.close()
    page.click("#run-button")
    expect(page.locator("#workbench")).to_have_attribute("data-run-status", "completed", timeout=120_000)
    expect(page.locator("#results")).to_be_visible()
