"""Runs PyLabRobot's own unit tests where it is called (CPython, Pyodide under Node, the page).

PLR ships its tests inside the wheel (``*_tests.py`` next to the code); this runs them unchanged
with pytest and returns one JSON report (schema below), the same in every interpreter, so the
layer's pytest tests compare the three. In Pyodide it is loaded into the interpreter that is
already running (the page's worker through ``labwright.runPython``, or ``run_in_node.mjs``),
with the web bridge installed as the page installs it for users.

    .venv/bin/python tests/plr_suite/driver.py --out report.json [--only PATH_IN_PLR ...]

Report (``REPORT_SCHEMA``): ``{"schema", "environment", "python", "pytest", "pylabrobot",
"offline_labware", "exit_code", "duration_s", "tests": [{"id", "package", "outcome",
"duration_s", "reason"}]}``: ``id`` is pytest's node id from the site-packages folder
(``pylabrobot/scales/scale_tests.py::...``), ``package`` the PLR package right under
``pylabrobot`` (``liquid_handling``...), ``outcome`` one of ``passed``/``failed``/``error``/
``skipped`` (``error``: in setup, teardown or collection), ``reason`` the exception line or
skip reason (empty for a pass).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPORT_SCHEMA = 1
IN_PYODIDE = sys.platform == "emscripten"
#: PLR's own pytest set-up: its test modules are named ``*_tests.py`` (not pytest's default).
#: The `timeout` marker is declared for interpreters without pytest-timeout (below).
PYTEST_INI = (
    "[pytest]\npython_files = *_tests.py\n"
    "markers =\n    timeout: pytest-timeout's per-test limit (enforced on CPython only)\n"
)
#: pytest plugins of PLR's `test` extra, loaded explicitly (entry-point autoloading is off, so
#: whatever else an interpreter has installed does not change the run). pytest-timeout is
#: CPython's only: it interrupts a test with SIGALRM + setitimer or with a watchdog thread,
#: and Pyodide has neither (no setitimer, no threads), so inside Pyodide a hung test is bounded
#: by the layer's own timeout instead.
PLUGINS = () if IN_PYODIDE else ("pytest_timeout",)


def plr_dir() -> Path:
    import pylabrobot

    return Path(pylabrobot.__file__).resolve().parent


def package_of(test_id: str) -> str:
    """``pylabrobot/liquid_handling/backends/x_tests.py::T::t`` -> ``liquid_handling``."""
    parts = test_id.split("::", 1)[0].split("/")
    return parts[1] if len(parts) > 2 else "(top level)"


class Reporter:
    """pytest plugin: one entry per test item (subtests fold into their test), plus one per
    module that failed to collect."""

    def __init__(self) -> None:
        self.tests: dict[str, dict[str, Any]] = {}

    def _entry(self, test_id: str) -> dict[str, Any]:
        return self.tests.setdefault(
            test_id,
            {"id": test_id, "package": package_of(test_id), "outcome": "passed", "duration_s": 0.0, "reason": ""},
        )

    def pytest_runtest_logreport(self, report: Any) -> None:
        entry = self._entry(report.nodeid)  # relative to the rootdir: site-packages
        entry["duration_s"] = round(entry["duration_s"] + report.duration, 4)
        is_subtest = type(report).__name__ == "SubtestReport"
        if report.passed or entry["outcome"] in ("failed", "error"):
            return
        if report.skipped:
            if not is_subtest and entry["outcome"] == "passed":
                entry["outcome"] = "skipped"
                entry["reason"] = _skip_reason(report)
            return
        # A failure: in the test itself (or a subtest of it) it failed, around it it errored.
        entry["outcome"] = "failed" if report.when == "call" else "error"
        entry["reason"] = _failure_reason(report)

    def pytest_collectreport(self, report: Any) -> None:
        if report.failed:
            entry = self._entry(report.nodeid)
            entry["outcome"] = "error"
            entry["reason"] = "collection: " + _failure_reason(report)
        elif report.skipped:  # a module-level skip (pytest.importorskip)
            entry = self._entry(report.nodeid)
            entry["outcome"] = "skipped"
            entry["reason"] = _skip_reason(report)


def _skip_reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def _failure_reason(report: Any) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        text = crash.message
    else:
        text = str(report.longrepr).strip().splitlines()[-1] if report.longrepr else "?"
    first = text.strip().splitlines()[0] if text.strip() else text
    return first[:300]


@contextlib.contextmanager
def synchronous_program() -> Iterator[None]:
    """Let pytest run as the synchronous program it is, inside Pyodide's running event loop.

    The code calling us (``labwright.runPython``, ``runPythonAsync``) runs as a task of
    Pyodide's WebLoop, so asyncio marks that loop as running, and ``asyncio.Runner`` (under every
    ``IsolatedAsyncioTestCase``) refuses to start: "Runner.run() cannot be called from a running
    event loop". Nothing else needs the mark while pytest runs: every blocking wait in it
    (``Runner.run`` -> ``WebLoop.run_until_complete``, ``time.sleep``) goes through
    ``run_sync``, which suspends this whole Python stack with JSPI while the browser's (or
    Node's) event loop runs the test's tasks, each dispatched with its own loop marked
    running. So the mark is cleared for the session, and the loop the page uses put back after.

    A new WebLoop marks itself running where it is made (so top-level code in a REPL finds
    it); a runner's fresh loop for each test would then block that very runner. Loops the
    policy makes during the session leave the mark as it was.
    """
    if not IN_PYODIDE:
        yield
        return
    from pyodide.ffi import can_run_sync

    if not can_run_sync():
        raise RuntimeError(
            "PLR's suite needs WebAssembly stack switching (JSPI) here: every blocking wait in it "
            "suspends Python; call it from an async context of a JSPI-capable runtime"
        )
    running = asyncio.events._get_running_loop()
    policy = asyncio.events._get_event_loop_policy()
    default_loop = getattr(policy, "_default_loop", None)
    make_loop = policy.new_event_loop

    def new_event_loop() -> asyncio.AbstractEventLoop:
        mark = asyncio.events._get_running_loop()
        loop = make_loop()
        asyncio.events._set_running_loop(mark)
        return loop

    policy.new_event_loop = new_event_loop
    asyncio.events._set_running_loop(None)
    try:
        yield
    finally:
        asyncio.events._set_running_loop(running)
        del policy.new_event_loop
        if hasattr(policy, "_default_loop"):
            policy._default_loop = default_loop


def run(environment: str, only: list[str] | None = None) -> dict[str, Any]:
    """Run PLR's suite (or the ``only`` paths inside the pylabrobot package) and report it."""
    import pytest

    import pylabrobot
    from browser_runtime import plr_offline

    # As the page does at boot: PLR's call-time Opentrons downloads answered from set-up's copy.
    plr_offline.install()
    root = plr_dir()
    targets = [str(root / path) for path in only] if only else [str(root)]
    work = Path(tempfile.mkdtemp(prefix="plr-suite-"))
    ini = work / "pytest.ini"
    ini.write_text(PYTEST_INI)
    # PLR's conftest points its log dir at project_root()/test_logs (site-packages): remove it
    # afterwards unless it was there before.
    test_logs = root.parent / "test_logs"
    had_test_logs = test_logs.exists()
    args = ["-c", str(ini), "--rootdir", str(root.parent), "-p", "no:cacheprovider", "-q",
            "--continue-on-collection-errors", "-o", "console_output_style=classic"]
    for plugin in PLUGINS:
        args += ["-p", plugin]
    args += targets
    reporter = Reporter()
    previous_cwd = os.getcwd()
    previous_autoload = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    os.chdir(work)
    started = time.perf_counter()
    try:
        with synchronous_program():
            exit_code = int(pytest.main(args, plugins=[reporter]))
    finally:
        duration = time.perf_counter() - started
        os.chdir(previous_cwd)
        if previous_autoload is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = previous_autoload
        shutil.rmtree(work, ignore_errors=True)
        if not had_test_logs:
            shutil.rmtree(test_logs, ignore_errors=True)
    return {
        "schema": REPORT_SCHEMA,
        "environment": environment,
        "python": ".".join(str(part) for part in sys.version_info[:3]),
        "pytest": pytest.__version__,
        "pylabrobot": pylabrobot.__version__,
        "offline_labware": plr_offline.source(),
        "exit_code": exit_code,
        "duration_s": round(duration, 2),
        "tests": sorted(reporter.tests.values(), key=lambda entry: entry["id"]),
    }


