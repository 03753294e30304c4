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


# ---- the two database engines ----------------------------------------------------------------
#
# Tests that take ``lab_database`` run once per engine: SQLite (the data dir's file) and
# PostgreSQL (a real server: the one scripts/run-tests started, else one started here).
# ``TEST_DB_TYPE=sqlite`` or ``postgresql`` runs one engine only. Without PostgreSQL the
# PostgreSQL runs skip, saying why; under CI (``CI=true``) they fail instead: CI never skips them.

ENGINES = tuple(e for e in ("sqlite", "postgresql")
                if os.environ.get("TEST_DB_TYPE", "both") in ("both", "", e))


_databases = iter(range(1, 10**6))


@pytest.fixture(scope="module", params=ENGINES)
def lab_database(request: pytest.FixtureRequest, postgres_cluster: str) -> "LabDatabaseUnderTest":
    """The engine under test: env for `labwright serve` (LABWRIGHT_DATABASE_URL) and the URL."""
    return LabDatabaseUnderTest.make(request.param, postgres_cluster)


class LabDatabaseUnderTest:
    def __init__(self, engine: str, url: str | None) -> None:
        self.engine = engine
        self.url = url

    @classmethod
    def make(cls, engine: str, cluster_url: str) -> "LabDatabaseUnderTest":
        if engine == "sqlite":
            return cls("sqlite", None)
        if cluster_url.startswith("unavailable: "):
            pytest.skip(f"PostgreSQL: {cluster_url.removeprefix('unavailable: ')}")
        from tests.postgres import fresh_database

        return cls("postgresql", fresh_database(cluster_url, f"lab_{os.getpid()}_{next(_databases)}"))

    def env(self) -> dict[str, str]:
        return {"LABWRIGHT_DATABASE_URL": self.url} if self.url else {}

    def fresh(self) -> "LabDatabaseUnderTest":
        """Another empty database of the same engine (a test that needs its own)."""
        if self.url is None:
            return self
        from tests.postgres import fresh_database

        base = self.url.rpartition("/")[0] + "/labwright"
        return LabDatabaseUnderTest("postgresql", fresh_database(base, f"lab_{os.getpid()}_{next(_databases)}"))
