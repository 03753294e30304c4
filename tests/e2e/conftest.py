"""End-to-end fixtures: a real `labwright serve` process and Debian's headless Chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.serving import running_server

# What the page shows after a first request (a plan imports the deck's modules, a run imports
# its backends) can take seconds on a 2-core CI machine: wait for it rather than fail.
from playwright.sync_api import expect  # noqa: E402

expect.set_options(timeout=30_000)

CHROMIUM = os.environ.get("LABWRIGHT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BOOT_TIMEOUT_MS = 120_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.cpython)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    with running_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class OriginGuard:
    """Records every request; aborts and remembers any that would leave the page's origin."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.same_origin: list[str] = []
        self.foreign: list[str] = []

    def handle(self, route, request) -> None:  # noqa: ANN001 - Playwright's types
        url = request.url
        parts = urlsplit(url)
        if url.startswith(("data:", "blob:")) or f"{parts.scheme}://{parts.netloc}" == self.origin:
            self.same_origin.append(url)
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()


@pytest.fixture
def context(browser, server_url: str):
    """A fresh browser profile (empty HTTP cache and storage) whose requests are guarded."""
    origin = server_url.rstrip("/")
    guard = OriginGuard(origin)
    context = browser.new_context(service_workers="block")
    context.route("**/*", guard.handle)
    context.guard = guard
    yield context
    context.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.set_default_timeout(BOOT_TIMEOUT_MS)
    yield page
    page.close()


EMULATORS = Path(__file__).parent / "emulators"


def open_with_emulated_devices(context, url: str, plugged: str | None = None):  # noqa: ANN001, ANN201
    """The real page with emulated navigator.serial / usb / hid (tests/e2e/emulators) injected
    before it loads, booted to `ready`; ``plugged`` is a script adding devices before load."""
    context.add_init_script(path=str(EMULATORS / "web-devices.js"))
    context.add_init_script(path=str(EMULATORS / "instruments.js"))
    if plugged:
        context.add_init_script(script=plugged)
    page = context.new_page()
    page.set_default_timeout(BOOT_TIMEOUT_MS)
    page.goto(url)
    page.evaluate("window.labwright.ready")
    open_dock(page, "devices-dock")
    return page


def drag_on_layout(page, group, dx_mm: float, dy_mm: float) -> None:  # noqa: ANN001 - Playwright's
    """Drag ``group`` of the Layout tab's drawing by so many mm (PLR's frame: y to the back), with
    the mouse, through the SVG's own scale."""
    page.locator("#deck-view").scroll_into_view_if_needed()
    box = group.bounding_box()
    scale = page.evaluate("document.querySelector('#deck-view svg').getScreenCTM().a")
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx_mm * scale / 2, y - dy_mm * scale / 2, steps=5)
    page.mouse.move(x + dx_mm * scale, y - dy_mm * scale, steps=5)
    page.mouse.up()


def open_dock(page, dock: str) -> None:  # noqa: ANN001 - Playwright's page
    """Click the dock's tab under the workbench (REPL, schedule, catalog, devices, data), as a person does."""
    page.click(f".dock-tabs [data-dock='{dock}']")
