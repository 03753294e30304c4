"""Server tests: servers they start browse mDNS on loopback only and keep state in a scratch dir."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import CATALOG_CACHE


@pytest.fixture(scope="session", autouse=True)
def _loopback_only_servers() -> Iterator[None]:
    scratch = tempfile.mkdtemp(prefix="labwright-server-tests-")
    saved = {k: os.environ.get(k) for k in ("LABWRIGHT_MDNS_INTERFACES", "LABWRIGHT_DATA_DIR")}
    os.environ.setdefault("LABWRIGHT_MDNS_INTERFACES", "127.0.0.1")
    os.environ.setdefault("LABWRIGHT_DATA_DIR", scratch)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="session")
def catalog_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A parse-only catalog built once per session, handed to servers as their prebuilt one."""
    from browser_runtime.catalog import build_catalog

    path = tmp_path_factory.mktemp("catalog") / "catalog.json"
    path.write_text(json.dumps(build_catalog(cache_dir=CATALOG_CACHE, geometry=False)))
    return path
