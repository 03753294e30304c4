"""The page as a workbench: demo protocols planned and run in simulation, end to end in Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import drag_on_layout

DEMOS = Path(__file__).resolve().parents[2] / "web" / "protocols"


def boot(page, server_url):
    page.goto(server_url)
    page.evaluate("window.labwright.ready")
    page.evaluate("window.labwright.catalog.loaded")


def run(page, name, options=None):
    return page.evaluate(
        "([source, options]) => window.labwright.run(source, options)",
        [(DEMOS / name).read_text(), {"simulate": True, **(options or {})}],
    )


def commands(result):
    return [(e["machine"], e["command"]) for e in result["events"] if e["type"] == "command"]


def final_states(result):
    states = {}
    for event in result["events"]:
        if event["type"] == "state":
            states[event["resource"]] = event["state"]
    return states


def test_serial_dilution_runs_with_the_right_commands_and_volumes(page, server_url):
    boot(page, server_url)
    result = run(page, "serial_dilution.py", {"parameters": {"volume": 40.0, "columns": 4}})
    assert result["status"] == "completed", result["error"]
    names = [c for _, c in commands(result)]
    assert names == ["setup", "pick_up_tips"] + ["aspirate", "dispense"] * 3 + ["drop_tips", "pick_up_tips"] \
        + ["aspirate", "dispense"] * 3 + ["drop_tips", "stop"]
    start = result["plan"]["parameters"]["plate"]["contents"]["volume_per_well_ul"]
    states = final_states(result)
    expected = {1: start - 40, 2: start + 40, 3: start + 40, 4: start + 80}
    for column, volume in expected.items():
        assert states[f"plate_well_A{column}"]["volume"] == pytest.approx(volume)
    assert result["duration_ms"] > 0


@pytest.mark.parametrize("demo,expected", [
    ("elisa_read.py", ["pick_up_resource", "drop_resource", "close", "read_absorbance", "open"]),
    ("stamp_96.py", ["pick_up_tips96", "aspirate96", "dispense96", "drop_tips96"]),
    ("incubation.py", ["lock_plate", "set_temperature", "start_shaking", "stop_shaking", "unlock_plate"]),
])
def test_demo_protocols_run_in_simulation(page, server_url, demo, expected):
    boot(page, server_url)
    result = run(page, demo, {"parameters": {"seconds": 0.05}} if demo == "incubation.py" else {})
    assert result["status"] == "completed", result["error"]
    seen = [c for _, c in commands(result)]
    positions = [seen.index(name) for name in expected]
    assert positions == sorted(positions), seen


def test_the_ui_plans_runs_and_draws_the_deck(page, server_url):
    boot(page, server_url)
    page.click("#protocol-list button[data-file='stamp_96.py']")
    page.click("#plan-button")
    # The first plan of a page imports the deck's modules: allow a slow, shared CI machine time.
    expect(page.locator("#plan-table tr[data-parameter='lh']")).to_contain_text("STARlet", timeout=60_000)
    expect(page.locator("#plan-table tr[data-parameter='tips']")).to_contain_text("tips")
    # The deck as PLR's own visualizer draws it, in a frame of the page.
    expect(page.locator("#deck-plr iframe")).to_be_visible()
    page.click("#run-button")
    expect(page.locator("#workbench")).to_have_attribute("data-run-status", "completed", timeout=60_000)
    # The destination wells hold liquid in PLR's drawing (its own Well objects, from the run's state).
    visualizer = next(frame for frame in page.frames if frame.url.endswith("plr-visualizer/index.html"))
    visualizer.wait_for_function(
        "() => Object.values(resources).filter((r) => r instanceof Well && r.volume > 0).length >= 192")
    page.click("#deck-tab-layout")  # drawn when looked at, with the run's states
    filled = page.evaluate(
        "[...document.querySelectorAll('#deck-view ellipse.well')].filter(e => Number(e.dataset.volume) > 0).length"
    )
    assert filled >= 96  # the layout tab's drawing follows the run as well
    expect(page.locator("#run-log .command").first).to_be_visible()
    expect(page.locator("#history-table tr[data-run]").first).to_contain_text("completed")


def test_cancel_stops_the_run_and_releases_reservations(page, server_url):
    boot(page, server_url)
    source = (DEMOS / "incubation.py").read_text()
    started = page.evaluate(
        "(source) => window.labwright.start(source, {parameters: {seconds: 60}})", source
    )
    run_id = started["runId"]
    page.wait_for_timeout(300)
    page.evaluate("(id) => window.labwright.cancel(id)", run_id)
    result = page.evaluate("(id) => window.labwright.wait(id)", run_id)
    assert result["status"] == "cancelled"
    assert [c for _, c in commands(result)][-1] == "stop"  # stopped on the way out
    held = [r["status"] for r in page.evaluate("(id) => window.labwright.schedule.reservations({run_id: id})", run_id)]
    assert "active" not in held and "released" in held


def test_a_failing_protocol_reports_the_call_and_releases(page, server_url):
    boot(page, server_url)
    result = run(page, "serial_dilution.py", {"parameters": {"volume": 150.0, "columns": 3}})
    assert result["status"] == "failed"
    # Column 2 already holds 200 + 150 uL; another 150 would overflow its 360 uL wells.
    assert result["error"]["command"]["command"] == "dispense"
    assert "Traceback" in result["error"]["traceback"]
    record = page.evaluate("(id) => window.labwright.runs.get(id)", result["run_id"])
    assert record["status"] == "failed" and record["error"]["type"] == result["error"]["type"]


def test_unresolvable_run_fails_with_a_clear_reason(page, server_url):
    boot(page, server_url)
    source = (DEMOS / "stamp_96.py").read_text().replace("volume: float = 25.0", "volume: float")
    message = page.evaluate(
        "(source) => window.labwright.run(source, {simulate: true}).then(() => null, (e) => e.message)", source
    )
    assert message.startswith("PlanError") and "volume" in message and "no default" in message


def test_state_survives_a_reload(page, server_url):
    boot(page, server_url)
    result = run(page, "stamp_96.py")
    page.evaluate(
        "(source) => window.labwright.data.savePlan('my stamp', source, {parameters: {volume: 10}}, 'stamp_96.py')",
        (DEMOS / "stamp_96.py").read_text(),
    )
    page.reload()
    boot(page, server_url)
    history = page.evaluate("window.labwright.runs.history()")
    assert result["run_id"] in [entry["run_id"] for entry in history]
    plans = page.evaluate("window.labwright.data.plans()")
    assert [p["name"] for p in plans] == ["my stamp"]
    assert plans[0]["options"]["parameters"] == {"volume": 10}
    record = page.evaluate("(id) => window.labwright.runs.get(id)", result["run_id"])
    assert record["status"] == "completed" and len(record["events"]) == len(result["events"])


def test_repl_completes_plr_methods_after_setup(page, server_url):
    boot(page, server_url)
    page.evaluate("window.labwright.repl.execute(`from pylabrobot.liquid_handling import LiquidHandler\\n"
                  "from pylabrobot.liquid_handling.backends import LiquidHandlerChatterboxBackend\\n"
                  "from pylabrobot.resources import STARLetDeck\\n"
                  "lh = LiquidHandler(backend=LiquidHandlerChatterboxBackend(), deck=STARLetDeck())\\n"
                  "await lh.setup()`)")
    names = [c["name"] for c in page.evaluate("window.labwright.repl.complete('lh.asp')")]
    assert {"aspirate", "aspirate96"} <= set(names)
    signatures = page.evaluate("window.labwright.repl.signatures('lh.aspirate(')")
    assert signatures and signatures[0]["name"] == "aspirate"
    # Typed into the REPL's editor, the completion popup offers the method; Tab takes it.
    page.click("#repl-editor .cm-content")
    page.keyboard.type("lh.drop_t")
    labels = page.locator(".cm-tooltip-autocomplete li .cm-completionLabel")
    expect(labels.first).to_have_text("drop_tips")
    assert {"drop_tips", "drop_tips96"} <= set(labels.all_text_contents())
    page.wait_for_timeout(300)  # a person reads the popup first; CodeMirror ignores keys in its first 75 ms
    page.keyboard.press("Tab")
    expect(page.locator("#repl-editor .cm-content")).to_have_text("lh.drop_tips")


def test_repl_interrupts_a_busy_statement(page, server_url):
    boot(page, server_url)
    assert page.evaluate("self.crossOriginIsolated") is True
    # Keep the promise in the page: evaluate() would otherwise wait for it to settle.
    page.evaluate("window.busy = window.labwright.repl.execute('while True:\\n    pass'); null")
    page.wait_for_timeout(300)
    page.evaluate("window.labwright.repl.interrupt()")
    result = page.evaluate("window.busy")
    assert result["error"]["type"] == "KeyboardInterrupt"
    assert page.evaluate("window.labwright.repl.execute('6 * 7')")["result"] == "42"


def test_uploaded_file_with_a_syntax_error_is_shown_at_its_line(page, server_url, tmp_path):
    boot(page, server_url)
    broken = tmp_path / "broken.py"
    broken.write_text("from browser_runtime.protocols import protocol_function\n\n"
                      "@protocol_function\nasync def broken(x: int = 1:\n    pass\n")
    page.set_input_files("#protocol-upload", str(broken))
    expect(page.locator("#protocol-name")).to_have_text("broken.py")
    expect(page.locator("#analysis .analysis-error")).to_contain_text("line")
    # The interpreter's own syntax error, at its line in the problems panel and in the editor.
    expect(page.locator("#problem-list li.error")).to_have_count(1)
    expect(page.locator("#problem-list li.error")).to_have_attribute("data-line", "4")
    expect(page.locator("#editor .cm-lintRange-error")).to_have_count(1)


def test_python_stays_off_the_main_thread_during_a_run(page, server_url):
    from tests.e2e.longtasks import measure, run_demo_in_ui

    boot(page, server_url)
    # Python lives in the worker: the page itself has no interpreter.
    assert page.evaluate("typeof window.pyodide === 'undefined' && typeof window.loadPyodide === 'undefined'")
    tasks = measure(page, lambda: run_demo_in_ui(page))
    assert tasks.window_ms > 0
    # The observer does see the main thread blocking (positive control).
    control = measure(page, lambda: page.evaluate(
        "() => new Promise((done) => setTimeout(() => {"
        " const t = performance.now(); while (performance.now() - t < 150) {} done(); }, 0))"))
    assert control.durations_ms, "a 150 ms busy loop was not reported as a long task"
    # The figure itself is reported by tests/bench/bench_longtasks.py, not asserted here.
    print(f"main-thread long tasks during a UI run: {len(tasks.durations_ms)}, longest {tasks.longest_ms:.0f} ms")


def test_dragging_a_carrier_moves_it_to_another_rail_and_replans(page, server_url):
    boot(page, server_url)
    page.click("#protocol-list button[data-file='serial_dilution.py']")
    page.click("#plan-button")
    page.click("#deck-tab-layout")  # placements are moved on the layout tab
    expect(page.locator("#deck-view g.placement.movable").first).to_be_visible()
    # The right-most carrier has free rails to its right.
    rails = page.evaluate("[...document.querySelectorAll('#layout-editor input[data-placement]')]"
                          ".map(i => [i.dataset.placement, Number(i.value)])")
    name, before = max(rails, key=lambda entry: entry[1])
    group = page.locator(f"#deck-view g.placement[data-placement='{name}']")
    rail_input = page.locator(f"#layout-editor input[data-placement='{name}']")
    x_before = float(group.locator("rect").first.get_attribute("x"))
    drag_on_layout(page, group, 3 * 22.5, 0)  # three rails to the right
    expect(rail_input).to_have_value(str(before + 3))
    # Planned again with the new layout: the deck the worker built has the carrier 67.5 mm on.
    page.wait_for_function(
        "([name, x]) => Number(document.querySelector(`#deck-view g[data-placement='${name}'] rect`)?.getAttribute('x')) !== x",
        arg=[name, x_before])
    moved = float(page.locator(f"#deck-view g[data-placement='{name}'] rect").first.get_attribute("x"))
    assert moved - x_before == pytest.approx(3 * 22.5, abs=0.01)

    # A move onto another carrier's rails is refused with the reason, and undone.
    drag_on_layout(page, group, -12 * 22.5, 0)
    # the reason at the moved item (it collides with the carrier it was dropped on)
    expect(page.locator(f"#layout-editor .move-error[data-error-for='{name}']")).to_contain_text("collide")
    page.click("#plan-button")  # plans the layout as it was before the refused move
    expect(page.locator("#plan-message")).to_have_text("")
    expect(rail_input).to_have_value(str(before + 3))
