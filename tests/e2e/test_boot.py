"""The page boots PLR in a Pyodide worker, offline, and runs Python for scripts."""

from __future__ import annotations

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

import browser_runtime


def wait_ready(page) -> dict:
    return page.evaluate("window.labwright.ready")


def test_page_reaches_ready_with_the_pinned_versions(page, server_url, context):
    page.goto(server_url)
    versions = wait_ready(page)
    assert versions["pyodide"] == "314.0.7"
    assert versions["python"].startswith("3.14.")
    assert versions["pylabrobot"] == "0.2.2"
    assert versions["libcst"] == "1.9.0"
    assert versions["labwright"] == browser_runtime.__version__
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    expect(page.locator("#versions")).to_contain_text("pylabrobot")
    expect(page.locator("#versions")).to_contain_text("0.2.2")
    # The imports `ready` promises really happened in the worker.
    code = (
        "import sys\nsorted(m for m in ('pylabrobot.liquid_handling', 'pylabrobot.resources',"
        " 'libcst', 'browser_runtime') if m in sys.modules)"
    )
    loaded = page.evaluate("code => window.labwright.runPython(code)", code)
    assert loaded == "['browser_runtime', 'libcst', 'pylabrobot.liquid_handling', 'pylabrobot.resources']"
    assert page.evaluate("typeof window.loadPyodide") == "undefined"  # Python is not on this thread


def test_no_request_leaves_the_origin(page, server_url, context):
    page.goto(server_url)
    wait_ready(page)
    page.evaluate("window.labwright.runPython('import jedi, libcst; jedi.__version__')")
    guard = context.guard
    assert guard.foreign == []
    # The guard saw the real traffic (so an empty list above means something).
    assert any(url.endswith("pyodide.asm.wasm") for url in guard.same_origin)
    assert any("/wheels/compiled/pylabrobot-" in url for url in guard.same_origin)


def test_progress_shows_named_stages(page, server_url):
    page.goto(server_url)
    stages = page.locator("#stages li")
    expect(stages).to_have_count(4)
    assert stages.all_inner_texts() == ["Python runtime", "Packages", "PyLabRobot", "Ready"]
    wait_ready(page)
    expect(page.locator("#stages li.done")).to_have_count(4)
    assert page.locator("#progress-bar").evaluate("bar => bar.value") == 1


def test_run_python_returns_repr_and_runs_plr(page, server_url):
    page.goto(server_url)
    wait_ready(page)
    run = lambda code: page.evaluate("code => window.labwright.runPython(code)", code)  # noqa: E731
    assert run("1 + 1") == "2"
    assert run("x = 'kept'") == "None"
    assert run("x") == "'kept'"
    code = (
        "from pylabrobot.resources import cor_96_wellplate_360uL_Fb\n"
        "plate = cor_96_wellplate_360uL_Fb('p')\n"
        "(plate.num_items, plate.get_well('A1').max_volume)"
    )
    assert run(code) == "(96, 360)"
    assert run("import asyncio\nawait asyncio.sleep(0, result=7)") == "7"


def test_python_exception_rejects_with_the_traceback(page, server_url):
    page.goto(server_url)
    wait_ready(page)
    with pytest.raises(PlaywrightError) as caught:
        page.evaluate("window.labwright.runPython('def f():\\n    return 1 / 0\\nf()')")
    message = str(caught.value)
    assert "Traceback (most recent call last)" in message
    assert "return 1 / 0" in message
    assert "ZeroDivisionError: division by zero" in message
    details = page.evaluate(
        """window.labwright.runPython('{}["nope"]').then(
            () => null, (e) => ({type: e.pythonType, message: e.message}))"""
    )
    assert details["type"] == "KeyError"
    assert "KeyError: 'nope'" in details["message"]
    # The worker is still healthy afterwards.
    assert page.evaluate("window.labwright.runPython('2 * 21')") == "42"


def test_first_boot_restores_the_prebuilt_snapshot_with_files_in_place(page, server_url):
    page.goto(server_url)
    wait_ready(page)
    assert page.evaluate("window.labwright.bootInfo.snapshot") == "prebuilt"
    # Modules not imported before the snapshot still import: the files came back.
    assert page.evaluate(
        "window.labwright.runPython('import jedi, pylabrobot.scales, serial\\njedi.__version__')"
    ) == "'0.19.2'"
    # JS globals are this worker's, not those of the Node process that made the snapshot.
    assert page.evaluate(
        "window.labwright.runPython('import js\\nstr(js.location.pathname)')"
    ) == "'/worker/worker.js'"


