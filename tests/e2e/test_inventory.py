"""The inventory as a person keeps it: add labware of a catalog type, see its lot, expiry and
contents, edit it in its row, retire it; bad input is refused with what and where."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import open_dock

PLATE = "pylabrobot.resources.corning.plates.cor_96_wellplate_360uL_Fb"


def test_add_edit_and_retire_an_item(page, server_url):
    page.goto(server_url)
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    open_dock(page, "inventory")
    before = int(page.get_attribute("#inventory", "data-count"))
    assert before > 0  # the page's demo inventory is listed
    form = page.locator("#inventory-add")
    form.locator("input[name=name]").fill("ELISA plate 7")
    form.locator("input[name=type]").type("cor_96_wellplate_360uL")
    expect(page.locator(f"#inventory-types option[value='{PLATE}']")).to_have_count(1)  # offered from the catalog
    form.locator("input[name=type]").fill(PLATE)
    form.locator("input[name=lot]").fill("L-2020")
    form.locator("input[name=expires]").fill("2020-01-31")
    form.locator("input[name=volume]").fill("120")
    form.locator("button[type=submit]").click()
    expect(page.locator("#inventory-message")).to_have_text("ELISA plate 7 added")
    row = page.locator("#inventory-table tr", has_text="ELISA plate 7")
    expect(row).to_contain_text("L-2020")
    expect(row.locator("td.expires.expired")).to_have_text("2020-01-31")  # long expired: marked
    expect(row).to_contain_text("120 µL")

    # Edit in the row: a new lot and expiry, Enter saves.
    row.locator("button.edit").click()
    row.locator("input[name=lot]").fill("L-2030")
    row.locator("input[name=expires_at]").fill("2030-06-30")
    row.locator("input[name=lot]").press("Enter")
    expect(page.locator("#inventory-message")).to_have_text("ELISA plate 7 saved")
    row = page.locator("#inventory-table tr", has_text="ELISA plate 7")
    expect(row).to_contain_text("L-2030")
    expect(row.locator("td.expires")).to_have_text("2030-06-30")
    expect(row.locator("td.expires.expired")).to_have_count(0)

    # A bad amount is refused with what is wrong; the item keeps its values.
    row.locator("button.edit").click()
    row.locator("input[name=remaining_tips]").fill("2.5")
    row.locator("button.save").click()
    expect(page.locator("#inventory-message")).to_contain_text("remaining_tips must be a whole number")
    expect(page.locator("#inventory-table tr", has_text="ELISA plate 7")).to_contain_text("L-2030")

    # Retire: gone from the list, kept for the record, and it survives a reload.
    page.locator("#inventory-table tr", has_text="ELISA plate 7").locator("button.retire").click()
    expect(page.locator("#inventory-message")).to_have_text("ELISA plate 7 retired")
    expect(page.locator("#inventory-table tr", has_text="ELISA plate 7")).to_have_count(0)
    page.reload()
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    page.check("#inventory-retired")  # the dock stays on Inventory across the reload
    expect(page.locator("#inventory-table tr", has_text="ELISA plate 7").locator("td.status")).to_have_text("retired")


def test_an_unknown_type_is_refused_naming_it(page, server_url):
    page.goto(server_url)
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    open_dock(page, "inventory")
    form = page.locator("#inventory-add")
    form.locator("input[name=name]").fill("mystery")
    form.locator("input[name=type]").fill("pylabrobot.resources.no_such_plate")
    form.locator("button[type=submit]").click()
    expect(page.locator("#inventory-message")).to_contain_text("'pylabrobot.resources.no_such_plate' is not labware")
    expect(page.locator("#inventory-table tr", has_text="mystery")).to_have_count(0)
