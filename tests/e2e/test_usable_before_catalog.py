"""The workbench is usable before the catalog is loaded, and nothing answers as if it were not there.

The bridge server's catalog is held back (its request waits in the browser) until the workbench
says it is usable; a catalog search, an analysis and a plan asked for then wait for the catalog
in the worker and answer exactly as the same questions do once it is loaded.
"""

from __future__ import annotations

from pathlib import Path

DEMO = (Path(__file__).resolve().parents[2] / "web" / "protocols" / "serial_dilution.py").read_text()

ASK = """async (source) => {
  const lw = window.labwright;
  const [search, analysis, plan, dims] = await Promise.all([
    lw.catalog.search("mettler", { section: "backends" }),
    lw.call("protocols.analyze", { source, filename: "serial_dilution.py" }),
    lw.call("runs.plan", { source, filename: "serial_dilution.py" }),
    lw.catalog.dimensions("pylabrobot.resources.Cor_96_wellplate_360ul_Fb"),
  ]);
  const drop = (value) => JSON.parse(JSON.stringify(value, (key, v) => (key === "score" ? undefined : v)));
  const { protocol, parameters, deck_layout, deck, candidates } = plan;
  return { search: search.map((entry) => entry.name), analysis, dims,
           plan: drop({ protocol, parameters, deck_layout, deck, candidates }) };
}"""


def test_usable_before_the_catalog_and_early_questions_wait_for_it(context, server_url):
    held = []
    # The worker's catalog request (Python's pyfetch in the worker) waits here until released.
    context.route("**/api/v1/definitions", lambda route, request: held.append(route))
    page = context.new_page()
    page.goto(server_url)
    page.wait_for_selector("body[data-workbench=ready]", timeout=120_000)
    page.wait_for_function("document.querySelector('#protocol-list button') !== null")
    assert page.evaluate("window.labwright.call('catalog.status')")["loaded"] is False
    assert held, "the worker asked the bridge server for the catalog"

    page.evaluate(f"(source) => {{ window.__early = ({ASK})(source); }}", DEMO)
    # Asked before the catalog is there: nothing has answered yet, and nothing answered wrong.
    assert page.evaluate("window.labwright.call('catalog.status')")["loaded"] is False
    for route in held:
        route.continue_()
    context.unroute("**/api/v1/definitions")
    first = page.evaluate("window.__early")
    assert page.evaluate("window.labwright.call('catalog.status')")["loaded"] is True

    assert first["search"] == ["MettlerToledoWXS205SDUBackend"]
    assert abs(first["dims"]["x"] - 127.76) < 1e-6
    assert first["plan"]["deck_layout"]["deck"].endswith("STARLetDeck")
    assert first["analysis"]["protocols"], first["analysis"]
    # The same questions once the catalog is loaded get the same answers.
    assert page.evaluate(ASK, DEMO) == first
    page.close()
