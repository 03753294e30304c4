"""PLR's own test suite in three interpreters, and what is expected not to pass where, and why.

Shared by the layer's tests (tests/plr_suite/test_plr_suite.py) and the summary command
(scripts/plr_suite.py). Each ``run_*`` returns driver.py's JSON report:
- ``cpython``: the venv's CPython, in a subprocess;
- ``node``: Pyodide under Node booted as the page boots (run_in_node.mjs);
- ``page``: the shipped page in Debian's Chromium, served by a real ``labwright serve``: the
  suite runs in the page's worker through ``labwright.runPython``, with the web bridge the page
  installed at boot and pytest's wheels fetched from the page's own origin.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ENVIRONMENTS = ("page", "node", "cpython")
PYODIDE = ("page", "node")
LABELS = {"page": "page (Chromium)", "node": "Pyodide under Node", "cpython": "CPython 3.11"}
#: The page's whole run is bounded here (pytest-timeout cannot interrupt a test in Pyodide).
PAGE_LIMIT_S = 1800


@dataclass(frozen=True)
class Limitation:
    """Tests that do not pass in ``where``, with the same ``outcome``, for one ``reason``."""

    reason: str
    where: tuple[str, ...]
    outcome: str
    tests: tuple[str, ...]  # test ids or id prefixes (a module, or module::Class)

    def covers(self, test_id: str) -> bool:
        return any(test_id == test or test_id.startswith(test + "::") for test in self.tests)


_HIRES_MOCK = "pylabrobot/centrifuge/highres/mock_server_tests.py"
_VISUALIZER = "pylabrobot/visualizer/visualizer_tests.py"

#: Every test of PLR 0.2.2's suite that does not pass somewhere, grouped by reason. The layer
#: checks this list is exact: each non-pass is listed, and each listed test really does not pass.
LIMITATIONS: tuple[Limitation, ...] = (
    Limitation(
        reason="listens on a TCP socket (PLR's mock HiRes MicroSpin server, asyncio.start_server): "
        "a browser cannot accept connections",
        where=PYODIDE,
        outcome="failed",
        tests=(_HIRES_MOCK,),
    ),
    Limitation(
        reason="listens on TCP sockets: Visualizer.setup() starts PLR's HTTP file server and "
        "WebSocket server, each on a thread of its own; a browser can neither accept connections "
        "nor start threads (the first limit met is the thread: 'can't start new thread')",
        where=PYODIDE,
        outcome="failed",
        tests=(f"{_VISUALIZER}::VisualizerServerTests", f"{_VISUALIZER}::VisualizerSetupStopTests",
               f"{_VISUALIZER}::VisualizerShowMachineToolsTests", f"{_VISUALIZER}::VisualizerCommandTests"),
    ),
    Limitation(
        reason="needs PLR's optional zeroconf (SiLA discovery over mDNS), which the page does not "
        "ship: mDNS needs UDP multicast sockets a browser cannot open (the bridge server discovers "
        "instruments for the page)",
        where=PYODIDE,
        outcome="skipped",
        tests=("pylabrobot/io/sila/discovery_tests.py::TestDiscoverSila2::test_discovers_device",),
    ),
    Limitation(
        reason="reads test data PLR 0.2.2 does not ship in its wheel "
        "(pylabrobot/testing/test_data/test_calibration*.csv/.json)",
        where=ENVIRONMENTS,
        outcome="failed",
        tests=("pylabrobot/pumps/calibration_tests.py::TestCalibration::test_load_from_csv",
               "pylabrobot/pumps/calibration_tests.py::TestCalibration::test_load_from_json"),
    ),
    Limitation(
        reason="imports pylabrobot.resources.stanley, which PLR 0.2.2's wheel does not contain",
        where=ENVIRONMENTS,
        outcome="error",
        tests=("pylabrobot/resources/hamilton/hamilton_deck_tests.py",),
    ),
    Limitation(
        reason="PLR skips it: needs an optional driver package installed nowhere here "
        "(ot_api, pylibftdi, pyusb, pymodbus)",
        where=ENVIRONMENTS,
        outcome="skipped",
        tests=("pylabrobot/liquid_handling/backends/opentrons_backend_tests.py",
               "pylabrobot/thermocycling/opentrons_backend_tests.py",
               "pylabrobot/plate_reading/agilent/biotek_tests.py",
               "pylabrobot/plate_reading/tecan/spark20m/spark_reader_async_tests.py",
               "pylabrobot/pumps/agrowpumps/agrowdosepump_tests.py",
               "pylabrobot/io/ftdi_tests.py::FTDIEmptyReadTests"),
    ),
)


def limitation_of(test_id: str, environment: str) -> Limitation | None:
    for limitation in LIMITATIONS:
        if environment in limitation.where and limitation.covers(test_id):
            return limitation
    return None


def plr_packages() -> list[str]:
    """The PLR packages holding tests, from the installed wheel (known before any run)."""
    import pylabrobot

    root = Path(pylabrobot.__file__).resolve().parent
    packages = {path.relative_to(root).parts[0] for path in root.rglob("*_tests.py")}
    return sorted(package for package in packages if not package.endswith(".py"))


# -- running ----------------------------------------------------------------------------------


def start_cpython(out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(HERE / "driver.py"), "--out", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def start_node(out: Path) -> subprocess.Popen:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("Node.js is needed to run PLR's suite in Pyodide under Node")
    return subprocess.Popen(
        [node, "--experimental-wasm-stack-switching", str(HERE / "run_in_node.mjs"), str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def finish(process: subprocess.Popen, out: Path, what: str, timeout: float = PAGE_LIMIT_S) -> dict[str, Any]:
    output, _ = process.communicate(timeout=timeout)
    if process.returncode != 0 or not out.exists():
        raise RuntimeError(f"PLR suite on {what} exited {process.returncode}:\n{output[-6000:]}")
    return json.loads(out.read_text())


_PAGE_CODE = """
import json, pathlib, sys
folder = pathlib.Path("/tmp/plr_suite")
folder.mkdir(exist_ok=True)
(folder / "driver.py").write_text({source!r})
sys.path.insert(0, str(folder))
import driver
await driver.install_test_wheels()
json.dumps(driver.run("page", {only!r}))
"""


def run_page(server_url: str, browser: Any, only: list[str] | None = None) -> dict[str, Any]:
    """In a fresh profile of the shipped page, as users get it (prebuilt snapshot, web bridge
    installed at boot); any request leaving the page's origin is refused and reported."""
    origin = server_url.rstrip("/")
    foreign: list[str] = []
    console: list[str] = []

    def guard(route: Any, request: Any) -> None:
        parts = urlsplit(request.url)
        if request.url.startswith(("data:", "blob:")) or f"{parts.scheme}://{parts.netloc}" == origin:
            route.continue_()
        else:
            foreign.append(request.url)
            route.abort()

    context = browser.new_context(service_workers="block")
    try:
        context.route("**/*", guard)
        page = context.new_page()
        page.on("console", lambda message: console.append(message.text))
        page.set_default_timeout(120_000)
        page.goto(server_url)
        page.evaluate("window.labwright.ready")
        boot = page.evaluate("window.labwright.bootInfo.snapshot")
        code = _PAGE_CODE.format(source=(HERE / "driver.py").read_text(), only=only)
        reply = page.evaluate(
            """([code, limit]) => Promise.race([
                window.labwright.runPython(code),
                new Promise((_, reject) => setTimeout(
                    () => reject(new Error(`no report within ${limit / 1000} s`)), limit)),
            ])""",
            [code, PAGE_LIMIT_S * 1000],
        )
    except Exception as error:
        raise RuntimeError(f"PLR suite in the page: {error}\n" + "\n".join(console[-80:])) from error
    finally:
        context.close()
    report = json.loads(ast.literal_eval(reply))  # runPython answers with the repr
    report["boot_snapshot"] = boot
    report["foreign_requests"] = foreign
    return report


