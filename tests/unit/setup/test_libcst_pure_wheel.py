"""The pure-Python LibCST wheel set-up builds, exercised on CPython from the built file.

CPython normally uses the native wheel; here a child interpreter imports LibCST from the
pure wheel only, so the same parser the page runs is checked against all of PLR.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DIST = ROOT / "wheels" / "dist"

_CHILD = r"""
import json, pathlib, sys
import libcst, libcst.native
import pylabrobot
assert libcst.native.__file__.endswith("native.py"), libcst.native.__file__
root = pathlib.Path(pylabrobot.__file__).parent
exact, failures = 0, []
for path in sorted(root.rglob("*.py")):
    source = path.read_bytes()
    try:
        module = libcst.parse_module(source)
    except libcst.ParserSyntaxError as error:
        failures.append([str(path.relative_to(root)), error.raw_line, error.raw_column])
        continue
    if module.bytes == source:
        exact += 1
    else:
        failures.append([str(path.relative_to(root)), None, None])
try:
    libcst.parse_module("match x:\n    case 1:\n        pass\n")
    match_error = None
except libcst.ParserSyntaxError as error:
    match_error = [error.raw_line, error.raw_column]
print(json.dumps({"exact": exact, "failures": failures, "match_error": match_error}))
"""


@pytest.mark.cpython
def test_pure_wheel_round_trips_plr_and_reports_unsupported_syntax():
    wheels = sorted(DIST.glob("libcst-*+pure.*-py3-none-any.whl"))
    assert wheels, "run scripts/setup.py first: no pure LibCST wheel in wheels/dist"
    site = Path(__import__("pylabrobot").__file__).parent.parent
    env = {"PYTHONPATH": f"{wheels[-1]}:{site}", "PYTHONNOUSERSITE": "1"}
    completed = subprocess.run(
        [sys.executable, "-S", "-c", _CHILD], env=env, capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    # PLR 0.2.2 has 497 modules; one uses 3.10 parenthesised context managers, which the
    # pure grammar cannot read: it must fail as a ParserSyntaxError with a position.
    assert result["exact"] == 496
    assert len(result["failures"]) == 1
    path, line, column = result["failures"][0]
    assert path.endswith("backend_tests.py") and line and column is not None
    assert result["match_error"] is not None and result["match_error"][0] == 1
