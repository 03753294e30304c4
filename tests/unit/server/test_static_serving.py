"""The bridge server serves the page, Pyodide and the archives with the right headers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bridge_server import Settings, create_app
from bridge_server.settings import PROJECT_ROOT

pytestmark = pytest.mark.cpython

MANIFEST = PROJECT_ROOT / "wheels" / "dist" / "manifest.json"


@pytest.fixture
def client() -> TestClient:
    if not MANIFEST.exists():
        pytest.fail("run scripts/setup.py first: wheels/dist/manifest.json is missing")
    settings = Settings()
    return TestClient(create_app(settings), base_url=f"http://127.0.0.1:{settings.port}")


def test_page_is_served_and_revalidated(client: TestClient):
    response = client.get("/")
    assert response.status_code == 200
    assert "text/html" in response.headers["content-type"]
    assert 'src="main.js"' in response.text
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["cross-origin-opener-policy"] == "same-origin"
    assert response.headers["cross-origin-embedder-policy"] == "require-corp"
    again = client.get("/", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_module_scripts_have_a_javascript_type(client: TestClient):
    for path in ("/main.js", "/worker/worker.js", "/client/messages.js", "/client/labwright.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/javascript"), path


def test_pyodide_files_are_immutable_with_wasm_mime(client: TestClient):
    manifest = json.loads(MANIFEST.read_text())
    base = "/" + manifest["pyodide"]["url"]
    wasm = client.get(base + "pyodide.asm.wasm")
    assert wasm.status_code == 200
    assert wasm.headers["content-type"] == "application/wasm"
    assert wasm.content[:4] == b"\0asm"
    assert "immutable" in wasm.headers["cache-control"]
    module = client.get(base + "pyodide.mjs")
    assert module.headers["content-type"].startswith("text/javascript")


def test_archives_are_immutable_and_match_the_manifest(client: TestClient):
    import hashlib

    manifest_response = client.get("/wheels/manifest.json")
    assert manifest_response.headers["cache-control"] == "no-cache"
    manifest = manifest_response.json()
    names = {archive["name"] for archive in manifest["archives"]}
    assert {"pylabrobot", "libcst", "labwright", "jedi", "parso", "typing_extensions"} <= names
    for archive in manifest["archives"]:
        response = client.get("/wheels/" + archive["file"])
        assert response.status_code == 200, archive["file"]
        assert "immutable" in response.headers["cache-control"]
        assert hashlib.sha256(response.content).hexdigest() == archive["sha256"]


def test_unknown_path_is_404(client: TestClient):
    assert client.get("/wheels/compiled/nothing.zip").status_code == 404
    assert client.get("/pyodide/0.0.0/pyodide.mjs").status_code == 404


def test_health_reports_versions(client: TestClient):
    body = client.get("/api/v1/health").json()
    assert body == {"status": "ok", "labwright": "0.1.0", "pylabrobot": "0.2.2"}


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("LABWRIGHT_PORT", "9999")
    monkeypatch.setenv("LABWRIGHT_HOST", "127.0.0.2")
    settings = Settings.from_env(port=None, host=None)
    assert (settings.host, settings.port) == ("127.0.0.2", 9999)
    assert Settings.from_env(port=1234).port == 1234
    assert isinstance(settings.web_dir, Path)