def run_all(browser: Any = None, server_url: str | None = None, work: Path | None = None) -> dict[str, dict]:
    """All three, CPython and Node in the background while the page runs in the foreground."""
    import tempfile

    work = work or Path(tempfile.mkdtemp(prefix="plr-suite-"))
    cpython = start_cpython(work / "cpython.json")
    node = start_node(work / "node.json")
    reports: dict[str, dict] = {}
    try:
        if browser is None or server_url is None:
            from playwright.sync_api import sync_playwright

            from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
            from tests.serving import running_server

            with running_server() as url, sync_playwright() as playwright:
                chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                try:
                    reports["page"] = run_page(url, chromium)
                finally:
                    chromium.close()
        else:
            reports["page"] = run_page(server_url, browser)
        (work / "page.json").write_text(json.dumps(reports["page"], indent=1) + "\n")
        reports["node"] = finish(node, work / "node.json", "Pyodide under Node")
        reports["cpython"] = finish(cpython, work / "cpython.json", "CPython")
    finally:
        for process in (cpython, node):
            if process.poll() is None:
                process.kill()
                process.wait()
    return reports


# -- judging ----------------------------------------------------------------------------------


def unexplained(report: dict[str, Any]) -> list[str]:
    """Tests that did not pass in this report and that no limitation lists (with that outcome)."""
    environment = report["environment"]
    problems = []
    for test in report["tests"]:
        if test["outcome"] == "passed":
            continue
        limitation = limitation_of(test["id"], environment)
        if limitation is None:
            problems.append(f"{test['id']}: {test['outcome']}: {test['reason']}")
        elif limitation.outcome != test["outcome"]:
            problems.append(f"{test['id']}: {test['outcome']} (listed as {limitation.outcome}): {test['reason']}")
    return problems


