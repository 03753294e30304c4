"""Fuzz every endpoint of the OpenAPI document (schemathesis) against a real server: never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from bridge_server.openapi import DOCUMENT
from tests.serving import running_server
from tests.unit.server.bridge_client import TOKEN

pytestmark = pytest.mark.cpython

schema = schemathesis.openapi.from_dict(DOCUMENT)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory, catalog_file: Path, lab_database) -> Iterator[str]:
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(tmp_path_factory.mktemp("fuzz")),
           "LABWRIGHT_CATALOG": str(catalog_file), "LABWRIGHT_REPL_TIME_LIMIT": "2", **lab_database.env()}
    with running_server(env=env) as url:
        yield url.rstrip("/")


def test_the_served_document_is_the_fuzzed_one(fuzz_server: str):
    assert httpx.get(fuzz_server + "/api/v1/openapi.json").json()["paths"].keys() == DOCUMENT["paths"].keys()


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_endpoint_answers_with_a_server_error(fuzz_server: str, case: schemathesis.Case) -> None:
    headers = dict(case.headers or {})
    headers.setdefault("X-Labwright-Client", "fuzzer")
    for authorization in (f"Bearer {TOKEN}", None):
        sent = {**headers, "Authorization": authorization} if authorization else headers
        response = case.call(base_url=fuzz_server, headers=sent, timeout=60)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
        if authorization is None and case.operation.definition.raw.get("security"):
            assert response.status_code in (401, 404, 405)  # 404/405: the path or method matched no route
        if response.status_code >= 400 and response.status_code != 304:
            content_type = response.headers.get("content-type") or [""]
            assert content_type[0].startswith("application/problem+json"), response.text
