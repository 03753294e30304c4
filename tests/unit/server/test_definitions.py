"""GET /api/v1/definitions (ETag, 304, gzip) and POST /definitions/sync; the OpenAPI document."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from bridge_server import Settings, create_app
from bridge_server.openapi import DOCUMENT

pytestmark = pytest.mark.cpython


@pytest.fixture
def client(tmp_path: Path, catalog_file: Path) -> TestClient:
    settings = Settings(data_dir=tmp_path, token="t", prebuilt_catalog=catalog_file, mdns=False)
    with TestClient(create_app(settings), raise_server_exceptions=False,
                    base_url=f"http://127.0.0.1:{settings.port}") as test_client:
        yield test_client


def test_definitions_have_a_strong_etag_304_and_gzip(client: TestClient, catalog_file: Path):
    response = client.get("/api/v1/definitions", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    etag = response.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert response.json() == json.loads(catalog_file.read_text())
    assert client.get("/api/v1/definitions", headers={"If-None-Match": etag}).status_code == 304
    plain = client.get("/api/v1/definitions", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.headers["etag"] == etag
    assert len(gzip.compress(plain.content)) < len(plain.content) / 4


def test_sync_needs_the_token_and_reports_changes(client: TestClient):
    assert client.post("/api/v1/definitions/sync").status_code == 401
    report = client.post("/api/v1/definitions/sync", headers={"Authorization": "Bearer t"}).json()
    assert set(report) >= {"added", "removed", "changed", "etag"}
    # Same PLR, parsed again: nothing added or removed.
    assert report["added"] == [] and report["removed"] == []


def test_every_http_route_is_in_the_openapi_document(client: TestClient):
    documented = {path: set(methods) for path, methods in DOCUMENT["paths"].items()}
    for route in client.app.routes:  # type: ignore[attr-defined]
        if isinstance(route, Route):
            path = route.path.replace(":path}", "}")
            assert path in documented, path
            assert {m.lower() for m in route.methods or ()} - {"head"} <= documented[path], path


def test_syncing_twice_keeps_the_labware_geometry(tmp_path: Path, plr_catalog):
    from tests.serving import CATALOG_CACHE

    prebuilt = Path(__file__).resolve().parents[3] / "build" / "catalog" / "catalog.json"
    settings = Settings(data_dir=tmp_path, token="t", prebuilt_catalog=prebuilt, mdns=False,
                        catalog_cache_dir=CATALOG_CACHE)

    def measured(client: TestClient) -> int:
        document = client.get("/api/v1/definitions").json()
        return sum(1 for entry in document["resources"] if entry.get("geometry"))

    with TestClient(create_app(settings), base_url=f"http://127.0.0.1:{settings.port}") as client:
        before = measured(client)
        assert before > 300  # set-up's catalog: PLR's factories measured
        for _ in range(2):
            report = client.post("/api/v1/definitions/sync", headers={"Authorization": "Bearer t"}).json()
            assert report["geometry"] is True
            assert measured(client) == before