def stale(report: dict[str, Any]) -> list[str]:
    """Listed limitations that no longer hold in this report: tests listed that now pass."""
    environment = report["environment"]
    return [
        f"{test['id']} passes on {environment} but is listed: {limitation.reason}"
        for test in report["tests"]
        if test["outcome"] == "passed" and (limitation := limitation_of(test["id"], environment))
    ]


def counts(report: dict[str, Any], package: str | None = None) -> Counter:
    return Counter(
        test["outcome"] for test in report["tests"] if package is None or test["package"] == package
    )


def modules(report: dict[str, Any]) -> set[str]:
    return {test["id"].split("::", 1)[0] for test in report["tests"]}


# -- the README summary ---------------------------------------------------------------------


def _cell(counter: Counter) -> str:
    passed, failed = counter.get("passed", 0), counter.get("failed", 0) + counter.get("error", 0)
    skipped = counter.get("skipped", 0)
    return f"{passed} / {failed} / {skipped}"


def summary_markdown(reports: dict[str, dict]) -> str:
    """The README's table: passed / failed / skipped per PLR package, then the reasons."""
    packages = sorted({test["package"] for report in reports.values() for test in report["tests"]})
    lines = [
        "| PLR package | " + " | ".join(LABELS[env] for env in ENVIRONMENTS) + " |",
        "| --- | " + " | ".join("---:" for _ in ENVIRONMENTS) + " |",
    ]
    for package in packages:
        lines.append(
            f"| {package} | " + " | ".join(_cell(counts(reports[env], package)) for env in ENVIRONMENTS) + " |"
        )
    lines.append("| **all** | " + " | ".join(f"**{_cell(counts(reports[env]))}**" for env in ENVIRONMENTS) + " |")
    lines.append("")
    lines.append("Cells are passed / failed (incl. errors) / skipped. Why each test that does not pass doesn't:")
    lines.append("")
    grouped: dict[Limitation, dict[str, int]] = defaultdict(dict)
    for environment in ENVIRONMENTS:
        for test in reports[environment]["tests"]:
            if test["outcome"] != "passed" and (limitation := limitation_of(test["id"], environment)):
                grouped[limitation][environment] = grouped[limitation].get(environment, 0) + 1
    for limitation in LIMITATIONS:
        seen = grouped.get(limitation, {})
        where = ", ".join(f"{LABELS[env]} {seen[env]}" for env in ENVIRONMENTS if env in seen)
        lines.append(f"- {limitation.outcome}, {where or 'none seen'}: {limitation.reason}")
    page, cpython = reports["page"], reports["cpython"]
    lines.append("")
    lines.append(
        f"The whole suite (pytest's own time): page {page['duration_s']:.0f} s, Node "
        f"{reports['node']['duration_s']:.0f} s, CPython {cpython['duration_s']:.0f} s; the page takes "
        f"{page['duration_s'] / cpython['duration_s']:.2f}× CPython's time (one after the other, "
        "2 cores)."
    )
    return "\n".join(lines) + "\n"
