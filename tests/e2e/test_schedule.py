"""The schedule view: workcells, queued demo runs on a Gantt chart, optimise, run, release."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import open_dock


def boot(page, server_url):
    page.goto(server_url)
    page.evaluate("window.labwright.ready")
    page.evaluate("window.labwright.catalog.loaded")
    open_dock(page, "schedule")
    expect(page.locator("#schedule")).to_be_visible(timeout=60_000)


def add_workcell(page, name, machines):
    for machine in machines:
        page.locator("#workcell-machines label", has_text=machine).locator("input").check()
    page.fill("#workcell-name", name)
    page.click("#workcell-add")
    expect(page.locator(f"#workcell-list li[data-workcell='{name}']")).to_be_visible()


def overlapping(a, b):
    start = lambda run: datetime.fromisoformat(run["starts_at"])  # noqa: E731
    end = lambda run: datetime.fromisoformat(run["ends_at"])  # noqa: E731
    return start(a) < end(b) and start(b) < end(a)


def test_demo_runs_are_scheduled_drawn_optimised_and_run(page, server_url):
    boot(page, server_url)
    add_workcell(page, "cell A", ["STARlet (simulated)", "Plate reader", "Heater-shaker"])
    add_workcell(page, "cell B", ["STARlet 2"])

    page.click("#schedule-demos")
    expect(page.locator("#schedule-message")).to_contain_text("placed", timeout=120_000)
    schedule = page.evaluate("window.labwright.schedule()")
    placed = [run for run in schedule["runs"] if run["status"] == "scheduled"]
    assert len(placed) == 4, schedule["infeasible"]
    # Drawn: one bar per run per machine it holds.
    bars = sum(len(run["machines"]) for run in placed)
    expect(page.locator("#gantt svg rect.bar")).to_have_count(bars)
    # Never two runs on one machine at once (a run holds a machine only while it uses it, so
    # compare the holds, not the runs' whole windows), and each run's machines are in its workcell.
    cells = {cell["name"]: {m["id"] for m in cell["machines"]} for cell in schedule["workcells"]}
    for run in placed:
        assert set(run["machines"].values()) <= cells[run["workcell"]]
    for a, b in itertools.combinations(schedule["reservations"], 2):
        if a["asset_id"] == b["asset_id"] and a["run_id"] != b["run_id"]:
            assert not overlapping(a, b), (a, b)

    page.click("#schedule-optimiser")
    expect(page.locator("#schedule-message")).to_contain_text("optimiser: makespan")
    # How good it is, next to the chart: makespan, the lower bound, the gap (or proven optimal).
    expect(page.locator("#schedule-quality")).to_contain_text("lower bound")

    # Run the serial dilution now, in simulation: completed, its reservations released.
    row = page.locator("#schedule-queue tr[data-status='scheduled']", has_text="Serial dilution")
    run_id = row.get_attribute("data-run")
    row.locator("button.execute").click()
    expect(page.locator(f"#schedule-queue tr[data-run='{run_id}']")).to_have_attribute(
        "data-status", "completed", timeout=120_000)
    held = page.evaluate("(id) => window.labwright.schedule.reservations({run_id: id})", run_id)
    assert held and all(r["status"] == "released" for r in held), held
    expect(page.locator(f"#gantt rect.bar.completed[data-run='{run_id}']").first).to_be_visible()


def test_a_stale_revision_is_refused(page, server_url):
    boot(page, server_url)
    revision = page.evaluate("window.labwright.schedule().then(s => s.revision)")
    machines = page.evaluate("window.labwright.schedule.machines()")
    free = [m["id"] for m in machines if not m["workcell"]][:1]
    page.evaluate("([ids, rev]) => window.labwright.schedule.addWorkcell('first', ids, null, rev)", [free, revision])
    with pytest.raises(Exception, match="ScheduleConflict"):
        page.evaluate("([ids, rev]) => window.labwright.schedule.addWorkcell('second', ids, null, rev)",
                      [free, revision])


def test_two_pages_share_the_bridge_servers_schedule(browser):
    """One authoritative schedule on the lab PC: both pages see the same runs; a run executes
    in the page that started it and the server records its end; a stale write is refused."""
    from tests.serving import running_server

    token = "e2e-schedule-token"
    processes = []
    with running_server(env={"LABWRIGHT_TOKEN": token}, on_start=processes.append) as url:
        contexts = [browser.new_context(service_workers="block") for _ in range(2)]
        try:
            one, two = (context.new_page() for context in contexts)
            for page in (one, two):
                page.set_default_timeout(120_000)
                boot(page, f"{url}#token={token}")
                page.check("#schedule-shared")
                expect(page.locator("#schedule")).to_have_attribute("data-source", "server")
                expect(page.locator("#schedule")).to_have_attribute("data-live", "live")
            add_workcell(one, "shared cell", ["STARlet (simulated)", "Plate reader", "Heater-shaker"])
            # The lab PC's labware stock: the same items the page's demo inventory holds.
            stocked = one.evaluate("""async (token) => {
              const keys = ["name", "catalog_fqn", "lot", "expires_at", "remaining_volume_ul", "remaining_tips"];
              const labware = (await window.labwright.inventory.own()).filter(a => a.kind === "labware")
                .map(a => Object.fromEntries(keys.map(k => [k, a[k]])));
              const response = await fetch('/api/v1/schedule/labware', {method: 'POST', body: JSON.stringify({labware}),
                headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json'}});
              const body = await response.json();
              return [response.status, body.labware ? body.labware.length : JSON.stringify(body)];
            }""", token)
            assert stocked[0] == 201 and stocked[1] > 0, stocked
            one.click("#schedule-demos")
            expect(one.locator("#schedule-message")).to_contain_text("placed", timeout=120_000)
            # The other page follows the server's schedule: the server pushes each change (no polling).
            expect(two.locator("#schedule-queue tr[data-status='scheduled']")).to_have_count(4, timeout=10_000)
            expect(two.locator("#workcell-list li[data-workcell='shared cell']")).to_be_visible()

            row = one.locator("#schedule-queue tr[data-status='scheduled']", has_text="Serial dilution")
            run_id = row.get_attribute("data-run")
            row.locator("button.execute").click()
            expect(one.locator(f"#schedule-queue tr[data-run='{run_id}']")).to_have_attribute(
                "data-status", "completed", timeout=120_000)
            expect(two.locator(f"#schedule-queue tr[data-run='{run_id}']")).to_have_attribute(
                "data-status", "completed", timeout=10_000)
            held = one.evaluate(
                "(id) => fetch(`/api/v1/schedule/reservations?run_id=${id}`).then(r => r.json())", run_id)
            assert held["reservations"] and {r["status"] for r in held["reservations"]} == {"released"}

            # Page two writes from a revision page one has moved past: refused, not lost.
            stale = int(two.get_attribute("#schedule", "data-revision"))
            one.click("#schedule-optimiser")
            expect(one.locator("#schedule-message")).to_contain_text("optimiser: makespan")
            status = two.evaluate(
                """([token, revision]) => fetch('/api/v1/schedule/plan', {method: 'POST',
                     headers: {Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', 'If-Match': String(revision)},
                     body: '{}'}).then(r => r.status)""", [token, stale])
            assert status == 409

            # The lab's inventory is the server's: the shared cell's machines are in it, with the
            # schedule's open reservations.
            lab = two.evaluate("""async () => {
              const assets = await window.labwright.inventory();
              return [window.labwright.inventory.source, assets.filter(a => a.location === 'shared cell').length,
                      window.labwright.inventory.reservations.length];
            }""")
            assert lab[0] == "server" and lab[1] == 3 and lab[2] > 0, lab

            # The server goes away: the pages keep working on their own data and say so.
            processes[0].kill()
            processes[0].wait(timeout=10)
            expect(two.locator("#schedule")).to_have_attribute("data-live", "lost")
            expect(two.locator("#schedule-message")).to_contain_text("lost the bridge server")
            own = two.evaluate("""async () => {
              const assets = await window.labwright.inventory();
              return [window.labwright.inventory.source, window.labwright.inventory.lost, assets.length];
            }""")
            assert own[0] == "page" and "out of reach" in own[1] and own[2] > 0, own
        finally:
            for context in contexts:
                context.close()


def test_a_fresh_start_queues_the_open_protocol_with_reasons_in_words(page, server_url):
    boot(page, server_url)
    # The protocol open in the workbench, with a value changed on its form.
    page.click("#protocol-list button[data-file='elisa_read.py']")
    page.fill("#parameter-form input[name='wavelength']", "600")
    # No workcell yet: queued, it cannot be placed, and the panel says why in words.
    page.click("#schedule-open")
    expect(page.locator("#schedule-message")).to_contain_text("cannot be placed", timeout=120_000)
    expect(page.locator("#schedule")).not_to_contain_text("[object Object]")
    expect(page.locator("#schedule")).not_to_contain_text("None")
    # One click makes a workcell of every free machine; queued again, the run is placed.
    page.click("#workcell-default")
    expect(page.locator("#workcell-list li[data-workcell='Workcell']")).to_be_visible()
    expect(page.locator("#workcell-default")).to_be_hidden()
    page.click("#schedule-open")
    expect(page.locator("#schedule-message")).to_contain_text("elisa_read.py queued", timeout=120_000)
    row = page.locator("#schedule-queue tr[data-status='scheduled']", has_text="ELISA read")
    expect(row).to_have_count(1)
    run_id = row.get_attribute("data-run")
    run = page.evaluate("(id) => window.labwright.schedule().then(s => s.runs.find(r => r.id === id))", run_id)
    assert run["request"]["parameters"] == {"wavelength": 600}
    # Its bars: the liquid handler and the reader, each only while the run uses it.
    expect(page.locator(f"#gantt rect.bar[data-run='{run_id}']")).to_have_count(2)
    expect(page.locator("#schedule")).not_to_contain_text("[object Object]")
