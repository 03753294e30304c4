"""Set-up is idempotent and needs no network once everything is fetched."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.serving import ROOT

pytestmark = pytest.mark.cpython

# Any attempt to reach a registry goes to a closed port and fails at once.
OFFLINE = {
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "PIP_NO_INDEX": "1",
    "npm_config_offline": "true",
}


def test_second_run_without_network_changes_nothing():
    manifest = ROOT / "wheels" / "dist" / "manifest.json"
    before = manifest.read_bytes()
    completed = subprocess.run(
        [sys.executable, "scripts/setup.py", "--test"],
        cwd=ROOT,
        env={**os.environ, **OFFLINE},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    for busy in ("downloading", "building", "compiling", "installing", "fetching"):
        assert busy not in completed.stdout, completed.stdout
    assert manifest.read_bytes() == before


def test_build_manifest_lists_every_pinned_package_with_its_hash():
    pins = json.loads((ROOT / "wheels" / "manifest.json").read_text())
    built = json.loads((ROOT / "wheels" / "dist" / "manifest.json").read_text())
    archives = {archive["name"]: archive for archive in built["archives"]}
    for entry in pins["packages"] + pins["sdists"]:
        assert entry["name"] in archives
        assert archives[entry["name"]]["version"] == entry["version"]
    assert archives["labwright"]["import"] == "browser_runtime"
    assert built["pyodide"]["version"] == pins["pyodide"]["version"] == "314.0.7"
    for archive in built["archives"]:
        assert len(archive["sha256"]) == 64
        assert (ROOT / "wheels" / "dist" / archive["file"]).stat().st_size == archive["size"]
