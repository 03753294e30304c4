"""Statuses that say what happened: 507 when the lab PC's disk is full (a real full filesystem),
405 with ``Allow`` for a wrong method on an API route."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from bridge_server import Settings, create_app
from tests.serving import running_server
from tests.unit.server.bridge_client import HARDWARE, TOKEN, Bridge

pytestmark = pytest.mark.cpython


@contextlib.contextmanager
def small_filesystem(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path``: ENOSPC for real once it is full (needs root)."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}): a full disk cannot be made for real")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem is full; the file's path."""
    filler = directory / "filler"
    with open(filler, "wb") as file:
        chunk = b"\0" * 65536
        while True:
            try:
                file.write(chunk)
                file.flush()
            except OSError as error:
                assert error.errno == errno.ENOSPC
                break
    while True:  # the last partial chunk too
        try:
            with open(filler, "ab") as file:
                file.write(b"\0" * 512)
        except OSError:
            return filler


def profile(number: int) -> dict:
    return {"device_id": f"scale-{number}", "name": f"Bench scale {number} " + "x" * 150,
            "connection_type": "simulator", "backend": "pylabrobot.scales.chatterbox.ScaleChatterboxBackend",
            "configuration": {"dummy_weight": float(number)}}


def test_a_full_disk_is_507_and_nothing_is_half_written(tmp_path: Path, catalog_file: Path):
    with small_filesystem(tmp_path / "data", "4m") as data_dir:
        env = {"LABWRIGHT_TOKEN": TOKEN, "LABWRIGHT_DATA_DIR": str(data_dir), "LABWRIGHT_MDNS": "0",
               "LABWRIGHT_CATALOG": str(catalog_file)}
        with running_server(env=env) as url:
            bridge = Bridge(url)
            assert bridge.post(f"{HARDWARE}/register", profile(0)).status_code == 201
            filler = fill(data_dir)
            answers = [bridge.post(f"{HARDWARE}/register", profile(n)) for n in range(1, 40)]
            refused = next((a for a in answers if a.status_code != 201), None)
            assert refused is not None, "the disk never filled up"
            assert refused.status_code == 507, refused.text
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["type"].endswith("/disk-full") and "nothing was written" in refused.json()["detail"]
            stored = {p["device_id"] for p in bridge.get(f"{HARDWARE}/devices").json()["devices"]}
            accepted = {f"scale-{n}" for n, a in enumerate(answers, 1) if a.status_code == 201}
            assert stored == {"scale-0"} | accepted  # every 201 is there, nothing else
            labware = bridge.post("api/v1/schedule/labware", {"labware": [{
                "name": "plate", "catalog_fqn": "pylabrobot.resources.corning.plates.Cor_96_wellplate_360ul_Fb"}]})
            assert labware.status_code == 507, labware.text
            os.remove(filler)  # room again: the same writes go through
            missing = sorted({f"scale-{n}" for n in range(1, 40)} - stored)[0]
            assert bridge.post(f"{HARDWARE}/register", profile(int(missing.split("-")[1]))).status_code == 201
            assert bridge.post("api/v1/schedule/labware", {"labware": [{
                "name": "plate", "catalog_fqn": "pylabrobot.resources.corning.plates.Cor_96_wellplate_360ul_Fb"}]}
            ).status_code == 201
            bridge.close()


def test_a_wrong_method_on_an_api_route_is_405_with_allow(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, token="t", load_catalog=False, mdns=False)
    with TestClient(create_app(settings), base_url=f"http://127.0.0.1:{settings.port}") as client:
        checked = 0
        for route in client.app.routes:  # type: ignore[attr-defined]
            if not isinstance(route, Route) or not route.path.startswith("/api/"):
                continue
            allowed = set(route.methods or ())
            wrong = next(m for m in ("GET", "POST", "PUT", "DELETE", "PATCH") if m not in allowed)
            path = route.path.replace("{device_id:path}", "x").replace("{", "").replace("}", "")
            response = client.request(wrong, path, headers={"Authorization": "Bearer t"})
            assert response.status_code == 405, (wrong, path, response.status_code)
            assert set(response.headers["allow"].split(", ")) == allowed, path
            assert response.headers["content-type"] == "application/problem+json"
            checked += 1
        assert checked >= 20
        assert client.get("/api/v1/no-such-thing").status_code == 404
        assert client.get("/").status_code == 200
