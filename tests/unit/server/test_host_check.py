"""DNS rebinding: a page that reaches the server under a foreign name (its own domain resolving
to 127.0.0.1) is refused before anything runs: reads, static files and WebSockets included."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from bridge_server.settings import Settings
from tests.serving import running_server
from tests.unit.server.bridge_client import HARDWARE, TOKEN

pytestmark = pytest.mark.cpython


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, catalog_file: Path) -> Iterator[str]:
    env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(tmp_path_factory.mktemp("hosts")),
           "LABWRIGHT_CATALOG": str(catalog_file), "LABWRIGHT_MDNS": "0",
           "LABWRIGHT_ALLOWED_HOSTS": "labpc.example"}
    with running_server(env=env) as url:
        yield url


def get(url: str, path: str, host: str) -> httpx.Response:
    return httpx.get(url + path, headers={"Host": host}, timeout=30)


def upgrade(url: str, path: str, host: str) -> str:
    """The status line a WebSocket handshake naming ``host`` gets."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as connection:
        connection.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: labwright, "
                            f"bearer.{TOKEN}\r\n\r\n").encode())
        return connection.recv(4096).split(b"\r\n")[0].decode()


@pytest.mark.parametrize("path", ["api/v1/schedule", "api/v1/definitions", "api/v1/health", "",
                                  "index.html", "wheels/manifest.json"])
def test_a_foreign_host_is_refused_with_421(server: str, path: str):
    port = urlsplit(server).port
    response = get(server, path, f"rebind.evil.example:{port}")
    assert response.status_code == 421, response.text[:200]
    assert response.headers["content-type"] == "application/problem+json"
    assert "rebind.evil.example" in response.json()["detail"]


def test_the_servers_own_names_are_answered(server: str):
    port = urlsplit(server).port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"LOCALHOST:{port}",
                 f"labpc.example:{port}"):
        assert get(server, "api/v1/schedule", host).status_code == 200, host
    assert get(server, "api/v1/schedule", f"localhost:{port + 1}").status_code == 421  # another port


def test_a_websocket_naming_a_foreign_host_is_refused_at_the_handshake(server: str):
    port = urlsplit(server).port
    path = f"{HARDWARE}/ws/repl"
    assert upgrade(server, path, f"127.0.0.1:{port}").startswith("HTTP/1.1 101")
    assert upgrade(server, path, f"rebind.evil.example:{port}").startswith("HTTP/1.1 403")


def test_non_loopback_binds_answer_only_their_address_loopback_and_the_allow_list():
    lab = Settings(host="192.168.7.20", port=8765, allowed_hosts=("labpc.local", "10.1.1.1:9000"))
    assert lab.allowed_host_headers == {"192.168.7.20:8765", "labpc.local:8765", "10.1.1.1:9000"}
    everywhere = Settings(host="0.0.0.0", port=8765, allowed_hosts=("labpc.local",))
    assert {"127.0.0.1:8765", "localhost:8765", "[::1]:8765", "labpc.local:8765"} <= everywhere.allowed_host_headers
    assert "evil.example:8765" not in everywhere.allowed_host_headers
