"""The in-Pyodide layer: browser_runtime's tests run inside real Pyodide under Node."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "pyodide" / "runner.mjs"

# Test folders whose tests must pass inside Pyodide as well as on CPython.
PYODIDE_SUITES = [
    "tests/unit/runtime",
    "tests/unit/runner",
    "tests/unit/protocols",
    "tests/unit/deck",
    "tests/unit/inventory",
    "tests/unit/webbridge",
    "tests/unit/scheduler",
    "tests/unit/storage",
]


@pytest.mark.cpython
@pytest.mark.parametrize("suite", PYODIDE_SUITES)
def test_suite_passes_inside_pyodide(suite: str) -> None:
    # Rebuild the page's archives if browser_runtime changed since set-up (a no-op otherwise),
    # so the interpreter under test runs the code in this checkout.
    subprocess.run(
        [sys.executable, "scripts/setup.py", "--skip-venv", "--test"], cwd=ROOT, check=True, timeout=600
    )
    node = shutil.which("node")
    assert node, "Node.js is needed for the in-Pyodide test layer"
    completed = subprocess.run(
        [node, "--experimental-wasm-stack-switching", str(RUNNER), suite, "-q", "-rs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = completed.stdout + completed.stderr
    assert "pytest inside Pyodide 3.14" in output, output[-4000:]
    assert "on emscripten" in output, output[-4000:]
    assert completed.returncode == 0, output[-8000:]
    # pytest's closing line, e.g. "== 15 passed, 1 warning in 2.89s ==" (warnings may say "error").
    summary = re.findall(r"^=*\s*(\d+ passed[^\n]*?) in [\d.]+s", output, re.MULTILINE)
    assert summary, output[-4000:]
    assert not re.search(r"\d+ (failed|errors?)\b", summary[-1]), output[-8000:]
