"""The page's pure JS (byte queue, FTDI divisors, Gantt model, device broker, page assembly, the
bridge client...) tested by ``node --test`` on the modules the page serves (tests/web/*.test.mjs)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.mark.cpython
def test_the_pages_pure_js_passes_its_node_tests() -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed for the page's JS unit tests"
    files = sorted(HERE.glob("*.test.mjs"))
    assert files
    completed = subprocess.run([node, "--test", *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-8000:]
    counts = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", output, re.MULTILINE))
    assert int(counts.get("tests", 0)) >= 20 and counts.get("fail") == "0", output[-4000:]
    assert counts["pass"] == counts["tests"], output[-4000:]
