"""Shared fixtures: one full catalog build (with geometry) per test session, and PLR introspection."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import warnings

import pytest

from browser_runtime.catalog import Catalog, build


def _is_test_module(name: str) -> bool:
    leaf = name.rsplit(".", 1)[-1]
    return (
        leaf.endswith("_tests")
        or leaf.endswith("_test")
        or leaf.startswith("test_")
        or leaf == "conftest"
    )


@pytest.fixture(scope="session")
def plr_classes():
    """Machine and concrete MachineBackend subclasses, found by importing every PLR module."""
    import pylabrobot
    from pylabrobot.machines.backend import MachineBackend
    from pylabrobot.machines.machine import Machine

    skipped = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for info in pkgutil.walk_packages(
            pylabrobot.__path__, "pylabrobot.", onerror=lambda name: None
        ):
            if _is_test_module(info.name):
                continue
            try:
                importlib.import_module(info.name)
            except (
                Exception
            ) as exc:  # an optional hardware dependency is missing, or a deprecated package
                skipped[info.name] = repr(exc)

    def all_subclasses(cls):
        found = set()
        for sub in cls.__subclasses__():
            found.add(sub)
            found |= all_subclasses(sub)
        return found

    def keep(cls):
        return cls.__module__.startswith("pylabrobot.") and not _is_test_module(cls.__module__)

    machines = {f"{c.__module__}.{c.__qualname__}": c for c in all_subclasses(Machine) if keep(c)}
    backends = {
        f"{c.__module__}.{c.__qualname__}": c
        for c in all_subclasses(MachineBackend)
        if keep(c) and not inspect.isabstract(c)
    }
    return {"machines": machines, "backends": backends, "skipped": skipped}


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("catalog_out")
    cache_dir = tmp_path_factory.mktemp("catalog_cache")
    return build(cache_dir=cache_dir, out_dir=out_dir), out_dir


@pytest.fixture(scope="session")
def document(built):
    return built[0].document


@pytest.fixture(scope="session")
def catalog(document):
    return Catalog(document)
