"""The catalog's LibCST analysis gives the same facts in Pyodide (pure LibCST) as on CPython.

The expected facts were produced on CPython with native LibCST
(tests/fixtures/catalog/regenerate.py); this test runs in both interpreters.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

import pylabrobot
from browser_runtime.catalog.parser import parse_source

PLR_ROOT = Path(pylabrobot.__file__).parent
FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "catalog" / "facts_cpython.json"
SAMPLE = [
    "scales/mettler_toledo_backend.py",
    "pumps/cole_parmer/masterflex_backend.py",
    "plate_reading/bmg_labtech/clario_star_backend.py",
    "liquid_handling/backends/chatterbox.py",
    "heating_shaking/heater_shaker.py",
    "resources/hamilton/hamilton_decks.py",
]


def facts_for(relpath: str) -> dict:
    path = PLR_ROOT / relpath
    module = "pylabrobot." + relpath[: -len(".py")].replace("/", ".")
    source = path.read_bytes()
    return parse_source(module, False, relpath, source, hashlib.sha256(source).hexdigest())


@pytest.mark.parametrize("relpath", SAMPLE)
def test_parse_matches_cpython_native(relpath: str):
    expected = json.loads(FIXTURE.read_text())[relpath]
    actual = json.loads(json.dumps(facts_for(relpath)))  # the JSON form is what is cached
    hint = "" if sys.platform == "emscripten" else " (run tests/fixtures/catalog/regenerate.py)"
    assert actual["error"] is None
    assert actual == expected, f"{relpath}: facts differ from CPython's{hint}"
    assert actual["classes"] or actual["functions"], relpath