async def install_test_wheels() -> list[str]:
    """In the page: fetch the pinned test wheels from our own origin, check each against the
    build manifest's sha256 and unpack it into site-packages. The page never loads them itself."""
    import hashlib
    import io
    import site
    import zipfile

    import js  # the worker's global scope
    from pyodide.http import pyfetch

    # The page's root, as the worker finds it (web/worker/worker.js: BASE = new URL("../", location)).
    base_url = str(js.URL.new("../", js.location.href).href)

    response = await pyfetch(f"{base_url}wheels/manifest.json", cache="no-cache")
    manifest = await response.json()
    wheels = manifest.get("test_wheels") or []
    if not wheels:
        raise RuntimeError("wheels/manifest.json lists no test wheels: run `python3 scripts/setup.py --test`")
    target = site.getsitepackages()[0]
    installed = []
    for wheel in wheels:
        response = await pyfetch(f"{base_url}wheels/{wheel['file']}")
        if not response.ok:
            raise RuntimeError(f"wheels/{wheel['file']}: HTTP {response.status}")
        body = await response.bytes()
        digest = hashlib.sha256(body).hexdigest()
        if digest != wheel["sha256"]:
            raise RuntimeError(f"wheels/{wheel['file']}: sha256 {digest} does not match the manifest")
        zipfile.ZipFile(io.BytesIO(body)).extractall(target)
        installed.append(f"{wheel['name']} {wheel['version']}")
    import importlib

    importlib.invalidate_caches()
    return installed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="where to write the JSON report")
    parser.add_argument("--environment", default="cpython")
    parser.add_argument("--only", nargs="*", help="paths inside the pylabrobot package")
    args = parser.parse_args(argv)
    report = run(args.environment, args.only)
    Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