def test_the_prebuilt_snapshot_is_kept_unpacked_for_the_next_start(context, server_url):
    # Fetched once: a reload restores this browser's unpacked copy, not set-up's gzip again.
    fetched = []
    context.on("request", lambda request: fetched.append(request.url) if "/wheels/snapshot/" in request.url else None)
    page = context.new_page()
    page.goto(server_url)
    wait_ready(page)
    assert page.evaluate("window.labwright.bootInfo.snapshot") == "prebuilt"
    page.wait_for_selector("body[data-workbench=ready]")
    page.evaluate("""() => new Promise((done) => { const check = async () => {
        const kept = await (await caches.open("labwright-snapshots")).keys();
        kept.length ? done() : setTimeout(check, 50); }; check(); })""")
    page.reload()
    wait_ready(page)
    assert page.evaluate("window.labwright.bootInfo.snapshot") == "local"
    assert len(fetched) == 1, fetched
    # The same heap as set-up's: PLR imported, the web bridge installed, files back in place.
    assert page.evaluate(
        "window.labwright.runPython('import jedi, pylabrobot.scales, pylabrobot.io.serial as s\\n"
        "(jedi.__version__, s.Serial.__module__)')"
    ) == "('0.19.2', 'browser_runtime.webbridge.serial')"
    page.wait_for_selector("body[data-workbench=ready]")


def test_without_the_prebuilt_snapshot_boot_imports_and_saves_its_own(context, server_url):
    context.route("**/wheels/snapshot/**", lambda route, request: route.fulfill(status=404, body=""))
    page = context.new_page()
    page.goto(server_url)
    versions = wait_ready(page)
    assert versions["pylabrobot"] == "0.2.2"
    assert page.evaluate("window.labwright.bootInfo.snapshot") is None
    timings = page.evaluate("window.labwright.bootTimings")
    assert timings["runtime"] <= timings["packages"] <= timings["plr"] <= timings["ready"]
    # The next request runs after the worker stored its snapshot of this boot.
    assert page.evaluate("window.labwright.runPython('1')") == "1"
    page.reload()
    wait_ready(page)
    assert page.evaluate("window.labwright.bootInfo.snapshot") == "local"
    assert page.evaluate(
        "window.labwright.runPython('import jedi, pylabrobot.scales\\njedi.__version__')"
    ) == "'0.19.2'"


def test_corrupt_prebuilt_snapshot_is_not_used(context, server_url):
    def corrupt(route, request):
        response = route.fetch()
        body = bytearray(response.body())
        body[100] ^= 0xFF
        route.fulfill(response=response, body=bytes(body))

    context.route("**/wheels/snapshot/**", corrupt)
    page = context.new_page()
    page.goto(server_url)
    assert wait_ready(page)["libcst"] == "1.9.0"
    assert page.evaluate("window.labwright.bootInfo.snapshot") is None
    assert page.evaluate("window.labwright.runPython('6 * 7')") == "42"


@pytest.mark.parametrize("fault", ["corrupt", "missing"])
def test_bad_archive_stops_boot_with_an_error_naming_the_file(context, server_url, fault):
    def serve_bad_archive(route, request):
        if fault == "missing":
            route.fulfill(status=404, body="not found")
            return
        response = route.fetch()
        body = bytearray(response.body())
        body[len(body) // 2] ^= 0xFF
        route.fulfill(response=response, body=bytes(body))

    context.route("**/wheels/compiled/parso-*.zip", serve_bad_archive)
    page = context.new_page()
    page.goto(server_url)
    error = page.evaluate("window.labwright.ready.then(() => null, (e) => e.message)")
    assert error is not None and "wheels/compiled/parso-" in error
    assert ("sha256" in error) if fault == "corrupt" else ("HTTP 404" in error)
    expect(page.locator("#boot-error")).to_be_visible()
    expect(page.locator("#boot-error")).to_contain_text("parso-")
    expect(page.locator("body")).to_have_attribute("data-state", "error")
