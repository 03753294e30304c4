"""A small client for tests against a real bridge server: token, client id, problem bodies."""

from __future__ import annotations

from typing import Any

import httpx

TOKEN = "test-token-0123456789"
HARDWARE = "api/v1/hardware"


class Bridge:
    def __init__(self, url: str, token: str = TOKEN) -> None:
        self.url = url
        self.token = token
        self.http = httpx.Client(base_url=url, timeout=60)

    def headers(self, client: str | None = "tester", token: str | None = "default") -> dict[str, str]:
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {self.token if token == 'default' else token}"
        if client is not None:
            headers["X-Labwright-Client"] = client
        return headers

    def get(self, path: str, client: str | None = "tester", **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers={**self.headers(client), **kwargs.pop("headers", {})}, **kwargs)

    def post(self, path: str, body: Any, client: str | None = "tester", **kwargs: Any) -> httpx.Response:
        return self.http.post(path, json=body, headers={**self.headers(client), **kwargs.pop("headers", {})},
                              **kwargs)

    def simulator(self, kind: str) -> dict[str, Any]:
        devices = self.get(f"{HARDWARE}/discover/simulators").json()["devices"]
        return next(d for d in devices if d["machine_kind"] == kind)

    def close(self) -> None:
        self.http.close()
