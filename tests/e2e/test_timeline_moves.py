"""Stepping through a run that moves a plate shows the plate where it was at that step, forwards
and backwards, live and reopened from history: PLR's own drawing gets PLR's resource_unassigned /
resource_assigned as the timeline passes each move. Clicked and keyed as a person does; the
screenshots are kept under build/test-screenshots/ to look at."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.editing import paste_new_file

SHOTS = Path(__file__).resolve().parents[2] / "build" / "test-screenshots"

SHUFFLE = '''
from pylabrobot.liquid_handling import LiquidHandler
from pylabrobot.resources import Plate

from browser_runtime.protocols import protocol_function


@protocol_function(name="Plate shuffle", version="1.0.0")
async def shuffle(lh: LiquidHandler, plate: Plate) -> list:
    """Move the plate along its carrier's free sites, one after the other."""
    carrier = plate.parent.parent
    free = [carrier[i] for i in range(carrier.capacity) if carrier[i].resource is None]
    visited = [plate.parent.name]
    for site in free[:2]:
        await lh.move_plate(plate, site)
        visited.append(site.name)
    return visited
'''


def visualizer(page):
    """PLR's page in its frame (made when a deck is first shown: wait for it)."""
    page.wait_for_selector("iframe[title^='Deck']", state="attached", timeout=30_000)
    frame = page.frame_locator("iframe[title^='Deck']").owner.element_handle().content_frame()
    frame.wait_for_function("() => typeof resources === 'object'")
    return frame


def wait_drawn_under(page, name: str, parent: str | None) -> None:
    visualizer(page).wait_for_function(
        "([name, parent]) => { const r = resources[name];"
        " const drawn = r && r.group && r.group.getLayer() ? (r.parent?.name ?? null) : null;"
        " return drawn === parent; }", arg=[name, parent], timeout=15_000)


def deck_shot(page, name: str) -> None:
    """PLR's drawing as it is now (its frame only), to look at."""
    page.wait_for_timeout(300)  # PLR's canvas redrawn
    page.locator("iframe[title^='Deck']").screenshot(path=str(SHOTS / name))


def step_to(page, text: str, key: str = "ArrowRight", limit: int = 200) -> int:
    """Hold the arrow key on the slider until the step's label has ``text``; the step number."""
    page.focus("#step-slider")
    for _ in range(limit):
        label = page.locator("#step-label").text_content()
        if text in label:
            return int(label.split(" ·")[0])
        page.keyboard.press(key)
    raise AssertionError(f"no step with {text!r}; last: {page.locator('#step-label').text_content()}")


def moves_of(page, run_id: str) -> list[dict]:
    return page.evaluate("""async (runId) => {
      const { events } = await window.labwright.runs.events(runId, 0, null);
      return events.filter((e) => e.type === "assigned" || e.type === "unassigned")
        .map(({ type, resource, parent }) => ({ type, resource, parent }));
    }""", run_id)


def check_the_plate_moves_with_the_steps(page, sites: list[str], tag: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    expect(page.locator("#timeline")).not_to_have_attribute("data-loading", "", timeout=60_000)
    # The end: the plate on the last site.
    page.click("#step-last")
    wait_drawn_under(page, "plate", sites[2])
    deck_shot(page, f"moves-{tag}-end.png")
    # The start: where it began.
    page.click("#step-first")
    expect(page.locator("#step-label")).to_contain_text("0 · before the first command")
    wait_drawn_under(page, "plate", sites[0])
    deck_shot(page, f"moves-{tag}-start.png")
    # Forwards with the arrow key: picked up it is still on its site; dropped, on the next one.
    step_to(page, "pick_up_resource")
    wait_drawn_under(page, "plate", sites[0])
    step_to(page, "drop_resource")
    wait_drawn_under(page, "plate", sites[1])
    deck_shot(page, f"moves-{tag}-first-move.png")
    page.keyboard.press("ArrowRight")
    step_to(page, "drop_resource")
    wait_drawn_under(page, "plate", sites[2])
    # Backwards with the step button: one step before the second drop, it is on the middle site.
    page.click("#step-back")
    wait_drawn_under(page, "plate", sites[1])
    deck_shot(page, f"moves-{tag}-back.png")
    # Its wells are drawn once, on it (moved back and forth, none lost or doubled).
    assert visualizer(page).evaluate("() => Object.values(resources).filter((r) => r.name.startsWith('plate_well_')).length") == 96


def test_stepping_through_a_run_shows_the_plate_where_it_was(page, server_url):
    page.goto(server_url)
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    paste_new_file(page, SHUFFLE)
    page.click("#plan-button")
    expect(page.locator("#plan-table tr[data-parameter]").first).to_be_visible(timeout=60_000)
    page.click("#run-button")
    expect(page.locator("#workbench")).to_have_attribute("data-run-status", "completed", timeout=120_000)
    run_id = page.locator("#workbench").get_attribute("data-run-id")
    moves = moves_of(page, run_id)
    assert [m["type"] for m in moves] == ["unassigned", "assigned", "unassigned", "assigned"], moves
    sites = [moves[0]["parent"], moves[1]["parent"], moves[3]["parent"]]
    assert len(set(sites)) == 3 and all(m["resource"] == "plate" for m in moves)
    # Live, the drawing followed the run to its end: the plate on the last site.
    wait_drawn_under(page, "plate", sites[2])
    check_the_plate_moves_with_the_steps(page, sites, "live")

    # Reopened from history after a reload: the same steps, the same places.
    page.reload()
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    page.click(f"#history-table tr[data-run='{run_id}'] button:has-text('open')")
    expect(page.locator("#run-status")).to_contain_text(run_id)
    wait_drawn_under(page, "plate", sites[2])
    check_the_plate_moves_with_the_steps(page, sites, "history")
