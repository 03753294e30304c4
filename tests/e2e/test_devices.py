"""The page's devices panel against a real bridge: connect, heartbeats keep the lease, close releases."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import open_dock
from tests.serving import CATALOG_CACHE, running_server

TOKEN = "e2e-devices-token-0123456789"
SCALE = "simulator:pylabrobot.scales.chatterbox.ScaleChatterboxBackend"


@pytest.fixture(scope="module")
def bridge_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from browser_runtime.catalog import build_catalog

    data_dir = tmp_path_factory.mktemp("devices-e2e")
    catalog = Path(data_dir) / "catalog.json"
    catalog.write_text(json.dumps(build_catalog(cache_dir=CATALOG_CACHE, geometry=False)))
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(data_dir),
           "LABWRIGHT_CATALOG": str(catalog), "LABWRIGHT_CONNECTION_TTL": "3"}
    with running_server(env=env) as url:
        yield url


def _leases(url: str) -> dict[str, dict]:
    response = httpx.get(url + "api/v1/hardware/connections", headers={"Authorization": f"Bearer {TOKEN}"})
    return {c["device_id"]: c for c in response.json()["connections"]}


def test_page_connects_keeps_the_lease_alive_and_releases_on_close(browser, bridge_url: str):
    context = browser.new_context(service_workers="block")
    page = context.new_page()
    page.goto(bridge_url + f"#token={TOKEN}")
    open_dock(page, "devices-dock")
    row = page.locator(f'#devices li[data-device-id="{SCALE}"]')
    row.wait_for(timeout=60_000)
    assert row.get_attribute("data-state") == "available"
    row.locator("button").click()
    page.wait_for_function(
        f"document.querySelector('#devices li[data-device-id=\"{SCALE}\"]').dataset.state === 'connected'",
        timeout=30_000)
    client = page.evaluate("window.labwrightDevices.clientId")
    assert _leases(bridge_url)[SCALE]["client_id"] == client
    time.sleep(5)  # longer than the 3 s TTL: only heartbeats keep the lease
    lease = _leases(bridge_url)[SCALE]
    assert lease["client_id"] == client and lease["heartbeats"] >= 2
    assert "connected" in row.locator(".state").inner_text()
    page.close()
    deadline = time.monotonic() + 10
    while SCALE in _leases(bridge_url) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert SCALE not in _leases(bridge_url)
    context.close()


def test_a_lease_held_elsewhere_shows_the_reason(browser, bridge_url: str):
    shaker = "simulator:pylabrobot.shaking.chatterbox.ShakerChatterboxBackend"
    page = browser.new_context(service_workers="block").new_page()
    page.goto(bridge_url + f"#token={TOKEN}")
    open_dock(page, "devices-dock")
    row = page.locator(f'#devices li[data-device-id="{shaker}"]')
    row.wait_for(timeout=60_000)
    taken = httpx.post(bridge_url + "api/v1/hardware/connect", json={"device_id": shaker},
                       headers={"Authorization": f"Bearer {TOKEN}", "X-Labwright-Client": "someone-else"})
    assert taken.status_code == 200
    row.locator("button").click()
    page.wait_for_function(
        f"document.querySelector('#devices li[data-device-id=\"{shaker}\"]').dataset.state === 'error'")
    assert "someone-else" in row.locator(".state").inner_text()
    page.context.close()


def test_without_a_token_the_panel_says_the_bridge_is_not_connected(browser, bridge_url: str):
    page = browser.new_context(service_workers="block").new_page()
    page.goto(bridge_url)
    open_dock(page, "devices-dock")
    page.wait_for_selector("#devices[data-state='no-bridge']")
    assert "not connected" in page.locator("#devices-status").inner_text()
    page.context.close()
