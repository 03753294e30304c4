"""The runner against PLR alone: a ~1,000-command protocol on PLR's chatterbox, on CPython and in Pyodide.

    .venv/bin/python tests/bench/bench_runner.py [--runs 5] [--rounds 20] [--skip-pyodide | --skip-cpython]
        [--runtime OTHER/browser_runtime]

One protocol (tests/fixtures/busy_protocol.py: 8-channel transfers, 1,002 commands by default) planned once,
then run N times each way, interleaved, after one warm-up of each, on fresh machines every time:

- PLR alone: the same protocol function on the same PLR frontend, chatterbox backend and deck,
  called directly (machines set up and stopped around it, stdout discarded): no Labwright;
- ProtocolRun: the runner as a run uses it (commands, state and log events recorded);
- Runs service: ``runs.start`` of the plan to ``runs.wait``, as the page runs it: events go to the
  page's sink (JSON text, as the worker hands them to JS), the run is recorded in SQLite.

Each timing starts after a full garbage collection (the decks of the round before are not
collected inside it). Commands/s and the ratio of each time to PLR alone's, median of N, in the same interpreter and
the same run; wall time and the process's CPU time (on a machine shared with other work the CPU
time is the steadier figure). In Pyodide (the page's interpreter, under Node) ``browser_runtime`` is imported from
this checkout. Also printed: the size of the run's record (events JSON, SQLite row) and of a
serial dilution's (the demo, default parameters). With ``--page``: the same run in the page in
Chromium (a real ``labwright serve``), by ``labwright.run`` and by the workbench's Run button (the
plan made first), with the main thread's longest task. Targets (issue 14): runner <= 1.5x PLR
alone in Pyodide; the run through the UI <= 1.2x through the API; no main-thread task > 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import io
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.fixtures.busy_protocol import BUSY_PROTOCOL, busy_commands  # noqa: E402

PATHS = ("PLR alone", "ProtocolRun", "Runs service")


class _Discard(io.TextIOBase):
    """stdout for PLR alone: the chatterbox still formats its printout, nobody reads it."""

    def write(self, text: str) -> int:
        return len(text)


def _inputs(source: str, filename: str, function: str | None, parameters: dict[str, Any]) -> Any:
    from browser_runtime.runner.plans import PlanInputs

    return PlanInputs(source=source, filename=filename, function=function, parameters=parameters)


class _Clock:
    """Wall time and this process's CPU time (a shared machine's load hardly moves the latter)."""

    def __init__(self, cpu: Any) -> None:
        self.cpu = cpu

    def now(self) -> tuple[float, float]:
        return time.perf_counter(), self.cpu()

    def since(self, started: tuple[float, float]) -> tuple[float, float]:
        wall, cpu = self.now()
        return wall - started[0], cpu - started[1]


async def _plr_alone(runs: Any, plan: Any, clock: _Clock) -> tuple[float, float]:
    from browser_runtime.runner.materialize import materialize
    from browser_runtime.runner.run import load_protocol_function

    built = materialize(plan, runs.catalog(), runs.inventory)
    function = load_protocol_function(plan.inputs.source, plan.inputs.filename, plan.function)
    with contextlib.redirect_stdout(_Discard()):
        started = clock.now()
        for machine in built.machines.values():
            await machine.setup()
        await function(**built.arguments)
        for machine in built.machines.values():
            await machine.stop()
        return clock.since(started)


async def _protocol_run(runs: Any, plan: Any, clock: _Clock) -> tuple[tuple[float, float], int]:
    from browser_runtime.runner.materialize import materialize
    from browser_runtime.runner.run import ProtocolRun, load_protocol_function

    built = materialize(plan, runs.catalog(), runs.inventory)
    function = load_protocol_function(plan.inputs.source, plan.inputs.filename, plan.function)  # as for PLR alone
    pausing = getattr(runs, "pause_every_s", None)  # as the page's runs pause (runtimes before did not)
    run = ProtocolRun(function, built.arguments, machines=built.machines, deck=built.deck,
                      filename=plan.inputs.filename, **({"pause_every_s": pausing} if pausing is not None else {}))
    started = clock.now()
    result = await run.execute()
    elapsed = clock.since(started)
    assert result.status == "completed", result.error
    return elapsed, sum(1 for event in result.events if event["type"] == "command")


async def _runs_service(runs: Any, plan: Any, clock: _Clock) -> tuple[tuple[float, float], dict[str, Any]]:
    started = clock.now()
    run_id = runs.start(plan_id=plan.plan_id)["runId"]
    result = await runs.wait(run_id)
    elapsed = clock.since(started)
    assert result["status"] == "completed", result["error"]
    return elapsed, result


def _record_size(history: Any, run_id: str) -> dict[str, int]:
    """The run's record: its events (as JSON, and as stored) and its whole row, in bytes."""
    row = history.database.connection.execute(
        "SELECT length(events), length(run_id) + length(protocol) + length(function) + length(filename)"
        " + length(source) + length(parameters) + length(plan) + length(status) + length(started_at)"
        " + coalesce(length(error), 0) + length(events) + coalesce(length(value), 0)"
        " FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    events = history.get(run_id)["events"]
    return {"stored_events_bytes": row[0], "row_bytes": row[1], "events": len(events),
            "events_json_bytes": len(json.dumps(events)),
            "commands": sum(1 for event in events if event["type"] == "command")}


async def measure(catalog_document: dict[str, Any], runs: int = 5, rounds: int = 20,
                  sink: Any = None, cpu_clock: Any = time.process_time) -> dict[str, Any]:
    """Times of each path (wall and CPU seconds, N each after a warm-up) and record sizes."""
    from browser_runtime.page.session import PageSession
    from browser_runtime.storage import Database

    events_seen = [0]

    def default_sink(channel: str, payload: Any) -> None:
        json.dumps(payload)  # what the worker does with every payload it hands to JS
        events_seen[0] += 1

    session = PageSession.open(Database.in_memory(), emit=sink or default_sink)
    session.catalog_loader.use(catalog_document)
    service = session.runs

    def plan() -> Any:
        return service.plan(_inputs(BUSY_PROTOCOL, "busy.py", "transfers", {"rounds": rounds}))

    clock = _Clock(cpu_clock)
    times: dict[str, list[float]] = {name: [] for name in PATHS}
    cpu: dict[str, list[float]] = {name: [] for name in PATHS}
    commands = 0
    last: dict[str, Any] = {}
    def planned() -> Any:
        # The garbage of the round before (decks, machines) is collected now, not in the next timing.
        made = plan()
        gc.collect()
        return made

    for repeat in range(runs + 1):
        alone = await _plr_alone(service, planned(), clock)
        run, commands = await _protocol_run(service, planned(), clock)
        through, last = await _runs_service(service, planned(), clock)
        if repeat:  # the first round warms up (imports, caches)
            for name, (wall, used) in zip(PATHS, (alone, run, through)):
                times[name].append(wall)
                cpu[name].append(used)
    assert commands == busy_commands(rounds), commands
    busy = _record_size(session.history, last["run_id"])
    dilution_source = (ROOT / "web" / "protocols" / "serial_dilution.py").read_text()
    _, dilution = await _runs_service(service, service.plan(_inputs(dilution_source, "serial_dilution.py", None, {})),
                                      clock)
    return {"interpreter": sys.version.split()[0], "platform": sys.platform, "commands": commands,
            "times": times, "cpu": cpu, "records": {"busy": busy, "serial_dilution": _record_size(session.history, dilution["run_id"])},
            "sink_calls": events_seen[0]}


# ---- Pyodide under Node ---------------------------------------------------------------------

_NODE = r"""
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
const [root, runs, rounds, runtime] = process.argv.slice(1);
const dist = path.join(root, "wheels", "dist");
const manifest = JSON.parse(fs.readFileSync(path.join(dist, "manifest.json"), "utf8"));
const indexURL = path.join(root, "build", manifest.pyodide.url) + "/";
const { loadPyodide } = await import(pathToFileURL(path.join(indexURL, "pyodide.mjs")).href);
const pyodide = await loadPyodide({ indexURL });
// What web/worker.js offers browser_runtime.worker: events are parsed as the worker parses them.
let sinkCalls = 0;
globalThis.labwrightEmit = (channel, payloadJson) => { JSON.parse(payloadJson); sinkCalls += 1; };
globalThis.labwrightSaveSoon = () => {};
// CPU seconds of this process (Python's process_time in Pyodide is the wall clock).
globalThis.benchCpuSeconds = () => { const used = process.cpuUsage(); return (used.user + used.system) / 1e6; };
const sitePackages = pyodide.runPython("import site; site.getsitepackages()[0]");
for (const archive of manifest.archives) {
  // The labwright wheel is left out: browser_runtime comes from this checkout (mounted below).
  if (archive.file.includes("/labwright-")) continue;
  pyodide.unpackArchive(new Uint8Array(fs.readFileSync(path.join(dist, archive.file))), "zip", { extractDir: sitePackages });
}
pyodide.FS.mkdirTree("/labwright");
for (const folder of ["browser_runtime", "tests", "web"]) {
  pyodide.FS.mkdirTree(`/labwright/${folder}`);
  pyodide.mountNodeFS(`/labwright/${folder}`, folder === "browser_runtime" ? runtime : path.join(root, folder));
}
pyodide.FS.mkdirTree("/labwright/build/catalog");
pyodide.FS.writeFile("/labwright/build/catalog/catalog.json", fs.readFileSync(path.join(root, "build", "catalog", "catalog.json")));
const result = await pyodide.runPythonAsync(`
import json, sys
sys.dont_write_bytecode = True  # the checkout is mounted: leave no cpython-314 caches in it
sys.path.insert(0, "/labwright")
import js
from browser_runtime import worker
from tests.bench.bench_runner import measure
document = json.loads(open("/labwright/build/catalog/catalog.json").read())
json.dumps(await measure(document, ${Number(runs)}, ${Number(rounds)}, worker.emit, js.benchCpuSeconds))
`);
const measured = JSON.parse(result);
measured.sink_calls = sinkCalls;
console.log("BENCH " + JSON.stringify(measured));
"""


def pyodide(runs: int, rounds: int, runtime: Path) -> dict[str, Any] | None:
    node = shutil.which("node")
    if node is None:
        print("node not found: no Pyodide figures", file=sys.stderr)
        return None
    completed = subprocess.run(
        [node, "--experimental-wasm-stack-switching", "--input-type=module", "-e", _NODE, str(ROOT), str(runs),
         str(rounds), str(runtime)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    for line in completed.stdout.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH "):])
    print(completed.stdout[-4000:], completed.stderr[-4000:], file=sys.stderr)
    return None


def cpython(runs: int, rounds: int) -> dict[str, Any]:
    document = json.loads((ROOT / "build" / "catalog" / "catalog.json").read_text())
    return asyncio.run(measure(document, runs, rounds))


# ---- the page in Chromium: the same run through the API and through the workbench ----------

API_RUN = """async ([source, rounds]) => {
  const started = performance.now();
  const result = await window.labwright.run(source, { function: "transfers", parameters: { rounds } });
  return [performance.now() - started, result.status];
}"""


def page(runs: int, rounds: int) -> dict[str, Any]:
    """Wall ms of a run by ``labwright.run`` and by the workbench's Run button (plan made before),
    and the main thread's long tasks (over 50 ms) during each, N of each, interleaved."""
    from playwright.sync_api import expect, sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.e2e.editing import paste_new_file
    from tests.e2e.longtasks import measure as long_tasks
    from tests.serving import running_server

    source = BUSY_PROTOCOL.replace("rounds: int = 20", f"rounds: int = {rounds}")
    results: dict[str, list[Any]] = {"API": [], "UI": []}
    with running_server() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page()
        tab.set_default_timeout(300_000)
        tab.goto(url)
        tab.evaluate("window.labwright.ready")
        tab.evaluate("window.labwright.catalog.loaded")
        paste_new_file(tab, source)  # a new file in the workbench's editor, the protocol pasted in
        tab.click("#plan-button")
        expect(tab.locator("#plan-table tr[data-parameter]").first).to_be_visible()
        for repeat in range(runs + 1):
            timed: dict[str, float] = {}

            def api() -> None:
                timed["ms"], status = tab.evaluate(API_RUN, [source, rounds])
                assert status == "completed", status

            def ui() -> None:
                started = tab.evaluate("performance.now()")
                tab.click("#run-button")
                # A plain selector wait: Playwright's `expect` polls with aria snapshots built on
                # the page's main thread, which slowed the run it was timing.
                tab.wait_for_selector("#workbench[data-run-status=completed]", state="attached")
                timed["ms"] = tab.evaluate("performance.now()") - started

            for name, action in (("API", api), ("UI", ui)):
                tasks = long_tasks(tab, action)
                if repeat:
                    results[name].append((timed["ms"], tasks.longest_ms, len(tasks.durations_ms)))
                tab.evaluate("document.querySelector('#workbench').removeAttribute('data-run-status')")
        browser.close()
    return results


def report_page(results: dict[str, list[Any]], commands: int) -> None:
    api = statistics.median(ms for ms, _, _ in results["API"])
    print(f"\nthe page in Chromium: {commands} commands, median of {len(results['API'])}")
    print(f"{'path':<6} {'wall ms':>9} {'commands/s':>11} {'x API':>7} {'longest task ms':>16} {'tasks > 50 ms':>14}")
    for name, rows in results.items():
        ms = statistics.median(row[0] for row in rows)
        print(f"{name:<6} {ms:>9.1f} {commands / (ms / 1000):>11.0f} {ms / api:>7.2f} "
              f"{max(row[1] for row in rows):>16.0f} {statistics.median(row[2] for row in rows):>14.0f}")


def report(measured: dict[str, Any]) -> None:
    commands = measured["commands"]
    wall = {name: statistics.median(times) for name, times in measured["times"].items()}
    cpu = {name: statistics.median(times) for name, times in measured["cpu"].items()}
    print(f"\n{measured['platform']} (Python {measured['interpreter']}): {commands} commands, "
          f"median of {len(measured['times']['PLR alone'])}")
    print(f"{'path':<14} {'wall ms':>9} {'commands/s':>11} {'x PLR alone':>12} "
          f"{'CPU ms':>9} {'commands/s':>11} {'x PLR alone':>12}")
    for name in PATHS:
        print(f"{name:<14} {wall[name] * 1000:>9.1f} {commands / wall[name]:>11.0f} "
              f"{wall[name] / wall['PLR alone']:>12.2f} {cpu[name] * 1000:>9.1f} {commands / cpu[name]:>11.0f} "
              f"{cpu[name] / cpu['PLR alone']:>12.2f}")
    for name, size in measured["records"].items():
        print(f"record of {name}: {size['commands']} commands, {size['events']} events "
              f"({size['events'] / size['commands']:.1f} per command), events JSON "
              f"{size['events_json_bytes'] / 1e6:.3f} MB, stored {size['stored_events_bytes'] / 1e6:.3f} MB, "
              f"whole row {size['row_bytes'] / 1e6:.3f} MB")
    print(f"sink calls (whole benchmark): {measured['sink_calls']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=20, help="50 commands each")
    parser.add_argument("--skip-pyodide", action="store_true")
    parser.add_argument("--skip-cpython", action="store_true")
    parser.add_argument("--page", action="store_true",
                        help="also the run through labwright.run and through the workbench, in Chromium")
    parser.add_argument("--runtime", type=Path, default=ROOT / "browser_runtime",
                        help="the browser_runtime folder to measure (another checkout's, to compare)")
    args = parser.parse_args()
    runtime = args.runtime.resolve()
    print(f"browser_runtime from {runtime}")
    sys.path.insert(0, str(runtime.parent))
    if not args.skip_cpython:
        report(cpython(args.runs, args.rounds))
    if not args.skip_pyodide:
        measured = pyodide(args.runs, args.rounds, runtime)
        if measured is not None:
            report(measured)
    if args.page:
        report_page(page(args.runs, args.rounds), busy_commands(args.rounds))


if __name__ == "__main__":
    main()
